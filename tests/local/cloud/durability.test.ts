/**
 * The local cloud never loses an acknowledged write: `npm start`'s module
 * (local/cloud/start.ts) runs as a child in its own process group with a data
 * dir, as a terminal runs it; clients write while it is stopped by Ctrl-C
 * (SIGINT to the group), by SIGTERM, and by SIGKILL of the orchestrator
 * alone; after each restart on the same data dir every write answered 202 is
 * in the stream and projected, sequence numbers have not gone backwards, a
 * graceful stop re-forwards and re-lands nothing, and a killed orchestrator
 * leaves no process behind. DURABILITY_RUNS=N repeats the cycle N times
 * (default 1, for CI's budget) and prints the count of lost events.
 */
import { expect } from "chai";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { emulatorKinesis, emulatorS3 } from "../../../local/emulators/clients";
import { LOCAL_ACCOUNTS, StackManifest } from "../../../local/shared/manifest";
import { TYPES } from "../../../components/parts/typeTokens";
import { CurrentCloud, pidAlive } from "../../../local/shared/runningCloud";
import { readStream } from "../../support/aws";
import { apiCaller } from "../../../local/cloud/caller";
import { issuerClient } from "../../../local/oidc/client";
import { childrenOf, until } from "../../support/processes";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const RUNS = Number(process.env.DURABILITY_RUNS ?? 1);
/** Who writes and reads: in jwt mode the token's subject, and the orders' customer (the domain lets a customer touch only their own). */
const CUSTOMER = "c-durable";
const AGGREGATES = Array.from({ length: 6 }, (_, i) => `durable-${i}`);

interface Running {
  child: ChildProcess;
  current: CurrentCloud;
  exited: Promise<void>;
}

