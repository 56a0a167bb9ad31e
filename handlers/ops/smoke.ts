/**
 * `npm run smoke`'s checks, run right after `pulumi up`: each function is
 * invoked with a harmless event that still loads and runs its handler through
 * its SDK calls (a runtime whose SDK layout changed, a missing permission or
 * a broken cross-account trust fails here in the first minute), and, when
 * asked, one canary event is written through the API and followed to the
 * read model and the landing. Every step reports its outcome and its time.
 *
 * The harmless events: the API reads an aggregate that does not exist (404
 * from a real GetItem); the projector gets one record at sequence number 0,
 * at or below any stored position, so its fold skips it after a real
 * BatchGetItem and writes nothing; the bridge gets no records, which only a
 * manual invoke sends, and resolves its credentials for the analytics stream
 * (AssumeRole in assumeRole mode).
 */
import * as zlib from "zlib";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { DescribeStreamSummaryCommand, KinesisClient } from "@aws-sdk/client-kinesis";
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import type { HttpApiEvent } from "../api/types";
import { ENVELOPE_SCHEMA_VERSION, EventEnvelope } from "../shared/envelope";
import type { KinesisStreamEvent } from "../shared/kinesisEvent";

/** One step's outcome. */
export interface SmokeStep {
  name: string;
  ok: boolean;
  ms: number;
  /** What was seen, or what failed and why. */
  detail: string;
}

