/**
 * `npm start`'s command line, as a user meets it (the CLI spawned): `--help`
 * lists every option, and each bad option is one line on stderr with exit 64,
 * before any work starts (no emulator, no deploy: the cloud is not even
 * loaded; the port is checked first, so the data-dir cases ask for --port 0). Here these take about a second each; the bound below is loose so a
 * loaded machine does not fail it, and "no work started" is checked by output.
 */
import { expect } from "chai";
import { execFile } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { PROJECT_ROOT } from "../../../local/shared/project";
import { dataDirLockFile } from "../../../local/shared/runningCloud";
import { configEntry, parseStartArgs, USAGE } from "../../../local/cloud/cli";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function start(...args: string[]): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", path.join(PROJECT_ROOT, "local/cloud/start.ts"), ...args],
      // A stray start must not hang the suite: a run past the timeout is killed and fails below. Generous: a run refused
      // at deploy time starts the emulators and deploys the consumer first, and once took over 30 s in the full suite on
      // 2 cores, when the kill (SIGTERM, which the local cloud answers with an orderly stop and exit 1) hid its message.
      { cwd: PROJECT_ROOT, timeout: 100_000, env: { ...process.env, LOCAL_CLOUD_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "cli-")) } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr, seconds: (Date.now() - t0) / 1000 }),
    );
  });
}

describe("npm start's command line", function () {
  this.timeout(120_000);
  let held: net.Server;
  let heldPort: number;
  const fileDir = path.join(os.tmpdir(), `cli-file-${process.pid}`);
  const lockedDir = fs.mkdtempSync(path.join(os.tmpdir(), "cli-locked-"));

  before(async () => {
    held = net.createServer();
    await new Promise<void>((resolve) => held.listen(0, "127.0.0.1", resolve));
    heldPort = (held.address() as net.AddressInfo).port;
    fs.writeFileSync(fileDir, "not a directory");
    // A live process holds it: this test's own pid, as a running cloud's would be.
    fs.writeFileSync(dataDirLockFile(lockedDir), String(process.pid));
  });
  after(() => {
    held.close();
    fs.rmSync(fileDir, { force: true });
    fs.rmSync(lockedDir, { recursive: true, force: true });
  });

  it("--help lists every option and exits 0", async () => {
    const r = await start("--help");
    expect(r.code).to.equal(0);
    for (const option of ["--port", "--data-dir", "--config", "--demo", "--orders", "--metrics", "--help"]) expect(r.stdout).to.include(option);
    expect(r.stdout.trim()).to.equal(USAGE);
  });

  const bad: [string, () => string[], string | (() => string)][] = [
    ["an unknown option", () => ["--nope"], "Unknown option '--nope'"],
    ["a positional argument", () => ["demo"], "Unexpected argument 'demo'"],
    ["a port out of range", () => ["--port", "99999"], '--port must be a port number 0–65535 (0: any free one), got "99999"'],
    ["a port that is not a number", () => ["--port", "http"], '--port must be a port number 0–65535 (0: any free one), got "http"'],
    ["a port already in use", () => ["--port", String(heldPort)], () => `--port ${heldPort}: 127.0.0.1:${heldPort} is already in use`],
    ["--data-dir without a value", () => ["--data-dir"], "Option '--data-dir <value>' argument missing"],
    [
      "--data-dir followed by another option",
      () => ["--data-dir", "--demo"],
      "Option '--data-dir' argument is ambiguous. Did you forget to specify the option argument for '--data-dir'?",
    ],
    ["--data-dir naming a file", () => ["--port", "0", "--data-dir", fileDir], `--data-dir ${fileDir}: must be a directory, and it is a file`],
    [
      "--data-dir held by a running cloud",
      () => ["--port", "0", "--data-dir", lockedDir],
      `--data-dir ${lockedDir} is in use by the local cloud with pid ${process.pid}`,
    ],
    ["--orders that is not a number", () => ["--demo", "--orders", "abc"], '--orders must be a whole number of aggregates 1–1000000, got "abc"'],
    ["--orders 0", () => ["--demo", "--orders", "0"], '--orders must be a whole number of aggregates 1–1000000, got "0"'],
    ["--orders without --demo", () => ["--orders", "5"], "--orders sets the demo's size: give it with --demo"],
    [
      "a config key no stack reads",
      () => ["--config", "producer.noSuchKey=1"],
      '--config producer.noSuchKey: the producer stack has no config key "noSuchKey"',
    ],
    [
      "a config key of the other stack",
      () => ["--config", "consumer.apiAuth=iam"],
      '--config consumer.apiAuth: the consumer stack has no config key "apiAuth"',
    ],
    ["a config naming no stack", () => ["--config", "analytics.retentionHours=48"], '--config names the producer or consumer stack, got "analytics"'],
    ["a config without =", () => ["--config", "producer.apiAuth"], '--config must be <producer|consumer>.<key>=<value>, got "producer.apiAuth"'],
  ];

  it(`answers each of ${bad.length} bad command lines in one line with exit 64, before starting anything`, async () => {
    // Two at a time: each is a process of its own.
    const results: Run[] = [];
    for (let i = 0; i < bad.length; i += 2) results.push(...(await Promise.all(bad.slice(i, i + 2).map(([, args]) => start(...args())))));
    bad.forEach(([what, , message], i) => {
      const r = results[i];
      expect(r.code, `${what}: exit (stderr: ${r.stderr})`).to.equal(64);
      expect(r.stdout, `${what}: nothing started`).to.equal("");
      const lines = r.stderr.trim().split("\n");
      expect(lines, `${what}: one line`).to.have.length(1);
      expect(lines[0], what).to.include(`npm start: ${typeof message === "function" ? message() : message}`);
      expect(r.seconds, `${what}: answered in ${r.seconds} s`).to.be.below(15);
    });
  });

  it("parses the options it accepts, repeated --config included", () => {
    expect(
      parseStartArgs([
        "--port",
        "0",
        "--data-dir",
        "d",
        "--demo",
        "--orders",
        "12",
        "--metrics",
        "--config",
        "producer.apiAuth=iam",
        "--config",
        "producer.corsMaxAge=60",
      ]),
    ).to.deep.equal({
      demo: true,
      metrics: true,
      dataDir: "d",
      port: 0,
      orders: 12,
      config: { producer: { apiAuth: "iam", corsMaxAge: "60" } },
    });
    expect(parseStartArgs([])).to.deep.equal({ demo: false, metrics: false, dataDir: undefined, port: 3000, orders: 200, config: {} });
    expect(parseStartArgs(["-h"])).to.equal("help");
    expect(configEntry("consumer.retentionHours=a=b")).to.deep.equal({ stack: "consumer", key: "retentionHours", value: "a=b" });
  });

  it("a value the program refuses at deploy time is answered with the preflight's problems and exit 1, without a trace", async () => {
    // The key exists, so the command line passes; the stack's preflight refuses the value once the program runs.
    const r = await start("--port", "0", "--config", "producer.shardCount=0");
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr, `after ${r.seconds} s:\n${r.stderr}`).to.include(
      "npm start: local cloud: the producer stack run failed (exit 1):\npreflight: 1 problem(s) in stack producer; nothing was deployed:",
    );
    expect(r.stderr).to.include("stream.shardCount applies only when stream.mode is PROVISIONED, got 0 with ON_DEMAND");
    // Neither this process's trace nor the stack run's (which once printed only the stack's name).
    expect(r.stderr).not.to.match(/^\s+at /m);
    expect(r.stdout).not.to.include("API on");
  });
});
