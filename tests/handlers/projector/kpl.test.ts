import { expect } from "chai";
import { AttributeValue, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { createApi } from "../../../handlers/api";
import { kinesisClient } from "../../../handlers/shared/clients";
import { encodePosition, padSequence } from "../../../handlers/shared/sequence";
import { kplAggregate, scanAll, toBatches, uniqueName } from "../../support/aws";
import { getAggregateRequest } from "../../support/apiFixtures";
import { countRequests, injectFaults, serviceError } from "../../support/sdkMiddleware";
import {
  append,
  appliedIds,
  createTables,
  deliver,
  envelope,
  newProjector,
  parkedEvents,
  Rig,
  setupRig,
  snapshot,
  views,
} from "../../support/projectorFixtures";

const noFailures = { batchItemFailures: [] };
const json = (agg: string, id: string, type = "Added") => JSON.stringify(envelope(agg, id, type));

/**
 * Official-aggregator records mixed with plain ones: `d` appears only inside other aggregates' records (outer keys
 * c and b), and `b` is the outer key of a record whose first user record is b's but which also holds a, c and d.
 */
async function mixedStream(rig: Rig) {
  const items = [
    kplAggregate([
      { partitionKey: "a", data: json("a", "a1") },
      { partitionKey: "b", data: json("b", "b1") },
      { partitionKey: "a", data: json("a", "a2") },
    ]),
    { partitionKey: "c", bytes: Buffer.from(json("c", "c1")) },
    kplAggregate([
      { partitionKey: "c", data: json("c", "c2") },
      { partitionKey: "d", data: json("d", "d1") },
      { partitionKey: "b", data: json("b", "b2") },
    ]),
    { partitionKey: "a", bytes: Buffer.from(json("a", "a3")) },
    kplAggregate([
      { partitionKey: "b", data: json("b", "b3") },
      { partitionKey: "d", data: json("d", "d2") },
      { partitionKey: "a", data: json("a", "a4") },
      { partitionKey: "c", data: json("c", "c3") },
    ]),
  ];
  const records = await append(rig, items);
  expect(records.map((r) => r.kinesis.partitionKey)).to.deep.equal(["a", "c", "c", "a", "b"]);
  return records;
}
const EXPECTED = { a: ["a1", "a2", "a3", "a4"], b: ["b1", "b2", "b3"], c: ["c1", "c2", "c3"], d: ["d1", "d2"] };

describe("projector with KPL-aggregated records", function () {
  it("applies every user record of aggregated and plain records once, in order per aggregate, in one batch and across batches; nothing parked", async () => {
    const rig = await setupRig();
    const records = await mixedStream(rig);
    const reference = new Map<number, unknown>();
    for (const size of [records.length, 2, 1]) {
      const tables = { table: uniqueName("readmodel"), parked: uniqueName("parked") };
      await createTables({ ...rig, ...tables });
      const { project } = newProjector(tables);
      expect(await deliver(project, toBatches(records, size))).to.deep.equal(toBatches(records, size).map(() => noFailures));
      expect(await appliedIds(rig.dynamo, tables.table)).to.deep.equal(EXPECTED);
      expect(await parkedEvents(rig.dynamo, tables.parked)).to.deep.equal([]);
      const v = await views(rig.dynamo, tables.table);
      // The aggregate that only ever appears inside other aggregates' records has its own item.
      expect(v.d).to.include({ version: 2, parked: false, position: `${records[4].kinesis.sequenceNumber}.1` });
      expect(v.a.position).to.equal(`${records[4].kinesis.sequenceNumber}.2`);
      expect(v.c.position).to.equal(`${records[4].kinesis.sequenceNumber}.3`);
      expect(v.b.position).to.equal(records[4].kinesis.sequenceNumber); // its last event is sub-sequence 0
      reference.set(size, await snapshot(rig.dynamo, tables.table));
      // Redelivered whole, and from every record (a batch cut anywhere): nothing is written again.
      const again = newProjector(tables);
      const counts = countRequests(again.dynamodb);
      for (let from = 0; from < records.length; from++) expect(await again.project({ Records: records.slice(from) })).to.deep.equal(noFailures);
      expect(counts.PutItemCommand ?? 0).to.equal(0);
      expect(await snapshot(rig.dynamo, tables.table)).to.deep.equal(reference.get(size));
    }
    expect(reference.get(2)).to.deep.equal(reference.get(records.length));
    expect(reference.get(1)).to.deep.equal(reference.get(records.length));
  });

  it("reports the outer record after a partial failure; redelivered from it, the user records before the failed one are no-ops", async () => {
    const rig = await setupRig();
    const records = await mixedStream(rig);
    const clean = { table: uniqueName("readmodel"), parked: uniqueName("parked") };
    const cut = { table: uniqueName("readmodel"), parked: uniqueName("parked") };
    await createTables({ ...rig, ...clean });
    await createTables({ ...rig, ...cut });
    await newProjector(clean).project({ Records: records });

    // d's writes fail until the budget is spent: Lambda is told to resume at the record holding d's first event (records[2], an aggregate).
    const failing = newProjector(cut);
    let armed = true;
    injectFaults(failing.dynamodb, (name, input) =>
      armed && name === "PutItemCommand" && input.Item.pk.S === "d" ? serviceError("InternalServerError", 500) : undefined,
    );
    expect(await failing.project({ Records: records })).to.deep.equal({ batchItemFailures: [{ itemIdentifier: records[2].kinesis.sequenceNumber }] });
    armed = false;
    const redelivered = newProjector(cut);
    const counts = countRequests(redelivered.dynamodb);
    expect(await redelivered.project({ Records: records.slice(2) })).to.deep.equal(noFailures);
    expect(counts.PutItemCommand).to.equal(1); // d only: a, b and c are past every user record of records[2..4]
    expect(await snapshot(rig.dynamo, cut.table)).to.deep.equal(await snapshot(rig.dynamo, clean.table));
    expect(await appliedIds(rig.dynamo, cut.table)).to.deep.equal(EXPECTED);
  });

  it("parks a corrupt aggregate (bad MD5) under its outer key with its data, blocking that aggregate only", async () => {
    const rig = await setupRig();
    const corrupt = kplAggregate([
      { partitionKey: "a", data: json("a", "a2") },
      { partitionKey: "e", data: json("e", "e1") },
    ]);
    corrupt.bytes[corrupt.bytes.length - 1] ^= 0xff;
    const records = await append(rig, [envelope("a", "a1"), corrupt, envelope("a", "a3"), envelope("e", "e2")]);
    const { project } = newProjector(rig);
    expect(await project({ Records: records })).to.deep.equal(noFailures);
    const parked = await parkedEvents(rig.dynamo, rig.parked);
    expect(parked.map((p) => [p.aggregateId, p.sequenceNumber, p.subSequenceNumber, p.parkedBehind])).to.deep.equal([
      ["a", records[1].kinesis.sequenceNumber, undefined, undefined],
      ["a", records[2].kinesis.sequenceNumber, undefined, records[1].kinesis.sequenceNumber],
    ]);
    expect(parked[0].reason).to.match(/^KPL aggregate checksum mismatch/);
    expect(parked[0].data).to.equal(records[1].kinesis.data); // the whole record, as delivered
    const v = await views(rig.dynamo, rig.table);
    expect(v.a).to.include({ version: 1, parked: true });
    expect(v.e).to.include({ version: 1, parked: false }); // e1 is unreadable inside the corrupt record; e goes on
  });

  it("parks a poison user record alone, under its own aggregate with its own data, blocking only that aggregate; what follows it waits", async () => {
    const rig = await setupRig();
    const records = await append(rig, [
      kplAggregate([
        { partitionKey: "f", data: json("f", "f1") },
        { partitionKey: "g", data: json("g", "g1", "Boom") },
        { partitionKey: "f", data: json("f", "f2") },
        { partitionKey: "g", data: json("g", "g2") },
      ]),
      envelope("g", "g3"),
      envelope("f", "f3"),
    ]);
    const seq = records[0].kinesis.sequenceNumber;
    const { project } = newProjector(rig);
    expect(await project({ Records: records })).to.deep.equal(noFailures);
    const parked = await parkedEvents(rig.dynamo, rig.parked);
    expect(parked.map((p) => [p.aggregateId, p.sequenceNumber, p.subSequenceNumber, p.eventId, p.parkedBehind])).to.deep.equal([
      ["g", seq, 1, "g1", undefined],
      ["g", seq, 3, "g2", `${seq}.1`],
      ["g", records[1].kinesis.sequenceNumber, undefined, "g3", `${seq}.1`],
    ]);
    expect(parked[0].reason).to.match(/reduce threw Error: boom in g1/);
    expect(JSON.parse(Buffer.from(parked[0].data, "base64").toString())).to.deep.equal(envelope("g", "g1", "Boom"));
    expect(JSON.parse(Buffer.from(parked[1].data, "base64").toString())).to.deep.equal(envelope("g", "g2"));
    expect(parked[1].reason).to.equal(`parked behind ${seq}.1`);
    expect(await appliedIds(rig.dynamo, rig.table)).to.deep.equal({ f: ["f1", "f2", "f3"], g: [] });
    const g = (await scanAll(rig.dynamo, rig.table)).find((i) => i.pk.S === "g")!;
    expect(g.parkedAt.S).to.equal(encodePosition(seq, 1));
    expect(g.parkedThrough.S).to.equal(encodePosition(records[1].kinesis.sequenceNumber));
  });

  it("reads items and rows in the old format (bare padded sequence numbers) as (sequence, 0): an upgrade neither re-applies nor skips", async () => {
    const rig = await setupRig();
    const plain = await append(rig, [envelope("old", "o1"), envelope("oldBlocked", "x1", "Boom")]);
    const s1 = plain[0].kinesis.sequenceNumber;
    const s2 = plain[1].kinesis.sequenceNumber;
    // As the projector wrote them before deaggregation: 129-digit positions, a block at a plain record and its row.
    const item = (pk: string, extra: Record<string, AttributeValue>): Record<string, AttributeValue> => ({
      pk: { S: pk },
      deleted: { BOOL: false },
      version: { N: "1" },
      updatedAt: { S: "2024-01-01T00:00:00.000Z" },
      ...extra,
    });
    const padded = (s: string) => "0".repeat(129 - s.length) + s;
    await rig.dynamo.send(
      new PutItemCommand({
        TableName: rig.table,
        Item: item("old", {
          position: { S: padded(s1) },
          lastEventId: { S: "o1" },
          recent: { S: "o1" },
          state: { S: JSON.stringify({ ids: ["o1"], count: 1 }) },
        }),
      }),
    );
    await rig.dynamo.send(
      new PutItemCommand({
        TableName: rig.table,
        Item: item("oldBlocked", { version: { N: "0" }, position: { S: padded("0") }, parkedAt: { S: padded(s2) } }),
      }),
    );
    const more = (
      await append(rig, [
        kplAggregate([
          { partitionKey: "old", data: json("old", "o2") },
          { partitionKey: "oldBlocked", data: json("oldBlocked", "x2") },
          { partitionKey: "old", data: json("old", "o3") },
        ]),
      ])
    ).slice(2);
    const s3 = more[0].kinesis.sequenceNumber;
    const { project } = newProjector(rig);
    // The old records again (a replay), then the new aggregate.
    expect(await project({ Records: [...plain, ...more] })).to.deep.equal(noFailures);
    expect((await appliedIds(rig.dynamo, rig.table)).old).to.deep.equal(["o1", "o2", "o3"]); // o1 not again, o2 (sub-sequence 0) not skipped
    const items = Object.fromEntries((await scanAll(rig.dynamo, rig.table)).map((i) => [i.pk.S!, i]));
    expect(items.old.position.S).to.equal(encodePosition(s3, 2));
    expect(items.oldBlocked.parkedAt.S).to.equal(padSequence(s2));
    expect(items.oldBlocked.parkedThrough.S).to.equal(encodePosition(s3, 1));
    // x2 waits behind the old block, keyed after it (the replayed poison itself is not parked again: the old projector did).
    const rows = await parkedEvents(rig.dynamo, rig.parked);
    expect(rows.map((p) => [p.aggregateId, p.sequenceNumber, p.subSequenceNumber, p.parkedBehind])).to.deep.equal([["oldBlocked", s3, 1, s2]]);
  });

  it("API: shows a position inside an aggregate as <sequence>.<sub> and polls with either form", async () => {
    const rig = await setupRig();
    const records = await mixedStream(rig);
    await newProjector(rig).project({ Records: records });
    const api = createApi({ kinesis: kinesisClient(), dynamodb: rig.dynamo, config: { streamName: rig.stream, tableName: rig.table, maxBodyBytes: 65536 } });
    const last = records[4].kinesis.sequenceNumber;
    const get = async (min?: string) => JSON.parse((await api(getAggregateRequest("a", min))).body);
    expect(await get()).to.include({ position: `${last}.2`, version: 4, visible: true });
    expect(await get(`${last}.2`)).to.include({ visible: true });
    expect(await get(`${last}.3`)).to.include({ visible: false });
    expect(await get(last)).to.include({ visible: true }); // a plain sequence number is (sequence, 0)
    expect(await get(records[3].kinesis.sequenceNumber)).to.include({ visible: true });
    const bad = await api(getAggregateRequest("a", `${last}.x`));
    expect(bad.statusCode).to.equal(400);
    expect(JSON.parse(bad.body).error.message).to.match(/is not a sequence number .* optionally followed by "\." and a sub-sequence number/);
  });
});