interface Ack {
  eventId: string;
  aggregateId: string;
  sequenceNumber: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `npm start`'s module in a process group of its own, and waits until it has written current.json. */
async function startCloud(dataDir: string, stateDir: string): Promise<Running> {
  fs.rmSync(path.join(stateDir, "current.json"), { force: true });
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "local/cloud/start.ts", "--data-dir", dataDir, "--port", "0"], {
    cwd: ROOT,
    env: { ...process.env, LOCAL_CLOUD_DIR: stateDir },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (d) => (output = (output + d).slice(-20_000)));
  child.stderr!.on("data", (d) => (output = (output + d).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const current = await until(
    "the local cloud to start",
    async () => {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
      const file = path.join(stateDir, "current.json");
      return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as CurrentCloud) : undefined;
    },
    240_000,
  ).catch((err) => {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n${output}`);
  });
  return { child, current, exited };
}

/** Clients writing to the API until stopped; every 202 is recorded. */
/** The API of a running cloud, called as its stack's auth mode asks (a token from its issuer in jwt mode, SigV4 as the local API caller in iam mode). */
function callerOf(cloud: Running, producer: StackManifest) {
  const issuer = cloud.current.issuer ? issuerClient(cloud.current.issuer) : undefined;
  return apiCaller({ apiUrl: cloud.current.apiUrl, region: producer.region, producer: () => producer, issuer });
}

/** Clients writing until stopped; `refused` holds any 4xx answer (never expected: every write is valid and authenticated). */
function startWriters(call: ReturnType<typeof apiCaller>, clients: number): { acks: Ack[]; refused: string[]; stop(): Promise<void> } {
  const acks: Ack[] = [];
  const refused: string[] = [];
  let stopped = false;
  let n = 0;
  const client = async () => {
    while (!stopped) {
      const aggregateId = AGGREGATES[n++ % AGGREGATES.length];
      try {
        const res = await call(`aggregates/${aggregateId}/events`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ type: "OrderPlaced", data: { customerId: CUSTOMER, lines: [] } }),
          as: CUSTOMER,
        });
        const body: any = await res.json();
        if (res.status === 202) acks.push({ eventId: body.eventId, aggregateId, sequenceNumber: body.sequenceNumber });
        else if (res.status < 500) refused.push(`${res.status} ${body.message}`);
      } catch {
        await sleep(20); // refused or reset while stopping: not acknowledged
      }
    }
  };
  const running = Promise.all(Array.from({ length: clients }, client));
  return {
    acks,
    refused,
    async stop() {
      stopped = true;
      await running;
    },
  };
}

/** Every event in the producer's stream: eventId → aggregate and sequence number. */
async function streamEvents(current: CurrentCloud, streamName: string): Promise<Map<string, Ack>> {
  const kinesis = emulatorKinesis({ endpoint: current.endpoints.kinesis, account: LOCAL_ACCOUNTS.producer });
  const out = new Map<string, Ack>();
  for (const r of await readStream(kinesis, streamName)) {
    const e = JSON.parse(Buffer.from(r.kinesis.data, "base64").toString("utf8"));
    out.set(e.eventId, { eventId: e.eventId, aggregateId: e.aggregateId, sequenceNumber: r.kinesis.sequenceNumber });
  }
  kinesis.destroy();
  return out;
}

/** Every landed record's id, with repeats. */
async function landedIds(current: CurrentCloud): Promise<string[]> {
  const s3 = emulatorS3({ endpoint: current.endpoints.s3, account: current.consumerAccount });
  const ids: string[] = [];
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: current.landingBucket, Prefix: "events/" }));
  for (const o of listed.Contents ?? []) {
    const body = await s3.send(new GetObjectCommand({ Bucket: current.landingBucket, Key: o.Key! }));
    const text = zlib.gunzipSync(Buffer.from(await body.Body!.transformToByteArray())).toString("utf8");
    ids.push(
      ...text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).id),
    );
  }
  s3.destroy();
  return ids;
}

describe("local cloud durability: Ctrl-C, SIGTERM and a killed orchestrator lose no acknowledged write", function () {
  this.timeout(600_000);
  let dataDir: string;
  let stateDir: string;
  let cloud: Running | undefined;
  let streamName: string;
  let producer: StackManifest;
  const acked: Ack[] = [];
  const lost: Record<string, string[]> = {};
  /** How often each event had landed when the last cycle ended. */
  let landedBefore = new Map<string, number>();

  before(async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "durability-"));
    dataDir = path.join(root, "data");
    stateDir = path.join(root, "state");
    cloud = await startCloud(dataDir, stateDir);
    producer = JSON.parse(fs.readFileSync(path.join(dataDir, "stacks", "producer", "manifest.json"), "utf8"));
    streamName = producer.resources.find((r) => r.type === TYPES.stream)!.state.name;
  });
  after(async () => {
    if (cloud && cloud.child.exitCode === null) {
      process.kill(-cloud.child.pid!, "SIGINT");
      await cloud.exited;
    }
    const counts = Object.entries(lost).map(([how, runs]) => `${how}: ${runs.join(", ")}`);
    if (counts.length) console.log(`    lost acknowledged events per run (${RUNS} run(s) each): ${counts.join("; ")}`);
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  /** Writes under load, stops the cloud mid-flight by `how`, restarts it on the same data dir, and checks what the restart shows. */
  async function cycle(how: "SIGINT to the group" | "SIGTERM" | "SIGKILL of the orchestrator"): Promise<void> {
    const before = cloud!;
    const writers = startWriters(callerOf(before, producer), 6);
    await until("writes to be acknowledged", async () => (writers.acks.length >= 30 || writers.refused.length ? true : undefined));
    expect(writers.refused.slice(0, 3), "writes the API refused").to.deep.equal([]);
    // A token minted before the stop, kept by its client: with --data-dir the issuer keeps its key, so it still verifies.
    const kept = before.current.issuer ? await issuerClient(before.current.issuer).token({ sub: CUSTOMER, scopes: ["aggregates:read"] }) : undefined;
    const children = childrenOf(before.child.pid!);
    expect(children.length, "kinesis-local's supervisor and the functions' environments").to.be.at.least(4);
    if (how === "SIGINT to the group") process.kill(-before.child.pid!, "SIGINT");
    else if (how === "SIGTERM") process.kill(before.child.pid!, "SIGTERM");
    else process.kill(before.child.pid!, "SIGKILL");
    await before.exited;
    await writers.stop();
    // However it ended, nothing it started outlives it.
    await until("its processes to exit", async () => (children.every((p) => !pidAlive(p)) ? true : undefined), 60_000);
    const previousMax = new Map<string, bigint>();
    for (const a of acked)
      previousMax.set(
        a.aggregateId,
        BigInt(a.sequenceNumber) > (previousMax.get(a.aggregateId) ?? 0n) ? BigInt(a.sequenceNumber) : previousMax.get(a.aggregateId)!,
      );

    cloud = await startCloud(dataDir, stateDir);
    const inStream = await streamEvents(cloud.current, streamName);
    const missing = writers.acks.filter((a) => !inStream.has(a.eventId));
    (lost[how] ??= []).push(`${missing.length} of ${writers.acks.length}`);
    expect(missing, `acknowledged before the ${how}, missing after the restart`).to.deep.equal([]);
    acked.push(...writers.acks);

    // Projected: each aggregate's read model has applied every event of it in the stream, up to the last one.
    // One caller for the restarted cloud: it keeps its token, as a client would, instead of minting one per poll.
    const call = callerOf(cloud, producer);
    for (const id of AGGREGATES) {
      const mine = [...inStream.values()].filter((e) => e.aggregateId === id);
      const last = mine.reduce((m, e) => (BigInt(e.sequenceNumber) > BigInt(m.sequenceNumber) ? e : m), mine[0]);
      await until(`${id} projected`, async () => {
        const body: any = await (await call(`aggregates/${id}`, { as: CUSTOMER })).json();
        return body.version === mine.length && body.position === last.sequenceNumber.padStart(body.position.length, "0") ? true : undefined;
      });
    }

    // Once projected (a 200, not a 404), read with the token minted before the stop.
    if (kept !== undefined) {
      // The issuer's URL is its `iss`: the same across restarts on its preferred port, unless another cloud of this
      // checkout holds that port (then both runs took a free one, and the token names another issuer).
      const sameIssuer = cloud.current.issuer === before.current.issuer;
      const res = await fetch(new URL(`aggregates/${AGGREGATES[0]}`, cloud.current.apiUrl), { headers: { authorization: `Bearer ${kept}` } });
      expect(res.status, `a token minted before the ${how}, after the restart (same issuer URL: ${sameIssuer})`).to.equal(sameIssuer ? 200 : 401);
    }

    // Sequence numbers go on from where they were: a new write on an aggregate sorts after every acknowledged one.
    const after = startWriters(call, 2);
    await until("writes after the restart", async () => (after.acks.length >= AGGREGATES.length || after.refused.length ? true : undefined));
    expect(after.refused.slice(0, 3), "writes the API refused after the restart").to.deep.equal([]);
    await after.stop();
    for (const a of after.acks)
      expect(BigInt(a.sequenceNumber) > (previousMax.get(a.aggregateId) ?? 0n), `${a.aggregateId} ${a.sequenceNumber}`).to.equal(true);
    acked.push(...after.acks);

    // Everything lands. After a graceful stop nothing lands again: an event landed before lands no more
    // times, a new one once (a crash may deliver again what was in flight: at least once, deduped on id).
    const all = await streamEvents(cloud.current, streamName);
    const ids = await until("every event to land", async () => {
      const landed = await landedIds(cloud!.current);
      return [...all.keys()].every((id) => landed.includes(id)) ? landed : undefined;
    });
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    if (how !== "SIGKILL of the orchestrator") {
      const again = [...counts].filter(([id, n]) => n !== (landedBefore.get(id) ?? 1)).map(([id, n]) => `${id} ×${n}`);
      expect(again, `records landed again after the ${how} and restart`).to.deep.equal([]);
    }
    landedBefore = counts;
  }

  for (let run = 1; run <= RUNS; run++) {
    it(`Ctrl-C (SIGINT to the process group) mid-flight: every 202 survives the restart, projected, and nothing lands twice (run ${run})`, () =>
      cycle("SIGINT to the group"));
    it(`SIGTERM mid-flight: the same (run ${run})`, () => cycle("SIGTERM"));
    it(`SIGKILL of the orchestrator alone: every 202 survives, and no process it started is left (run ${run})`, () => cycle("SIGKILL of the orchestrator"));
  }
});
