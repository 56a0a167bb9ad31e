/**
 * What a running local cloud leaves for the commands beside it
 * (local/shared/runningCloud.ts) and the checkpoint files
 * (local/shared/checkpoints.ts): a stale current.json is "no local cloud is
 * running", a live holder keeps a data dir, and `npm run replay` removes
 * only the checkpoints it is asked to, refusing a bad option in one line.
 */
import { expect } from "chai";
import { execFile, spawnSync } from "child_process";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { startS3 } from "../../../local/emulators/s3";
import { emulatorS3 } from "../../../local/emulators/clients";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkpointsDir, checkpointStore, listCheckpoints } from "../../../local/shared/checkpoints";
import { dataDirLockFile, lockDataDir } from "../../../local/shared/runningCloud";

const ROOT = path.resolve(__dirname, "..", "..", "..");

/** Runs a command of the project with LOCAL_CLOUD_DIR in `state`. */
function run(script: string, args: string[], state: string) {
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", script, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOCAL_CLOUD_DIR: state },
    encoding: "utf8",
  });
  const lines = (s: string) =>
    s
      .split("\n")
      .filter(
        (l) => l && !/NodeVersionSupportWarning|versions published|will require node|To continue|security updates|More information|trace-warnings/.test(l),
      );
  return { status: r.status, stdout: lines(r.stdout), stderr: lines(r.stderr) };
}

