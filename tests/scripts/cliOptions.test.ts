/**
 * Every CLI's command line, as a user meets it (spawned): an unknown option, and a bad value of one it takes, are
 * each one line on stderr, `<name>: <what> (see --help)`, and exit 64 before any work (nothing on stdout: the
 * bench and the artifacts print nothing else, landing, token and smoke do not look for a local cloud, the example
 * service does not listen); `--help` lists every option. `npm start`'s own cases are in tests/local/cloud/cli.test.ts.
 */
import { expect } from "chai";
import { execFile } from "child_process";
import * as path from "path";
import { PROJECT_ROOT } from "../../local/shared/project";
import { USAGE_EXIT } from "../../local/shared/cliOptions";

/** `passesOn`: options it does not know go to the program it runs (properties: mocha). */
type Cli = { script: string; name: string; options: string[]; badValue?: [string[], string]; passesOn?: true };

const CLIS: Cli[] = [
  { script: "scripts/landing.ts", name: "npm run landing", options: ["--aggregate"] },
  { script: "scripts/artifact-sizes.ts", name: "npm run artifacts", options: [] },
  { script: "bench/run.ts", name: "npm run bench", options: ["--quick"] },
  {
    script: "bench/producer.ts",
    name: "npm run bench:producer",
    options: ["--events", "--concurrency", "--aggregates"],
    badValue: [["--events", "0"], "--events must be a positive integer, got 0"],
  },
  {
    script: "examples/orderService.ts",
    name: "npm run example:orders",
    options: ["--port"],
    badValue: [["--port", "70000"], "--port must be 1–65535, got 70000"],
  },
  {
    script: "scripts/token.ts",
    name: "npm run token",
    options: ["--sub", "--scope", "--audience", "--expires-in"],
    badValue: [["--expires-in", "0"], "--expires-in must be 1–86400 seconds, got 0"],
  },
  { script: "scripts/preflight.ts", name: "preflight", options: ["--stack", "--file", "--consumer-outputs"], badValue: [[], "--stack is required"] },
  {
    script: "scripts/smoke.ts",
    name: "smoke",
    options: ["--stack", "--local", "--timeout"],
    badValue: [["--stack", "producer", "--timeout", "0"], '--timeout must be whole seconds 1-900, got "0"'],
  },
  {
    script: "scripts/replay.ts",
    name: "replay",
    options: ["--data-dir", "--list", "--mapping", "--firehose", "--all"],
    badValue: [["--data-dir", "/no/such/dir", "--list"], "--data-dir /no/such/dir does not exist"],
  },
  { script: "scripts/rebuild.ts", name: "rebuild", options: ["--outputs", "--local"], badValue: [[], "give exactly one of --outputs <file> and --local"] },
  {
    script: "scripts/redrive.ts",
    name: "npm run redrive",
    options: ["--table", "--parked", "--discard"],
    badValue: [["--bridge-parked", "t", "--dedup-window", "0"], "--dedup-window must be an integer 1-10000, got 0"],
  },
  {
    script: "scripts/properties.ts",
    name: "npm run properties",
    options: ["runs"],
    badValue: [["0"], 'runs must be a positive integer, got "0"'],
    passesOn: true,
  },
];

type Run = { code: number | null; stdout: string; stderr: string; seconds: number };

function run(script: string, ...args: string[]): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--no-warnings", "-r", "ts-node/register/transpile-only", path.join(PROJECT_ROOT, script), ...args],
      // A run that starts its work instead would take minutes: killed here, and failed below.
      { cwd: PROJECT_ROOT, timeout: 60_000, env: { PATH: process.env.PATH ?? "" } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr, seconds: (Date.now() - started) / 1000 }),
    );
  });
}

/** One line on stderr, nothing on stdout, exit 64, and soon: the process did no work. */
function expectUsage(r: Run, line: string) {
  expect(r.code, r.stderr).to.equal(USAGE_EXIT);
  expect(r.stderr.trim()).to.equal(line);
  expect(r.stdout).to.equal("");
  // Well under the minutes of work a run that started would take; measured here at 0.4–1.3 s each on a quiet machine,
  // 12.4 s once while four test processes shared its 2 cores (the suite may run them beside other work).
  expect(r.seconds, `answered in ${r.seconds} s`).to.be.below(30);
}

describe("every CLI's command line", function () {
  this.timeout(120_000);

  it("refuses a combination whose one half would be ignored, in one line and exit 64", async () => {
    const [discardApply, checkVersion] = await Promise.all([
      run("scripts/redrive.ts", "--table", "t", "--parked", "p", "--discard", "e-1", "--reason", "bad", "--apply"),
      run("scripts/rebuild.ts", "--check-archive", "--version", "2", "--local"),
    ]);
    expectUsage(
      discardApply,
      "npm run redrive: --discard re-drives its own aggregate already: run --apply on its own for the other blocked aggregates (see --help)",
    );
    expectUsage(checkVersion, "rebuild: --version goes with a rebuild, not --check-archive (see --help)");
  });

  it("npm run redrive without a region says to set one (not the SDK's bare 'Region is missing'), exit 1", async () => {
    const r = await run("scripts/redrive.ts", "--table", "t-1", "--parked", "t-2");
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.include("no AWS region: set AWS_REGION");
  });

  for (const cli of CLIS) {
    const bads = [cli.passesOn ? "" : "an unknown option", cli.badValue ? "a bad value" : ""].filter(Boolean).join(" and ");
    it(`${cli.name}: ${bads} ${bads.includes(" and ") ? "are" : "is"} one line and exit ${USAGE_EXIT}; --help lists every option`, async () => {
      const [bogus, help, bad, missing] = await Promise.all([
        cli.passesOn ? undefined : run(cli.script, "--bogus"),
        run(cli.script, "--help"),
        cli.badValue ? run(cli.script, ...cli.badValue[0]) : undefined,
        cli.options[0]?.startsWith("--") ? run(cli.script, `${cli.options[0]}=x`, cli.options[0]) : undefined,
      ]);
      if (bogus) expectUsage(bogus, `${cli.name}: Unknown option '--bogus' (see --help)`);
      if (cli.badValue) expectUsage(bad!, `${cli.name}: ${cli.badValue[1]} (see --help)`);
      expect(help.code, help.stderr).to.equal(0);
      for (const o of [...cli.options, "--help"]) expect(help.stdout).to.include(o);
      if (missing) {
        expect(missing.code, missing.stderr).to.equal(USAGE_EXIT);
        expect(missing.stderr.trim().split("\n")).to.have.length(1);
        expect(missing.stdout).to.equal("");
      }
    });
  }
});
