/**
 * `npm run properties`: the long property run, on demand. Runs the suites of
 * tests/properties/pipeline.test.ts through mocha, with the tests' own root
 * hooks (emulators started, AWS_* set), 10,000 runs per property by default,
 * and no time limit per test. The suite prints its totals and the faults
 * injected by kind; a failing property prints fast-check's seed, path and
 * shrunk counterexample.
 *
 *   npm run properties                          10,000 runs per property
 *   npm run properties -- 500                   500 runs (or NUM_RUNS=500)
 *   npm run properties -- 500 -g "partial"      further arguments go to mocha
 *
 * Replay a failure (runParameters in tests/properties/pipeline.ts reads
 * NUM_RUNS, SEED and FC_PATH):
 *   SEED=<seed> FC_PATH=<path> npm run properties -- 1 -g "<the failing test's title>"
 *
 * This file is also the mocha `--require` that lifts the suites' time limits
 * (its `mochaHooks`), so the launcher and what it installs stay together.
 */
import { spawn } from "child_process";
import * as path from "path";
import { PROJECT_MODULES, PROJECT_ROOT } from "../local/shared/project";
import { usageError } from "../local/shared/cliOptions";

const SUITE = "tests/properties/pipeline.test.ts";
const USAGE = `usage: npm run properties -- [runs] [mocha options]   (runs: a positive integer, default NUM_RUNS or 10000; --help: this text)`;

/** Root hook for the mocha child: the suites set 15-minute limits, which 10,000 runs outlast. */
export const mochaHooks = {
  beforeEach(this: Mocha.Context) {
    this.currentTest?.timeout(0);
  },
};

/** The runs per property and the arguments for mocha, or an error naming the bad value. */
function parseArgs(argv: string[], env: NodeJS.ProcessEnv): { runs: number; mochaArgs: string[] } {
  const explicit = argv[0] !== undefined && !argv[0].startsWith("-");
  const text = explicit ? argv[0] : (env.NUM_RUNS ?? "10000");
  const runs = Number(text);
  if (!/^\d+$/.test(text) || runs <= 0) throw new Error(`runs must be a positive integer, got "${text}"`);
  return { runs, mochaArgs: explicit ? argv.slice(1) : argv };
}

function main(): void {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(`${USAGE}\nreplay: SEED=<seed> FC_PATH=<path> npm run properties -- 1 -g "<test title>"`);
    return;
  }
  let parsed: { runs: number; mochaArgs: string[] };
  try {
    parsed = parseArgs(argv, process.env);
  } catch (err) {
    usageError("npm run properties", (err as Error).message);
  }
  const args = [
    path.join(PROJECT_MODULES, "mocha", "bin", "mocha.js"),
    "--no-config",
    ...["-r", "ts-node/register/transpile-only", "-r", "tests/support/hooks.ts", "-r", path.relative(PROJECT_ROOT, __filename)],
    ...["--extension", "ts", "--exit"],
    SUITE,
    ...parsed.mochaArgs,
  ];
  console.log(`properties: ${parsed.runs} runs per property (${SUITE})`);
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: "inherit", env: { ...process.env, NUM_RUNS: String(parsed.runs) } });
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (require.main === module) main();
