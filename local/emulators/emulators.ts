/**
 * Real AWS emulators from npm, started on free loopback ports:
 * dynalite (DynamoDB, in-process, in memory or on LevelDB) and kinesis-local
 * (kinesis-mock, in a supervised process of its own session; it serves
 * several accounts, chosen by the access key id).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { Readable } from "stream";
import * as tls from "tls";
import { guardServer } from "../shared/browserGuard";
import { pidFileHolder } from "../shared/runningCloud";

/** One whole HTTP request, as a proxy in this process has read it. */
export interface WholeRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Answers a request on `res` exactly as the emulator's HTTP server would, without the loopback hop. */
export type InProcessHandler = (request: WholeRequest, res: http.ServerResponse) => void;

export interface Emulator {
  endpoint: string;
  /** The emulator's own process, when it runs in one. */
  pid?: number;
  /** When it runs in this process: its request handler, for callers here that hold a request already. */
  serve?: InProcessHandler;
  close(): Promise<void>;
}

/** `request` as the readable IncomingMessage an http.Server's listener receives: its headers, then its body. */
function incoming(request: WholeRequest): http.IncomingMessage {
  const stream = new Readable({ read: () => undefined });
  if (request.body.length) stream.push(request.body);
  stream.push(null);
  return Object.assign(stream, { method: request.method, url: request.url, headers: request.headers }) as unknown as http.IncomingMessage;
}

/** Asks the OS for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Options shared by the emulators. */
export interface EmulatorOptions {
  /** Keep data in this directory across restarts; in memory when absent. */
  dataDir?: string;
}

