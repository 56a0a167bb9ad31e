/**
 * Runs one function from its serialised archive in its own child process,
 * like a Lambda container: a clean environment (PATH, the declared
 * environment, what the caller adds, NODE_PATH = the runtime's @aws-sdk only),
 * cwd = the artifact dir, the declared timeout enforced. A timeout or a crash
 * ends the container; the next invocation starts a new one (a cold start).
 */
import { ChildProcess, fork } from "child_process";
import { randomUUID } from "crypto";
import * as path from "path";
import { runtimeModules } from "../deploy/artifacts";
import { ManifestFunction } from "../shared/manifest";

const WORKER = path.join(__dirname, "functionWorker.js");
/** How long a container may take to load its code before the host gives up on it. */
const INIT_TIMEOUT_MS = 30_000;

/** The error an invocation rejects with: the function's own error, or the runtime's (timeout, crash). */
export class FunctionError extends Error {
  /** Name of the function that failed. */
  readonly functionName: string;
  constructor(functionName: string, error: { name?: string; message?: string; stack?: string }) {
    super(error.message ?? "function error");
    this.name = error.name ?? "Error";
    this.functionName = functionName;
    if (error.stack) this.stack = error.stack;
  }
}

/** A running function. */
export interface FunctionHost {
  /** The function as the manifest describes it. */
  readonly fn: ManifestFunction;
  /** Invokes synchronously (RequestResponse): resolves with the JSON result, rejects with a {@link FunctionError}. */
  invoke(event: unknown): Promise<unknown>;
  /** Kills the container; pending invocations reject. Idempotent. */
  stop(): Promise<void>;
  /** Milliseconds the last cold start took to load the module and build the handler. */
  readonly coldStartMs: number;
  /** Containers started so far (1 + restarts after timeouts and crashes). */
  readonly coldStarts: number;
  /** Invocations so far, and how many of them failed. */
  readonly invocations: number;
  readonly errors: number;
  /** Process id of the current container, if one runs. */
  readonly pid: number | undefined;
}

/** Options of {@link startFunctionHost}. */
export interface FunctionHostOptions {
  /** Receives each line the function writes (default: written to stderr, prefixed with the function's name). */
  onLog?: (line: string, stream: "stdout" | "stderr") => void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface Container {
  child: ChildProcess;
  pending: Map<string, Pending>;
  ready: Promise<void>;
  exited: Promise<void>;
}

/** The environment a container gets, and nothing else from this process. */
export function containerEnv(fn: ManifestFunction, extraEnv: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    ...fn.environment,
    ...extraEnv,
    NODE_PATH: runtimeModules(),
  };
}

function lines(stream: NodeJS.ReadableStream | null, emit: (line: string) => void): void {
  if (!stream) return;
  let buffered = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    for (const line of parts) emit(line);
  });
  stream.on("end", () => {
    if (buffered) emit(buffered);
  });
}

