/**
 * How a mapping turns one shard's records into batches, as pure decisions the
 * shard loop (poller.ts) applies: how far to read ahead, which lane a record
 * joins (parallelization factor, order per partition key), how much of a lane
 * the next batch takes, when an idle lane starts one, and how long the loop
 * waits before reading again.
 */
import { MappingSettings, PolledRecord } from "./records";

/** One of a shard's concurrent batches: the records waiting for it, and the batch in flight. */
export interface Lane {
  buffer: PolledRecord[];
  busy?: Promise<void>;
}

/** Lambda's synchronous invocation payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** JSON overhead of one record in the event besides its data. */
const RECORD_OVERHEAD_BYTES = 600;
const MAX_BACKOFF_MS = 5_000;
/** An idle loop that can't read (shard closed, read-ahead full) still looks again after this; a finishing lane wakes it sooner. */
const PARKED_WAIT_MS = 60_000;

/** Records a shard reads ahead while batches are in flight: two batches per lane, at most 20,000. */
export function readAheadCap(s: Pick<MappingSettings, "batchSize" | "parallelizationFactor">): number {
  return Math.min(s.batchSize * s.parallelizationFactor * 2, 20_000);
}

/** Milliseconds before the n-th retry (n ≥ 1): doubling from the poll interval, at most 5 s. */
export function retryDelayMs(n: number, baseMs: number): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** (n - 1));
}

/** A record's size in the event: its data base64-encoded, plus the JSON around it. */
export function eventBytes(r: PolledRecord): number {
  return Math.ceil(r.data.length / 3) * 4 + RECORD_OVERHEAD_BYTES;
}

/** How many records the next batch takes off the front of a lane: at most batchSize, and within Lambda's 6 MB payload unless a single record exceeds it. */
export function batchLength(buffer: readonly PolledRecord[], batchSize: number): number {
  let bytes = 0;
  let n = 0;
  while (n < buffer.length && n < batchSize) {
    bytes += eventBytes(buffer[n]);
    if (n > 0 && bytes > MAX_PAYLOAD_BYTES) break;
    n += 1;
  }
  return n;
}

/**
 * The idle, non-empty lanes that start a batch now — full, past their
 * batching window, or holding the last records of a closed shard — and when
 * the earliest window still open ends (Infinity when none is).
 */
export function lanesDue(
  lanes: readonly Lane[],
  s: Pick<MappingSettings, "batchSize" | "windowMs">,
  now: number,
  closed: boolean,
): { due: number[]; nextWindowEnd: number } {
  const due: number[] = [];
  let nextWindowEnd = Infinity;
  lanes.forEach((lane, i) => {
    if (lane.busy || lane.buffer.length === 0) return;
    const windowEnd = lane.buffer[0].fetchedAt + s.windowMs;
    if (lane.buffer.length >= s.batchSize || now >= windowEnd || closed) due.push(i);
    else nextWindowEnd = Math.min(nextWindowEnd, windowEnd);
  });
  return { due, nextWindowEnd };
}

/** Whether the shard is read to its end and nothing of it is buffered or in flight. */
export function shardFinished(lanes: readonly Lane[], closed: boolean): boolean {
  return closed && lanes.every((l) => !l.busy && l.buffer.length === 0);
}

/** What the loop knows after a pass, for {@link idleWaitMs}. */
export interface PassState {
  /** The last page had records and the shard is still behind its tip. */
  behind: boolean;
  /** The read-ahead has room. */
  room: boolean;
  closed: boolean;
  pollMs: number;
  nextWindowEnd: number;
  now: number;
}

/** How long to wait before the next pass: undefined to read on at once (behind, with room, shard open); else a poll interval (longer when it can't read), cut short by the next window's end. */
export function idleWaitMs(p: PassState): number | undefined {
  if (p.behind && p.room && !p.closed) return undefined;
  return Math.min(p.closed || !p.room ? PARKED_WAIT_MS : p.pollMs, p.nextWindowEnd - p.now);
}
