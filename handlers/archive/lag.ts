/**
 * How far a read-model version is behind the live stream, measured, not
 * estimated: every record the stream received in the last window is looked
 * up in the version's table, and the lag is the age of the oldest one the
 * version has not reached (applied, or parked behind a block). Cut-over to
 * a version is allowed only while that lag is within a threshold. Also where
 * a new version's live mapping may start: at or before the archive's end on
 * every shard, so the live stream overlaps the archive (the position guard
 * drops the overlap) and leaves no gap.
 */
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient } from "@aws-sdk/client-kinesis";
import { userRecordsOf } from "../kpl/sourceRecords";
import { parseEnvelope } from "../shared/envelope";
import { ReadModelStore, READ_CHUNK } from "../shared/readModelStore";
import { encodePosition } from "../shared/sequence";
import { shardIds } from "./completeness";

/** A lag measurement. */
export interface Lag {
  /** Age of the oldest recent record the version has not reached; 0 when it has reached all. */
  lagMs: number;
  /** Recent records looked up. */
  checked: number;
  /** Of those, not reached yet. */
  behind: number;
}

/** Margin below the archive's end the live mapping starts at: arrival times are approximate, and an overlap costs only no-ops. */
export const LIVE_START_MARGIN_MS = 60_000;

/** The AT_TIMESTAMP a new version's live mapping starts at: the earliest shard end of the archive, less the margin. */
export function liveStartMs(ends: Map<string, { arrivalMs: number }>): number | undefined {
  if (ends.size === 0) return undefined;
  return Math.min(...[...ends.values()].map((e) => e.arrivalMs)) - LIVE_START_MARGIN_MS;
}

interface Recent {
  aggregateId: string;
  position: string;
  arrivalMs: number;
}

async function recentRecords(kinesis: KinesisClient, streamArn: string, sinceMs: number): Promise<Recent[]> {
  const out: Recent[] = [];
  for (const shardId of await shardIds(kinesis, streamArn)) {
    const it = await kinesis.send(
      new GetShardIteratorCommand({ StreamARN: streamArn, ShardId: shardId, ShardIteratorType: "AT_TIMESTAMP", Timestamp: new Date(sinceMs) }),
    );
    let iterator = it.ShardIterator;
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ StreamARN: streamArn, ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? []) {
        const arrivalMs = r.ApproximateArrivalTimestamp?.getTime() ?? sinceMs;
        for (const u of userRecordsOf({ partitionKey: r.PartitionKey ?? "", sequenceNumber: r.SequenceNumber ?? "0", data: r.Data ?? new Uint8Array() })) {
          const parsed = parseEnvelope(u.data);
          // A record that is not an event is poison: the version parks it, it has no aggregate to look up.
          if (parsed.ok) out.push({ aggregateId: parsed.event.aggregateId, position: encodePosition(u.sequenceNumber, u.subSequenceNumber), arrivalMs });
        }
      }
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

/** Measures the version's lag over the records of the last `windowMs`. */
export async function measureLag(kinesis: KinesisClient, streamArn: string, store: ReadModelStore, windowMs: number, now = Date.now()): Promise<Lag> {
  const recent = await recentRecords(kinesis, streamArn, now - windowMs);
  const ids = [...new Set(recent.map((r) => r.aggregateId))];
  const reached = new Map<string, string>();
  for (let i = 0; i < ids.length; i += READ_CHUNK) {
    for (const [id, item] of await store.readMany(ids.slice(i, i + READ_CHUNK))) {
      const through = item.parkedThrough && item.parkedThrough > item.position ? item.parkedThrough : item.position;
      reached.set(id, through);
    }
  }
  const behind = recent.filter((r) => (reached.get(r.aggregateId) ?? "") < r.position);
  const oldest = behind.length ? Math.min(...behind.map((r) => r.arrivalMs)) : now;
  return { lagMs: Math.max(0, now - oldest), checked: recent.length, behind: behind.length };
}
