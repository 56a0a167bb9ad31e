/**
 * Real AWS emulators from npm, started on free loopback ports:
 * dynalite (DynamoDB, in-process, in memory) and kinesis-local (kinesis-mock,
 * a child process; it serves several accounts, chosen by the access key id).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

export interface Emulator {
  endpoint: string;
  close(): Promise<void>;
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
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`kinesis-local exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`kinesis-local did not listen on ${port} within ${timeoutMs} ms`);
}

/** Starts kinesis-local as a child process (it reads its TLS cert relative to its cwd). */
export async function startKinesisLocal(options: EmulatorOptions = {}): Promise<Emulator> {
  const [plain, tls] = [await freePort(), await freePort()];
  const main = require.resolve("kinesis-local/main.js");
  const child = spawn(process.execPath, [main], {
    cwd: path.dirname(main),
    env: {
      PATH: process.env.PATH,
      KINESIS_MOCK_PLAIN_PORT: String(plain),
      KINESIS_MOCK_TLS_PORT: String(tls),
      AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
      // Stream creation and deletion delays default to 500 ms; tests don't need them.
      CREATE_STREAM_DURATION: "0ms",
      DELETE_STREAM_DURATION: "0ms",
      UPDATE_SHARD_COUNT_DURATION: "0ms",
      SHARD_LIMIT: "1000",
      LOG_LEVEL: "ERROR",
      ...(options.dataDir
        ? { SHOULD_PERSIST_DATA: "true", LOAD_DATA_IF_EXISTS: "true", PERSIST_PATH: path.resolve(options.dataDir), PERSIST_INTERVAL: "1s" }
        : {}),
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  // Never outlive the process that started it, however that process ends.
  const reap = () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  };
  process.once("exit", reap);
  child.once("exit", () => process.removeListener("exit", reap));
  try {
    await waitForPort(plain, child, 30_000);
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n${stderr}`, { cause: err });
  }
  return {
    endpoint: `http://127.0.0.1:${plain}`,
    close: async () => {
      // With a data dir, let one more PERSIST_INTERVAL pass so the last writes are on disk.
      if (options.dataDir) await new Promise((r) => setTimeout(r, 1200));
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        // A graceful stop waits ~30 s for idle keep-alive sockets: nothing to gain.
        child.kill("SIGKILL");
      });
    },
  };
}
