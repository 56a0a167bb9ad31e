/**
 * The embedded local cloud: both stacks of the program, each run in its own
 * process under the local provider, then served from what they declared.
 * No second, hand-wired copy of the topology: every stream, table, bucket,
 * function, mapping, route and delivery stream here comes from a manifest.
 *
 * Starting is an ordered list of steps (local/cloud/steps/), each returning a
 * service with `stop()`; stopping stops them in reverse order, which is the
 * order that loses nothing: the API stops accepting and answers what it has,
 * the mappings finish their invocations in flight and checkpoint, Firehose
 * delivers its buffer, the functions end, and last the emulators flush
 * (kinesis-local saves after the last acknowledged write) and stop.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { LocalEndpoints, StackManifest, StackRole } from "../shared/manifest";
import { cloudContext, Services } from "./context";
import { startEmulators } from "./steps/emulators";
import { declaredRoles, deployStacks, Manifests, prewarmStacks } from "./steps/stacks";
import { startIam } from "./steps/iam";
import { startFunctions } from "./steps/functions";
import { startMappings } from "./steps/mappings";
import { startFirehoses } from "./steps/firehoses";
import { startApi } from "./steps/api";
import { CloudStats, startStats } from "./steps/stats";
import { startInvokeApi } from "../lambda/invokeApi";
import { localAuthDefaults, startIssuer } from "./steps/issuer";
import { apiCaller, CallOptions } from "./caller";
import { LocalIssuer } from "../oidc/issuer";
import { manifestPolicies } from "../iam/policySet";

export type { CloudStats } from "./steps/stats";
export { LOCAL_CONSUMER_STACK, LOCAL_EXTERNAL_ID } from "./steps/stacks";

/** Options of {@link startLocalCloud}. */
export interface LocalCloudOptions {
  /** Keep emulator data here across restarts; in memory (a temp dir for S3) when absent. */
  dataDir?: string;
  /** Port for the HTTP API; 0 picks a free one. Default 3000. */
  apiPort?: number;
  /** Extra stack config (project keys without prefix), e.g. `{ producer: { aggregateRecords: "sourceShard" } }`. */
  config?: Partial<Record<StackRole, Record<string, string>>>;
  /** Firehose buffers at most this long locally, so records land within seconds. Default 2. */
  maxFirehoseBufferSeconds?: number;
  /** Progress lines while starting. */
  log?: (line: string) => void;
  /** Aborting it stops a start in progress at its next step: what started is stopped, a temporary data dir removed, and the start rejects. */
  signal?: AbortSignal;
}

/** A running local cloud. */
export interface LocalCloud {
  apiUrl: string;
  /** Lambda's Invoke API for the functions (`AWS_ENDPOINT_URL_LAMBDA`). */
  lambdaEndpoint: string;
  endpoints: LocalEndpoints;
  manifests: Record<StackRole, StackManifest>;
  /** Seconds from start to the API serving. */
  startupSeconds: number;
  /** Cold start of each function, ms. */
  coldStarts: Record<string, number>;
  /** The local OIDC issuer the producer's JWT authorizer trusts (in jwt mode, the default locally). */
  issuer: LocalIssuer;
  /** `fetch` on the API, authenticated as its current `apiAuth` asks (a token for `as` in jwt mode, SigV4 in iam mode). */
  call(path: string, options?: CallOptions): Promise<Response>;
  /** An S3 client on the emulator (path style). */
  s3: S3Client;
  /** The bucket Firehose lands into. */
  landingBucket: string;
  /** Where functions, mappings and Firehose log. */
  logFile: string;
  stats(): Promise<CloudStats>;
  /** On-failure messages by queue ARN. */
  deadLetters(): Record<string, object[]>;
  /** Re-runs one stack's program with extra config (like `pulumi up`) and swaps in its functions; mappings keep their positions. */
  redeploy(stack: StackRole, config: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the emulators, deploys both stacks into them and serves the result. */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const t0 = Date.now();
  const ctx = cloudContext(options);
  const services = new Services(options.signal);
  const stop = async () => {
    await services.stop();
    ctx.cleanUp();
  };
  try {
    // Filled by the deploy step; the STS and IAM steps read it at each call.
    const manifests = {} as Manifests;
    const prewarmed = services.add(prewarmStacks());
    // Side by side; each that started is stopped again if the other did not.
    const [emulatorsStart, issuerStart] = await Promise.allSettled([startEmulators(ctx, () => declaredRoles(manifests)), startIssuer(ctx)]);
    for (const s of [emulatorsStart, issuerStart]) if (s.status === "fulfilled") services.record(s.value);
    options.signal?.throwIfAborted();
    if (emulatorsStart.status === "rejected") throw emulatorsStart.reason;
    if (issuerStart.status === "rejected") throw issuerStart.reason;
    const { endpoints, dynamodbInProcess } = emulatorsStart.value;
    const issuer = issuerStart.value;
    const stacks = services.add(await deployStacks(ctx, endpoints, options.config ?? {}, manifests, localAuthDefaults(issuer), prewarmed));
    const iam = services.add(await startIam(ctx, endpoints, manifests, dynamodbInProcess));
    const functions = services.add(await startFunctions(ctx, manifests, iam.functionEndpoints));
    const firehoses = services.add(await startFirehoses(ctx, manifests.consumer, endpoints, options.maxFirehoseBufferSeconds ?? 2));
    const mappings = services.add(await startMappings(ctx, manifests, endpoints, functions));
    const api = services.add(
      await startApi(manifests.producer, functions, options.apiPort ?? 3000, {
        current: () => manifests.producer,
        policies: manifestPolicies(() => Object.values(manifests)),
        log: (line) => ctx.runtime.write(line),
        errors: (e) => ctx.runtime.write(`[api] ${JSON.stringify(e)}`),
      }),
    );
    const functionList = () => [...manifests.consumer.functions, ...manifests.producer.functions];
    const lambdaApi = services.add(await startInvokeApi({ functions: functionList, invoke: (arn, event) => functions.invoke(arn, event) }));
    const counts = services.add(startStats({ producer: manifests.producer, endpoints, mappings, firehoses, api, iam, metrics: ctx.metrics }));
    return {
      apiUrl: api.url,
      lambdaEndpoint: lambdaApi.endpoint,
      issuer,
      call: apiCaller({ apiUrl: api.url, region: manifests.producer.region, producer: () => manifests.producer, issuer }),
      endpoints,
      manifests,
      startupSeconds: (Date.now() - t0) / 1000,
      coldStarts: functions.coldStarts,
      s3: firehoses.s3,
      landingBucket: firehoses.landingBucket,
      logFile: ctx.runtime.file,
      stats: () => counts.stats(),
      deadLetters: () => Object.fromEntries(Object.keys(mappings.queues.counts()).map((arn) => [arn, mappings.queues.messages(arn)])),
      async redeploy(stack, config) {
        await stacks.deploy(stack, config);
        await functions.restart(stack);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
