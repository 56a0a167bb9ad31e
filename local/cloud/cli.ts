/**
 * `npm start`'s command line: the options, `--help`, and every check that
 * can be made before anything starts (the port's range and whether it is
 * free, the data dir, numbers, config keys against the keys the stacks'
 * program reads), so a bad option is one line and a non-zero exit within a
 * second, not a stack trace after the deploy. Light on imports for that
 * reason: nothing here loads the cloud.
 */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { parseArgs } from "util";
import { parseArgsMessage } from "../shared/cliOptions";
import { CONFIG_KEYS } from "../../stacks/configKeys";
import { dataDirLockFile, pidFileHolder } from "../shared/runningCloud";
import type { StackRole } from "../shared/manifest";

export const USAGE = `usage: npm start -- [options]
  --port N              serve the API on port N of 127.0.0.1 (0: any free one; default 3000)
  --data-dir DIR        keep streams, tables, objects, queues and checkpoints in DIR across restarts (default: in memory)
  --config STACK.KEY=V  set a config key of the producer or consumer stack, as \`pulumi config set\` would; repeatable
  --demo                drive the domain's demo traffic through the API, print a summary, and stop
  --orders N            demo aggregates to write with --demo (default 200)
  --metrics             print the functions' metrics every 10 s (they are printed at Ctrl-C anyway)
  --help                this text`;

/** What the command line asks for. */
export interface StartArgs {
  demo: boolean;
  metrics: boolean;
  dataDir?: string;
  port: number;
  orders: number;
  config: Partial<Record<StackRole, Record<string, string>>>;
}

/** A command line that cannot run; its message is the one line printed. */
export class UsageError extends Error {}

/** An integer option in [min, max]. */
function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number, rule: string): number {
  if (raw === undefined) return fallback;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be ${rule}, got ${JSON.stringify(raw)}`);
  return n;
}

/** One `--config` value: `<producer|consumer>.<key>=<value>`, the key one the stack's program reads. */
export function configEntry(raw: string): { stack: StackRole; key: string; value: string } {
  const m = /^([^.=]*)\.([^=]*)=(.*)$/s.exec(raw);
  if (!m) throw new UsageError(`--config must be <producer|consumer>.<key>=<value>, got ${JSON.stringify(raw)}`);
  const [, stack, key, value] = m;
  if (stack !== "producer" && stack !== "consumer")
    throw new UsageError(`--config names the producer or consumer stack, got ${JSON.stringify(stack)} in ${JSON.stringify(raw)}`);
  const known: readonly string[] = CONFIG_KEYS[stack];
  if (!known.includes(key))
    throw new UsageError(`--config ${stack}.${key}: the ${stack} stack has no config key ${JSON.stringify(key)}; its keys are ${known.join(", ")}`);
  return { stack, key, value };
}

/** Parses the command line; throws a {@link UsageError} for anything it cannot run. `help` when asked. */
export function parseStartArgs(argv: string[]): StartArgs | "help" {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        "data-dir": { type: "string" },
        config: { type: "string", multiple: true },
        demo: { type: "boolean" },
        orders: { type: "string" },
        metrics: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(parseArgsMessage(err));
  }
  if (values.help) return "help";
  const dataDir = values["data-dir"] as string | undefined;
  if (dataDir !== undefined && !dataDir.trim()) throw new UsageError("--data-dir needs a directory, got an empty value");
  if (values.orders !== undefined && !values.demo) throw new UsageError("--orders sets the demo's size: give it with --demo");
  const config: StartArgs["config"] = {};
  for (const raw of (values.config as string[] | undefined) ?? []) {
    const { stack, key, value } = configEntry(raw);
    config[stack] = { ...(config[stack] ?? {}), [key]: value };
  }
  return {
    demo: values.demo === true,
    metrics: values.metrics === true,
    dataDir,
    port: integer("port", values.port as string | undefined, 3000, 0, 65535, "a port number 0–65535 (0: any free one)"),
    orders: integer("orders", values.orders as string | undefined, 200, 1, 1_000_000, "a whole number of aggregates 1–1000000"),
    config,
  };
}

/** Whether something already listens on 127.0.0.1:port (the API's address); the error says what holds it when the OS says. */
function portTaken(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "EADDRINUSE" ? "already in use" : (err.code ?? err.message)));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** mkdir -p one level at a time (a recursive mkdirSync never returns for some paths under /proc). */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) fs.mkdirSync(d);
}

/** The checks that need the machine: the port free, the data dir usable and not held by a running local cloud. */
export async function checkStartArgs(args: StartArgs): Promise<void> {
  if (args.port !== 0) {
    const taken = await portTaken(args.port);
    if (taken) throw new UsageError(`--port ${args.port}: 127.0.0.1:${args.port} is ${taken}; choose another port, or --port 0 for any free one`);
  }
  if (args.dataDir !== undefined) {
    const dir = path.resolve(args.dataDir);
    let existing: fs.Stats | undefined;
    try {
      existing = fs.statSync(dir);
    } catch {
      existing = undefined;
    }
    if (existing && !existing.isDirectory()) throw new UsageError(`--data-dir ${args.dataDir}: must be a directory, and it is a file`);
    // Made now (the cloud would make it anyway), so a path that cannot hold data fails here rather than after the deploy.
    try {
      makeDirs(dir);
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (err) {
      throw new UsageError(
        `--data-dir ${args.dataDir}: must be a directory this user can create and write, got ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    const holder = pidFileHolder(dataDirLockFile(dir));
    if (holder !== undefined && holder !== process.pid)
      throw new UsageError(`--data-dir ${args.dataDir} is in use by the local cloud with pid ${holder}; stop it first (Ctrl-C), or use another dir`);
  }
}
