import { expect } from "chai";
import { AttributeValue, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { createProjector } from "../../../handlers/projector";
import { dynamoClient, kinesisClient } from "../../../handlers/shared/clients";
import type { Reducer } from "../../../handlers/shared/domain";
import type { EventEnvelope } from "../../../handlers/shared/envelope";
import { arrivedAt, KinesisStreamRecord } from "../../../handlers/shared/kinesisEvent";
import { listParked, redriveBridge, redriveProjector, RedriveConfig } from "../../../handlers/ops/redrive";
import { accountCredentials, CONSUMER_ACCOUNT, createStream, createTable, kplAggregate, testDynamo, testKinesis, uniqueName } from "../../support/aws";
import { landed, recordingClock } from "../../support/bridge";
import {
  append,
  EXPLODE_CENTS,
  buggyMap,
  buggyReduce,
  fastClock,
  fixedReduce,
  orderEvents,
  parkedEvents,
  Rig,
  setupRig,
  snapshot,
} from "../../support/projectorFixtures";

const RETRY = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4 };
const { ev, placed, line, explode } = orderEvents("kr");
const user = (e: EventEnvelope) => ({ partitionKey: e.aggregateId, data: JSON.stringify(e) });

const config = (rig: Pick<Rig, "table" | "parked">): RedriveConfig => ({ tableName: rig.table, parkedTableName: rig.parked, dedupWindow: 64, retry: RETRY });
const projector = (rig: Pick<Rig, "table" | "parked">, reduce: Reducer<unknown>) =>
  createProjector({ dynamodb: dynamoClient(), reduce, clock: fastClock(), log: () => {}, config: { ...config(rig), maxFoldAttempts: 5 } });

/** What a projector with the fix, reading KPL aggregates, builds from scratch in fresh tables. */
async function fromScratch(rig: Rig, records: KinesisStreamRecord[]) {
  const fresh = { table: uniqueName("kr-fresh"), parked: uniqueName("kr-fresh-parked") };
  await createTable(rig.dynamo, fresh.table);
  await createTable(rig.dynamo, fresh.parked, "sk");
  await projector(fresh, fixedReduce)({ Records: records });
  return { readModel: await snapshot(rig.dynamo, fresh.table), parked: await parkedEvents(rig.dynamo, fresh.parked) };
}
const tables = async (rig: Rig) => ({ readModel: await snapshot(rig.dynamo, rig.table), parked: await parkedEvents(rig.dynamo, rig.parked) });

/** Writes what the projector wrote before it deaggregated: the whole record parked as garbage under its outer key, the item blocked at it. */
async function parkAsBefore(rig: Rig, record: KinesisStreamRecord, behind: KinesisStreamRecord[] = []): Promise<void> {
  const padded = (s: string) => "0".repeat(129 - s.length) + s;
  const row = (r: KinesisStreamRecord, extra: Record<string, AttributeValue>) => ({
    pk: { S: r.kinesis.partitionKey },
    sk: { S: padded(r.kinesis.sequenceNumber) },
    sequenceNumber: { S: r.kinesis.sequenceNumber },
    data: { S: r.kinesis.data },
    arrivedAt: { S: arrivedAt(r) },
    shardEventId: { S: r.eventID },
    ...extra,
  });
  const rows = [row(record, { reason: { S: "not UTF-8 JSON: The encoded data was not valid for encoding utf-8" } })];
  for (const b of behind) {
    const eventId = JSON.parse(Buffer.from(b.kinesis.data, "base64").toString()).eventId;
    rows.push(
      row(b, { reason: { S: `parked behind ${record.kinesis.sequenceNumber}` }, parkedBehind: { S: record.kinesis.sequenceNumber }, eventId: { S: eventId } }),
    );
  }
  for (const Item of rows) await rig.dynamo.send(new PutItemCommand({ TableName: rig.parked, Item }));
  const last = [record, ...behind].pop()!;
  const Item = {
    pk: { S: record.kinesis.partitionKey },
    deleted: { BOOL: false },
    position: { S: padded("0") },
    version: { N: "0" },
    updatedAt: { S: "2024-01-01T00:00:00.000Z" },
    parkedAt: { S: padded(record.kinesis.sequenceNumber) },
    parkedThrough: { S: padded(last.kinesis.sequenceNumber) },
  };
  await rig.dynamo.send(new PutItemCommand({ TableName: rig.table, Item }));
}

