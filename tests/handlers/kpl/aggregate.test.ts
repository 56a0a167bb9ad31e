import { expect } from "chai";
import { createHash } from "crypto";
// The official deaggregator (awslabs/kinesis-aggregation), a devDependency only.
const agg = require("aws-kinesis-agg");
import { aggregateModeFromEnv, BridgeConfig, bridgeConfigFromEnv, createBridge } from "../../../handlers/bridge";
import type { OutputEntry } from "../../../handlers/bridge/decode";
import { aggregateEntries } from "../../../handlers/bridge/kplEntries";
import { kinesisClient } from "../../../handlers/shared/clients";
import { EventEnvelope } from "../../../handlers/shared/envelope";
import { KinesisStreamRecord } from "../../../handlers/shared/kinesisEvent";
import { encodeAggregated, KPL_FRAMING_BYTES, packAggregates, UserRecord, varintSize } from "../../../handlers/kpl/aggregate";
import { KINESIS_MAX_RECORD_BYTES } from "../../../handlers/bridge/putRecordsChunks";
import { accountCredentials, CONSUMER_ACCOUNT, createStream, createTable, readStream, testDynamo, testKinesis, uniqueName } from "../../support/aws";
import { makeEnvelopes, recordingClock, sourceRecords } from "../../support/bridge";
import { Mapper } from "../../../handlers/shared/domain";
import { AnalyticsWireRecord } from "../../../handlers/bridge/contract";

interface Deaggregated {
  partitionKey: string;
  data: Buffer;
  subSequenceNumber?: number;
}

