import { expect } from "chai";
import { AttributeValue, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { dynamoClient } from "../../../handlers/shared/clients";
import { createProjector, DEFAULT_DEDUP_WINDOW, projectorConfigFromEnv } from "../../../handlers/projector";
import { eventDataHash } from "../../../handlers/projector/dedupWindow";
import { decodeStoredAggregate, readModelItemSize, recentEntries } from "../../../handlers/shared/readModelItem";
import { padSequence } from "../../../handlers/shared/sequence";
import { scanAll, toBatches, uniqueName } from "../../support/aws";
import { countRequests, injectFaults, rewriteOutput, serviceError } from "../../support/sdkMiddleware";
import {
  append,
  appliedIds,
  beforeSend,
  createTables,
  deliver,
  envelope,
  expectedIds,
  fastClock,
  ListState,
  listReducer,
  newProjector,
  parkedEvents,
  recordsOf,
  setupRig,
  snapshot,
  views,
} from "../../support/projectorFixtures";
import { Reducer } from "../../../handlers/shared/domain";

const noFailures = { batchItemFailures: [] };

describe("projector", function () {
  it("applies each aggregate's events in order with aggregates interleaved across batches", async () => {
    const rig = await setupRig();
    const events = [];
    for (let i = 1; i <= 6; i++) for (const agg of ["a", "b", "c"]) events.push(envelope(agg, `${agg}${i}`));
    const records = await append(rig, events);
    const { project } = newProjector(rig);

    const responses = await deliver(project, toBatches(records, 4));

    expect(responses).to.deep.equal(toBatches(records, 4).map(() => noFailures));
    expect(await appliedIds(rig.dynamo, rig.table)).to.deep.equal(expectedIds(records));
    const a = (await views(rig.dynamo, rig.table)).a;
    expect(a).to.include({ version: 6, lastEventId: "a6", deleted: false, parked: false, position: recordsOf(records, "a")[5].kinesis.sequenceNumber });
    expect(a.state).to.deep.equal({ ids: ["a1", "a2", "a3", "a4", "a5", "a6"], count: 6 });
  });

  it("drops a producer retry (same eventId, new record) and advances the position past it", async () => {
    const rig = await setupRig();
    const records = await append(rig, [envelope("a", "e1"), envelope("a", "e2"), envelope("a", "e1"), envelope("a", "e3"), envelope("a", "e3")]);
    const { project } = newProjector(rig);

    await deliver(project, toBatches(records, 2));

    const a = (await views(rig.dynamo, rig.table)).a;
    expect(a.state).to.deep.equal({ ids: ["e1", "e2", "e3"], count: 3 });
    expect(a.version).to.equal(3);
    expect(a.position).to.equal(records[4].kinesis.sequenceNumber);
  });

  it("keeps the dedup window bounded (newest last)", async () => {
    const rig = await setupRig();
    const records = await append(
      rig,
      ["e1", "e2", "e3", "e1"].map((id) => envelope("a", id)),
    );
    const { project } = newProjector(rig, { dedupWindow: 2 });

    await deliver(project, [{ Records: records }]);

    const item = (await scanAll(rig.dynamo, rig.table))[0];
    // One string attribute, oldest first; each entry is `<eventId>#<8 hex of the data hash>`, joined by a space.
    const hash = eventDataHash(envelope("a", "e1"));
    expect(item.recent.S).to.equal(`e3#${hash} e1#${hash}`);
    expect(item.recentEventIds).to.equal(undefined);
    expect(hash).to.match(/^[0-9a-f]{8}$/);
    expect(((await views(rig.dynamo, rig.table)).a.state as ListState).ids).to.deep.equal(["e1", "e2", "e3", "e1"]);
  });

  it("with the default window (16) drops a producer retry 15 of its aggregate's events behind the original and still parks a reused key with other data; beyond it, documented, a retry applies again; the item stays under 1 KB", async () => {
    const rig = await setupRig();
    const ids = Array.from({ length: 16 }, (_, i) => `e${i}`);
    const other = { ...envelope("a", "e0"), data: { note: "another body" } };
    const records = await append(rig, [
      ...ids.map((id) => envelope("a", id)),
      envelope("a", "e0"), // a producer retry, 15 events behind its original: dropped
      other, // the same eventId with other data: rejected and parked, not applied
      envelope("a", "e16"), // evicts e0 from the window
      envelope("a", "e0"), // a retry 17 events behind: outside the guarantee, applied again
    ]);
    const { project } = newProjector(rig, { dedupWindow: DEFAULT_DEDUP_WINDOW });
    expect(DEFAULT_DEDUP_WINDOW).to.equal(16);
    const responses = await deliver(project, toBatches(records, 3));
    expect(responses.every((r) => r.batchItemFailures.length === 0)).to.equal(true);
    const a = (await views(rig.dynamo, rig.table)).a;
    expect((a.state as ListState).ids).to.deep.equal([...ids, "e16", "e0"]);
    const parked = await parkedEvents(rig.dynamo, rig.parked);
    expect(parked.map((p) => [p.eventId, p.reason])).to.deep.equal([["e0", "Idempotency-Key reused with different data"]]);
    const item = (await scanAll(rig.dynamo, rig.table))[0];
    expect(recentEntries(item.recent.S!).eventIds).to.have.length(16);
    expect(readModelItemSize(item)).to.be.below(1024);
  });

  it("parks an eventId seen again with different data (a reused Idempotency-Key) as rejected, without blocking; the same data is still dropped", async () => {
    const rig = await setupRig();
    const other = (agg: string, id: string, note: string) => ({ ...envelope(agg, id), data: { note } });
    const records = await append(rig, [
      envelope("a", "a1"),
      other("a", "a1", "another body"),
      envelope("a", "a1"),
      envelope("a", "a2"),
      envelope("b", "b1"),
      envelope("b", "b2"),
      { ...envelope("b", "b1"), type: "Removed" },
      envelope("b", "b3"),
    ]);
    const seq = (i: number) => records[i].kinesis.sequenceNumber;
    for (const size of [1, records.length]) {
      const tables = { table: uniqueName("readmodel"), parked: uniqueName("parked") };
      await createTables({ ...rig, ...tables });
      const { project, logs } = newProjector(tables);
      const responses = await deliver(project, toBatches(records, size));
      expect(responses.every((r) => r.batchItemFailures.length === 0)).to.equal(true);
      const v = await views(rig.dynamo, tables.table);
      expect(v.a).to.include({ version: 2, parked: false, position: seq(3) });
      expect(v.a.state).to.deep.equal({ ids: ["a1", "a2"], count: 2 });
      expect(v.b).to.include({ version: 3, parked: false, position: seq(7) });
      expect(v.b.state).to.deep.equal({ ids: ["b1", "b2", "b3"], count: 3 });
      const parked = await parkedEvents(rig.dynamo, tables.parked);
      expect(parked.map((p) => [p.aggregateId, p.sequenceNumber, p.eventId, p.reason, p.parkedBehind])).to.deep.equal([
        ["a", seq(1), "a1", "Idempotency-Key reused with different data", undefined],
        ["b", seq(6), "b1", "Idempotency-Key reused with different data", undefined], // a different type counts as different data
      ]);
      expect(parked[0].data).to.equal(records[1].kinesis.data);
      expect(logs.filter((l) => l.kind === "idempotency-conflict")).to.have.length(2);
      expect(JSON.stringify(logs)).not.to.include("another body");
      // A replay re-parks the same rows and writes no item.
      const replay = newProjector(tables);
      const counts = countRequests(replay.dynamodb);
      await deliver(replay.project, [{ Records: records }]);
      expect(counts.PutItemCommand ?? 0).to.equal(0);
      expect(await parkedEvents(rig.dynamo, tables.parked)).to.deep.equal(parked);
    }
  });

  it("reads items written before the data hash and parkedThrough: plain ids still dedup, new entries get a hash, a blocked item gets parkedThrough", async () => {
    const rig = await setupRig();
    const records = await append(rig, [{ ...envelope("old", "o2"), data: { note: "changed" } }, envelope("old", "o3"), envelope("oldBlocked", "x9")]);
    const legacy = (pk: string, extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({
      pk: { S: pk },
      deleted: { BOOL: false },
      position: { S: padSequence("1") },
      version: { N: "2" },
      lastEventId: { S: "o2" },
      recentEventIds: { L: [{ S: "o1" }, { S: "o2" }] },
      updatedAt: { S: "2024-01-01T00:00:00.000Z" },
      state: { S: JSON.stringify({ ids: ["o1", "o2"], count: 2 }) },
      ...extra,
    });
    await rig.dynamo.send(new PutItemCommand({ TableName: rig.table, Item: legacy("old") }));
    await rig.dynamo.send(new PutItemCommand({ TableName: rig.table, Item: legacy("oldBlocked", { parkedAt: { S: padSequence("2") } }) }));
    const { project, dynamodb } = newProjector(rig);
    const counts = countRequests(dynamodb);

    expect(await project({ Records: records })).to.deep.equal(noFailures);

    const items: Record<string, Record<string, AttributeValue>> = Object.fromEntries((await scanAll(rig.dynamo, rig.table)).map((i) => [i.pk.S!, i]));
    // o2 again: the stored entry has no hash, so it cannot be told from a retry: dropped as before.
    // Rewritten in the current form (`recent`, one string), the legacy entries kept as they were.
    expect(items.old.recent.S).to.equal(`o1 o2 o3#${eventDataHash(envelope("old", "o3"))}`);
    expect(items.old.recentEventIds).to.equal(undefined);
    // Nothing twice: lastEventId is the window's newest entry (the API reads it there), `deleted` is written only when true.
    expect(items.old.lastEventId).to.equal(undefined);
    expect(items.old.deleted).to.equal(undefined);
    expect((await views(rig.dynamo, rig.table)).old).to.include({ lastEventId: "o3", deleted: false, version: 3 });
    expect((await views(rig.dynamo, rig.table)).old.state).to.deep.equal({ ids: ["o1", "o2", "o3"], count: 3 });
    expect(items.oldBlocked.parkedAt.S).to.equal(padSequence("2"));
    expect(items.oldBlocked.parkedThrough.S).to.equal(padSequence(records[2].kinesis.sequenceNumber));
    expect(items.oldBlocked.recent.S).to.equal("o1 o2");
    expect(counts.PutItemCommand).to.equal(2);
    expect((await parkedEvents(rig.dynamo, rig.parked)).map((p) => [p.aggregateId, p.reason])).to.deep.equal([["oldBlocked", "parked behind 2"]]);
    const decoded = recentEntries(decodeStoredAggregate(items.old).recent);
    expect([decoded.eventIds, decoded.dataHashes]).to.deep.equal([
      ["o1", "o2", "o3"],
      ["", "", eventDataHash(envelope("old", "o3"))],
    ]);
    // The legacy list decodes to the same window.
    expect(decodeStoredAggregate(legacy("old")).recent).to.equal("o1 o2");
  });

  it("records how far it parked behind a block (parkedThrough): one conditional write per blocked aggregate per batch, only when it parked something new", async () => {
    const rig = await setupRig();
    const records = await append(rig, [envelope("a", "a1"), envelope("a", "a2", "Boom"), envelope("a", "a3"), envelope("b", "b1")]);
    const { project } = newProjector(rig);
    await project({ Records: records });
    const item = async () => (await scanAll(rig.dynamo, rig.table)).find((i) => i.pk.S === "a")!;
    expect((await item()).parkedAt.S).to.equal(padSequence(records[1].kinesis.sequenceNumber));
    expect((await item()).parkedThrough.S).to.equal(padSequence(records[2].kinesis.sequenceNumber));

    const more = (await append(rig, [envelope("a", "a4"), envelope("b", "b2"), envelope("a", "a5")])).slice(records.length);
    const next = newProjector(rig);
    const counts = countRequests(next.dynamodb);
    expect(await next.project({ Records: more })).to.deep.equal(noFailures);
    expect(counts).to.deep.equal({ BatchGetItemCommand: 1, BatchWriteItemCommand: 1, PutItemCommand: 2 }); // a (parkedThrough) and b
    expect((await item()).parkedThrough.S).to.equal(padSequence(more[2].kinesis.sequenceNumber));
    expect((await item()).position.S).to.equal(padSequence(records[0].kinesis.sequenceNumber));

    // Redelivered: re-parked (same rows), nothing new, no item write.
    const again = newProjector(rig);
    const againCounts = countRequests(again.dynamodb);
    expect(await again.project({ Records: [...records, ...more] })).to.deep.equal(noFailures);
    expect(againCounts.PutItemCommand ?? 0).to.equal(0);
    expect((await item()).parkedThrough.S).to.equal(padSequence(more[2].kinesis.sequenceNumber));
  });

  it("parks the event whose state outgrows the 400 KB item limit (found within a batch too) and blocks the aggregate", async () => {
    const rig = await setupRig();
    // Each event adds 150 KB to the state: the third would make the item too large.
    const growing: Reducer<{ pad: string[]; ids: string[] }> = (s, e) => ({
      pad: [...(s?.pad ?? []), "x".repeat(150 * 1024)],
      ids: [...(s?.ids ?? []), e.eventId],
    });
    const records = await append(rig, [envelope("a", "a1"), envelope("b", "b1"), envelope("a", "a2"), envelope("a", "a3"), envelope("a", "a4")]);
    const results = [];
    for (const size of [1, records.length]) {
      const tables = { table: uniqueName("readmodel"), parked: uniqueName("parked") };
      await createTables({ ...rig, ...tables });
      const { project } = newProjector(tables, { reduce: growing as unknown as Reducer<ListState> });
      const responses = await deliver(project, toBatches(records, size));
      expect(responses.every((r) => r.batchItemFailures.length === 0)).to.equal(true);
      const v = await views(rig.dynamo, tables.table);
      expect(v.a).to.include({ version: 2, parked: true, lastEventId: "a2" });
      expect(v.b).to.include({ version: 1, parked: false });
      const parked = await parkedEvents(rig.dynamo, tables.parked);
      expect(parked.map((p) => [p.eventId, p.parkedBehind])).to.deep.equal([
        ["a3", undefined],
        ["a4", records[3].kinesis.sequenceNumber],
      ]);
      expect(parked[0].reason).to.match(/too large to store/);
      results.push({ table: await snapshot(rig.dynamo, tables.table), parked: await snapshot(rig.dynamo, tables.parked) });
    }
    expect(results[1]).to.deep.equal(results[0]);
  });

  it("makes a replay from the start a no-op: identical table, no writes", async () => {
    const rig = await setupRig();
    const events = [];
    for (let i = 1; i <= 5; i++) for (const agg of ["a", "b", "c", "d"]) events.push(envelope(agg, `${agg}${i}`));
    events.push(envelope("a", "a1")); // a duplicate too
    const records = await append(rig, events);
    const { project, dynamodb } = newProjector(rig);
    await deliver(project, toBatches(records, 5));
    const before = await snapshot(rig.dynamo, rig.table, true);

    const counts = countRequests(dynamodb);
    const responses = await deliver(project, toBatches(records, 5));

    expect(responses.every((r) => r.batchItemFailures.length === 0)).to.equal(true);
    expect(await snapshot(rig.dynamo, rig.table, true)).to.deep.equal(before);
    expect(counts.PutItemCommand ?? 0).to.equal(0);
    expect(counts.BatchWriteItemCommand ?? 0).to.equal(0);
    expect(counts.BatchGetItemCommand).to.equal(5);
  });

  it("makes one conditional write per aggregate and one BatchGetItem per 100 aggregates", async function () {
    this.timeout(120_000);
    const rig = await setupRig();
    const events = [];
    for (let round = 1; round <= 2; round++) for (let i = 0; i < 250; i++) events.push(envelope(`agg${i}`, `agg${i}-${round}`));
    const records = await append(rig, events);
    const { project, dynamodb } = newProjector(rig);
    const counts = countRequests(dynamodb);

    const response = await project({ Records: records });

    expect(response).to.deep.equal(noFailures);
    expect(counts).to.deep.equal({ BatchGetItemCommand: 3, PutItemCommand: 250 });
    const ids = await appliedIds(rig.dynamo, rig.table);
    expect(Object.keys(ids)).to.have.length(250);
    expect(ids).to.deep.equal(expectedIds(records));
  });

  it("re-reads and folds again when another writer changes the item between read and write", async () => {
    const rig = await setupRig();
    const events = [];
    for (let i = 1; i <= 6; i++) events.push(envelope("a", `a${i}`), ...(i <= 3 ? [envelope("b", `b${i}`)] : []));
    const records = await append(rig, events);
    const { project, dynamodb } = newProjector(rig);
    const other = newProjector(rig);
    let interfered = 0;
    beforeSend(dynamodb, "PutItemCommand", async (input) => {
      if (input.Item.pk.S !== "a" || interfered++ > 0) return;
      // Another instance (e.g. a parent shard's consumer) applies a's first three events meanwhile.
      expect(await other.project({ Records: recordsOf(records, "a").slice(0, 3) })).to.deep.equal(noFailures);
    });
    const counts = countRequests(dynamodb);

    expect(await project({ Records: records })).to.deep.equal(noFailures);

    expect(interfered).to.be.greaterThan(0);
    expect(counts).to.deep.equal({ BatchGetItemCommand: 1, PutItemCommand: 3, GetItemCommand: 1 });
    expect(await appliedIds(rig.dynamo, rig.table)).to.deep.equal(expectedIds(records));
    expect((await views(rig.dynamo, rig.table)).a.version).to.equal(6);
  });

  it("gives up after maxFoldAttempts failed conditions and completes on redelivery", async () => {
    const rig = await setupRig();
    const records = await append(rig, [1, 2, 3, 4, 5].map((i) => envelope("a", `a${i}`)).concat([envelope("b", "b1")]));
    const { project, dynamodb, logs } = newProjector(rig, { maxFoldAttempts: 2 });
    const other = newProjector(rig);
    let applied = 0;
    beforeSend(dynamodb, "PutItemCommand", async (input) => {
      if (input.Item.pk.S !== "a" || applied >= 2) return;
      applied += 1;
      await other.project({ Records: recordsOf(records, "a").slice(0, applied) });
    });

    const response = await project({ Records: records });

    expect(response).to.deep.equal({ batchItemFailures: [{ itemIdentifier: records[0].kinesis.sequenceNumber }] });
    expect(logs.some((l) => String(l.msg).includes("condition kept failing"))).to.equal(true);
    expect((await appliedIds(rig.dynamo, rig.table)).b).to.deep.equal(["b1"]);

    const retry = newProjector(rig);
    expect(await retry.project({ Records: records })).to.deep.equal(noFailures);
    expect(await appliedIds(rig.dynamo, rig.table)).to.deep.equal(expectedIds(records));
  });

  it("isolates poison: parks it with its data, parks later events behind it, applies other aggregates", async () => {
    const rig = await setupRig();
    const badSchema = { ...envelope("b", "b-bad"), schemaVersion: 2 };
    const records = await append(rig, [
      envelope("a", "a1"),
      envelope("b", "b1"),
      envelope("d", "d1"),
      envelope("a", "a2"),
      { partitionKey: "a", bytes: Buffer.from("SECRET-PAYLOAD {not json") },
      envelope("a", "a3"),
      envelope("c", "c1"),
      envelope("c", "c2", "Boom"),
      { partitionKey: "b", bytes: Buffer.from(JSON.stringify(badSchema)) },
      envelope("b", "b2"),
      envelope("c", "c3"),
      { partitionKey: "g", bytes: Buffer.from([0xff, 0xfe, 0x00]) },
      { partitionKey: "e", bytes: Buffer.from(JSON.stringify(envelope("f", "e1"))) },
      envelope("d", "d2"),
      envelope("d", "d3"),
    ]);
    const seq = (i: number) => records[i].kinesis.sequenceNumber;
    const { project, logs } = newProjector(rig);

    const responses = await deliver(project, toBatches(records, 4));

    expect(responses.every((r) => r.batchItemFailures.length === 0)).to.equal(true);
    const v = await views(rig.dynamo, rig.table);
    expect(v.d.state).to.deep.equal({ ids: ["d1", "d2", "d3"], count: 3 });
    expect(v.a).to.include({ parked: true, position: seq(3), version: 2 });
    expect(v.a.state).to.deep.equal({ ids: ["a1", "a2"], count: 2 });
    expect(v.b.state).to.deep.equal({ ids: ["b1"], count: 1 });
    // c1 and c2 share a batch and c2's reducer pushed onto the state before throwing: the stored state must not show it.
    expect(v.c).to.include({ parked: true, version: 1 });
    expect(v.c.state).to.deep.equal({ ids: ["c1"], count: 1 });
    expect(v.e).to.include({ parked: true, version: 0, position: "0", deleted: false });
    expect(v.e.state).to.equal(undefined);
    expect(v.g).to.include({ parked: true, version: 0 });

    const parked = await parkedEvents(rig.dynamo, rig.parked);
    const summary = parked.map((p) => [p.aggregateId, p.sequenceNumber, p.eventId, p.parkedBehind]);
    expect(summary).to.deep.equal([
      ["a", seq(4), undefined, undefined],
      ["a", seq(5), "a3", seq(4)],
      ["b", seq(8), undefined, undefined],
      ["b", seq(9), "b2", seq(8)],
      ["c", seq(7), "c2", undefined],
      ["c", seq(10), "c3", seq(7)],
      ["e", seq(12), "e1", undefined],
      ["g", seq(11), undefined, undefined],
    ]);
    for (const p of parked) {
      const record = records.find((r) => r.kinesis.sequenceNumber === p.sequenceNumber)!;
      expect(p.data).to.equal(record.kinesis.data);
      expect(p.shardEventId).to.equal(record.eventID);
    }
    expect(parked[0].reason).to.match(/^not UTF-8 JSON/);
    expect(parked[1].reason).to.equal(`parked behind ${seq(4)}`);
    expect(parked[2].reason).to.match(/schemaVersion 2/);
    expect(parked[4].reason).to.match(/reduce threw Error: boom in c2/);
    expect(parked[6].reason).to.match(/does not match the partition key/);

    const poisonLogs = logs.filter((l) => l.msg === "parked poison event");
    expect(poisonLogs.map((l) => l.kind).sort()).to.deep.equal(["aggregate-mismatch", "invalid-envelope", "reduce-threw", "undecodable", "undecodable"]);
    expect(JSON.stringify(logs)).not.to.include("SECRET-PAYLOAD");

    // A replay re-parks idempotently and writes no item; a later event of a blocked aggregate is parked too.
    const parkedBefore = await snapshot(rig.dynamo, rig.parked);
    const tableBefore = await snapshot(rig.dynamo, rig.table, true);
    const replay = newProjector(rig);
    const counts = countRequests(replay.dynamodb);
    await deliver(replay.project, toBatches(records, 5));
    expect(counts.PutItemCommand ?? 0).to.equal(0);
    expect(await snapshot(rig.dynamo, rig.parked)).to.deep.equal(parkedBefore);
    expect(await snapshot(rig.dynamo, rig.table, true)).to.deep.equal(tableBefore);

    const more = await append(rig, [envelope("a", "a4")]);
    await replay.project({ Records: more.slice(-1) });
    expect(((await views(rig.dynamo, rig.table)).a.state as ListState).ids).to.deep.equal(["a1", "a2"]);
    const a4 = (await parkedEvents(rig.dynamo, rig.parked)).find((p) => p.eventId === "a4");
    expect(a4).to.include({ reason: `parked behind ${seq(4)}`, parkedBehind: seq(4) });
  });

  it("keeps a tombstone as an item and applies later events on a fresh state", async () => {
    const rig = await setupRig();
    const records = await append(rig, [
      envelope("x", "x1"),
      envelope("x", "x2"),
      envelope("x", "x3", "Delete"),
      envelope("x", "x4"),
      envelope("y", "y1"),
      envelope("y", "y2", "Delete"),
    ]);
    const { project } = newProjector(rig);
    await deliver(project, toBatches(records, 3));

    const v = await views(rig.dynamo, rig.table);
    expect(v.x).to.include({ deleted: false, version: 4, lastEventId: "x4" });
    expect(v.x.state).to.deep.equal({ ids: ["x4"], count: 1 });
    expect(v.y).to.include({ deleted: true, version: 2, lastEventId: "y2" });
    expect(v.y.state).to.equal(undefined);
    expect((await scanAll(rig.dynamo, rig.table)).find((i) => i.pk.S === "y")!.state).to.equal(undefined);

    const before = await snapshot(rig.dynamo, rig.table, true);
    await deliver(project, [{ Records: records }]);
    expect(await snapshot(rig.dynamo, rig.table, true)).to.deep.equal(before);
  });

  it("retries throttling and unprocessed keys within the budget and succeeds", async () => {
    const rig = await setupRig();
    const records = await append(
      rig,
      ["a", "b", "a", "c", "b"].map((agg, i) => envelope(agg, `${agg}-${i}`)),
    );
    const { project, dynamodb, clock } = newProjector(rig, { retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 100 } });
    const seen: Record<string, number> = {};
    const faults = injectFaults(dynamodb, (name) => {
      seen[name] = (seen[name] ?? 0) + 1;
      if (name === "BatchGetItemCommand" && seen[name] === 1) return serviceError("ProvisionedThroughputExceededException");
      if (name === "PutItemCommand" && seen[name] <= 3) return serviceError("ThrottlingException");
      return undefined;
    });
    let rewritten = 0;
    rewriteOutput(dynamodb, "BatchGetItemCommand", (output, input) => {
      if (rewritten++ > 0) return output;
      return { ...output, Responses: {}, UnprocessedKeys: input.RequestItems };
    });

    expect(await project({ Records: records })).to.deep.equal(noFailures);

    expect(faults.injected).to.equal(4);
    expect(rewritten).to.equal(2);
    expect(clock.sleeps.length).to.be.at.least(5);
    expect(await appliedIds(rig.dynamo, rig.table)).to.deep.equal(expectedIds(records));
  });

  it("reports the lowest unapplied sequence number once the budget is spent; redelivery applies nothing twice", async () => {
    const rig = await setupRig();
    const records = await append(
      rig,
      ["a", "a", "b", "c", "b", "a", "c", "b"].map((agg, i) => envelope(agg, `${agg}-${i}`)),
    );
    const { project, dynamodb, logs } = newProjector(rig, { retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 } });
    const faults = injectFaults(dynamodb, (name, input) =>
      name === "PutItemCommand" && input.Item.pk.S === "b" ? serviceError("ThrottlingException") : undefined,
    );

    const response = await project({ Records: records });

    const lowestB = recordsOf(records, "b")[0].kinesis.sequenceNumber;
    expect(response).to.deep.equal({ batchItemFailures: [{ itemIdentifier: lowestB }] });
    expect(faults.injected).to.equal(3);
    expect(logs.some((l) => l.level === "error" && l.errorName === "ThrottlingException")).to.equal(true);
    const partial = await appliedIds(rig.dynamo, rig.table);
    expect(partial).to.deep.equal({ a: expectedIds(records).a, c: expectedIds(records).c });

    // Lambda resumes at the reported record: a and c are no-ops, b is applied once.
    const redelivery = newProjector(rig);
    const counts = countRequests(redelivery.dynamodb);
    const from = records.findIndex((r) => r.kinesis.sequenceNumber === lowestB);
    expect(await redelivery.project({ Records: records.slice(from) })).to.deep.equal(noFailures);
    expect(counts.PutItemCommand).to.equal(1);
    expect(await appliedIds(rig.dynamo, rig.table)).to.deep.equal(expectedIds(records));
  });

  it("reports the whole batch when the bulk read fails beyond the budget", async () => {
    const rig = await setupRig();
    const records = await append(rig, [envelope("a", "a1"), envelope("b", "b1")]);
    const { project, dynamodb } = newProjector(rig, { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    injectFaults(dynamodb, (name) => (name === "BatchGetItemCommand" ? serviceError("InternalServerError", 500) : undefined));

    expect(await project({ Records: records })).to.deep.equal({ batchItemFailures: [{ itemIdentifier: records[0].kinesis.sequenceNumber }] });
    expect(await scanAll(rig.dynamo, rig.table)).to.deep.equal([]);
  });

  it("writes no block while its poison is not parked: a failed park reports the aggregate, writes the others, and redelivery parks it", async () => {
    const rig = await setupRig();
    const records = await append(rig, [envelope("a", "a1"), envelope("a", "a2", "Boom"), envelope("b", "b1")]);
    const { project, dynamodb } = newProjector(rig);
    let failing = true;
    const faults = injectFaults(dynamodb, (name) => (failing && name === "BatchWriteItemCommand" ? serviceError("ValidationException") : undefined));

    // The poison's row could not be written: its aggregate's item (which would record the block) is not written either.
    expect(await project({ Records: records })).to.deep.equal({ batchItemFailures: [{ itemIdentifier: records[0].kinesis.sequenceNumber }] });
    expect(faults.injected).to.equal(1);
    expect(await appliedIds(rig.dynamo, rig.table)).to.deep.equal({ b: ["b1"] });
    expect(await parkedEvents(rig.dynamo, rig.parked)).to.deep.equal([]);

    failing = false;
    expect(await project({ Records: records })).to.deep.equal(noFailures);
    const parked = await parkedEvents(rig.dynamo, rig.parked);
    expect(parked.map((p) => [p.aggregateId, p.eventId])).to.deep.equal([["a", "a2"]]);
    expect((await views(rig.dynamo, rig.table)).a).to.include({ parked: true, version: 1 });
  });

  it("reports an unexpected non-transient error instead of throwing, without retrying it", async () => {
    const rig = await setupRig();
    const records = await append(rig, [envelope("a", "a1"), envelope("b", "b1"), envelope("a", "a2")]);
    const { project, dynamodb, logs } = newProjector(rig);
    const faults = injectFaults(dynamodb, (name, input) =>
      name === "PutItemCommand" && input.Item.pk.S === "a" ? serviceError("ValidationException") : undefined,
    );

    expect(await project({ Records: records })).to.deep.equal({ batchItemFailures: [{ itemIdentifier: records[0].kinesis.sequenceNumber }] });
    expect(faults.injected).to.equal(1);
    expect(logs.some((l) => l.errorName === "ValidationException" && l.transient === false)).to.equal(true);
    expect(await appliedIds(rig.dynamo, rig.table)).to.deep.equal({ b: ["b1"] });
  });

  it("gives the same tables whatever the batch sizes", async () => {
    const rig = await setupRig();
    const events = [];
    for (let i = 1; i <= 8; i++)
      for (const agg of ["a", "b", "c", "d"])
        events.push(envelope(agg, `${agg}${i}`, agg === "c" && i === 5 ? "Delete" : agg === "d" && i === 6 ? "Boom" : "Added"));
    events.push(envelope("a", "a3"), envelope("b", "b9"));
    const records = await append(rig, events);

    const results = [];
    for (const size of [1, 3, 7, records.length]) {
      const tables = { table: uniqueName("readmodel"), parked: uniqueName("parked") };
      await createTables({ ...rig, ...tables });
      const { project } = newProjector(tables);
      const responses = await deliver(project, toBatches(records, size));
      expect(responses.every((r) => r.batchItemFailures.length === 0)).to.equal(true);
      results.push({ table: await snapshot(rig.dynamo, tables.table), parked: await snapshot(rig.dynamo, tables.parked) });
    }

    for (const r of results.slice(1)) expect(r).to.deep.equal(results[0]);
    expect(results[0].parked).to.have.length(3); // d6, d7, d8
  });
});

describe("projectorConfigFromEnv", () => {
  it("reads names and numbers, with defaults", () => {
    expect(projectorConfigFromEnv({ TABLE_NAME: "t", PARKED_TABLE_NAME: "p" })).to.deep.include({
      tableName: "t",
      parkedTableName: "p",
      dedupWindow: 16,
      maxFoldAttempts: 5,
    });
    const c = projectorConfigFromEnv({ TABLE_NAME: "t", PARKED_TABLE_NAME: "p", DEDUP_WINDOW: "8", RETRY_MAX_ATTEMPTS: "2" });
    expect(c.dedupWindow).to.equal(8);
    expect(c.retry.maxAttempts).to.equal(2);
    expect(() => projectorConfigFromEnv({ TABLE_NAME: "t" })).to.throw(/PARKED_TABLE_NAME/);
  });

  it("builds a handler that only needs what the Lambda provides", async () => {
    const rig = await setupRig();
    const records = await append(rig, [envelope("a", "a1")]);
    const project = createProjector({
      dynamodb: dynamoClient(),
      reduce: listReducer,
      clock: fastClock(),
      log: () => undefined,
      config: projectorConfigFromEnv({ TABLE_NAME: rig.table, PARKED_TABLE_NAME: rig.parked }),
    });
    expect(await project({ Records: records })).to.deep.equal(noFailures);
    expect(await appliedIds(rig.dynamo, rig.table)).to.deep.equal({ a: ["a1"] });
  });
});