describe("running cloud files, checkpoints and npm run replay", function () {
  this.timeout(60_000);
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "running-"));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("npm run landing says no local cloud is running when current.json is missing, left by a dead process, or its endpoints refuse", async () => {
    expect(run("scripts/landing.ts", [], root).stderr).to.deep.equal(["no local cloud is running: start one with `npm start`"]);
    const endpoints = { kinesis: "http://127.0.0.1:1", dynamodb: "http://127.0.0.1:1", s3: "http://127.0.0.1:1", sts: "http://127.0.0.1:1" };
    const current = { apiUrl: "http://127.0.0.1:1/", endpoints, landingBucket: "b", consumerAccount: "222222222222", producer: {} };
    // A pid that no process has: the cloud that wrote it was killed.
    fs.writeFileSync(path.join(root, "current.json"), JSON.stringify({ pid: 2 ** 22 + 7, ...current }));
    const dead = run("scripts/landing.ts", [], root);
    expect(dead.status).to.equal(1);
    expect(dead.stderr.join("\n")).to.match(/^no local cloud is running: .*left by process 4194311, which is gone; removed it\)$/);
    expect(fs.existsSync(path.join(root, "current.json"))).to.equal(false);
    // A live process (this one) whose endpoints refuse.
    fs.writeFileSync(path.join(root, "current.json"), JSON.stringify({ pid: process.pid, ...current }));
    expect(run("scripts/landing.ts", [], root).stderr.join("\n")).to.match(
      /no local cloud is running: .*kinesis endpoint http:\/\/127\.0\.0\.1:1 refuses connections/,
    );
  });

  it("npm run landing says on stderr when nothing has landed, for an aggregate or at all, and exits 0", async () => {
    const s3 = await startS3();
    try {
      await emulatorS3({ endpoint: s3.endpoint }).send(new CreateBucketCommand({ Bucket: "landing-b" }));
      const endpoints = { kinesis: s3.endpoint, dynamodb: s3.endpoint, s3: s3.endpoint, sts: s3.endpoint };
      const current = { pid: process.pid, apiUrl: "http://127.0.0.1:1/", endpoints, landingBucket: "landing-b", consumerAccount: "222222222222", producer: {} };
      fs.writeFileSync(path.join(root, "current.json"), JSON.stringify(current));
      // Not spawnSync: the S3 emulator answers from this process.
      const landing = (...args: string[]) =>
        new Promise<[number, string, string]>((resolve) =>
          execFile(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "scripts/landing.ts", ...args],
            { cwd: ROOT, env: { ...process.env, LOCAL_CLOUD_DIR: root, NODE_NO_WARNINGS: "1" } },
            (err, stdout, stderr) => resolve([err ? Number((err as { code?: number }).code) : 0, stdout, stderr.trim()]),
          ),
        );
      expect(await landing("--aggregate", "nope")).to.deep.equal([
        0,
        "",
        "no landed records for aggregate nope in s3://landing-b/events/ (yet: Firehose buffers)",
      ]);
      expect(await landing()).to.deep.equal([0, "", "no landed records in s3://landing-b/events/ (yet: Firehose buffers)"]);
    } finally {
      await s3.stop();
    }
  });

  it("a data dir is held by one live local cloud at a time", () => {
    const release = lockDataDir(root);
    expect(fs.readFileSync(dataDirLockFile(root), "utf8")).to.equal(String(process.pid));
    release();
    expect(fs.existsSync(dataDirLockFile(root))).to.equal(false);
    fs.writeFileSync(dataDirLockFile(root), String(process.ppid));
    expect(() => lockDataDir(root)).to.throw(`--data-dir ${root} is in use by the local cloud with pid ${process.ppid}`);
    fs.writeFileSync(dataDirLockFile(root), String(2 ** 22 + 7));
    lockDataDir(root)(); // a dead holder's file is taken over
  });

  it("checkpoint files are replaced whole, and the stored source must match", () => {
    const store = checkpointStore(checkpointsDir(root), "mapping", "orders/projector", "arn:aws:kinesis:us-east-1:111111111111:stream/a");
    expect(store.load()).to.deep.equal({});
    store.save({ "shardId-000000000000": { sequenceNumber: "5" } });
    expect(path.basename(store.file)).to.equal("mapping-orders_projector.json");
    expect(fs.readdirSync(path.dirname(store.file))).to.deep.equal(["mapping-orders_projector.json"]);
    expect(store.load()).to.deep.equal({ "shardId-000000000000": { sequenceNumber: "5" } });
    expect(checkpointStore(checkpointsDir(root), "mapping", "orders/projector", "arn:other").load()).to.deep.equal({});
  });

  it("npm run replay removes the checkpoints asked for, lists them, refuses a running cloud's dir and a bad option in one line", () => {
    const dir = checkpointsDir(root);
    checkpointStore(dir, "mapping", "orders-projector-mapping", "arn:s").save({ a: { sequenceNumber: "1" } });
    checkpointStore(dir, "mapping", "analytics-bridge-mapping", "arn:s").save({ a: { sequenceNumber: "1" } });
    checkpointStore(dir, "firehose", "analytics-delivery", "arn:t").save({ b: { sequenceNumber: "2", drained: true } });
    const bad = run("scripts/replay.ts", ["--data-dir", root, "--mapings", "x"], root);
    expect([bad.status, bad.stderr.length]).to.deep.equal([64, 1]);
    expect(bad.stderr[0]).to.match(/^replay: Unknown option '--mapings'.* \(see --help\)$/);
    expect(run("scripts/replay.ts", ["--help"], root).stdout.join("\n"))
      .to.include("--mapping NAME")
      .and.include("--firehose NAME")
      .and.include("--all")
      .and.include("--list");
    expect(run("scripts/replay.ts", ["--data-dir", root, "--list"], root).stdout).to.have.length(3);
    const unknown = run("scripts/replay.ts", ["--data-dir", root, "--mapping", "nope"], root);
    expect(unknown.status).to.equal(1);
    expect(unknown.stderr[0]).to.match(
      /^replay: no checkpoints for mapping nope in .*; kept: firehose analytics-delivery, mapping analytics-bridge-mapping, mapping orders-projector-mapping$/,
    );
    const one = run("scripts/replay.ts", ["--data-dir", root, "--mapping", "orders-projector-mapping"], root);
    expect(one.status).to.equal(0);
    expect(listCheckpoints(dir).map((c) => c.checkpoints.name)).to.deep.equal(["analytics-delivery", "analytics-bridge-mapping"]);
    fs.writeFileSync(dataDirLockFile(root), String(process.pid));
    const busy = run("scripts/replay.ts", ["--data-dir", root, "--all"], root);
    expect([busy.status, busy.stderr]).to.deep.equal([
      1,
      [`replay: the local cloud with pid ${process.pid} is running on ${root}; stop it first (Ctrl-C), then replay`],
    ]);
    fs.rmSync(dataDirLockFile(root));
    expect(run("scripts/replay.ts", ["--data-dir", root, "--all"], root).status).to.equal(0);
    expect(listCheckpoints(dir)).to.deep.equal([]);
    // Again, with nothing kept: every stream is delivered from the start, which is what it says.
    const again = run("scripts/replay.ts", ["--data-dir", root, "--all"], root);
    expect([again.status, again.stdout]).to.deep.equal([
      0,
      [`the next \`npm start -- --data-dir ${root}\` delivers every stream (no checkpoints were kept) again from the start`],
    ]);
  });
});