/** Starts a function's container and waits until its handler is loaded (an init error rejects). */
export async function startFunctionHost(fn: ManifestFunction, extraEnv: Record<string, string>, options: FunctionHostOptions = {}): Promise<FunctionHost> {
  const env = containerEnv(fn, extraEnv);
  const timeoutMs = Math.max(1, Math.round(fn.timeout * 1000));
  const onLog = options.onLog ?? ((line: string) => process.stderr.write(`[${fn.name}] ${line}\n`));
  let container: Container | undefined;
  let stopped = false;
  const stats = { coldStartMs: 0, coldStarts: 0, invocations: 0, errors: 0 };

  const kill = async (c: Container, reason: FunctionError): Promise<void> => {
    if (container === c) container = undefined;
    for (const [id, p] of c.pending) {
      clearTimeout(p.timer);
      c.pending.delete(id);
      stats.errors += 1;
      p.reject(reason);
    }
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
    await c.exited;
  };

  const spawnContainer = (): Container => {
    const child = fork(WORKER, [JSON.stringify({ functionName: fn.functionName, functionArn: fn.arn, memorySize: fn.memorySize, timeoutMs })], {
      cwd: fn.dir,
      env,
      // Not the parent's flags (ts-node, inspector): the runtime runs plain node.
      execArgv: [],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
    });
    lines(child.stdout, (l) => onLog(l, "stdout"));
    lines(child.stderr, (l) => onLog(l, "stderr"));
    const pending = new Map<string, Pending>();
    // A container that could not even spawn (e.g. its dir is gone) emits "error" and never "exit".
    const exited = new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", () => resolve());
    });
    const c: Container = { child, pending, exited, ready: Promise.resolve() };
    c.ready = new Promise<void>((resolve, reject) => {
      const initTimer = setTimeout(() => {
        void kill(c, new FunctionError(fn.name, { name: "Runtime.InitTimeout", message: `init did not finish within ${INIT_TIMEOUT_MS} ms` }));
        reject(new FunctionError(fn.name, { name: "Runtime.InitTimeout", message: `init did not finish within ${INIT_TIMEOUT_MS} ms` }));
      }, INIT_TIMEOUT_MS);
      child.on("message", (msg: any) => {
        if (msg?.type === "ready") {
          clearTimeout(initTimer);
          stats.coldStartMs = msg.coldStartMs;
          resolve();
        } else if (msg?.type === "initError") {
          clearTimeout(initTimer);
          reject(new FunctionError(fn.name, { ...msg.error, name: `Runtime.ImportModuleError: ${msg.error.name}` }));
        } else if (typeof msg?.id === "string") {
          const p = pending.get(msg.id);
          if (!p) return; // answered after its timeout: the caller already has its error
          pending.delete(msg.id);
          clearTimeout(p.timer);
          if (msg.error) {
            stats.errors += 1;
            p.reject(new FunctionError(fn.name, msg.error));
          } else p.resolve(msg.result);
        }
      });
      child.once("error", (err) => {
        clearTimeout(initTimer);
        if (container === c) container = undefined;
        reject(new FunctionError(fn.name, { name: "Runtime.ExitError", message: `container failed: ${err.message}` }));
      });
      child.once("exit", (code, signal) => {
        clearTimeout(initTimer);
        const err = new FunctionError(fn.name, {
          name: "Runtime.ExitError",
          message: `Runtime exited with ${signal ? `signal ${signal}` : `exit status ${code}`}`,
        });
        reject(err); // no-op once ready
        if (container === c) container = undefined;
        for (const [id, p] of pending) {
          clearTimeout(p.timer);
          pending.delete(id);
          stats.errors += 1;
          p.reject(err);
        }
      });
    });
    c.ready.catch(() => undefined); // observed by whoever awaits it
    stats.coldStarts += 1;
    container = c;
    return c;
  };

  const current = async (): Promise<Container> => {
    const c = container ?? spawnContainer();
    await c.ready;
    return c;
  };

  try {
    await current();
  } catch (err) {
    if (container) await kill(container, err as FunctionError);
    throw err;
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
      return container?.child.pid;
    },
    async invoke(event: unknown): Promise<unknown> {
      if (stopped) throw new FunctionError(fn.name, { name: "Runtime.Stopped", message: `${fn.name} is stopped` });
      stats.invocations += 1;
      let c: Container;
      try {
        c = await current();
      } catch (err) {
        stats.errors += 1;
        throw err;
      }
      if (stopped) {
        stats.errors += 1;
        throw new FunctionError(fn.name, { name: "Runtime.Stopped", message: `${fn.name} was stopped` });
      }
      const id = randomUUID();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          // Lambda ends the container of a timed-out invocation; so do we.
          c.pending.delete(id);
          stats.errors += 1;
          reject(new FunctionError(fn.name, { name: "Sandbox.Timedout", message: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` }));
          void kill(c, new FunctionError(fn.name, { name: "Runtime.ExitError", message: "container ended after another invocation timed out" }));
        }, timeoutMs);
        c.pending.set(id, { resolve, reject, timer });
        c.child.send({ id, event }, (err) => {
          if (!err || !c.pending.has(id)) return;
          c.pending.delete(id);
          clearTimeout(timer);
          stats.errors += 1;
          reject(new FunctionError(fn.name, { name: "Runtime.ExitError", message: `could not reach the container: ${err.message}` }));
        });
      });
    },
    async stop() {
      stopped = true;
      if (container) await kill(container, new FunctionError(fn.name, { name: "Runtime.Stopped", message: `${fn.name} was stopped` }));
    },
  };
}
