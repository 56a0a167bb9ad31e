/**
 * `npm start`: both accounts on the embedded local cloud. `--help` lists the
 * options (local/cloud/cli.ts); a bad one is answered in one line with exit
 * 64 before anything starts, which is why the cloud itself is loaded only
 * once the command line has passed.
 *
 *   npm start                      serve the API on http://127.0.0.1:3000/
 *   npm start -- --demo            also drive realistic traffic and print a summary
 *   npm start -- --data-dir DIR    keep streams, tables and objects across restarts
 *   npm start -- --config producer.aggregateRecords=sourceShard
 */
import * as os from "os";
import { checkStartArgs, parseStartArgs, StartArgs, USAGE, UsageError } from "./cli";
import { USAGE_EXIT } from "../shared/cliOptions";
import { showSdkNodeWarningOnce } from "../shared/nodeVersion";

async function run(args: StartArgs): Promise<void> {
  // Loaded only now: a bad command line is answered before the cloud's modules load.
  const { startLocalCloud } = await import("./cloud");
  const { runDemo } = await import("./demo");
  const { banner, statusPrinter } = await import("./status");
  const { metricsSummary } = await import("../cloudwatch/metrics");
  const { describeCloud } = await import("./current");
  const { removeCurrentCloud, writeCurrentCloud } = await import("../shared/runningCloud");

  // A signal during start-up stops it at its next step, with what started stopped and nothing left behind.
  const starting = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const running: { shutdown?: (code: number) => Promise<void> } = {};
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
    process.on(signal, () => {
      if (running.shutdown) return void running.shutdown(0);
      if (interrupted) return;
      interrupted = signal;
      console.log("stopping… (start-up interrupted)");
      starting.abort();
    });
  const exitInterrupted = () => process.exit(128 + os.constants.signals[interrupted!]);
  const cloud = await startLocalCloud({
    dataDir: args.dataDir,
    apiPort: args.port,
    config: args.config,
    log: (l) => console.log(l),
    signal: starting.signal,
  }).catch((err) => {
    // Interrupted: the stack runs in the terminal's process group died of the same Ctrl-C; that is not an error.
    if (interrupted) exitInterrupted();
    throw err;
  });
  if (interrupted) {
    await cloud.stop();
    exitInterrupted();
  }
  for (const line of banner(cloud)) console.log(line);
  // What `npm run landing` (and you) need to find this running cloud.
  writeCurrentCloud(describeCloud(cloud, args.dataDir));

  const tty = process.stdout.isTTY === true;
  const status = statusPrinter({ write: (t) => process.stdout.write(t), tty, columns: () => process.stdout.columns });
  let stopping = false;
  let demoRunning = false;
  const printMetrics = async () => {
    const lines = await cloud.stats().then(
      (s) => metricsSummary(s.functions),
      (err: Error) => [`metrics unavailable: ${err.message}`],
    );
    status.clear();
    for (const line of lines) console.log(line);
  };
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    clearInterval(ticker);
    clearInterval(metricsTicker);
    status.clear();
    await printMetrics();
    console.log("stopping…");
    removeCurrentCloud();
    // In order: the API answers what it has, mappings and Firehose finish and checkpoint, kinesis-local saves.
    await cloud.stop();
    process.exit(code);
  };
  // From here a signal stops the running cloud (the handlers above); a repeated one (npm forwards the terminal's
  // Ctrl-C too) changes nothing: the stop in progress goes on.
  running.shutdown = shutdown;

  const metricsTicker = setInterval(() => {
    if (args.metrics && !stopping && !demoRunning) void printMetrics();
  }, 10_000);
  const tick = async () => {
    if (stopping || demoRunning) return;
    const s = await cloud.stats().catch(() => undefined);
    if (s && !stopping && !demoRunning) status.show(s);
  };
  const ticker = setInterval(() => void tick(), 1000);

  if (args.demo) {
    demoRunning = true;
    const summary = await runDemo(cloud, { orders: args.orders, out: process.stdout, tty });
    demoRunning = false;
    await shutdown(summary.ok ? 0 : 1);
  } else await tick();
}

async function main(): Promise<void> {
  let args: StartArgs | "help";
  try {
    args = parseStartArgs(process.argv.slice(2));
    if (args !== "help") await checkStartArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`npm start: ${err.message} (see npm start -- --help)`);
    process.exit(USAGE_EXIT);
  }
  if (args === "help") {
    console.log(USAGE);
    return;
  }
  showSdkNodeWarningOnce();
  await run(args);
}

main().catch((err) => {
  // A stack that refused to deploy says why in its own words; only a bug here needs this process's trace.
  console.error(err instanceof Error && err.name === "StackRunError" ? `npm start: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
