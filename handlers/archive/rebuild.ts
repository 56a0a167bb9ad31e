/**
 * Rebuilding a read model from the archive: every archived object, in
 * replay order (replayOrder: each shard's runs oldest first), turned back
 * into the Kinesis records Lambda delivered and handed to a projector built
 * with the new version's `reduce` and tables. The projector's own guards do
 * the rest: positions at or below an aggregate's stored position are no-ops
 * (redelivered objects, a resumed rebuild, the live mapping's overlap), and
 * poison is parked in the version's own parked table.
 *
 * Objects overlap (the archiver's batch redelivered with other bounds, a
 * replay of the archiver's own mapping): records an object shares with one
 * replayed before it on its shard are passed over here, not handed again,
 * so `records` counts each archived record once and the projector reads no
 * item twice for them.
 *
 * Resumable: after each object the cursor saves, per shard, the last
 * position handed so far; a resumed rebuild skips the objects wholly at or
 * below it and hands the rest of an object that reaches beyond it, so an
 * object archived after the first run (a replay of the archiver's mapping,
 * sorting before the last object done) is not passed over. It writes
 * nothing but the version's tables: no stream, no bridge, no analytics account.
 */
import { encodeAggregated } from "../kpl/aggregate";
import { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from "../shared/kinesisEvent";
import { ArchiveKey, ArchivedRecord, positionOf } from "./format";
import { ArchiveLocation, listArchive, readObject, replayOrder } from "./reader";

/** How far a rebuild got: the last object handed, and per shard the last stored position handed (everything at or below it was). */
export interface RebuildMark {
  key: string;
  through: Record<string, string>;
}

/** Where a rebuild saves how far it got. */
export interface RebuildCursor {
  load(): RebuildMark | undefined;
  save(mark: RebuildMark): void;
}

/** What a rebuild reports as it goes (and at the end). */
export interface RebuildProgress {
  objectsDone: number;
  objectsTotal: number;
  /** Objects passed over because an earlier run did them. */
  objectsSkipped: number;
  /** Records handed to the projector: each archived record once. */
  records: number;
  /** Records passed over because an object replayed before held them too (overlapping objects). */
  recordsOverlapping: number;
  elapsedMs: number;
  /** Per shard, the last archived position replayed and its arrival time. */
  ends: Map<string, { position: string; arrivalMs: number }>;
}

/** Args of {@link rebuildFromArchive}. */
export interface RebuildArgs {
  archive: ArchiveLocation;
  /** The new version's projector (handlers/projector createProjector). */
  project: (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;
  cursor?: RebuildCursor;
  onProgress?: (p: RebuildProgress) => void;
  /** Times an object is handed again when the projector reports failures (throttling), before the rebuild stops. Default 5. */
  attempts?: number;
  /** The event-source ARN the records claim (the source stream's). */
  streamArn?: string;
  now?: () => number;
}

/**
 * The Kinesis records an object's user records came from: plain records as they were, the user
 * records of one KPL aggregate packed again in sub-sequence order (so each gets its own sub-sequence
 * number back when the projector deaggregates).
 */
export function toKinesisRecords(records: ArchivedRecord[], streamArn: string): KinesisStreamRecord[] {
  const out: KinesisStreamRecord[] = [];
  const packed = new Map<string, ArchivedRecord[]>();
  for (const r of records) {
    if (!r.aggregated) {
      out.push(kinesisRecord(r, r.partitionKey, r.data, streamArn));
      continue;
    }
    const users = packed.get(r.sequenceNumber);
    if (users) users.push(r);
    else {
      const group = [r];
      packed.set(r.sequenceNumber, group);
      out.push(kinesisRecord(r, r.partitionKey, "", streamArn));
    }
  }
  for (const rec of out) {
    const users = packed.get(rec.kinesis.sequenceNumber);
    if (!users || rec.kinesis.data !== "") continue;
    users.sort((a, b) => a.subSequenceNumber - b.subSequenceNumber);
    rec.kinesis.data = encodeAggregated(users.map((u) => ({ partitionKey: u.partitionKey, data: Buffer.from(u.data, "base64") }))).toString("base64");
  }
  return out;
}

function kinesisRecord(r: ArchivedRecord, partitionKey: string, data: string, streamArn: string): KinesisStreamRecord {
  return {
    awsRegion: streamArn.split(":")[3] ?? "",
    eventID: `${r.shardId}:${r.sequenceNumber}`,
    eventName: "aws:kinesis:record",
    eventSource: "aws:kinesis",
    eventSourceARN: streamArn,
    eventVersion: "1.0",
    invokeIdentityArn: "",
    kinesis: { kinesisSchemaVersion: "1.0", partitionKey, sequenceNumber: r.sequenceNumber, data, approximateArrivalTimestamp: r.arrivalMs / 1000 },
  };
}

/** Replays the archive into the new version; resolves with the final progress (its `ends` say where the live mapping may start). */
export async function rebuildFromArchive(args: RebuildArgs): Promise<RebuildProgress> {
  const now = args.now ?? Date.now;
  const started = now();
  const streamArn = args.streamArn ?? "arn:aws:kinesis:::stream/archive";
  const keys = replayOrder(await listArchive(args.archive));
  const saved = args.cursor?.load();
  const progress: RebuildProgress = {
    objectsDone: 0,
    objectsTotal: keys.length,
    objectsSkipped: 0,
    records: 0,
    recordsOverlapping: 0,
    elapsedMs: 0,
    ends: new Map(),
  };
  // Per shard, the last position of the objects replayed (or done by an earlier run): objects are contiguous runs
  // replayed by first position, so everything at or below it on that shard has been handed already.
  // A cursor of another archive (the data dir removed, the names repeating) would pass over this one's objects.
  if (saved && !keys.some((k) => k.key === saved.key))
    throw new Error(`the rebuild's cursor names ${saved.key}, which the archive no longer holds; start again without it`);
  const done: Record<string, string> = saved?.through ?? {};
  const through = new Map<string, string>(Object.entries(done));
  const reach = (k: ArchiveKey) => {
    const seen = through.get(k.shardId);
    if (seen === undefined || k.last > seen) through.set(k.shardId, k.last);
  };
  for (const k of keys) {
    const before = done[k.shardId];
    if (before !== undefined && k.last <= before) {
      progress.objectsSkipped++;
      progress.objectsDone++;
      continue;
    }
    const records = await readObject(args.archive, k.key);
    const seen = through.get(k.shardId);
    // Most objects start beyond every object before them: only an overlapping one is read record by record.
    const fresh = seen === undefined || k.first > seen ? records : after(records, seen);
    if (fresh.length > 0) await projectObject(args, k, toKinesisRecords(fresh, streamArn));
    reach(k);
    progress.objectsDone++;
    progress.records += fresh.length;
    progress.recordsOverlapping += records.length - fresh.length;
    progress.elapsedMs = now() - started;
    args.cursor?.save({ key: k.key, through: Object.fromEntries(through) });
    args.onProgress?.(progress);
  }
  progress.ends = await archiveEnds(args.archive, keys);
  progress.elapsedMs = now() - started;
  return progress;
}

/**
 * The records of whole Kinesis records with a user record beyond stored position `through` (a KPL
 * aggregate's user records are kept together, or packing them again would renumber their sub-sequences).
 */
function after(records: ArchivedRecord[], through: string): ArchivedRecord[] {
  const beyond = new Set<string>();
  for (const r of records) if (positionOf(r) > through) beyond.add(r.sequenceNumber);
  return beyond.size === 0 ? [] : records.filter((r) => beyond.has(r.sequenceNumber));
}

/** Per shard, the archive's last position and the latest arrival time in the object that ends there (one read per shard). */
export async function archiveEnds(archive: ArchiveLocation, keys: ArchiveKey[]): Promise<Map<string, { position: string; arrivalMs: number }>> {
  const lastOf = new Map<string, ArchiveKey>();
  for (const k of keys) {
    const seen = lastOf.get(k.shardId);
    if (!seen || k.last > seen.last) lastOf.set(k.shardId, k);
  }
  const ends = new Map<string, { position: string; arrivalMs: number }>();
  for (const [shardId, k] of lastOf) {
    const records = await readObject(archive, k.key);
    ends.set(shardId, { position: k.last, arrivalMs: Math.max(...records.map((r) => r.arrivalMs)) });
  }
  return ends;
}

/** Hands one object's records to the projector until none is reported failed. */
async function projectObject(args: RebuildArgs, k: ArchiveKey, records: KinesisStreamRecord[]): Promise<void> {
  const attempts = args.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const result = await args.project({ Records: records });
    if (result.batchItemFailures.length === 0) return;
    if (attempt >= attempts) {
      throw new Error(
        `archive object ${k.key}: the projector reported records failed ${attempts} times (from ${result.batchItemFailures[0].itemIdentifier}); run the rebuild again to resume`,
      );
    }
  }
}