/** Deaggregates one Kinesis record with the official module, checksums verified. */
function deaggregate(partitionKey: string, data: Buffer, sequenceNumber = "1"): Deaggregated[] {
  let out: Deaggregated[] = [];
  let error: Error | undefined;
  agg.deaggregateSync(
    { partitionKey, sequenceNumber, data: data.toString("base64"), kinesisSchemaVersion: "1.0", approximateArrivalTimestamp: 0 },
    true,
    (err: Error, records?: any[]) => {
      if (err) error = err;
      else out = (records ?? []).map((r) => ({ partitionKey: r.partitionKey, data: Buffer.from(r.data, "base64"), subSequenceNumber: r.subSequenceNumber }));
    },
  );
  if (error) throw error;
  return out;
}

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe("kplAggregate: the aws-kinesis-agg format", () => {
  it("round-trips through the official deaggregator: keys, data, order, checksum", () => {
    const records: UserRecord[] = [];
    const sizes = [0, 1, 127, 128, 300, 16_383, 16_384, 70_000];
    for (let i = 0; i < 40; i++) records.push({ partitionKey: `agg-${i % 7}-ü`, data: bytes(sizes[i % sizes.length], i) });
    const data = encodeAggregated(records);
    expect([...data.subarray(0, 4)]).to.deep.equal([0xf3, 0x89, 0x9a, 0xc2]);
    expect(data.subarray(data.length - 16)).to.deep.equal(
      createHash("md5")
        .update(data.subarray(4, data.length - 16))
        .digest(),
    );
    const out = deaggregate("outer", data);
    expect(out.map((r) => r.partitionKey)).to.deep.equal(records.map((r) => r.partitionKey));
    expect(out.map((r) => r.data.toString("hex"))).to.deep.equal(records.map((r) => Buffer.from(r.data).toString("hex")));
    expect(out.map((r) => r.subSequenceNumber)).to.deep.equal(records.map((_, i) => i));
  });

  it("agrees byte for byte with the official aggregator's encoding", async () => {
    const records = Array.from({ length: 25 }, (_, i) => ({ partitionKey: `k${i % 4}`, data: bytes(50 + i * 13, i) }));
    const ours = encodeAggregated(records);
    const theirs: Buffer[] = [];
    await new Promise<void>((resolve, reject) =>
      agg.aggregate(
        records,
        (encoded: { data: Buffer }, done: () => void) => {
          theirs.push(encoded.data);
          done();
        },
        resolve,
        reject,
      ),
    );
    expect(theirs).to.have.length(1);
    expect(ours.toString("hex")).to.equal(Buffer.from(theirs[0]).toString("hex"));
  });

  it("a corrupted aggregate fails the official checksum check", () => {
    const data = encodeAggregated([{ partitionKey: "a", data: Buffer.from("hello") }]);
    data[data.length - 17] ^= 0xff; // the last data byte: the protobuf still parses
    expect(() => deaggregate("a", data)).to.throw(/checksum/i);
  });

  it("varint sizes at the 7-bit boundaries", () => {
    expect([0, 127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21].map(varintSize)).to.deep.equal([1, 1, 2, 2, 3, 3, 4]);
  });

  it("packs in order within the 1 MiB record limit, exactly (the predicted size is the encoded size)", () => {
    const items = Array.from({ length: 900 }, (_, i) => ({ partitionKey: `agg-${i % 13}`, data: bytes(1000 + ((i * 37) % 9000), i), i }));
    const keyBytes = "shardId-000000000000".length;
    const packs = packAggregates(items, keyBytes, KINESIS_MAX_RECORD_BYTES);
    expect(packs.flatMap((p) => p.items.map((x) => x.i))).to.deep.equal(items.map((x) => x.i));
    for (let p = 0; p < packs.length; p++) {
      const encoded = encodeAggregated(packs[p].items);
      expect(encoded.length + keyBytes).to.be.at.most(KINESIS_MAX_RECORD_BYTES);
      if (p < packs.length - 1) {
        // Full: the next item would not have fitted.
        const withNext = encodeAggregated([...packs[p].items, packs[p + 1].items[0]]);
        expect(withNext.length + keyBytes).to.be.greaterThan(KINESIS_MAX_RECORD_BYTES);
      }
    }
    expect(packs.every((p) => p.aggregate)).to.equal(true);
  });

  it("sends a record too large to aggregate on its own, unaggregated", () => {
    const big = { partitionKey: "k", data: Buffer.alloc(KINESIS_MAX_RECORD_BYTES - 30) };
    const packs = packAggregates(
      [{ partitionKey: "k", data: Buffer.alloc(10) }, big, { partitionKey: "k", data: Buffer.alloc(10) }],
      20,
      KINESIS_MAX_RECORD_BYTES,
    );
    expect(packs.map((p) => [p.items.length, p.aggregate])).to.deep.equal([
      [1, true],
      [1, false],
      [1, true],
    ]);
    expect(KPL_FRAMING_BYTES).to.equal(20);
  });

  it("aggregateEntries: sourceShard keys by the shard in eventID, partitionKey keys by aggregate, off is the identity", () => {
    const rec = (i: number, shard: string) => ({ eventID: `${shard}:${1000 + i}`, kinesis: { partitionKey: `a${i % 3}` } }) as unknown as KinesisStreamRecord;
    const records = Array.from({ length: 9 }, (_, i) => rec(i, "shardId-000000000007"));
    const entries: OutputEntry[] = records.map((_, i) => ({ source: i, partitionKey: `a${i % 3}`, data: Buffer.from(`{"n":${i}}`), bytes: 7 + 2 }));
    expect(aggregateEntries(entries, records, "off")).to.equal(entries);
    const byShard = aggregateEntries(entries, records, "sourceShard");
    expect(byShard.map((e) => [e.partitionKey, e.source])).to.deep.equal([["shardId-000000000007", 0]]);
    expect(deaggregate(byShard[0].partitionKey, Buffer.from(byShard[0].data)).map((r) => r.data.toString())).to.deep.equal(
      entries.map((e) => Buffer.from(e.data).toString()),
    );
    const byKey = aggregateEntries(entries, records, "partitionKey");
    expect(byKey.map((e) => [e.partitionKey, e.source])).to.deep.equal([
      ["a0", 0],
      ["a1", 1],
      ["a2", 2],
    ]);
    // A group of one goes out plain.
    expect(aggregateEntries(entries.slice(0, 2), records, "partitionKey").map((e) => Buffer.from(e.data).toString())).to.deep.equal(['{"n":0}', '{"n":1}']);
  });

  it("reads AGGREGATE_RECORDS from the environment, off by default", () => {
    expect(aggregateModeFromEnv({})).to.equal("off");
    expect(aggregateModeFromEnv({ AGGREGATE_RECORDS: "sourceShard" })).to.equal("sourceShard");
    expect(bridgeConfigFromEnv({ TARGET_STREAM_ARN: "arn", PARKED_TABLE_NAME: "p", AGGREGATE_RECORDS: "partitionKey" }).aggregate).to.equal("partitionKey");
    expect(() => aggregateModeFromEnv({ AGGREGATE_RECORDS: "on" })).to.throw(/AGGREGATE_RECORDS/);
  });
});

