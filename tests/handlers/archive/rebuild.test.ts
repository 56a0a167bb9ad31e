/**
 * Rebuilding a read-model version from the archive, then handing over to the
 * live stream: over random histories, random redelivered archive batches and
 * random archive/stream overlaps, the rebuilt model equals the fold of every
 * event in order per aggregate; events that exist only in the archive (the
 * stream holds just the recent tail) reach it; a rebuild resumes after an
 * interruption and touches nothing but the version's tables.
 */
import { expect } from "chai";
import fc from "fast-check";
import { S3Client } from "@aws-sdk/client-s3";
import { rebuildFromArchive, RebuildMark, toKinesisRecords } from "../../../handlers/archive/rebuild";
import { toArchived } from "../../../handlers/archive/format";
import { liveStartMs, LIVE_START_MARGIN_MS, measureLag } from "../../../handlers/archive/lag";
import { ArchiveLocation, listArchive, readObject } from "../../../handlers/archive/reader";
import { KinesisStreamRecord } from "../../../handlers/shared/kinesisEvent";
import { readModelStore } from "../../../handlers/shared/readModelStore";
import { newArchive, newArchiver, s3Emulator } from "../../support/archiveFixtures";
import { createStream, createTable, kplAggregate, PRODUCER_ACCOUNT, REGION, testDynamo, testKinesis, toBatches, uniqueName } from "../../support/aws";
import { append, appliedIds, deliver, envelope, expectedIds, newProjector, parkedEvents, Rig, snapshot, views } from "../../support/projectorFixtures";
import { DEFAULT_DEDUP_WINDOW } from "../../../handlers/projector";
import { idempotentEventId } from "../../../handlers/producer/ulid";
import { countRequests } from "../../support/sdkMiddleware";

/** Delivers `records` (one shard's) to the archiver in batches of the given sizes, each batch `copies` times (redelivery). */
async function archiveAll(
  archive: ReturnType<typeof newArchiver>["archive"],
  records: KinesisStreamRecord[],
  sizes: number[],
  copies: number[],
): Promise<void> {
  let i = 0;
  for (let b = 0; i < records.length; b++) {
    const size = sizes[b % sizes.length];
    for (let c = 0; c <= copies[b % copies.length]; c++) await archive({ Records: records.slice(i, i + size) });
    i += size;
  }
}

function byShard(records: KinesisStreamRecord[]): KinesisStreamRecord[][] {
  const shards = new Map<string, KinesisStreamRecord[]>();
  for (const r of records) shards.set(r.eventID.split(":")[0], [...(shards.get(r.eventID.split(":")[0]) ?? []), r]);
  return [...shards.values()];
}