describe("re-drive with KPL-aggregated records", function () {
  this.timeout(60_000);

  it("re-drives a poison user record and what waits behind it, deaggregating as the projector does: as if the fix had been there from the start", async () => {
    const rig = await setupRig();
    const records = await append(rig, [
      kplAggregate([user(placed("a")), user(placed("b")), user(explode("a")), user(line("b")), user(line("a", 3))]),
      line("a", 4),
      kplAggregate([user(line("b", 5)), user(line("a", 6))]),
    ]);
    await projector(rig, buggyReduce)({ Records: records });
    const listing = await listParked(rig.dynamo, rig.parked, rig.table);
    expect(listing.map((r) => [r.aggregateId, r.sequenceNumber, r.subSequenceNumber, r.status])).to.deep.equal([
      ["a", records[0].kinesis.sequenceNumber, 2, "blocked"],
      ["a", records[0].kinesis.sequenceNumber, 4, "blocked"],
      ["a", records[1].kinesis.sequenceNumber, undefined, "blocked"],
      ["a", records[2].kinesis.sequenceNumber, 1, "blocked"],
    ]);
    const results = await redriveProjector(rig.dynamo, fixedReduce, config(rig));
    expect(results.map((r) => [r.aggregateId, r.outcome, r.applied, r.deleted, r.stillParked])).to.deep.equal([["a", "applied", 4, 4, 0]]);
    expect(await tables(rig)).to.deep.equal(await fromScratch(rig, records));
    await projector(rig, fixedReduce)({ Records: records }); // a replay changes nothing
    expect(await tables(rig)).to.deep.equal(await fromScratch(rig, records));
  });

  it("unpacks a row parked before deaggregation that holds a whole aggregate: every aggregate in it gets its events, in order, the one only inside it too", async () => {
    const rig = await setupRig();
    const records = await append(rig, [kplAggregate([user(placed("a")), user(placed("b")), user(line("a")), user(line("b", 3))]), line("a", 4), placed("c")]);
    // The old projector: records[0] parked whole under "a" as garbage, records[1] behind it; b got nothing; c applied.
    await projector(rig, fixedReduce)({ Records: [records[2]] });
    await parkAsBefore(rig, records[0], [records[1]]);
    const listing = await listParked(rig.dynamo, rig.parked, rig.table);
    expect(listing.map((r) => [r.aggregateId, r.sequenceNumber, r.status, r.aggregateOf])).to.deep.equal([
      ["a", records[0].kinesis.sequenceNumber, "blocked", 4],
      ["a", records[1].kinesis.sequenceNumber, "blocked", undefined],
    ]);

    const results = await redriveProjector(rig.dynamo, fixedReduce, config(rig));
    expect(results.map((r) => [r.aggregateId, r.outcome, r.applied, r.stillParked])).to.deep.equal([["a", "applied", 3, 0]]);
    const expected = await fromScratch(rig, records);
    expect(expected.parked).to.deep.equal([]);
    expect(await tables(rig)).to.deep.equal(expected);
    // Idempotent: again, and a replay of the stream, change nothing.
    expect(await redriveProjector(rig.dynamo, fixedReduce, config(rig))).to.deep.equal([]);
    await projector(rig, fixedReduce)({ Records: records });
    expect(await tables(rig)).to.deep.equal(expected);
  });

  it("bridge: splits a row parked before deaggregation; sends every user record that maps, once, and parks the one that does not under its own key", async () => {
    const source = uniqueName("kr-src");
    const target = uniqueName("kr-analytics");
    const parked = uniqueName("kr-bparked");
    const [, arn] = await Promise.all([
      createStream(testKinesis(), source),
      createStream(testKinesis(CONSUMER_ACCOUNT), target),
      createTable(testDynamo(), parked, "sk"),
    ]);
    const rig = { kinesis: testKinesis(), dynamo: testDynamo(), stream: source, table: "", parked };
    const events = [placed("x"), placed("y"), ev("y", "OrderPaid", { amountCents: EXPLODE_CENTS }), line("x")];
    const [record] = await append(rig, [kplAggregate(events.map(user))]);
    const padded = "0".repeat(129 - record.kinesis.sequenceNumber.length) + record.kinesis.sequenceNumber;
    await rig.dynamo.send(
      new PutItemCommand({
        TableName: parked,
        Item: {
          pk: { S: "x" },
          sk: { S: padded },
          sequenceNumber: { S: record.kinesis.sequenceNumber },
          reason: { S: "not UTF-8 JSON: …" },
          data: { S: record.kinesis.data },
          arrivedAt: { S: arrivedAt(record) },
          shardEventId: { S: record.eventID },
        },
      }),
    );
    const deps = {
      kinesis: kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) }),
      dynamodb: testDynamo(),
      map: buggyMap,
      config: { targetStreamArn: arn, parkedTableName: parked, retry: RETRY, maxRecordsPerCall: 500, maxBytesPerCall: 5 << 20 },
      clock: recordingClock(),
    };
    const result = await redriveBridge(deps);
    expect(result).to.deep.include({ resent: 1, deleted: 1 });
    expect(result.stillParked.map((s) => [s.aggregateId, s.position, s.reason])).to.deep.equal([
      ["y", `${record.kinesis.sequenceNumber}.2`, "map threw Error: explode"],
    ]);
    expect((await landed(target)).map((l) => l.wire.id)).to.deep.equal([events[0], events[1], events[3]].map((e) => e.eventId));
    const rows = await listParked(testDynamo(), parked);
    expect(rows.map((r) => [r.aggregateId, r.subSequenceNumber, r.eventId])).to.deep.equal([["y", 2, events[2].eventId]]);
    expect(JSON.parse(Buffer.from(rows[0].data, "base64").toString())).to.deep.equal(events[2]);
    // Again: nothing more lands; the user record that does not map stays.
    expect(await redriveBridge(deps)).to.deep.include({ resent: 0, deleted: 0 });
    expect(await landed(target)).to.have.length(3);
  });
});
