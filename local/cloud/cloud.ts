/**
 * The embedded local cloud: both stacks of the program, each run in its own
 * process under the local provider, then served from what they declared.
 * No second, hand-wired copy of the topology: every stream, table, bucket,
 * function, mapping, route and delivery stream here comes from a manifest.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { startDynalite, startKinesisLocal } from "../emulators/emulators";
import { LOCAL_ACCOUNTS, LOCAL_REGION, LocalEndpoints, ManifestFunction, ManifestResource, StackManifest, StackRole } from "../shared/manifest";
import { runStackInChild } from "../deploy/runStack";
import { FunctionHost, startFunctionHost } from "../lambda/functionHost";
import { MappingPoller, startMappingPoller } from "../lambda/mapping/poller";
import { createQueues } from "../lambda/mapping/onFailureQueue";
import { startLocalSts } from "../sts/sts";
import { startFirehose } from "../firehose/firehose";
import { startHttpApi } from "../apigateway/httpApi";
import { startS3 } from "../emulators/s3";
import { emulatorDynamo, emulatorKinesis, emulatorS3 } from "../emulators/clients";
import { EnforcerStats, manifestPolicies, startIamEnforcers } from "../iam/enforcer";
import { LOCAL_CLOUD_DIR } from "../shared/project";
import { TYPES } from "../../components/parts/typeTokens";

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
}

/** Appends the runtime's own log lines (functions, mappings, Firehose) to `<workDir>/local-cloud.log`. */
function runtimeLog(workDir: string): { write(line: string): void; file: string } {
  const file = path.join(workDir, "local-cloud.log");
  fs.mkdirSync(workDir, { recursive: true });
  const stream = fs.createWriteStream(file, { flags: "a" });
  return {
    write: (line) => {
      stream.write(`${new Date().toISOString()} ${line}\n`);
    },
    file,
  };
}

/** Counts for the status line. */
export interface CloudStats {
  accepted: number;
  projected: number;
  forwarded: number;
  landed: number;
  parked: number;
  deadLettered: number;
  mappings: { name: string; lagMs: number; retries: number; lastError?: string }[];
  /** Decisions of the local IAM enforcer on the functions' calls. */
  iam: EnforcerStats;
}

/** A running local cloud. */
export interface LocalCloud {
  apiUrl: string;
  endpoints: LocalEndpoints;
  manifests: Record<StackRole, StackManifest>;
  /** Seconds from start to the API serving. */
  startupSeconds: number;
  /** Cold start of each function, ms. */
  coldStarts: Record<string, number>;
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

/** The consumer stack's name as the producer's StackReference names it locally. */
export const LOCAL_CONSUMER_STACK = "local/event-sourced-pipeline/consumer";
/** The ExternalId both local stacks share unless config overrides it. */
export const LOCAL_EXTERNAL_ID = "local-external-id";

function baseConfig(stack: StackRole): Record<string, string> {
  return stack === "consumer"
    ? { role: "consumer", producerAccountId: LOCAL_ACCOUNTS.producer, externalId: LOCAL_EXTERNAL_ID }
    : { role: "producer", consumerStack: LOCAL_CONSUMER_STACK };
}

function accountOf(arn: string): string {
  const account = arn.split(":")[4];
  if (!/^\d{12}$/.test(account)) throw new Error(`no account id in ${arn}`);
  return account;
}

/** What every function process gets besides its declared environment: its identity and the emulators. */
function functionIdentity(fn: ManifestFunction, account: string, endpoints: LocalEndpoints): Record<string, string> {
  return {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: account,
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_SESSION_TOKEN: `role:${fn.roleArn}`,
    AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_STS: endpoints.sts,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
  };
}

const ofType = (m: StackManifest, type: string): ManifestResource[] => m.resources.filter((r) => r.type === type);

/** Starts the emulators, deploys both stacks into them and serves the result. */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const t0 = Date.now();
  const log = options.log ?? (() => undefined);
  const workDir = options.dataDir ? path.resolve(options.dataDir) : fs.mkdtempSync(path.join(os.tmpdir(), "local-cloud-"));
  const stoppers: (() => Promise<void>)[] = [];
  // The log outlives an in-memory run, for reading after Ctrl-C.
  const runtime = runtimeLog(options.dataDir ? workDir : LOCAL_CLOUD_DIR);
  const stop = async () => {
    for (const s of stoppers.reverse()) await s().catch(() => undefined);
    if (!options.dataDir) fs.rmSync(workDir, { recursive: true, force: true });
  };

