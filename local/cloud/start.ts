/**
 * `npm start`: both accounts on the embedded local cloud.
 *
 *   npm start                      serve the API on http://127.0.0.1:3000/
 *   npm start -- --demo            also drive realistic traffic and print a summary
 *   npm start -- --data-dir DIR    keep streams, tables and objects across restarts
 *   npm start -- --port N          serve the API on another port (0: any free one)
 *   npm start -- --metrics         print the functions' metrics every 10 s (they are always printed at Ctrl-C)
 *   npm start -- --config producer.aggregateRecords=sourceShard
 *                                  set a stack's config key, as `pulumi config set` would
 */
import { startLocalCloud } from "./cloud";
import { runDemo } from "./demo";
import { StackRole } from "../shared/manifest";
import { banner, statusLine } from "./status";
import { metricsSummary } from "../cloudwatch/metrics";
import { describeCloud } from "./current";
import { removeCurrentCloud, writeCurrentCloud } from "../shared/runningCloud";

interface Args {
  demo: boolean;
  metrics: boolean;
  dataDir?: string;
  port: number;
  orders: number;
  config: Partial<Record<StackRole, Record<string, string>>>;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { demo: false, metrics: false, port: 3000, orders: 200, config: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--demo") args.demo = true;
    else if (a === "--metrics") args.metrics = true;
    else if (a === "--data-dir") args.dataDir = argv[++i];
    else if (a === "--port") args.port = Number(argv[++i]);
    else if (a === "--orders") args.orders = Number(argv[++i]);
    else if (a === "--config") {
      const m = /^(producer|consumer)\.([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(argv[++i] ?? "");
      if (!m) throw new Error("--config needs <producer|consumer>.<key>=<value>");
      const stack = m[1] as StackRole;
      args.config[stack] = { ...(args.config[stack] ?? {}), [m[2]]: m[3] };
    } else throw new Error(`unknown argument ${a}; see the header of local/cloud/start.ts`);
  }
  if (!Number.isInteger(args.port) || args.port < 0) throw new Error("--port needs a number");
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const cloud = await startLocalCloud({ dataDir: args.dataDir, apiPort: args.port, config: args.config, log: (l) => console.log(l) });
  for (const line of banner(cloud)) console.log(line);
  // What `npm run landing` (and you) need to find this running cloud.
  writeCurrentCloud(describeCloud(cloud, args.dataDir));

  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    clearInterval(ticker);
    clearInterval(metricsTicker);
    process.stdout.write("\n");
    await printMetrics();
    process.stdout.write("stopping…\n");
    removeCurrentCloud();
    // In order: the API answers what it has, mappings and Firehose finish and checkpoint, kinesis-local saves.
    await cloud.stop();
    process.exit(code);
  };
  // A repeated signal (npm forwards the terminal's Ctrl-C too) changes nothing: the stop in progress goes on.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(0));

  const printMetrics = async () => {
    const lines = await cloud.stats().then(
      (s) => metricsSummary(s.functions),
      (err: Error) => [`metrics unavailable: ${err.message}`],
    );
    for (const line of lines) console.log(line);
  };
  const metricsTicker = setInterval(() => {
    if (args.metrics && !stopping && !demoRunning) void printMetrics();
  }, 10_000);

  const tty = process.stdout.isTTY;
  const ticker = setInterval(async () => {
    if (stopping || demoRunning) return;
    const line = statusLine(await cloud.stats());
    if (tty) process.stdout.write(`\r\x1b[2K${line}`);
  }, 1000);

  let demoRunning = false;
  if (args.demo) {
    demoRunning = true;
    const summary = await runDemo(cloud, { orders: args.orders, out: process.stdout });
    demoRunning = false;
    await shutdown(summary.ok ? 0 : 1);
  } else if (!tty) {
    console.log(statusLine(await cloud.stats()));
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
