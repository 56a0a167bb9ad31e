/**
 * Runs one function from its serialised archive as Lambda runs it: a pool of
 * execution environments (environment.ts), each a child process with a clean
 * environment (PATH, the declared environment, what the caller adds,
 * NODE_PATH = the runtime's @aws-sdk only), cwd = the artifact dir, serving
 * one invocation at a time. An idle environment is reused (the most recently
 * used first); when all are busy a new one starts (a cold start), up to the
 * function's concurrency: its declared `reservedConcurrentExecutions`, beyond
 * which invocations are throttled as Lambda throttles them, or else the local
 * cap (LOCAL_CONCURRENCY), beyond which they wait for a free environment (a
 * laptop limit, not an AWS one: an account's default is 1,000). A timed-out
 * or crashed invocation ends its own environment only.
 */
import { randomUUID } from "crypto";
import * as os from "os";
import { runtimeModules } from "../deploy/artifacts";
import { ManifestFunction } from "../shared/manifest";
import { Environment, FunctionError, startEnvironment } from "./environment";

export { FunctionError } from "./environment";

/**
 * Environments per function when it declares no reserved concurrency: two per core, at least 4. Past the
 * cores, an environment adds no throughput, only its cold start and its own JIT warm-up (the demo on 2 cores,
 * 488 events: the API's CPU per event 6.0–6.2 ms with 4, 8.0–8.6 ms with the former 10). A function fed by
 * mappings gets at least their lanes (see the functions step), so the cap never serialises them.
 */
export const LOCAL_CONCURRENCY = Math.max(4, 2 * os.availableParallelism());

/** A running function. */
export interface FunctionHost {
  /** The function as the manifest describes it. */
  readonly fn: ManifestFunction;
  /** Invokes synchronously (RequestResponse): resolves with the JSON result, rejects with a {@link FunctionError}. */
  invoke(event: unknown): Promise<unknown>;
  /** Ends every environment; pending invocations reject. Idempotent. */
  stop(): Promise<void>;
  /** Milliseconds the last cold start took to load the module and build the handler. */
  readonly coldStartMs: number;
  /** Environments started so far (cold starts: the first, those added under load, and replacements after timeouts and crashes). */
  readonly coldStarts: number;
  /** Invocations so far, and how many of them failed. */
  readonly invocations: number;
  readonly errors: number;
  /** Process id of one running environment (the oldest), if one runs. */
  readonly pid: number | undefined;
  /** Environments running now, and at most. */
  readonly environments: number;
  readonly concurrency: number;
}

/** Options of {@link startFunctionHost}. */
export interface FunctionHostOptions {
  /** Receives each line the function writes, and the runtime's timeout reports (default: written to stderr, prefixed with the function's name). */
  onLog?: (line: string, stream: "stdout" | "stderr") => void;
  /** The cap when the function declares no reserved concurrency. Default {@link LOCAL_CONCURRENCY}. */
  maxEnvironments?: number;
}

/** The environment a function's processes get, and nothing else from this process. */
export function containerEnv(fn: ManifestFunction, extraEnv: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    ...fn.environment,
    ...extraEnv,
    NODE_PATH: runtimeModules(),
  };
}

/** Starts a function's first environment and waits until its handler is loaded (an init error rejects). */
export async function startFunctionHost(fn: ManifestFunction, extraEnv: Record<string, string>, options: FunctionHostOptions = {}): Promise<FunctionHost> {
  const env = containerEnv(fn, extraEnv);
  const timeoutMs = Math.max(1, Math.round(fn.timeout * 1000));
  const onLog = options.onLog ?? ((line: string) => process.stderr.write(`[${fn.name}] ${line}\n`));
  const reserved = fn.reservedConcurrency;
  const cap = reserved ?? options.maxEnvironments ?? LOCAL_CONCURRENCY;
  const live = new Set<Environment>();
  const idle: Environment[] = [];
  const waiting: (() => void)[] = [];
  let stopped = false;
  const stats = { coldStartMs: 0, coldStarts: 0, invocations: 0, errors: 0 };
  const stoppedError = () => new FunctionError(fn.name, { name: "Runtime.Stopped", message: `${fn.name} was stopped` });

  const wakeOne = () => waiting.shift()?.();
  const spawn = async (): Promise<Environment> => {
    stats.coldStarts += 1;
    const e = startEnvironment(fn, env, timeoutMs, onLog);
    live.add(e);
    try {
      await e.ready;
    } catch (err) {
      live.delete(e);
      await e.kill(err as FunctionError);
      wakeOne();
      throw err;
    }
    stats.coldStartMs = e.coldStartMs;
    return e;
  };
  /** A warm environment, else a new one within the cap; at the cap, a throttle (reserved) or a wait (local cap). */
  const acquire = async (): Promise<Environment> => {
    for (;;) {
      if (stopped) throw stoppedError();
      const warm = idle.pop();
      if (warm && !warm.ended) return warm;
      if (warm) {
        live.delete(warm);
        continue;
      }
      if (live.size < cap) return spawn();
      if (reserved !== undefined)
        throw new FunctionError(fn.name, { name: "TooManyRequestsException", message: `Rate Exceeded. (reserved concurrency ${reserved}, all in use)` });
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  const release = (e: Environment) => {
    if (e.ended || stopped) live.delete(e);
    else idle.push(e);
    wakeOne();
  };

  const run = async (e: Environment, event: unknown): Promise<unknown> => {
    const requestId = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Lambda ends the environment of a timed-out invocation, and only that one.
        const message = `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`;
        onLog(`REPORT RequestId: ${requestId} Status: timeout ${message}`, "stderr");
        reject(new FunctionError(fn.name, { name: "Sandbox.Timedout", message }, requestId));
        void e.kill(new FunctionError(fn.name, { name: "Runtime.ExitError", message: "environment ended: its invocation timed out" }, requestId));
      }, timeoutMs);
    });
    try {
      return await Promise.race([e.invoke(requestId, event), timedOut]);
    } finally {
      clearTimeout(timer);
      release(e);
    }
  };

  const stop = async () => {
    stopped = true;
    idle.splice(0);
    for (const wake of waiting.splice(0)) wake();
    await Promise.all([...live].map((e) => e.kill(stoppedError())));
    live.clear();
  };

  if (cap > 0) {
    try {
      idle.push(await spawn());
    } catch (err) {
      await stop();
      throw err;
    }
  }

  return {
    fn,
    get coldStartMs() {
      return stats.coldStartMs;
    },
    get coldStarts() {
      return stats.coldStarts;
    },
    get invocations() {
      return stats.invocations;
    },
    get errors() {
      return stats.errors;
    },
    get pid() {
      return [...live].find((e) => !e.ended)?.pid;
    },
    get environments() {
      return [...live].filter((e) => !e.ended).length;
    },
    concurrency: cap,
    async invoke(event: unknown): Promise<unknown> {
      if (stopped) throw new FunctionError(fn.name, { name: "Runtime.Stopped", message: `${fn.name} is stopped` });
      stats.invocations += 1;
      try {
        return await run(await acquire(), event);
      } catch (err) {
        stats.errors += 1;
        throw err;
      }
    },
    stop,
  };
}