  try {
    log("starting emulators: dynalite (DynamoDB), kinesis-local (Kinesis), s3rver (S3), local STS");
    const persist = (name: string) => (options.dataDir ? path.join(workDir, name) : undefined);
    const [dynamo, kinesis, s3Emulator] = await Promise.all([
      startDynalite({ dataDir: persist("dynamodb") }),
      startKinesisLocal({ dataDir: persist("kinesis") }),
      startS3({ directory: persist("s3") }),
    ]);
    stoppers.push(
      () => dynamo.close(),
      () => kinesis.close(),
      () => s3Emulator.stop(),
    );
    const manifests = {} as Record<StackRole, StackManifest>;
    const sts = await startLocalSts({
      roles: () =>
        Object.values(manifests).flatMap((m) => ofType(m, TYPES.role).map((r) => ({ arn: r.state.arn, assumeRolePolicy: r.inputs.assumeRolePolicy }))),
    });
    stoppers.push(() => sts.stop());
    const endpoints: LocalEndpoints = { kinesis: kinesis.endpoint, dynamodb: dynamo.endpoint, s3: s3Emulator.endpoint, sts: sts.endpoint };

    const deploy = async (stack: StackRole, extra: Record<string, string>) => {
      log(`deploying the ${stack} stack (account ${LOCAL_ACCOUNTS[stack]}): running index.ts under the local provider`);
      manifests[stack] = await runStackInChild({
        stack,
        account: LOCAL_ACCOUNTS[stack],
        region: LOCAL_REGION,
        endpoints,
        config: { ...baseConfig(stack), ...(options.config?.[stack] ?? {}), ...extra },
        stackReferences: stack === "producer" ? { [LOCAL_CONSUMER_STACK]: manifests.consumer.outputs } : {},
        outputDir: path.join(workDir, "stacks"),
      });
    };
    await deploy("consumer", {});
    await deploy("producer", {});

    // The functions' Kinesis, DynamoDB and STS calls go through the IAM enforcer (local/iamEnforcer);
    // the orchestrator's own clients (mappings, Firehose, stats) stay on the emulators.
    const enforcers = await startIamEnforcers(
      { kinesis: endpoints.kinesis, dynamodb: endpoints.dynamodb, sts: endpoints.sts },
      {
        region: LOCAL_REGION,
        policies: manifestPolicies(() => Object.values(manifests)),
        sessionName: (roleArn) =>
          Object.values(manifests)
            .flatMap((m) => m.functions)
            .find((f) => f.roleArn === roleArn)?.functionName,
        onDecision: (d) => {
          if (!d.allowed) runtime.write(`[iam] ${d.message} (${d.reason})`);
        },
      },
    );
    stoppers.push(async () => {
      const s = enforcers.stats();
      runtime.write(`[iam] decisions on function calls: ${s.allowed} allowed, ${s.denied} denied, ${s.unchecked} unchecked`);
      await enforcers.stop();
    });
    const functionEndpoints: LocalEndpoints = { ...endpoints, ...enforcers.endpoints };
    log("identity policies enforced for function calls: their Kinesis, DynamoDB and STS requests pass the local IAM enforcer (AccessDenied as on AWS)");

    // Functions, each in its own process; swapped on redeploy.
    const hosts: Record<string, FunctionHost> = {};
    const coldStarts: Record<string, number> = {};
    const startHosts = async (stack: StackRole) => {
      for (const fn of manifests[stack].functions) {
        const old = hosts[fn.arn];
        hosts[fn.arn] = await startFunctionHost(fn, functionIdentity(fn, manifests[stack].account, functionEndpoints), {
          onLog: (line) => {
            if (line.trim()) runtime.write(`[${fn.name}] ${line}`);
          },
        });
        coldStarts[fn.name] = hosts[fn.arn].coldStartMs;
        if (old) await old.stop();
      }
    };
    await startHosts("consumer");
    await startHosts("producer");
    stoppers.push(async () => {
      await Promise.all(Object.values(hosts).map((h) => h.stop()));
    });
    const invokeByArn = (arn: string) => (event: any) => {
      const host = hosts[arn];
      if (!host) throw new Error(`no function ${arn}`);
      return host.invoke(event);
    };
    const functionArnByName = (m: StackManifest, name: string) => {
      const fn = ofType(m, TYPES.function).find((f) => f.state.arn === name || f.state.name === name);
      if (!fn) throw new Error(`mapping names an unknown function ${name}`);
      return fn.state.arn as string;
    };

    // Event-source mappings, polled with their declared settings.
    const queues = createQueues({ dir: options.dataDir ? path.join(workDir, "queues") : undefined });
    const pollers: { name: string; fnName: string; poller: MappingPoller }[] = [];
    for (const stack of ["consumer", "producer"] as StackRole[]) {
      for (const m of ofType(manifests[stack], TYPES.mapping)) {
        const arn = functionArnByName(manifests[stack], m.inputs.functionName);
        const fn = manifests[stack].functions.find((f) => f.arn === arn)!;
        const poller = startMappingPoller(m.inputs as any, {
          kinesis: emulatorKinesis({ account: accountOf(m.inputs.eventSourceArn), endpoint: endpoints.kinesis }),
          invoke: invokeByArn(arn),
          invokeIdentityArn: fn.roleArn,
          sendToOnFailure: (destinationArn, message) => queues.send(destinationArn, message),
          log: (e) => runtime.write(`[${m.name}] ${JSON.stringify(e)}`),
        });
        pollers.push({ name: m.name, fnName: arn.split(":").pop()!, poller });
      }
    }
    stoppers.push(async () => {
      await Promise.all(pollers.map((p) => p.poller.stop()));
    });

    // Firehose delivery streams, landing into the S3 emulator.
    const s3 = emulatorS3({ endpoint: endpoints.s3 });
    const firehoses = ofType(manifests.consumer, TYPES.firehose).map((d) =>
      startFirehose({ ...d.inputs, name: d.state.name } as any, {
        kinesis: emulatorKinesis({ account: accountOf(d.inputs.kinesisSourceConfiguration.kinesisStreamArn), endpoint: endpoints.kinesis }),
        s3,
        maxBufferSeconds: options.maxFirehoseBufferSeconds ?? 2,
        log: (e) => runtime.write(`[firehose ${d.state.name}] ${JSON.stringify(e)}`),
      }),
    );
    stoppers.push(async () => {
      await Promise.all(firehoses.map((f) => f.stop()));
    });
    const landingBucket = (ofType(manifests.consumer, TYPES.firehose)[0]?.inputs.extendedS3Configuration.bucketArn ?? "").split(":::").pop() ?? "";

    // The HTTP API, from the declared routes and their integrations.
    const api = ofType(manifests.producer, TYPES.httpApi)[0];
    const integrations = ofType(manifests.producer, TYPES.integration);
    const routes = ofType(manifests.producer, TYPES.route).filter((r) => r.inputs.apiId === api.id);
    const routeTarget: Record<string, string> = {};
    let timeoutMs = 30_000;
    for (const r of routes) {
      const integration = integrations.find((i) => `integrations/${i.id}` === r.inputs.target);
      if (!integration) throw new Error(`route ${r.inputs.routeKey} targets ${r.inputs.target}, which the program did not declare`);
      routeTarget[r.inputs.routeKey] = integration.inputs.integrationUri;
      timeoutMs = integration.inputs.timeoutMilliseconds ?? timeoutMs;
    }
    let accepted = 0;
    const http = await startHttpApi({
      routes: Object.keys(routeTarget),
      port: options.apiPort ?? 3000,
      timeoutMs,
      accountId: manifests.producer.account,
      apiId: api.id,
      invoke: async (routeKey, event) => {
        const result: any = await invokeByArn(routeTarget[routeKey])(event);
        if (result?.statusCode === 202) accepted += 1;
        return result;
      },
    });
    stoppers.push(() => http.stop());

    const dynamoClient = emulatorDynamo({ endpoint: endpoints.dynamodb });
    const parkedTables = ofType(manifests.producer, TYPES.table)
      .filter((t) => t.name.endsWith("-parked"))
      .map((t) => t.state.name as string);
    const countItems = async (table: string) => (await dynamoClient.send(new ScanCommand({ TableName: table, Select: "COUNT" }))).Count ?? 0;
    const projectorMapping = (p: { fnName: string }) => p.fnName.includes("projector");

    const cloud: LocalCloud = {
      apiUrl: http.url,
      endpoints,
      manifests,
      startupSeconds: (Date.now() - t0) / 1000,
      coldStarts,
      s3,
      landingBucket,
      logFile: runtime.file,
      async stats() {
        const parked = (await Promise.all(parkedTables.map(countItems))).reduce((a, b) => a + b, 0);
        const sum = (f: (p: (typeof pollers)[number]) => boolean) => pollers.filter(f).reduce((a, p) => a + p.poller.stats().succeeded, 0);
        return {
          accepted,
          projected: sum(projectorMapping),
          forwarded: sum((p) => !projectorMapping(p)),
          landed: firehoses.reduce((a, f) => a + f.stats().records, 0),
          parked,
          deadLettered: Object.values(queues.counts()).reduce((a: number, b: any) => a + Number(b), 0),
          mappings: pollers.map((p) => {
            const { lagMs, retries, lastError } = p.poller.stats();
            return { name: p.name, lagMs, retries, lastError };
          }),
          iam: enforcers.stats(),
        };
      },
      deadLetters() {
        const out: Record<string, object[]> = {};
        for (const arn of Object.keys(queues.counts())) out[arn] = queues.messages(arn);
        return out;
      },
      async redeploy(stack, config) {
        await deploy(stack, config);
        await startHosts(stack);
      },
      stop,
    };
    return cloud;
  } catch (err) {
    await stop();
    throw err;
  }
}
