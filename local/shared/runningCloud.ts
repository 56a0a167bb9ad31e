/**
 * What a running local cloud leaves for the commands beside it, and how they
 * tell a live one from the leftovers of one that was killed: `current.json`
 * (its endpoints, for `npm run landing`), and a pid file in a data dir (so
 * two clouds, or `npm run replay`, never work on the same data at once). A
 * file whose process is gone, or whose endpoints refuse, is stale: the
 * commands say "no local cloud is running" rather than fail to connect.
 */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { LocalEndpoints } from "./manifest";
import { LOCAL_CLOUD_DIR } from "./project";

/** What `current.json` holds. */
export interface CurrentCloud {
  pid: number;
  apiUrl: string;
  /** How the API authenticates (iam, jwt, none), and the local issuer's URL. */
  apiAuth?: string;
  issuer?: string;
  /** The emulators' endpoints, and Lambda's Invoke API. */
  endpoints: LocalEndpoints & { lambda?: string };
  landingBucket: string;
  consumerAccount: string;
  dataDir?: string;
  producer: Record<string, unknown>;
  consumer?: Record<string, unknown>;
}

/** Where a running cloud describes itself. */
export const CURRENT_FILE = path.join(LOCAL_CLOUD_DIR, "current.json");

/** Whether a process with this pid runs (one of another user's counts). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The live process a pid file names, or undefined when there is no file or its process is gone. */
export function pidFileHolder(file: string): number | undefined {
  if (!fs.existsSync(file)) return undefined;
  const pid = Number(fs.readFileSync(file, "utf8").trim());
  return pidAlive(pid) ? pid : undefined;
}

/** Records this running cloud for the commands beside it. */
export function writeCurrentCloud(current: Omit<CurrentCloud, "pid">): void {
  fs.mkdirSync(path.dirname(CURRENT_FILE), { recursive: true });
  fs.writeFileSync(
    CURRENT_FILE,
    JSON.stringify({ pid: process.pid, ...current }, (k, v) => (k === "externalId" ? undefined : v), 2),
  );
}

/** Removes `current.json` if it is this process's. */
export function removeCurrentCloud(): void {
  try {
    if (JSON.parse(fs.readFileSync(CURRENT_FILE, "utf8")).pid === process.pid) fs.rmSync(CURRENT_FILE, { force: true });
  } catch {
    // none, or not readable: nothing of ours to remove
  }
}

function refuses(endpoint: string): Promise<boolean> {
  const url = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname);
    socket.setTimeout(2_000, () => socket.destroy(new Error("timeout")));
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

const NOT_RUNNING = "no local cloud is running: start one with `npm start`";

/** The running cloud, or an error saying that none runs (no file, its process gone, or its endpoints refusing). */
export async function runningCloud(): Promise<CurrentCloud> {
  if (!fs.existsSync(CURRENT_FILE)) throw new Error(NOT_RUNNING);
  let current: CurrentCloud;
  try {
    current = JSON.parse(fs.readFileSync(CURRENT_FILE, "utf8"));
  } catch (err) {
    throw new Error(`${NOT_RUNNING} (${CURRENT_FILE} is not JSON: ${(err as Error).message})`, { cause: err });
  }
  if (!pidAlive(current.pid)) {
    fs.rmSync(CURRENT_FILE, { force: true });
    throw new Error(`${NOT_RUNNING} (${CURRENT_FILE} was left by process ${current.pid}, which is gone; removed it)`);
  }
  for (const [name, endpoint] of Object.entries(current.endpoints ?? {}))
    if (await refuses(endpoint)) throw new Error(`${NOT_RUNNING} (process ${current.pid} runs, but its ${name} endpoint ${endpoint} refuses connections)`);
  return current;
}

/** The pid file of a data dir. */
export const dataDirLockFile = (dataDir: string): string => path.join(path.resolve(dataDir), "local-cloud.pid");

/** Takes a data dir for this process; throws, naming the holder, when a live local cloud has it. Returns the release. */
export function lockDataDir(dataDir: string): () => void {
  const file = dataDirLockFile(dataDir);
  const holder = pidFileHolder(file);
  if (holder !== undefined && holder !== process.pid)
    throw new Error(`local cloud: --data-dir ${dataDir} is in use by the local cloud with pid ${holder}; stop it first (Ctrl-C), or use another dir`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, String(process.pid));
  return () => {
    if (pidFileHolder(file) === process.pid) fs.rmSync(file, { force: true });
  };
}
