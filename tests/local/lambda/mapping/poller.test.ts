/**
 * Event-source mapping pollers against kinesis-local, with a plain JS
 * function: order per shard, batch size and window, the event shape,
 * partial batch responses, retries, bisection, record age, the on-failure
 * record, LATEST, parallelization, resharding, and a clean stop.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DescribeStreamSummaryCommand, KinesisClient, UpdateShardCountCommand } from "@aws-sdk/client-kinesis";
import { MappingPoller, MappingSpec, startMappingPoller } from "../../../../local/lambda/mapping/poller";
import { laneOf } from "../../../../local/lambda/mapping/records";
import { createQueues, OnFailureQueues } from "../../../../local/lambda/mapping/onFailureQueue";
import { KinesisStreamEvent, KinesisStreamRecord } from "../../../../handlers/shared/kinesisEvent";
import { checkpointStore, ShardCheckpoint } from "../../../../local/shared/checkpoints";
import { createStream, PRODUCER_ACCOUNT, putJson, readStream, REGION, testKinesis, uniqueName } from "../../../support/aws";

const ROLE = `arn:aws:iam::${PRODUCER_ACCOUNT}:role/test-function-role`;
const FUNCTION = `arn:aws:lambda:${REGION}:${PRODUCER_ACCOUNT}:function:test-fn`;
const QUEUE = `arn:aws:sqs:${REGION}:${PRODUCER_ACCOUNT}:test-on-failure`;

/** Waits for a condition, polling, within a bounded time. */
async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const body = (r: KinesisStreamRecord) => JSON.parse(Buffer.from(r.kinesis.data, "base64").toString());
const seqs = (e: KinesisStreamEvent) => e.Records.map((r) => r.kinesis.sequenceNumber);

