/**
 * The local Firehose's Kinesis source: which shards to read and how far each
 * has been read. It reads the shards in ListShards' order, a child only once
 * its parents are read to their end (as Firehose and the KCL do), resumes each
 * shard right after its checkpoint, and reads the shard list again every
 * RELIST_MS, or at once when a shard was read to its end (its children may
 * start). firehose.ts owns the buffer and the delivery.
 */
import { performance } from "perf_hooks";
import { DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, Shard } from "@aws-sdk/client-kinesis";
import { listShards, MAX_PAGE_RECORDS, pageBehind, parentsDrained, resumeFrom } from "../emulators/kinesisShards";
import { ShardCheckpoint } from "../shared/checkpoints";
import { DeliverySettings } from "./settings";

/** How far a shard has been read. */
interface ShardCursor {
  iterator?: string;
  lastSequence?: string;
  done: boolean;
}

const RELIST_MS = 10_000;
// Pages read per shard per poll: bounds one poll while a backlog drains.
const MAX_PAGES_PER_POLL = 20;

/** A record read, handed on in shard order. */
export type OnRecord = (data: Buffer, shardId: string, sequenceNumber: string) => Promise<void>;

/** The source as the delivery loop reads it. */
export interface SourceReader {
  /**
   * Reads every shard that may be read now, up to a poll's worth of pages each; stops early when `stopping()`.
   * True when a shard was left behind its tip at the page cap (a backlog draining): read on at once.
   */
  poll(onRecord: OnRecord, stopping: () => boolean): Promise<boolean>;
  /** The shards read to their end (closed, nothing left). */
  drainedShards(): string[];
}

/** The declared source must be the stream this client sees: another account is a wiring bug, not a retry. */
async function verifySource(kinesis: KinesisClient, settings: DeliverySettings): Promise<void> {
  const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: settings.streamName }));
  const arn = summary.StreamDescriptionSummary?.StreamARN;
  if (arn !== settings.streamArn)
    throw Object.assign(new Error(`the Kinesis client sees ${arn}, not the declared source ${settings.streamArn}`), { fatal: true });
}

/** Reads up to a poll's worth of pages of one shard, handing each record to `onRecord` in order; true when it stopped at the cap still behind. */
async function readShard(
  kinesis: KinesisClient,
  streamName: string,
  shardId: string,
  cursor: ShardCursor,
  onRecord: OnRecord,
  stopping: () => boolean,
  pageLimit: number,
): Promise<boolean> {
  if (!cursor.iterator) {
    const start = resumeFrom(cursor.lastSequence, { ShardIteratorType: "TRIM_HORIZON" });
    cursor.iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ...start }))).ShardIterator;
  }
  for (let page = 0; page < MAX_PAGES_PER_POLL && cursor.iterator && !stopping(); page++) {
    let out;
    try {
      out = await kinesis.send(new GetRecordsCommand({ ShardIterator: cursor.iterator, Limit: pageLimit }));
    } catch (err) {
      // An expired iterator is renewed from the last sequence read on the next poll.
      if ((err as Error).name === "ExpiredIteratorException") {
        cursor.iterator = undefined;
        return false;
      }
      throw err;
    }
    for (const r of out.Records ?? []) {
      cursor.lastSequence = r.SequenceNumber;
      await onRecord(Buffer.from(r.Data ?? new Uint8Array()), shardId, r.SequenceNumber!);
    }
    cursor.iterator = out.NextShardIterator;
    if (!cursor.iterator) cursor.done = true; // a closed shard, read to its end
    if (!pageBehind(out, pageLimit)) return false;
  }
  return cursor.iterator !== undefined && !stopping();
}

/** The source of `settings`, each shard resumed right after its checkpoint (a drained one stays drained). */
export function sourceReader(
  kinesis: KinesisClient,
  settings: DeliverySettings,
  checkpoints: Record<string, ShardCheckpoint>,
  pageLimit = MAX_PAGE_RECORDS,
): SourceReader {
  const cursors = new Map<string, ShardCursor>();
  for (const [id, c] of Object.entries(checkpoints)) cursors.set(id, { lastSequence: c.sequenceNumber, done: c.drained === true });
  let verified = false;
  // The last ListShards answer, when it came and how many shards had been read to their end then.
  let shardList: { shards: Shard[]; at: number; done: number } | undefined;
  const drainedShards = () => [...cursors].filter(([, c]) => c.done).map(([id]) => id);
  return {
    drainedShards,
    async poll(onRecord, stopping) {
      if (!verified) {
        await verifySource(kinesis, settings);
        verified = true;
      }
      const done = drainedShards().length;
      if (!shardList || performance.now() - shardList.at >= RELIST_MS || done !== shardList.done)
        shardList = { shards: await listShards(kinesis, settings.streamName), at: performance.now(), done };
      const listed = new Set(shardList.shards.map((s) => s.ShardId!));
      let behind = false;
      for (const shard of shardList.shards) {
        const id = shard.ShardId!;
        if (!parentsDrained(shard, listed, (p) => cursors.get(p)?.done === true)) continue;
        if (!cursors.has(id)) cursors.set(id, { done: false });
        const cursor = cursors.get(id)!;
        if (!cursor.done && (await readShard(kinesis, settings.streamName, id, cursor, onRecord, stopping, pageLimit))) behind = true;
        if (stopping()) return false;
      }
      return behind;
    },
  };
}
