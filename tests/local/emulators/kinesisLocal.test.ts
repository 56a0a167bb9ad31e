/**
 * kinesis-local under its supervisor (local/emulators/kinesisSupervisor.js):
 * in a session of its own, its data file always a whole save, and a stop (or
 * the death of the process that started it) saving after the last write, so
 * a restart on the data dir has every acknowledged record and its sequence
 * numbers go on upward.
 */
import { expect } from "chai";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { CreateStreamCommand, PutRecordCommand } from "@aws-sdk/client-kinesis";
import { freePort, startKinesisLocal } from "../../../local/emulators/emulators";
import { emulatorKinesis } from "../../../local/emulators/clients";
import { pidAlive } from "../../../local/shared/runningCloud";
import { readStream } from "../../support/aws";

const ACCOUNT = "111111111111";

describe("kinesis-local under its supervisor", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinesis-data-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const put = async (endpoint: string, n: number) => {
    const kinesis = emulatorKinesis({ endpoint, account: ACCOUNT });
    const out: bigint[] = [];
    for (let i = 0; i < n; i++)
      out.push(BigInt((await kinesis.send(new PutRecordCommand({ StreamName: "s", PartitionKey: "k", Data: Buffer.from(`r${i}`) }))).SequenceNumber!));
    return { kinesis, seqs: out };
  };

  it("runs in a session of its own (out of the terminal's Ctrl-C) and keeps every record across a stop, sequence numbers going on upward", async () => {
    const first = await startKinesisLocal({ dataDir: dir });
    const sid = (pid: number) => Number(execFileSync("ps", ["-o", "sid=", "-p", String(pid)], { encoding: "utf8" }).trim());
    expect(sid(first.pid!)).to.equal(first.pid).and.not.equal(sid(process.pid));
    const admin = emulatorKinesis({ endpoint: first.endpoint, account: ACCOUNT });
    await admin.send(new CreateStreamCommand({ StreamName: "s", ShardCount: 1 }));
    await new Promise((r) => setTimeout(r, 200));
    const before = await put(first.endpoint, 5);
    // Written the moment before the stop: a save must still follow them.
    await first.close();
    expect(pidAlive(first.pid!)).to.equal(false);
    expect(JSON.parse(fs.readFileSync(path.join(dir, "kinesis-data.json"), "utf8")), "a whole save").to.be.an("object");

    const second = await startKinesisLocal({ dataDir: dir });
    const after = await put(second.endpoint, 3);
    const kept = await readStream(after.kinesis, "s");
    expect(kept).to.have.length(8);
    for (const s of after.seqs) expect(s > before.seqs[before.seqs.length - 1], "after every sequence number of the first run").to.equal(true);
    [admin, before.kinesis, after.kinesis].forEach((c) => c.destroy());
    await second.close();
  });

  it("when a port it was given is taken before it binds it, starts again on new ports, leaving nothing on the first", async () => {
    // What the race with another process looks like: the TLS port answers TCP, but not kinesis-local's handshake.
    const taken = net.createServer((socket) => socket.destroy());
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
    const takenPort = (taken.address() as net.AddressInfo).port;
    const attempts: [number, number][] = [];
    const ports = async (): Promise<[number, number]> => {
      const next: [number, number] = attempts.length === 0 ? [await freePort(), takenPort] : [await freePort(), await freePort()];
      attempts.push(next);
      return next;
    };
    try {
      const k = await startKinesisLocal({ ports, listenTimeoutMs: 8_000 });
      expect(attempts, "a second attempt").to.have.length(2);
      expect(k.endpoint).to.equal(`http://127.0.0.1:${attempts[1][0]}`);
      const kinesis = emulatorKinesis({ endpoint: k.endpoint, account: ACCOUNT });
      await kinesis.send(new CreateStreamCommand({ StreamName: "retried", ShardCount: 1 }));
      kinesis.destroy();
      const first = net.connect(attempts[0][0], "127.0.0.1");
      const open = await new Promise<boolean>((r) => first.once("connect", () => r(true)).once("error", () => r(false)));
      first.destroy();
      expect(open, "the first attempt's process is gone").to.equal(false);
      await k.close();

      const refused = await startKinesisLocal({ ports: async () => [await freePort(), takenPort], listenTimeoutMs: 4_000 }).then(
        () => "started",
        (err: Error) => err.message,
      );
      expect(refused, "after its attempts, a clear error").to.match(
        new RegExp(`kinesis-local (exited .*before it listened|did not listen) on \\d+ and ${takenPort}`),
      );
    } finally {
      taken.close();
    }
  });

  it("listens on the loopback interface only (kinesis-mock alone binds every interface, unauthenticated)", async () => {
    const k = await startKinesisLocal();
    try {
      // Every listening TCP socket of the supervisor's process, from /proc: its inodes, then their local addresses.
      const inodes = new Set(
        fs
          .readdirSync(`/proc/${k.pid}/fd`)
          .map((fd) => {
            try {
              return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${k.pid}/fd/${fd}`))?.[1];
            } catch {
              return undefined;
            }
          })
          .filter((i): i is string => i !== undefined),
      );
      const listening: string[] = [];
      for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
        for (const line of fs.readFileSync(file, "utf8").split("\n").slice(1)) {
          const cols = line.trim().split(/\s+/);
          if (cols.length > 9 && cols[3] === "0A" && inodes.has(cols[9])) listening.push(cols[1]); // 0A: LISTEN
        }
      }
      // Its plain and TLS ports, both on 127.0.0.1 (0100007F in /proc's byte order); an unspecified address would read 00000000.
      expect(listening).to.have.length(2);
      for (const address of listening) expect(address.split(":")[0], address).to.equal("0100007F");
    } finally {
      await k.close();
    }
  });

  it("when the process that started it is killed, saves what it acknowledged and exits by itself", async () => {
    // A parent that starts it, writes, and is SIGKILLed at once: the supervisor sees its lifeline close.
    const script = `
      const { startKinesisLocal } = require(${JSON.stringify(path.resolve(__dirname, "../../../local/emulators/emulators"))});
      const { emulatorKinesis } = require(${JSON.stringify(path.resolve(__dirname, "../../../local/emulators/clients"))});
      const { PutRecordCommand } = require("@aws-sdk/client-kinesis");
      (async () => {
        const k = await startKinesisLocal({ dataDir: ${JSON.stringify(dir)} });
        const c = emulatorKinesis({ endpoint: k.endpoint, account: "${ACCOUNT}" });
        const seqs = [];
        for (let i = 0; i < 4; i++) seqs.push((await c.send(new PutRecordCommand({ StreamName: "s", PartitionKey: "k", Data: Buffer.from("killed" + i) }))).SequenceNumber);
        process.stdout.write(JSON.stringify({ pid: k.pid, seqs }) + "\\n", () => process.kill(process.pid, "SIGKILL"));
      })();`;
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    await new Promise((r) => child.once("exit", r));
    const { pid, seqs } = JSON.parse(out.trim().split("\n").pop()!);
    const deadline = Date.now() + 40_000;
    while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(pidAlive(pid), "no orphan").to.equal(false);

    const again = await startKinesisLocal({ dataDir: dir });
    const kinesis = emulatorKinesis({ endpoint: again.endpoint, account: ACCOUNT });
    const seen = (await readStream(kinesis, "s")).map((r) => r.kinesis.sequenceNumber);
    expect(seen).to.include.members(seqs);
    kinesis.destroy();
    await again.close();
  });
});