describe("rebuild: a new version from the archive, then the live stream", function () {
  const emulator = s3Emulator();
  let s3: S3Client;
  let stream: string;
  const kinesis = testKinesis();
  const dynamo = testDynamo();
  const streamArn = () => `arn:aws:kinesis:${REGION}:${PRODUCER_ACCOUNT}:stream/${stream}`;

  before(async () => {
    await emulator.start();
    s3 = emulator.client();
    stream = uniqueName("rebuild-src");
    await createStream(kinesis, stream, 2);
  });
  after(() => emulator.stop());

  async function version(): Promise<Pick<Rig, "table" | "parked">> {
    const v = { table: uniqueName("v2-read-model"), parked: uniqueName("v2-parked") };
    await createTable(dynamo, v.table);
    await createTable(dynamo, v.parked, "sk");
    return v;
  }

  async function history(run: string, aggregates: number[]): Promise<KinesisStreamRecord[]> {
    const all = await append(
      { kinesis, dynamo, stream, table: "", parked: "" },
      aggregates.map((a, i) => envelope(`${run}-a${a}`, `${run}-e${i}`)),
    );
    return all.filter((r) => r.kinesis.partitionKey.startsWith(`${run}-`));
  }

  it("property: whatever the overlap and the redeliveries, the rebuilt model is the fold of every event in order per aggregate", async function () {
    this.timeout(300_000);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 4 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 12 }),
        async (aggregates, sizes, copies, archivedShare, overlapShare, liveBatch) => {
          const records = await history(`p${run++}-${Date.now()}`, aggregates);
          const at = await newArchive(s3);
          const v2 = await version();
          const { archive } = newArchiver(at, s3);
          const live: KinesisStreamRecord[] = [];
          for (const shard of byShard(records)) {
            // The archive holds a prefix of each shard; the stream, only from a point at or before its end (the rest expired).
            const archivedCount = Math.round(shard.length * archivedShare);
            const from = Math.floor(archivedCount * (1 - overlapShare));
            await archiveAll(archive, shard.slice(0, archivedCount), sizes, copies);
            live.push(...shard.slice(from));
          }
          const { project } = newProjector(v2);
          const done = await rebuildFromArchive({ archive: at, project, streamArn: streamArn() });
          // Each archived record counted once, however many objects hold it.
          const archived = byShard(records).reduce((n, shard) => n + Math.round(shard.length * archivedShare), 0);
          expect(done.records).to.equal(archived);
          for (const shard of byShard(live)) for (let i = 0; i < shard.length; i += liveBatch) await project({ Records: shard.slice(i, i + liveBatch) });
          expect(await appliedIds(dynamo, v2.table)).to.deep.equal(expectedIds(records));
        },
      ),
      { numRuns: 30 },
    );
  });

  it("events older than the stream's retention reach the rebuilt model; the live stream alone would miss them", async () => {
    const records = await history(
      `exp-${Date.now()}`,
      Array.from({ length: 40 }, (_, i) => i % 5),
    );
    const at = await newArchive(s3);
    const { archive } = newArchiver(at, s3);
    for (const shard of byShard(records)) await archiveAll(archive, shard, [7], [0]);
    // The stream holds only the recent tail: the last quarter of each shard.
    const tail = byShard(records).flatMap((shard) => shard.slice(Math.floor(shard.length * 0.75)));

    const liveOnly = await version();
    await deliver(
      newProjector(liveOnly).project,
      byShard(tail).map((Records) => ({ Records })),
    );
    expect(await appliedIds(dynamo, liveOnly.table)).to.not.deep.equal(expectedIds(records));

    const v2 = await version();
    const { project } = newProjector(v2);
    const done = await rebuildFromArchive({ archive: at, project, streamArn: streamArn() });
    expect(done.records).to.equal(40);
    await deliver(
      project,
      byShard(tail).map((Records) => ({ Records })),
    );
    expect(await appliedIds(dynamo, v2.table)).to.deep.equal(expectedIds(records));
  });

  it("overlapping objects (the archiver's mapping replayed with other batch bounds): each record is handed and counted once", async () => {
    const records = await history(
      `ovl-${Date.now()}`,
      Array.from({ length: 24 }, (_, i) => i % 4),
    );
    const at = await newArchive(s3);
    const { archive } = newArchiver(at, s3);
    // Archived in batches of 5, then all again in batches of 3 (a replay of the archiver's own mapping).
    for (const shard of byShard(records)) await archiveAll(archive, shard, [5], [0]);
    for (const shard of byShard(records)) await archiveAll(archive, shard, [3], [0]);
    const v2 = await version();
    const { project, dynamodb } = newProjector(v2);
    const counts = countRequests(dynamodb);
    const done = await rebuildFromArchive({ archive: at, project, streamArn: streamArn() });
    expect(done.objectsTotal).to.be.greaterThan(byShard(records).length * 2);
    let held = 0;
    for (const k of await listArchive(at)) held += (await readObject(at, k.key)).length;
    expect(held).to.be.greaterThan(40);
    expect(done.records).to.equal(24);
    expect(done.recordsOverlapping).to.equal(held - 24);
    expect(await appliedIds(dynamo, v2.table)).to.deep.equal(expectedIds(records));
    // An object wholly inside those replayed before it is not handed at all (one BatchGetItem per object handed).
    expect(counts.BatchGetItemCommand).to.be.below(done.objectsTotal);
  });

  it("a late keyed retry and a late reuse (beyond the dedup window): the rebuilt version reaches version 1's decisions", async () => {
    const id = `late-${Date.now()}`;
    const keyedId = idempotentEventId(id, "key-1");
    const keyed = (note: string) => ({ ...envelope(id, keyedId), data: { note } });
    const events = [
      keyed("first"),
      ...Array.from({ length: 20 }, (_, i) => envelope(id, `${id}-e${i}`)),
      keyed("first"),
      keyed("other"),
      envelope(id, `${id}-last`),
    ];
    const records = (await append({ kinesis, dynamo, stream, table: "", parked: "" }, events)).filter((r) => r.kinesis.partitionKey === id);
    const v1 = await version();
    await deliver(newProjector(v1, { dedupWindow: DEFAULT_DEDUP_WINDOW }).project, toBatches(records, 5));
    const at = await newArchive(s3);
    await archiveAll(newArchiver(at, s3).archive, records, [7, 3], [0, 1]);
    const v2 = await version();
    await rebuildFromArchive({ archive: at, project: newProjector(v2, { dedupWindow: DEFAULT_DEDUP_WINDOW }).project, streamArn: streamArn() });

    const decisions = async (v: Pick<Rig, "table" | "parked">) => ({
      item: (await views(dynamo, v.table))[id],
      parked: (await parkedEvents(dynamo, v.parked)).map((p) => [p.eventId, p.reason, p.sequenceNumber]),
    });
    const one = await decisions(v1);
    // Version 1's decisions: the keyed event applied once, the retry skipped, the reuse rejected without blocking.
    expect(one.item.version).to.equal(22);
    expect((one.item.state as { ids: string[] }).ids.filter((e) => e === keyedId)).to.have.length(1);
    expect(one.item.parked).to.equal(false);
    expect(one.parked).to.deep.equal([[keyedId, "Idempotency-Key reused with different data", records[22].kinesis.sequenceNumber]]);
    const two = await decisions(v2);
    expect({ ...two.item, updatedAt: "" }).to.deep.equal({ ...one.item, updatedAt: "" });
    expect(two.parked).to.deep.equal(one.parked);
    expect(await snapshot(dynamo, v2.table)).to.deep.equal(await snapshot(dynamo, v1.table)); // the claims too
  });

  it("a live stream that starts after the archive's end leaves a gap: why the live mapping starts at or before it", async () => {
    const records = await history(`gap-${Date.now()}`, [0, 0, 0, 0, 0, 0]);
    const at = await newArchive(s3);
    await newArchiver(at, s3).archive({ Records: records.slice(0, 3) });
    const v2 = await version();
    const { project } = newProjector(v2);
    const done = await rebuildFromArchive({ archive: at, project, streamArn: streamArn() });
    await project({ Records: records.slice(4) });
    expect(Object.values(await appliedIds(dynamo, v2.table))[0]).to.have.length(5);
    const end = [...done.ends.values()][0];
    expect(end.arrivalMs).to.equal(Math.round(records[2].kinesis.approximateArrivalTimestamp * 1000));
    expect(liveStartMs(done.ends)).to.equal(end.arrivalMs - LIVE_START_MARGIN_MS);
  });

  it("resumes after an interruption from its cursor, redoing nothing, and writes only the version's tables", async () => {
    const records = await history(
      `res-${Date.now()}`,
      Array.from({ length: 20 }, (_, i) => i % 3),
    );
    const at: ArchiveLocation = await newArchive(s3);
    const { archive } = newArchiver(at, s3);
    for (const shard of byShard(records)) await archiveAll(archive, shard, [3], [0]);
    const v2 = await version();
    const { project, dynamodb } = newProjector(v2);
    const counts = countRequests(dynamodb);
    const tables = new Set<string>();
    dynamodb.middlewareStack.add((next) => async (args) => {
      const input = args.input as { TableName?: string; RequestItems?: Record<string, unknown> };
      for (const t of [input.TableName, ...Object.keys(input.RequestItems ?? {})]) if (t) tables.add(t);
      return next(args);
    });
    let saved: RebuildMark | undefined;
    const cursor = { load: () => saved, save: (m: RebuildMark) => void (saved = m) };
    let seen = 0;
    const interrupted = rebuildFromArchive({
      archive: at,
      project,
      cursor,
      streamArn: streamArn(),
      onProgress: () => {
        if (++seen === 2) throw new Error("operator pressed Ctrl-C");
      },
    });
    const stopped = await interrupted.then(
      () => "finished",
      (err: Error) => err.message,
    );
    expect(stopped).to.equal("operator pressed Ctrl-C");
    const resumed = await rebuildFromArchive({ archive: at, project, cursor, streamArn: streamArn() });
    expect(resumed.objectsSkipped).to.equal(2);
    expect(resumed.objectsDone).to.equal(resumed.objectsTotal);
    expect(await appliedIds(dynamo, v2.table)).to.deep.equal(expectedIds(records));
    expect([...tables].sort()).to.deep.equal([v2.table].sort());
    expect(Object.keys(counts).sort()).to.deep.equal(["BatchGetItemCommand", "PutItemCommand"]);
  });

  it("a resumed rebuild hands what an object archived after the first run holds beyond it, though the object sorts before its cursor", async () => {
    const records = await history(
      `late-${Date.now()}`,
      Array.from({ length: 12 }, () => 0),
    );
    expect(byShard(records)).to.have.length(1);
    const at: ArchiveLocation = await newArchive(s3);
    const { archive } = newArchiver(at, s3);
    await archive({ Records: records.slice(0, 3) });
    await archive({ Records: records.slice(3, 6) });
    const v2 = await version();
    const { project } = newProjector(v2);
    let saved: RebuildMark | undefined;
    const cursor = { load: () => saved, save: (m: RebuildMark) => void (saved = m) };
    await rebuildFromArchive({ archive: at, project, cursor, streamArn: streamArn() });
    // The archiver's mapping replayed from an earlier position: one object from the third record to the last, which sorts
    // before the cursor's object (its first position is lower) and holds six records the first run never saw.
    await archive({ Records: records.slice(2) });
    const resumed = await rebuildFromArchive({ archive: at, project, cursor, streamArn: streamArn() });
    expect([resumed.objectsSkipped, resumed.records]).to.deep.equal([2, 6]);
    expect(await appliedIds(dynamo, v2.table)).to.deep.equal(expectedIds(records));
  });

  it("measures the lag to live: the age of the oldest recent record the version has not reached", async () => {
    const records = await history(`lag-${Date.now()}`, [0, 1, 2, 0]);
    const v2 = await version();
    const store = readModelStore({ dynamodb: dynamo, tableName: v2.table, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    const now = Date.now() + 5_000;
    const before = await measureLag(kinesis, streamArn(), store, 120_000, now);
    expect(before.behind).to.be.at.least(4);
    expect(before.lagMs).to.be.at.least(5_000);
    await deliver(
      newProjector(v2).project,
      byShard(records).map((Records) => ({ Records })),
    );
    const after = await measureLag(kinesis, streamArn(), store, 120_000, now);
    expect(after.behind).to.equal(before.behind - 4);
  });

  it("packs KPL user records back into one aggregate record, so each keeps its sub-sequence number", () => {
    const kpl = kplAggregate([0, 1].map((i) => ({ partitionKey: `k-${i}`, data: JSON.stringify(envelope(`k-${i}`, `u-${i}`)) })));
    const record: KinesisStreamRecord = {
      awsRegion: REGION,
      eventID: "shardId-000000000001:42",
      eventName: "aws:kinesis:record",
      eventSource: "aws:kinesis",
      eventSourceARN: "arn",
      eventVersion: "1.0",
      invokeIdentityArn: "",
      kinesis: {
        kinesisSchemaVersion: "1.0",
        partitionKey: kpl.partitionKey,
        sequenceNumber: "42",
        data: kpl.bytes.toString("base64"),
        approximateArrivalTimestamp: 1,
      },
    };
    const back = toKinesisRecords(toArchived([record]).reverse(), "arn");
    expect(back).to.have.length(1);
    expect(toArchived(back)).to.deep.equal(toArchived([record]));
  });
});