describe("Event-source mapping poller (kinesis-local)", function () {
  this.timeout(60_000);
  const kinesis: KinesisClient = testKinesis(PRODUCER_ACCOUNT);
  const pollers: MappingPoller[] = [];
  let queues: OnFailureQueues;
  let stream: string;
  let streamArn: string;
  const logs: object[] = [];

  async function fresh(shards = 1): Promise<void> {
    stream = uniqueName("esm");
    streamArn = await createStream(kinesis, stream, shards);
  }

  function spec(overrides: Partial<MappingSpec> = {}): MappingSpec {
    return {
      eventSourceArn: streamArn,
      functionName: FUNCTION,
      startingPosition: "TRIM_HORIZON",
      batchSize: 10,
      maximumBatchingWindowInSeconds: 0,
      parallelizationFactor: 1,
      maximumRetryAttempts: 2,
      maximumRecordAgeInSeconds: -1,
      bisectBatchOnFunctionError: false,
      functionResponseTypes: ["ReportBatchItemFailures"],
      destinationConfig: { onFailure: { destinationArn: QUEUE } },
      ...overrides,
    };
  }

  function start(
    s: MappingSpec,
    invoke: (e: KinesisStreamEvent) => Promise<unknown>,
    now?: () => number,
    checkpoints?: { load(): Record<string, ShardCheckpoint>; save(shards: Record<string, ShardCheckpoint>): void },
  ): MappingPoller {
    const poller = startMappingPoller(s, {
      checkpoints,
      kinesis,
      invoke,
      sendToOnFailure: (arn, message) => queues.send(arn, message),
      invokeIdentityArn: ROLE,
      now,
      log: (e) => logs.push(e),
      pollIntervalMs: 20,
    });
    pollers.push(poller);
    return poller;
  }

  async function put(n: number, key: (i: number) => string, tag = "r"): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await putJson(kinesis, stream, key(i), { tag, i }));
    return out;
  }

  beforeEach(() => {
    queues = createQueues();
    logs.length = 0;
  });
  afterEach(async () => {
    await Promise.all(pollers.splice(0).map((p) => p.stop()));
  });

  it("delivers every record once, in order per shard, in batches of at most batchSize, shaped as AWS sends them", async () => {
    await fresh(2);
    await put(40, (i) => `key-${i % 6}`);
    const events: KinesisStreamEvent[] = [];
    const poller = start(spec({ batchSize: 7 }), async (e) => {
      events.push(e);
      return { batchItemFailures: [] };
    });
    await waitFor("40 records", () => events.reduce((n, e) => n + e.Records.length, 0) >= 40);
    const delivered = events.flatMap((e) => e.Records);
    expect(Math.max(...events.map((e) => e.Records.length))).to.equal(7);
    for (const e of events) expect(new Set(e.Records.map((r) => r.eventID.split(":")[0])).size).to.equal(1);
    const byShard = new Map<string, bigint[]>();
    for (const r of delivered) {
      const shard = r.eventID.split(":")[0];
      byShard.set(shard, [...(byShard.get(shard) ?? []), BigInt(r.kinesis.sequenceNumber)]);
    }
    expect(byShard.size).to.equal(2);
    for (const list of byShard.values()) for (let i = 1; i < list.length; i++) expect(list[i] > list[i - 1]).to.equal(true);
    // Exactly what a reader of the stream sees, field for field (readStream uses the same role ARN).
    const sort = (rs: KinesisStreamRecord[]) => [...rs].sort((a, b) => a.eventID.localeCompare(b.eventID));
    expect(sort(delivered)).to.deep.equal(sort(await readStream(kinesis, stream)));
    expect(poller.stats()).to.include({ records: 40, succeeded: 40, retries: 0, sentToOnFailure: 0 });
  });

  it("gathers records for up to the batching window before invoking", async () => {
    await fresh(1);
    const events: KinesisStreamEvent[] = [];
    const poller = start(spec({ batchSize: 100, maximumBatchingWindowInSeconds: 2 }), async (e) => {
      events.push(e);
    });
    await poller.ready;
    for (let i = 0; i < 3; i++) {
      await put(1, () => "k", `w${i}`);
      await new Promise((r) => setTimeout(r, 100)); // several poll intervals apart
    }
    await waitFor("the window to close", () => events.length > 0);
    expect(events.map((e) => e.Records.map((r) => body(r).tag))).to.deep.equal([["w0", "w1", "w2"]]);
  });

  it("invokes as soon as a batch is full, without waiting out the window", async () => {
    await fresh(1);
    const events: KinesisStreamEvent[] = [];
    const poller = start(spec({ batchSize: 4, maximumBatchingWindowInSeconds: 300 }), async (e) => {
      events.push(e);
    });
    await poller.ready;
    await put(4, (i) => `k${i}`);
    await waitFor("a full batch", () => events.length > 0);
    expect(events.map((e) => e.Records.length)).to.deep.equal([4]);
  });

  it("ReportBatchItemFailures: resumes at the reported record, keeping what came before", async () => {
    await fresh(1);
    const put10 = await put(10, () => "k");
    const calls: string[][] = [];
    const poller = start(spec(), async (e) => {
      calls.push(seqs(e));
      return { batchItemFailures: calls.length === 1 ? [{ itemIdentifier: put10[6] }, { itemIdentifier: put10[4] }] : [] };
    });
    await waitFor("the retry", () => calls.length >= 2 && poller.stats().succeeded === 10);
    expect(calls).to.deep.equal([put10, put10.slice(4)]);
    expect(poller.stats()).to.include({ succeeded: 10, retries: 1, sentToOnFailure: 0 });
  });

  it("ReportBatchItemFailures: an identifier not in the batch fails the whole batch", async () => {
    await fresh(1);
    const put5 = await put(5, () => "k");
    const calls: string[][] = [];
    const poller = start(spec(), async (e) => {
      calls.push(seqs(e));
      return { batchItemFailures: calls.length === 1 ? [{ itemIdentifier: "not-a-sequence-number" }] : [] };
    });
    await waitFor("the retry", () => poller.stats().succeeded === 5);
    expect(calls).to.deep.equal([put5, put5]);
  });

  it("retries a failing batch maximumRetryAttempts times, then sends AWS's on-failure record and moves on", async () => {
    await fresh(1);
    const bad = await put(3, () => "k", "bad");
    const calls: string[][] = [];
    const poller = start(spec({ maximumRetryAttempts: 2 }), async (e) => {
      calls.push(seqs(e));
      if (e.Records.some((r) => body(r).tag === "bad")) throw new Error("cannot process");
      return { batchItemFailures: [] };
    });
    await waitFor("the on-failure record", () => queues.messages(QUEUE).length === 1);
    const [after] = await put(1, () => "k", "good");
    await waitFor("the next record", () => poller.stats().succeeded === 1);
    expect(calls).to.deep.equal([bad, bad, bad, [after]]);
    const { body: record } = queues.messages(QUEUE)[0];
    const shardId = (await readStream(kinesis, stream))[0].eventID.split(":")[0];
    expect(record.requestContext).to.include({ functionArn: FUNCTION, condition: "RetryAttemptsExhausted", approximateInvokeCount: 3 });
    expect(record.requestContext.requestId).to.match(/^[0-9a-f-]{36}$/);
    expect(record.responseContext).to.deep.equal({ statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" });
    expect(record.version).to.equal("1.0");
    expect(new Date(record.timestamp).toISOString()).to.equal(record.timestamp);
    expect(record.KinesisBatchInfo).to.include({ shardId, startSequenceNumber: bad[0], endSequenceNumber: bad[2], batchSize: 3, streamArn });
    expect(Date.parse(record.KinesisBatchInfo.approximateArrivalOfFirstRecord)).to.be.at.most(
      Date.parse(record.KinesisBatchInfo.approximateArrivalOfLastRecord),
    );
    expect(poller.stats()).to.include({ retries: 2, sentToOnFailure: 3, succeeded: 1 });
    expect(poller.stats().lastError).to.match(/cannot process/);
  });

  it("bisects a failing batch until the bad record is alone, without spending retries on the splits", async () => {
    await fresh(1);
    const all = await put(8, (i) => `k${i}`, "ok");
    const [poison] = await put(1, () => "k-poison", "poison");
    const tail = await put(3, (i) => `t${i}`, "ok");
    const ok: string[] = [];
    start(spec({ batchSize: 12, bisectBatchOnFunctionError: true, maximumRetryAttempts: 1 }), async (e) => {
      if (e.Records.some((r) => body(r).tag === "poison")) throw new Error("poison");
      ok.push(...seqs(e));
    });
    await waitFor("the on-failure record and the rest", () => queues.messages(QUEUE).length === 1 && ok.length === 11);
    expect(ok).to.deep.equal([...all, ...tail]);
    const info = queues.messages(QUEUE)[0].body;
    expect(info.KinesisBatchInfo).to.include({ startSequenceNumber: poison, endSequenceNumber: poison, batchSize: 1 });
    // Invoked in 12 → 6 → 3 → 1 (the splits spend no retries), then retried once.
    expect(info.requestContext.approximateInvokeCount).to.equal(5);
  });

  it("gives up on records older than maximumRecordAgeInSeconds without invoking", async () => {
    await fresh(1);
    const old = await put(3, () => "k");
    let invocations = 0;
    start(
      spec({ maximumRecordAgeInSeconds: 60 }),
      async () => {
        invocations += 1;
      },
      () => Date.now() + 120_000,
    );
    await waitFor("the on-failure record", () => queues.messages(QUEUE).length === 1);
    const record = queues.messages(QUEUE)[0].body;
    expect(record.requestContext).to.include({ condition: "RecordAgeExceeded", approximateInvokeCount: 0 });
    expect(record.KinesisBatchInfo).to.include({ startSequenceNumber: old[0], endSequenceNumber: old[2], batchSize: 3 });
    expect(invocations).to.equal(0);
  });

  it("reports its lag behind the shard's tip while a backlog drains, 0 at the tip", async () => {
    await fresh(1);
    await put(30, (i) => `k${i}`);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const delivered: KinesisStreamEvent[] = [];
    // Batches of 5 and one lane read 10 ahead: the first page is full, the backlog behind it. The clock runs 2 minutes ahead.
    const poller = start(
      spec({ batchSize: 5 }),
      async (e) => {
        await held;
        delivered.push(e);
      },
      () => Date.now() + 120_000,
    );
    await waitFor("a full page read", () => poller.stats().records >= 10);
    expect(poller.stats().lagMs).to.be.at.least(100_000);
    release();
    await waitFor("every record delivered", () => delivered.reduce((n, e) => n + e.Records.length, 0) === 30);
    await waitFor("the lag back to 0 at the tip", () => poller.stats().lagMs === 0);
  });

  it("LATEST: skips what was written before the mapping started", async () => {
    await fresh(2);
    await put(5, (i) => `k${i}`, "old");
    const tags: string[] = [];
    const poller = start(spec({ startingPosition: "LATEST" }), async (e) => {
      tags.push(...e.Records.map((r) => body(r).tag));
    });
    await poller.ready;
    await put(4, (i) => `k${i}`, "new");
    await waitFor("the new records", () => tags.length >= 4);
    expect(tags).to.deep.equal(["new", "new", "new", "new"]);
  });

  it("parallelizationFactor: runs concurrent batches per shard, in order per partition key", async () => {
    await fresh(1);
    const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const slow = keys.find((k) => laneOf(k, 2) === 0)!;
    const fast = keys.find((k) => laneOf(k, 2) === 1)!;
    await put(3, () => slow, "slow");
    await put(3, () => fast, "fast");
    const seen: string[] = [];
    let fastWhileSlowInFlight = false;
    start(spec({ parallelizationFactor: 2, batchSize: 1 }), async (e) => {
      const tag = body(e.Records[0]).tag;
      if (tag === "slow" && !seen.includes("slow")) {
        // Holds the slow key's first batch until the other key has been delivered (bounded).
        await waitFor("the other key", () => seen.filter((t) => t === "fast").length === 3, 10_000).catch(() => undefined);
        fastWhileSlowInFlight = seen.filter((t) => t === "fast").length === 3;
      }
      seen.push(tag);
      e.Records.forEach((r) => seen.push(`${tag}:${body(r).i}`));
    });
    await waitFor("all records", () => seen.filter((t) => t.includes(":")).length === 6);
    expect(fastWhileSlowInFlight).to.equal(true);
    expect(seen.filter((t) => t.startsWith("slow:"))).to.deep.equal(["slow:0", "slow:1", "slow:2"]);
    expect(seen.filter((t) => t.startsWith("fast:"))).to.deep.equal(["fast:0", "fast:1", "fast:2"]);
  });

  it("after resharding, reads the children once the parent is drained, keeping a key's order", async () => {
    await fresh(1);
    const before = await put(4, () => "k", "parent");
    const delivered: string[] = [];
    let childrenWritten = false;
    const poller = start(spec({ batchSize: 2 }), async (e) => {
      // The parent's batches wait until the children hold records, so children read too early would come first.
      if (body(e.Records[0]).tag === "parent") await waitFor("the children's records", () => childrenWritten, 10_000).catch(() => undefined);
      delivered.push(...seqs(e));
    });
    await poller.ready;
    await kinesis.send(new UpdateShardCountCommand({ StreamName: stream, TargetShardCount: 2, ScalingType: "UNIFORM_SCALING" }));
    for (let i = 0; i < 100; i++) {
      const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
      if (d.StreamDescriptionSummary?.StreamStatus === "ACTIVE" && d.StreamDescriptionSummary.OpenShardCount === 2) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const after = await put(4, () => "k", "child");
    childrenWritten = true;
    await waitFor("every record", () => delivered.length === 8);
    expect(delivered).to.deep.equal([...before, ...after]);
    expect(logs.filter((l: any) => l.event === "shardDone")).to.have.length(1);

    // A mapping created after the resharding starts at the parent and holds the children back until it is drained.
    const late: string[] = [];
    start(spec({ batchSize: 2 }), async (e) => {
      if (body(e.Records[0]).tag === "parent" && late.length === 0) {
        // Children started early would deliver meanwhile; the wait is bounded either way.
        await waitFor("a child's record", () => late.length > 0, 2_000).catch(() => undefined);
      }
      late.push(...seqs(e));
    });
    await waitFor("every record again", () => late.length === 8);
    expect(late).to.deep.equal([...before, ...after]);
  });

  it("stop() ends promptly with a window open and an invocation in flight, and nothing runs after it", async () => {
    await fresh(1);
    await put(1, () => "k");
    let calls = 0;
    const hanging = start(spec(), async () => {
      calls += 1;
      return new Promise(() => undefined);
    });
    const windowed = start(spec({ batchSize: 100, maximumBatchingWindowInSeconds: 300 }), async () => {
      calls += 100;
    });
    await waitFor("the hanging invocation", () => calls === 1);
    await waitFor("the windowed poller to hold the record", () => windowed.stats().records === 1);
    await Promise.all([hanging.stop(), windowed.stop()]);
    const stats = [hanging.stats(), windowed.stats()];
    await put(2, () => "k");
    await new Promise((r) => setTimeout(r, 200)); // ten poll intervals
    expect(calls).to.equal(1);
    expect([hanging.stats(), windowed.stats()]).to.deep.equal(stats);
    expect(stats[1].records).to.equal(1); // it had read the record and was waiting out its window
  });

  it("keeps each shard's checkpoint: a new poller on the same checkpoints resumes after it, delivering nothing twice", async () => {
    await fresh(2);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "checkpoints-"));
    const store = checkpointStore(dir, "mapping", "test", streamArn);
    const first = await put(12, (i) => `key-${i % 4}`, "before");
    const delivered: string[] = [];
    const poller = start(spec({ parallelizationFactor: 2, batchSize: 3 }), async (e) => void delivered.push(...seqs(e)), undefined, store);
    await waitFor("the first records", () => delivered.length >= 12);
    await poller.stop(5_000);
    expect(Object.keys(store.load()).length, "a checkpoint per shard").to.equal(2);
    // The store is a file, replaced whole: what another process (a restart) reads.
    expect(JSON.parse(fs.readFileSync(store.file, "utf8"))).to.include({ kind: "mapping", name: "test", source: streamArn });
    const later = await put(6, (i) => `key-${i % 4}`, "after");
    const again: string[] = [];
    start(
      spec({ parallelizationFactor: 2, batchSize: 3 }),
      async (e) => void again.push(...seqs(e)),
      undefined,
      checkpointStore(dir, "mapping", "test", streamArn),
    );
    await waitFor("the later records", () => again.length >= 6);
    await new Promise((r) => setTimeout(r, 300));
    expect([...again].sort()).to.deep.equal([...later].sort());
    expect([...delivered].sort()).to.deep.equal([...first].sort());
    // Checkpoints of another stream are never used.
    expect(checkpointStore(dir, "mapping", "test", `${streamArn}-other`).load()).to.deep.equal({});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a draining stop lets the invocation in flight finish and checkpoints its batch", async () => {
    await fresh(1);
    const saved: Record<string, ShardCheckpoint>[] = [];
    const store = { load: () => ({}), save: (c: Record<string, ShardCheckpoint>) => void saved.push(JSON.parse(JSON.stringify(c))) };
    const [only] = await put(1, () => "k");
    let entered = false;
    start(
      spec(),
      async () => {
        entered = true;
        await new Promise((r) => setTimeout(r, 500));
      },
      undefined,
      store,
    );
    await waitFor("the invocation", () => entered);
    await pollers[pollers.length - 1].stop(10_000);
    expect(saved.at(-1)).to.deep.equal({ "shardId-000000000000": { sequenceNumber: only } });
  });
});