/** Runs `check` as the step `name`, timing it; a throw is the step's failure. */
export async function step(name: string, check: () => Promise<string>): Promise<SmokeStep> {
  const started = Date.now();
  try {
    const detail = await check();
    return { name, ok: true, ms: Date.now() - started, detail };
  } catch (err) {
    return { name, ok: false, ms: Date.now() - started, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** A smoke aggregate id, unique per run and valid everywhere an id goes. */
export function smokeId(now = Date.now()): string {
  return `smoke-${now.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** What an invocation returned: Lambda's FunctionError header (e.g. "Unhandled") and the decoded payload. */
export interface InvokeAnswer {
  functionError?: string;
  payload: unknown;
}

/** Invokes one function synchronously (RequestResponse) with `event`: Lambda Invoke, or a local loader in tests. */
export type FunctionInvoker = (functionName: string, event: unknown) => Promise<InvokeAnswer>;

/** The invoker over Lambda's Invoke API. */
export function lambdaInvoker(lambda: LambdaClient): FunctionInvoker {
  return async (functionName, event) => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(event), "utf8") }));
    const text = out.Payload ? Buffer.from(out.Payload).toString("utf8") : "null";
    return { functionError: out.FunctionError, payload: JSON.parse(text || "null") };
  };
}

/**
 * Invokes `functionName` with `event`; a function error throws with its type and message. The archives
 * carry no node_modules: they require the runtime's own SDK by the paths the serialiser wrote, so a
 * runtime whose layout moved fails to load (Runtime.ImportModuleError), and the message says so.
 */
export async function invokeJson<T>(invoke: FunctionInvoker, functionName: string, event: unknown): Promise<T | undefined> {
  const { functionError, payload } = await invoke(functionName, event);
  const p = payload as { errorType?: string; errorMessage?: string } | null;
  if (functionError || p?.errorType) {
    const what = `${p?.errorType ?? functionError}: ${p?.errorMessage ?? JSON.stringify(payload)}`;
    const layout = /ImportModuleError|Cannot find module/.test(what);
    throw new Error(
      `${functionName} failed to load or run (${what})${layout ? "; the Lambda runtime no longer provides a module the archive requires (see README, Lambda artifacts)" : ""}`,
    );
  }
  return payload as T | undefined;
}

/** The verified caller API Gateway would pass for the API's auth mode: a direct invoke (an operator's `lambda:InvokeFunction`) carries it itself. */
export function smokeAuthorizer(apiAuth: string | undefined, accountId: string): Record<string, unknown> | undefined {
  if (apiAuth === "iam") return { iam: { userArn: `arn:aws:sts::${accountId}:assumed-role/smoke/smoke`, accountId, callerId: "smoke" } };
  if (apiAuth === "jwt") return { jwt: { claims: { sub: "smoke" }, scopes: ["aggregates:read"] } };
  return undefined;
}

/** `GET /aggregates/{id}` as API Gateway (payload 2.0) delivers it. */
export function getAggregateEvent(id: string, authorizer?: Record<string, unknown>): HttpApiEvent {
  const rawPath = `/aggregates/${id}`;
  return {
    version: "2.0",
    routeKey: "GET /aggregates/{id}",
    rawPath,
    rawQueryString: "",
    headers: {},
    pathParameters: { id },
    isBase64Encoded: false,
    requestContext: { requestId: `${id}-get`, http: { method: "GET", path: rawPath }, ...(authorizer ? { authorizer } : {}) },
  };
}

/** One record at sequence number 0 for `id`: every fold skips it as applied before, after reading the aggregate. */
export function skippedRecordEvent(id: string, streamArn: string): KinesisStreamEvent {
  const envelope: EventEnvelope = {
    eventId: `${id}-probe`,
    aggregateId: id,
    type: "SmokeProbe",
    occurredAt: new Date().toISOString(),
    schemaVersion: ENVELOPE_SCHEMA_VERSION,
    data: {},
  };
  return {
    Records: [
      {
        awsRegion: streamArn.split(":")[3] ?? "",
        eventID: "shardId-000000000000:0",
        eventName: "aws:kinesis:record",
        eventSource: "aws:kinesis",
        eventSourceARN: streamArn,
        eventVersion: "1.0",
        invokeIdentityArn: "",
        kinesis: {
          kinesisSchemaVersion: "1.0",
          partitionKey: id,
          sequenceNumber: "0",
          data: Buffer.from(JSON.stringify(envelope), "utf8").toString("base64"),
          approximateArrivalTimestamp: Date.now() / 1000,
        },
      },
    ],
  };
}

/** The producer stack's outputs the checks read (index.ts exports them). */
export interface ProducerOutputs {
  apiUrl: string;
  apiFunctionName: string;
  projectorFunctionName: string;
  bridgeFunctionName: string;
  eventStreamArn: string;
  /** The API's auth mode (iam, jwt or none). */
  apiAuth?: string;
}

/** What a stream function answers. */
type BatchAnswer = { batchItemFailures?: unknown[] };

/** The harmless invoke of each of the producer's functions. */
export async function invokeFunctions(invoke: FunctionInvoker, outputs: ProducerOutputs, id: string): Promise<SmokeStep[]> {
  const account = outputs.eventStreamArn.split(":")[4] ?? "";
  return [
    await step(`invoke ${outputs.apiFunctionName} (API)`, async () => {
      const res = await invokeJson<{ statusCode?: number; body?: string }>(
        invoke,
        outputs.apiFunctionName,
        getAggregateEvent(id, smokeAuthorizer(outputs.apiAuth, account)),
      );
      const code = JSON.parse(res?.body ?? "{}")?.error?.code;
      if (res?.statusCode !== 404 || code !== "NotFound")
        throw new Error(`GET /aggregates/${id} answered ${res?.statusCode} ${res?.body}; expected 404 NotFound`);
      return "GET of an absent aggregate answered 404 NotFound (handler loaded, read model read)";
    }),
    await step(`invoke ${outputs.projectorFunctionName} (projector)`, async () => {
      const res = await invokeJson<BatchAnswer>(invoke, outputs.projectorFunctionName, skippedRecordEvent(id, outputs.eventStreamArn));
      if (!Array.isArray(res?.batchItemFailures) || res.batchItemFailures.length)
        throw new Error(`answered ${JSON.stringify(res)}; expected no batch item failures`);
      return "a record at sequence 0 was read against the read model and skipped; nothing written";
    }),
    await step(`invoke ${outputs.bridgeFunctionName} (bridge)`, async () => {
      const res = await invokeJson<BatchAnswer>(invoke, outputs.bridgeFunctionName, { Records: [] });
      if (!Array.isArray(res?.batchItemFailures) || res.batchItemFailures.length)
        throw new Error(`answered ${JSON.stringify(res)}; expected no batch item failures`);
      return "credentials for the analytics stream resolved (AssumeRole in assumeRole mode); nothing written";
    }),
  ];
}

/** Where the canary goes and how long it may take. */
export interface CanaryOptions {
  apiUrl: string;
  /** The domain's sample command (domain/demo.ts): a real event of the domain. */
  command: { type: string; data: unknown };
  id: string;
  timeoutMs: number;
  /** The consumer's landing, when this caller may read it. */
  landing?: { s3: S3Client; bucket: string };
  /** Authenticates each request as the API's auth mode asks (a bearer token, a SigV4 signature); extra headers to send. */
  sign?: (url: URL, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<Record<string, string>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 500 ms until it returns a value, or throws `what` once `deadline` passes. */
async function until<T>(what: string, deadline: number, probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** Writes one canary event and follows it: accepted, visible in the read model, landed. */
export async function followCanary(o: CanaryOptions): Promise<SmokeStep[]> {
  const base = o.apiUrl.endsWith("/") ? o.apiUrl : `${o.apiUrl}/`;
  let accepted: { eventId: string; poll: string } | undefined;
  const steps = [
    await step("canary: POST through the API", async () => {
      const url = new URL(`${base}aggregates/${o.id}/events`);
      const init = { method: "POST", headers: { "content-type": "application/json", "idempotency-key": o.id }, body: JSON.stringify(o.command) };
      const res = await fetch(url, { ...init, headers: { ...init.headers, ...(await o.sign?.(url, init)) } });
      const body = await res.text();
      if (res.status !== 202) throw new Error(`answered ${res.status} ${body}; expected 202`);
      accepted = JSON.parse(body);
      return `202, event ${accepted!.eventId}`;
    }),
  ];
  if (!accepted) return steps;
  const deadline = Date.now() + o.timeoutMs;
  steps.push(
    await step("canary: visible in the read model", async () => {
      const view = await until("the read model", deadline, async () => {
        const url = new URL(`${base}${accepted!.poll.replace(/^\//, "")}`);
        const res = await fetch(url, { headers: (await o.sign?.(url, { method: "GET", headers: {} })) ?? {} });
        const body = res.status === 200 ? ((await res.json()) as { visible?: boolean; version?: number; position?: string }) : undefined;
        return body?.visible ? body : undefined;
      });
      return `version ${view.version}, position ${view.position}`;
    }),
  );
  if (o.landing) {
    const { s3, bucket } = o.landing;
    steps.push(
      await step("canary: landed in the consumer's bucket", async () => {
        const key = await until("the landing", deadline, () => landedKey(s3, bucket, accepted!.eventId));
        return `s3://${bucket}/${key}`;
      }),
    );
  }
  return steps;
}

