/**
 * One Lambda execution environment: a child process running a function's
 * serialised archive (functionWorker.js) that serves one invocation at a
 * time, as Lambda's do. Its process is in a group of its own, so a Ctrl-C to
 * the local cloud's terminal does not end it mid-invocation: the host stops
 * it in order, and it exits by itself when the host's IPC channel goes away.
 * The pool of them, and the timeouts, are in functionHost.ts.
 */
import { ChildProcess, fork } from "child_process";
import * as path from "path";
import { ManifestFunction } from "../shared/manifest";

const WORKER = path.join(__dirname, "functionWorker.js");
/** How long an environment may take to load its code before the host gives up on it. */
const INIT_TIMEOUT_MS = 30_000;

/** The error an invocation rejects with: the function's own error, or the runtime's (timeout, crash, throttle). */
export class FunctionError extends Error {
  /** Name of the function that failed. */
  readonly functionName: string;
  /** The invocation's request id, when it reached an environment. */
  requestId?: string;
  constructor(functionName: string, error: { name?: string; message?: string; stack?: string }, requestId?: string) {
    super(error.message ?? "function error");
    this.name = error.name ?? "Error";
    this.functionName = functionName;
    if (requestId) this.requestId = requestId;
    if (error.stack) this.stack = error.stack;
  }
}

/** A started environment. */
export interface Environment {
  readonly pid: number | undefined;
  /** Resolves once the handler is loaded; rejects with the init error. */
  readonly ready: Promise<void>;
  /** Milliseconds the init took (set once ready). */
  readonly coldStartMs: number;
  /** Whether its process has ended. */
  readonly ended: boolean;
  /** Sends one invocation; resolves with the JSON result, rejects with a {@link FunctionError}. One at a time. */
  invoke(requestId: string, event: unknown): Promise<unknown>;
  /** Ends the process; the invocation in flight rejects with `reason`. Resolves once it has exited. */
  kill(reason: FunctionError): Promise<void>;
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

interface InFlight {
  requestId: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** Forks one environment of `fn` with exactly `env`; `onLog` receives each line the function writes. */
export function startEnvironment(
  fn: ManifestFunction,
  env: Record<string, string>,
  timeoutMs: number,
  onLog: (line: string, stream: "stdout" | "stderr") => void,
): Environment {
  const child: ChildProcess = fork(WORKER, [JSON.stringify({ functionName: fn.functionName, functionArn: fn.arn, memorySize: fn.memorySize, timeoutMs })], {
    cwd: fn.dir,
    env,
    // Not the parent's flags (ts-node, inspector): the runtime runs plain node.
    execArgv: [],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    serialization: "json",
    // Out of the terminal's process group: the host decides when it ends.
    detached: true,
  });
  lines(child.stdout, (l) => onLog(l, "stdout"));
  lines(child.stderr, (l) => onLog(l, "stderr"));
  let inFlight: InFlight | undefined;
  let ended = false;
  let coldStartMs = 0;
  const fail = (err: FunctionError) => {
    const current = inFlight;
    inFlight = undefined;
    current?.reject(Object.assign(err, { requestId: current.requestId }));
  };
  // A process that could not even spawn (e.g. its dir is gone) emits "error" and never "exit".
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  const ready = new Promise<void>((resolve, reject) => {
    const initTimer = setTimeout(() => {
      const err = new FunctionError(fn.name, { name: "Runtime.InitTimeout", message: `init did not finish within ${INIT_TIMEOUT_MS} ms` });
      reject(err);
      void kill(err);
    }, INIT_TIMEOUT_MS);
    child.on("message", (msg: any) => {
      if (msg?.type === "ready") {
        clearTimeout(initTimer);
        coldStartMs = msg.coldStartMs;
        resolve();
      } else if (msg?.type === "initError") {
        clearTimeout(initTimer);
        reject(new FunctionError(fn.name, { ...msg.error, name: `Runtime.ImportModuleError: ${msg.error.name}` }));
      } else if (inFlight && typeof msg?.id === "string" && msg.id === inFlight.requestId) {
        const current = inFlight;
        inFlight = undefined;
        if (msg.error) current.reject(new FunctionError(fn.name, msg.error, current.requestId));
        else current.resolve(msg.result);
      }
    });
    child.once("error", (err) => {
      clearTimeout(initTimer);
      ended = true;
      const failure = new FunctionError(fn.name, { name: "Runtime.ExitError", message: `environment failed: ${err.message}` });
      reject(failure);
      fail(failure);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(initTimer);
      ended = true;
      const failure = new FunctionError(fn.name, {
        name: "Runtime.ExitError",
        message: `Runtime exited with ${signal ? `signal ${signal}` : `exit status ${code}`}`,
      });
      reject(failure); // no-op once ready
      fail(failure);
    });
  });
  ready.catch(() => undefined); // observed by whoever awaits it

  const kill = async (reason: FunctionError): Promise<void> => {
    ended = true;
    fail(reason);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };

  return {
    get pid() {
      return child.pid;
    },
    ready,
    get coldStartMs() {
      return coldStartMs;
    },
    get ended() {
      return ended;
    },
    invoke(requestId, event) {
      if (inFlight)
        throw new Error(`local lambda: an environment of ${fn.name} serves one invocation at a time, got ${requestId} during ${inFlight.requestId}`);
      return new Promise((resolve, reject) => {
        if (ended) return reject(new FunctionError(fn.name, { name: "Runtime.ExitError", message: "environment ended" }, requestId));
        inFlight = { requestId, resolve, reject };
        child.send({ id: requestId, event }, (err) => {
          if (err && inFlight?.requestId === requestId)
            fail(new FunctionError(fn.name, { name: "Runtime.ExitError", message: `could not reach the environment: ${err.message}` }));
        });
      });
    },
    kill,
  };
}