describe("On-failure queues (local stand-in for SQS)", () => {
  it("keeps messages per queue, persists them as JSON lines and loads them again", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "queues-"));
    try {
      const a = `arn:aws:sqs:${REGION}:${PRODUCER_ACCOUNT}:projector-failures`;
      const b = `arn:aws:sqs:${REGION}:222222222222:projector-failures`;
      const queues = createQueues({ dir });
      await queues.send(a, { n: 1 });
      await queues.send(a, { n: 2 });
      await queues.send(b, { n: 3 });
      expect(queues.counts()).to.deep.equal({ [a]: 2, [b]: 1 });
      expect(fs.readdirSync(dir).sort()).to.deep.equal([`${PRODUCER_ACCOUNT}-projector-failures.jsonl`, "222222222222-projector-failures.jsonl"]);
      const reloaded = createQueues(dir);
      expect(reloaded.counts()).to.deep.equal({ [a]: 2, [b]: 1 });
      expect(reloaded.messages(a).map((m) => m.body)).to.deep.equal([{ n: 1 }, { n: 2 }]);
      expect(reloaded.messages(a)[0].messageId).to.equal(queues.messages(a)[0].messageId);
      let error: Error | undefined;
      try {
        await reloaded.send("arn:aws:sns:us-east-1:111111111111:topic", {});
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).to.match(/not an SQS queue ARN/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
