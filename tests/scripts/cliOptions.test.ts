/**
 * The small CLIs that take few options (`npm run landing`, `npm run artifacts`, `npm run bench`), as a user meets
 * them (spawned): a bad option is one line on stderr and exit 64 before any work, `--help` lists every option.
 * "Before any work": the bench and the artifacts print nothing else, and landing does not look for a local cloud.
 */
import { expect } from "chai";
import { execFile } from "child_process";
import * as path from "path";
import { PROJECT_ROOT } from "../../local/shared/project";
import { USAGE_EXIT } from "../../local/shared/cliOptions";

const CLIS: { script: string; name: string; options: string[] }[] = [
  { script: "scripts/landing.ts", name: "npm run landing", options: ["--aggregate"] },
  { script: "scripts/artifact-sizes.ts", name: "npm run artifacts", options: [] },
  { script: "bench/run.ts", name: "npm run bench", options: ["--quick"] },
];

function run(script: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--no-warnings", "-r", "ts-node/register/transpile-only", path.join(PROJECT_ROOT, script), ...args],
      // A run that starts its work instead would take minutes: killed here, and failed below.
      { cwd: PROJECT_ROOT, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

describe("the small CLIs' command lines", function () {
  this.timeout(120_000);

  for (const cli of CLIS) {
    it(`${cli.name}: an unknown option is one line and exit ${USAGE_EXIT}; a missing value too; --help lists every option`, async () => {
      const [bogus, help, missing] = await Promise.all([
        run(cli.script, "--bogus"),
        run(cli.script, "--help"),
        cli.options.length > 0 ? run(cli.script, `${cli.options[0]}=x`, cli.options[0]) : undefined,
      ]);
      expect(bogus.code, bogus.stderr).to.equal(USAGE_EXIT);
      expect(bogus.stderr.trim()).to.equal(`${cli.name}: Unknown option '--bogus' (see --help)`);
      expect(bogus.stdout).to.equal("");
      expect(help.code, help.stderr).to.equal(0);
      expect(help.stdout).to.match(/^usage: /);
      for (const o of [...cli.options, "--help"]) expect(help.stdout).to.include(o);
      if (missing) {
        expect(missing.code, missing.stderr).to.equal(USAGE_EXIT);
        expect(missing.stderr.trim().split("\n")).to.have.length(1);
        expect(missing.stdout).to.equal("");
      }
    });
  }
});