describe("bridge with KPL aggregation on (emulators, official deaggregator)", () => {
  const RETRY = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 2000 };
  const map: Mapper = (e) => ({ contract: "order-lifecycle.v1", data: { n: (e.data as { n: number }).n, pad: "x".repeat(150) } });

  async function setup(aggregate: BridgeConfig["aggregate"]) {
    const sourceStream = uniqueName("kpl-src");
    const targetStream = uniqueName("kpl-analytics");
    const parkedTable = uniqueName("kpl-parked");
    const [, targetArn] = await Promise.all([
      createStream(testKinesis(), sourceStream, 1),
      createStream(testKinesis(CONSUMER_ACCOUNT), targetStream, 4),
      createTable(testDynamo(), parkedTable, "sk"),
    ]);
    const config: BridgeConfig = {
      targetStreamArn: targetArn,
      parkedTableName: parkedTable,
      retry: RETRY,
      maxRecordsPerCall: 500,
      maxBytesPerCall: 5 * 1024 * 1024,
      aggregate,
    };
    return { sourceStream, targetStream, config };
  }

  /** Every wire record on the target, deaggregated, with the shard it landed on and its outer key. */
  async function landedDeaggregated(stream: string) {
    const raw = await readStream(testKinesis(CONSUMER_ACCOUNT), stream, CONSUMER_ACCOUNT);
    return raw.flatMap((r) =>
      deaggregate(r.kinesis.partitionKey, Buffer.from(r.kinesis.data, "base64"), r.kinesis.sequenceNumber).map((u) => ({
        shard: r.eventID.split(":")[0],
        outerKey: r.kinesis.partitionKey,
        innerKey: u.partitionKey,
        wire: JSON.parse(u.data.toString("utf8")) as AnalyticsWireRecord,
      })),
    );
  }

  function observe(kinesis: ReturnType<typeof kinesisClient>) {
    const calls: { records: number; keys: string[]; sizes: number[] }[] = [];
    kinesis.middlewareStack.add(
      (next, context) => async (args: any) => {
        if (context.commandName === "PutRecordsCommand") {
          const r = args.input.Records as { Data: Uint8Array; PartitionKey: string }[];
          calls.push({ records: r.length, keys: r.map((x) => x.PartitionKey), sizes: r.map((x) => x.Data.length) });
        }
        return next(args);
      },
      { step: "initialize", name: "kplObserve", priority: "high" },
    );
    return calls;
  }

  async function run(aggregate: BridgeConfig["aggregate"], events: EventEnvelope[]) {
    const s = await setup(aggregate);
    const records = await sourceRecords(
      testKinesis(),
      s.sourceStream,
      events.map((e) => ({ partitionKey: e.aggregateId, body: e })),
    );
    const kinesis = kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) });
    const calls = observe(kinesis);
    const bridge = createBridge({ kinesis, dynamodb: testDynamo(), map, config: s.config, clock: recordingClock(), log: () => undefined });
    return { s, records, kinesis, calls, bridge };
  }

  it("sourceShard: one aggregated record per batch on one target shard; every aggregate in source order", async () => {
    const tag = uniqueName("kshard");
    const events = makeEnvelopes(300, 37, tag);
    const { s, records, calls, bridge } = await run("sourceShard", events);
    for (let i = 0; i < records.length; i += 100) expect(await bridge({ Records: records.slice(i, i + 100) })).to.deep.equal({ batchItemFailures: [] });
    expect(calls.map((c) => c.records)).to.deep.equal([1, 1, 1]);
    expect(new Set(calls.flatMap((c) => c.keys))).to.deep.equal(new Set(["shardId-000000000000"]));
    const out = await landedDeaggregated(s.targetStream);
    expect(new Set(out.map((o) => o.shard)).size).to.equal(1);
    // The whole source order, hence each aggregate's, as read back from the target.
    expect(out.map((o) => o.wire.id)).to.deep.equal(events.map((e) => e.eventId));
    // Deaggregated records carry the source shard as their key; the aggregate is in the wire record.
    for (const o of out) expect(o.innerKey).to.equal("shardId-000000000000");
  });

  it("partitionKey: one aggregated record per aggregate per batch, keyed by it", async () => {
    const tag = uniqueName("kkey");
    const events = makeEnvelopes(120, 4, tag);
    const { s, records, calls, bridge } = await run("partitionKey", events);
    expect(await bridge({ Records: records })).to.deep.equal({ batchItemFailures: [] });
    expect(calls.map((c) => c.records)).to.deep.equal([4]);
    expect(calls[0].keys).to.deep.equal([0, 1, 2, 3].map((a) => `${tag}-agg${a}`));
    const out = await landedDeaggregated(s.targetStream);
    for (let a = 0; a < 4; a++) {
      const mine = out.filter((o) => o.wire.aggregateId === `${tag}-agg${a}`);
      expect(mine.map((o) => o.wire.id)).to.deep.equal(events.filter((e) => e.aggregateId === `${tag}-agg${a}`).map((e) => e.eventId));
      expect(new Set(mine.map((o) => o.outerKey))).to.deep.equal(new Set([`${tag}-agg${a}`]));
    }
  });

  it("splits a large batch into 1 MiB aggregates and, after the budget is spent on one, resumes from its first source record", async () => {
    const tag = uniqueName("ksplit");
    const big: Mapper = (e) => ({ contract: "order-lifecycle.v1", data: { n: (e.data as { n: number }).n, pad: "y".repeat(20_000) } });
    const events = makeEnvelopes(120, 9, tag);
    const s = await setup("sourceShard");
    s.config.retry = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 };
    const records = await sourceRecords(
      testKinesis(),
      s.sourceStream,
      events.map((e) => ({ partitionKey: e.aggregateId, body: e })),
    );
    const kinesis = kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) });
    const calls = observe(kinesis);
    // The second aggregated record always fails (its entries are not JSON, so fail by position).
    let call = 0;
    kinesis.middlewareStack.add(
      (next, context) => async (args: any) => {
        if (context.commandName !== "PutRecordsCommand") return next(args);
        call += 1;
        const entries = args.input.Records as unknown[];
        const failIndex = call === 1 ? 1 : call === 2 ? 0 : -1;
        if (failIndex < 0) return next(args);
        const kept = entries.filter((_, i) => i !== failIndex);
        const result: any = kept.length ? await next({ ...args, input: { ...args.input, Records: kept } }) : { output: { Records: [] }, response: {} };
        const answered = result.output.Records as object[];
        const merged: object[] = [];
        let k = 0;
        for (let i = 0; i < entries.length; i++)
          merged.push(i === failIndex ? { ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "injected" } : answered[k++]);
        result.output = { ...result.output, Records: merged, FailedRecordCount: 1 };
        return result;
      },
      { step: "initialize", name: "kplFailSecond", priority: "low" },
    );
    const bridge = createBridge({ kinesis, dynamodb: testDynamo(), map: big, config: s.config, clock: recordingClock(), log: () => undefined });
    const result = await bridge({ Records: records });
    // ~20 KB each: 51 fit in 1 MiB, so the aggregates hold 51, 51 and 18 source records.
    expect(calls[0].records).to.equal(3);
    for (const size of calls[0].sizes) expect(size + "shardId-000000000000".length).to.be.at.most(KINESIS_MAX_RECORD_BYTES);
    // Packs 1 and 3 landed; pack 2 resumes from its first source record.
    const raw = await readStream(testKinesis(CONSUMER_ACCOUNT), s.targetStream, CONSUMER_ACCOUNT);
    expect(raw).to.have.length(2);
    const firstPack = deaggregate(raw[0].kinesis.partitionKey, Buffer.from(raw[0].kinesis.data, "base64")).length;
    expect(firstPack).to.equal(51);
    expect(result.batchItemFailures).to.deep.equal([{ itemIdentifier: records[firstPack].kinesis.sequenceNumber }]);
    // Redelivery from there lands the rest (the third pack twice: the consumer dedups on id).
    call = 99;
    expect(await bridge({ Records: records.slice(firstPack) })).to.deep.equal({ batchItemFailures: [] });
    const ids = new Set((await landedDeaggregated(s.targetStream)).map((o) => o.wire.id));
    expect([...ids].sort()).to.deep.equal(events.map((e) => e.eventId).sort());
  });

  it("still parks poison with aggregation on, and forwards the rest", async () => {
    const tag = uniqueName("kpoison");
    const events = makeEnvelopes(10, 3, tag);
    const s = await setup("sourceShard");
    const items = [
      ...events.slice(0, 5).map((e) => ({ partitionKey: e.aggregateId, body: e as EventEnvelope | Uint8Array })),
      { partitionKey: `${tag}-x`, body: Buffer.from("not json") },
      ...events.slice(5).map((e) => ({ partitionKey: e.aggregateId, body: e })),
    ];
    const records = await sourceRecords(testKinesis(), s.sourceStream, items);
    const kinesis = kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) });
    const bridge = createBridge({ kinesis, dynamodb: testDynamo(), map, config: s.config, clock: recordingClock(), log: () => undefined });
    expect(await bridge({ Records: records })).to.deep.equal({ batchItemFailures: [] });
    expect((await landedDeaggregated(s.targetStream)).map((o) => o.wire.id)).to.deep.equal(events.map((e) => e.eventId));
  });
});
