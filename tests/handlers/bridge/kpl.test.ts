import { expect } from "chai";
import { BridgeConfig, createBridge } from "../../../handlers/bridge";
import { kinesisClient } from "../../../handlers/shared/clients";
import type { Mapper } from "../../../handlers/shared/domain";
import { ENVELOPE_SCHEMA_VERSION, EventEnvelope } from "../../../handlers/shared/envelope";
import type { KinesisStreamRecord } from "../../../handlers/shared/kinesisEvent";
import { decodeParkedItem } from "../../../handlers/shared/parkedTable";
import { accountCredentials, CONSUMER_ACCOUNT, createStream, createTable, kplAggregate, scanAll, testDynamo, testKinesis, uniqueName } from "../../support/aws";
import { failPutRecordsEntries, landed, recordingClock, sourceRecords } from "../../support/bridge";

const map: Mapper = (e) => {
  if (e.type === "Explode") throw new Error("map bug");
  return { contract: "test.v1", data: { type: e.type } };
};

describe("bridge with KPL-aggregated source records", () => {
  async function setup() {
    const tag = uniqueName("kb");
    const source = uniqueName("kb-src");
    const target = uniqueName("kb-analytics");
    const parked = uniqueName("kb-parked");
    const [, arn] = await Promise.all([
      createStream(testKinesis(), source, 1),
      createStream(testKinesis(CONSUMER_ACCOUNT), target, 2),
      createTable(testDynamo(), parked, "sk"),
    ]);
    const config: BridgeConfig = {
      targetStreamArn: arn,
      parkedTableName: parked,
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      maxRecordsPerCall: 500,
      maxBytesPerCall: 5 << 20,
    };
    const ev = (agg: string, n: number, type = "Added"): EventEnvelope => ({
      eventId: `${tag}-${agg}${n}`,
      aggregateId: `${tag}-${agg}`,
      type,
      occurredAt: "2025-01-01T00:00:00.000Z",
      schemaVersion: ENVELOPE_SCHEMA_VERSION,
      data: {},
    });
    const user = (e: EventEnvelope, partitionKey = e.aggregateId) => ({ partitionKey, data: JSON.stringify(e) });
    const put = (items: ({ partitionKey: string; bytes: Buffer } | EventEnvelope)[]): Promise<KinesisStreamRecord[]> =>
      sourceRecords(
        testKinesis(),
        source,
        items.map((i) => ("bytes" in i ? { partitionKey: i.partitionKey, body: i.bytes } : { partitionKey: i.aggregateId, body: i })),
      );
    const bridge = (kinesis = kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) })) =>
      createBridge({ kinesis, dynamodb: testDynamo(), map, config, clock: recordingClock(), log: () => {} });
    /** First landing of each id, per aggregate, in stream order of the target shards. */
    const firstLandings = async () => {
      const out: Record<string, string[]> = {};
      const seen = new Set<string>();
      for (const l of await landed(target)) {
        if (seen.has(l.wire.id)) continue;
        seen.add(l.wire.id);
        (out[l.wire.aggregateId.slice(tag.length + 1)] ??= []).push(l.wire.id.slice(tag.length + 1));
      }
      return out;
    };
    const parkedRows = async () => (await scanAll(testDynamo(), parked)).map(decodeParkedItem);
    return { tag, ev, user, put, bridge, firstLandings, parkedRows, target };
  }

  it("forwards every user record of the official aggregator's records and plain ones once, in order per aggregate; redelivery and a batch cut after a partial failure change nothing after dedup", async () => {
    const s = await setup();
    const records = await s.put([
      kplAggregate([s.user(s.ev("a", 1)), s.user(s.ev("b", 1)), s.user(s.ev("a", 2))]),
      s.ev("c", 1),
      kplAggregate([s.user(s.ev("c", 2)), s.user(s.ev("d", 1)), s.user(s.ev("b", 2))]),
      s.ev("a", 3),
      kplAggregate([s.user(s.ev("b", 3)), s.user(s.ev("d", 2)), s.user(s.ev("a", 4))]),
    ]);
    const expected = { a: ["a1", "a2", "a3", "a4"], b: ["b1", "b2", "b3"], c: ["c1", "c2"], d: ["d1", "d2"] };

    // d's entries fail on every call of the first invocation: it resumes at the record holding d's first event.
    const target = kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) });
    let armed = true;
    failPutRecordsEntries(target, (id) => armed && id.startsWith(`${s.tag}-d`));
    expect(await s.bridge(target)({ Records: records })).to.deep.equal({ batchItemFailures: [{ itemIdentifier: records[2].kinesis.sequenceNumber }] });
    armed = false;
    expect(await s.bridge(target)({ Records: records.slice(2) })).to.deep.equal({ batchItemFailures: [] });
    expect(await s.firstLandings()).to.deep.equal(expected);
    const once = (await landed(s.target)).length;
    expect(once).to.equal(9 + 7); // all but d's two, then every user record of records[2..4] (again: the consumer dedups on id)

    expect(await s.bridge()({ Records: records })).to.deep.equal({ batchItemFailures: [] });
    expect(await s.firstLandings()).to.deep.equal(expected);
    expect(await s.parkedRows()).to.deep.equal([]);
    const ids = (await landed(s.target)).map((l) => l.wire.id);
    expect(new Set(ids).size).to.equal(11);
  });

  it("parks a corrupt aggregate whole under its outer key, and a poison user record alone under its own key with its own data; the rest is forwarded", async () => {
    const s = await setup();
    const corrupt = kplAggregate([s.user(s.ev("a", 1)), s.user(s.ev("e", 1))]);
    corrupt.bytes[corrupt.bytes.length - 2] ^= 0x55;
    const records = await s.put([
      corrupt,
      kplAggregate([s.user(s.ev("f", 1)), s.user(s.ev("g", 1, "Explode")), s.user(s.ev("f", 2)), s.user(s.ev("h", 1), `${s.tag}-g`)]),
      s.ev("g", 2),
    ]);
    expect(await s.bridge()({ Records: records })).to.deep.equal({ batchItemFailures: [] });
    expect(await s.firstLandings()).to.deep.equal({ f: ["f1", "f2"], g: ["g2"] });
    const rows = (await s.parkedRows()).sort((x, y) =>
      (x.aggregateId + x.sequenceNumber + x.subSequenceNumber).localeCompare(y.aggregateId + y.sequenceNumber + y.subSequenceNumber),
    );
    expect(rows.map((r) => [r.aggregateId.slice(s.tag.length + 1), r.sequenceNumber, r.subSequenceNumber, r.eventId])).to.deep.equal([
      ["a", records[0].kinesis.sequenceNumber, undefined, undefined],
      ["g", records[1].kinesis.sequenceNumber, 1, `${s.tag}-g1`],
      ["g", records[1].kinesis.sequenceNumber, 3, `${s.tag}-h1`],
    ]);
    expect(rows[0].reason).to.match(/^KPL aggregate checksum mismatch/);
    expect(rows[0].data).to.equal(records[0].kinesis.data);
    expect(rows[1].reason).to.equal("map threw Error: map bug");
    expect(JSON.parse(Buffer.from(rows[1].data, "base64").toString())).to.deep.equal(s.ev("g", 1, "Explode"));
    expect(rows[2].reason).to.equal("envelope aggregateId does not match the partition key");
  });
});
