/**
 * Step 4 of the local cloud: every function the stacks declare, each in a
 * pool of execution environments (processes) running its serialised archive
 * with its declared environment, its execution role's identity and the
 * endpoints functions see. A redeploy swaps a stack's functions in; callers
 * find them by ARN at each call.
 */
import { TYPES } from "../../../components/parts/typeTokens";
import { FunctionHost, LOCAL_CONCURRENCY, startFunctionHost } from "../../lambda/functionHost";
import { LOCAL_REGION, LocalEndpoints, ManifestFunction, StackManifest, StackRole } from "../../shared/manifest";
import { CloudContext, mappedFunction, ofType, Service } from "../context";
import { sessionToken } from "../../shared/identity";
import { Manifests } from "./stacks";
import { SDK_WARNING_OFF } from "../../shared/nodeVersion";

/** The running functions. */
export interface FunctionsService extends Service {
  /** Cold start of each function, ms, by logical name. */
  coldStarts: Record<string, number>;
  /** Invokes the function with this ARN synchronously; a function error rejects. */
  invoke(arn: string, event: unknown): Promise<unknown>;
  /** Starts the stack's functions as its manifest now declares them, then stops the ones they replace. */
  restart(stack: StackRole): Promise<void>;
}

/** What every function process gets besides its declared environment: its identity and the emulators. */
export function functionIdentity(fn: ManifestFunction, account: string, endpoints: LocalEndpoints): Record<string, string> {
  return {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: account,
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_SESSION_TOKEN: sessionToken(fn.roleArn),
    AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_STS: endpoints.sts,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
    // Shown once by `npm start`, not by every environment (Lambda's nodejs22.x runtime never shows it).
    ...SDK_WARNING_OFF,
  };
}

/**
 * How many environments a function without reserved concurrency may have locally: the local cap, or the
 * lanes its mappings run at once (each mapping's parallelization factor, for a stream of one shard) if more.
 */
export function localEnvironmentCap(m: StackManifest, fn: ManifestFunction): number {
  const lanes = ofType(m, TYPES.mapping)
    .filter((x) => mappedFunction(m, x).arn === fn.arn)
    .reduce((n, x) => n + (Number(x.inputs.parallelizationFactor) || 1), 0);
  return Math.max(LOCAL_CONCURRENCY, lanes);
}

/** Starts the functions of both stacks, side by side. */
export async function startFunctions(ctx: CloudContext, manifests: Manifests, endpoints: LocalEndpoints): Promise<FunctionsService> {
  const hosts: Record<string, FunctionHost> = {};
  const coldStarts: Record<string, number> = {};
  const startOne = async (stack: StackRole, fn: ManifestFunction) => {
    const old = hosts[fn.arn];
    hosts[fn.arn] = await startFunctionHost(fn, functionIdentity(fn, manifests[stack].account, endpoints), {
      maxEnvironments: localEnvironmentCap(manifests[stack], fn),
      onLog: (line) => {
        if (line.trim()) ctx.runtime.write(`[${fn.name}] ${line}`);
        ctx.metrics.ingest(fn.name, line);
      },
    });
    coldStarts[fn.name] = hosts[fn.arn].coldStartMs;
    if (old) await old.stop();
  };
  // Side by side (a cold start is mostly waiting on a process to load); every start settles before a failure is thrown, so stop() sees them all.
  const restart = async (...stacks: StackRole[]) => {
    const started = await Promise.allSettled(stacks.flatMap((stack) => manifests[stack].functions.map((fn) => startOne(stack, fn))));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    // In the manifests' order, not the order they came up in: the banner lists them.
    for (const fn of Object.values(manifests).flatMap((m) => m.functions)) {
      const ms = coldStarts[fn.name];
      delete coldStarts[fn.name];
      if (ms !== undefined) coldStarts[fn.name] = ms;
    }
  };
  const stop = async () => {
    await Promise.all(Object.values(hosts).map((h) => h.stop()));
  };
  try {
    await restart("consumer", "producer");
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    coldStarts,
    invoke: async (arn, event) => {
      const host = hosts[arn];
      if (!host) throw new Error(`local cloud: no function has the ARN ${arn}; the stacks declare ${Object.keys(hosts).join(", ")}`);
      return host.invoke(event);
    },
    restart,
    stop,
  };
}