/** The key of the landed object holding `eventId`, if one does (newest objects last, so the whole prefix is read). */
async function landedKey(s3: S3Client, bucket: string, eventId: string): Promise<string | undefined> {
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "events/", ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      const bytes = Buffer.from(await body.Body!.transformToByteArray());
      const text = (o.Key!.endsWith(".gz") ? zlib.gunzipSync(bytes) : bytes).toString("utf8");
      if (text.includes(`"eventId":"${eventId}"`)) return o.Key;
    }
    token = page.NextContinuationToken;
  } while (token);
  return undefined;
}

/** The consumer stack's checks: its analytics stream is active and encrypted, and its landing bucket reachable. */
export async function consumerChecks(
  kinesis: KinesisClient,
  s3: S3Client,
  outputs: { analyticsStreamArn: string; landingBucketName: string },
): Promise<SmokeStep[]> {
  return [
    await step("analytics stream active and encrypted", async () => {
      const s = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamARN: outputs.analyticsStreamArn }))).StreamDescriptionSummary;
      if (s?.StreamStatus !== "ACTIVE") throw new Error(`stream ${outputs.analyticsStreamArn} is ${s?.StreamStatus}; expected ACTIVE`);
      return `${s.StreamName}: ${s.StreamStatus}, ${s.OpenShardCount} open shard(s), encryption ${s.EncryptionType}`;
    }),
    await step("landing bucket reachable", async () => {
      await s3.send(new HeadBucketCommand({ Bucket: outputs.landingBucketName }));
      return `s3://${outputs.landingBucketName}`;
    }),
  ];
}
