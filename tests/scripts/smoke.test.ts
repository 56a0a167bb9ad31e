/**
 * `npm run smoke` against the local cloud, as an operator runs it: the
 * command in its own process, reading where the running cloud described
 * itself. Each function's harmless invoke passes, the canary reaches the read
 * model and the landing, a broken cross-account trust fails the bridge's step,
 * and the local cloud's counts are the functions' own metrics.
 */
import { expect } from "chai";
import { wrongExternalIdConfig } from "../support/bridge";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalCloud, startLocalCloud } from "../../local/cloud/cloud";
import { describeCloud } from "../../local/cloud/current";
import { PROJECT_ROOT } from "../../local/shared/project";

/** Runs the smoke command; resolves with its exit code and output. */
function smoke(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(PROJECT_ROOT, "scripts", "smoke.ts"), ...args],
      { cwd: PROJECT_ROOT, timeout: 120_000, env: { PATH: process.env.PATH ?? "" } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The step lines of the output: `ok`/`FAIL` and the step's name (each line: outcome, name, time, detail). */
const stepsOf = (stdout: string) =>
  stdout
    .split("\n")
    .map((l) => /^(ok|FAIL)\s+(.+?)\s+\d+ ms {2}\S/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]]);

describe("npm run smoke (against the local cloud)", function () {
  this.timeout(300_000);
  let cloud: LocalCloud;
  let current: string;
  before(async () => {
    cloud = await startLocalCloud({ apiPort: 0, maxFirehoseBufferSeconds: 1 });
    current = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "smoke-")), "current.json");
    fs.writeFileSync(current, JSON.stringify({ pid: process.pid, ...describeCloud(cloud) }));
  });
  after(async () => {
    await cloud?.stop();
  });

  it("producer: invokes each function harmlessly, then follows a canary to the read model and the landing, every step timed", async () => {
    const out = await smoke(["--stack", "producer", "--local", "--current", current, "--canary", "--timeout", "90"]);
    expect(out.code, out.stdout + out.stderr).to.equal(0);
    const o = cloud.manifests.producer.outputs;
    expect(stepsOf(out.stdout)).to.deep.equal([
      ["ok", `invoke ${o.apiFunctionName} (API)`],
      ["ok", `invoke ${o.projectorFunctionName} (projector)`],
      ["ok", `invoke ${o.bridgeFunctionName} (bridge)`],
      ["ok", "canary: POST through the API"],
      ["ok", "canary: visible in the read model"],
      ["ok", "canary: landed in the consumer's bucket"],
    ]);
    expect(out.stdout).to.match(/all 6 steps passed in \d+ ms \(local cloud, producer stack\)/);
  });

  it("the status counts are the functions' own metrics: applied, skipped (the probe), forwarded, landed", async () => {
    const s = await cloud.stats();
    expect(s.applied).to.be.at.least(1);
    expect(s.skipped, "the projector's probe record is skipped, never applied").to.be.at.least(1);
    expect(s.forwarded).to.be.at.least(1);
    expect(s.landed).to.be.at.least(1);
    expect(Object.keys(s.functions).sort()).to.deep.equal(["analytics-bridge-forwarder", "commands-handler", "orders-projector"]);
    // The API counted the probe's 404 and the canary's writes and reads.
    expect(s.functions["commands-handler"].sums).to.include({ EventsAccepted: 1 });
    expect(s.functions["commands-handler"].sums.Requests4xx).to.be.at.least(1);
  });

  it("consumer: the analytics stream is active and encrypted, the landing bucket reachable", async () => {
    const out = await smoke(["--stack", "consumer", "--local", "--current", current]);
    expect(out.code, out.stdout + out.stderr).to.equal(0);
    expect(stepsOf(out.stdout)).to.deep.equal([
      ["ok", "analytics stream active and encrypted"],
      ["ok", "landing bucket reachable"],
    ]);
    expect(out.stdout).to.include("encryption KMS");
  });

  it("answers a bad option in one line with exit 64, before any work, and lists every option in --help", async () => {
    const bad = await smoke(["--stack", "producer", "--nope"]);
    expect(bad.code).to.equal(64);
    expect(bad.stderr.trim().split("\n")).to.deep.equal(["smoke: Unknown option '--nope' (see --help)"]);
    const missing = await smoke(["--stack", "producer", "--local", "--current", path.join(os.tmpdir(), "no-such-cloud.json")]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr.trim()).to.equal("smoke: no local cloud is running: start one with `npm start`");
    const help = await smoke(["--help"]);
    expect(help.code).to.equal(0);
    for (const option of ["--stack", "--local", "--current", "--outputs", "--canary", "--landing-bucket", "--landing-profile", "--timeout", "--help"])
      expect(help.stdout, option).to.include(option);
  });

  it("a wrong ExternalId fails the bridge's step with the AccessDenied, and the exit code says so", async () => {
    const consumer = cloud.manifests.consumer.outputs;
    await cloud.redeploy("producer", wrongExternalIdConfig(consumer));
    // Last: the cloud is left with the wrong ExternalId.
    const out = await smoke(["--stack", "producer", "--local", "--current", current]);
    expect(out.code).to.equal(1);
    const steps = stepsOf(out.stdout);
    expect(steps.map((s) => s[0])).to.deep.equal(["ok", "ok", "FAIL"]);
    expect(out.stdout).to.match(/FAIL\s+invoke .*\(bridge\).*AccessDenied/);
    expect(out.stdout).to.include("1 of 3 steps failed");
  });
});