/** Starts dynalite in this process, in memory or (with dataDir) on LevelDB. */
export async function startDynalite(options: EmulatorOptions = {}): Promise<Emulator> {
  const dynalite = require("dynalite");
  if (options.dataDir) fs.mkdirSync(options.dataDir, { recursive: true });
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, path: options.dataDir });
  const listener = server.listeners("request")[0] as http.RequestListener;
  guardServer(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    serve: (request, res) => listener(incoming(request), res),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

/**
 * kinesis-local did not come up on the ports it was given: it exited first, or one of its two servers never
 * answered (most likely a port freePort found was taken before it bound it). It is worth another try on new ports.
 */
class NotListening extends Error {}

/** Whether something accepts a TCP connection on `port`, or (`tls`) completes a TLS handshake there, within a second. */
function answers(port: number, tlsHandshake: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsHandshake ? tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false }) : net.connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1_000);
    socket.once(tlsHandshake ? "secureConnect" : "connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Waits until both of kinesis-local's servers answer: its plain port, and its TLS port with a handshake (a port
 * another process holds answers TCP, not kinesis-local's TLS). kinesis-local binds them one after the other and
 * exits when the second bind fails, so the plain port answering alone does not mean it is up.
 */
async function waitForListening(plain: number, tlsPort: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new NotListening(`kinesis-local exited (${child.exitCode ?? child.signalCode}) before it listened on ${plain} and ${tlsPort}`);
    }
    if ((await answers(plain, false)) && (await answers(tlsPort, true))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new NotListening(`kinesis-local did not listen on ${plain} and ${tlsPort} within ${timeoutMs} ms`);
}

/** Options of {@link startKinesisLocal}. */
export interface KinesisLocalOptions extends EmulatorOptions {
  /** How long a stop may wait for kinesis-local to complete its last saves, ms. Default 30,000. */
  flushTimeoutMs?: number;
  /** The plain and TLS ports of each attempt to start it. Default: two free ports each time (a test takes one). */
  ports?: () => Promise<[number, number]>;
  /** How long one attempt may take to listen, ms. Default 20,000. */
  listenTimeoutMs?: number;
}

/** Attempts to start kinesis-local, each on new ports. */
const START_ATTEMPTS = 3;

const SUPERVISOR = path.join(__dirname, "kinesisSupervisor.js");
/** kinesis-mock's own save interval: it writes the whole state each time, and a stop waits for two. */
const PERSIST_INTERVAL = "500ms";

/** A supervisor left by a cloud that was killed may still be making its last save: loading the file before it finishes would lose those writes. */
async function previousSupervisorGone(dataDir: string, timeoutMs: number): Promise<void> {
  const file = path.join(dataDir, "supervisor.pid");
  const deadline = Date.now() + timeoutMs;
  for (let pid = pidFileHolder(file); pid !== undefined; pid = pidFileHolder(file)) {
    if (Date.now() > deadline) throw new Error(`kinesis-local: ${dataDir} is still held by the kinesis-local supervisor with pid ${pid} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts kinesis-local under its supervisor (kinesisSupervisor.js) in a session of its own, so a Ctrl-C to
 * this process group never reaches it, with its stdin as a lifeline: however this process ends, the
 * supervisor sees the pipe close, waits for a complete save after the last write (with a data dir), and exits.
 */
export async function startKinesisLocal(options: KinesisLocalOptions = {}): Promise<Emulator> {
  const dataDir = options.dataDir ? path.resolve(options.dataDir) : undefined;
  if (dataDir) fs.mkdirSync(dataDir, { recursive: true });
  const flushTimeoutMs = options.flushTimeoutMs ?? 30_000;
  if (dataDir) await previousSupervisorGone(dataDir, flushTimeoutMs + 5_000);
  const ports = options.ports ?? (async () => [await freePort(), await freePort()] as [number, number]);
  // A free port is free when asked, not necessarily when kinesis-local binds it a second later (another process's
  // outgoing connection may take it from the same ephemeral range): when it does not come up, again on new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await kinesisLocalOn(...(await ports()), dataDir, flushTimeoutMs, options.listenTimeoutMs ?? 20_000);
    } catch (err) {
      if (!(err instanceof NotListening) || attempt === START_ATTEMPTS) throw err;
    }
  }
}

async function kinesisLocalOn(plain: number, tlsPort: number, dataDir: string | undefined, flushTimeoutMs: number, listenTimeoutMs: number): Promise<Emulator> {
  const main = require.resolve("kinesis-local/main.js");
  const child = spawn(process.execPath, [SUPERVISOR, main], {
    // It reads its TLS certificate relative to its cwd.
    cwd: path.dirname(main),
    env: {
      PATH: process.env.PATH,
      KINESIS_MOCK_PLAIN_PORT: String(plain),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
      // Stream creation and deletion delays default to 500 ms; tests don't need them.
      CREATE_STREAM_DURATION: "0ms",
      DELETE_STREAM_DURATION: "0ms",
      UPDATE_SHARD_COUNT_DURATION: "0ms",
      SHARD_LIMIT: "1000",
      LOG_LEVEL: "ERROR",
      KINESIS_SUPERVISOR_FLUSH_TIMEOUT_MS: String(flushTimeoutMs),
      ...(dataDir
        ? {
            SHOULD_PERSIST_DATA: "true",
            LOAD_DATA_IF_EXISTS: "true",
            PERSIST_PATH: dataDir,
            PERSIST_INTERVAL,
            KINESIS_SUPERVISOR_DATA_FILE: path.join(dataDir, "kinesis-data.json"),
          }
        : {}),
    },
    stdio: ["pipe", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  // The lifeline: never written, only closed (by close() below, or by the OS when this process ends).
  child.stdin!.on("error", () => undefined);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once("exit", () => resolve());
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  try {
    await waitForListening(plain, tlsPort, child, listenTimeoutMs);
  } catch (err) {
    kill();
    await exited;
    const Failure = err instanceof NotListening ? NotListening : Error;
    throw new Failure(`${(err as Error).message}\n${stderr}`, { cause: err });
  }
  return {
    endpoint: `http://127.0.0.1:${plain}`,
    pid: child.pid,
    close: async () => {
      child.stdin!.end();
      // The supervisor bounds its own flush; this only covers a supervisor that hangs.
      const timer = setTimeout(kill, flushTimeoutMs + 5_000);
      await exited;
      clearTimeout(timer);
      if (child.exitCode !== 0 && stderr) process.stderr.write(stderr);
    },
  };
}
