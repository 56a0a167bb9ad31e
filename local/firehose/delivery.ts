/**
 * What the local Firehose writes and when, as pure functions firehose.ts
 * applies: the records a source record lands as (KPL aggregates split), when
 * the buffer flushes, the object's key and bytes, the error output's records
 * (one JSON line per record, as Firehose writes them), and the backoffs.
 */
import { gzipSync } from "zlib";
import { deaggregateKpl } from "../../handlers/kpl/deaggregate";
import { DeliverySettings, expandPrefix, objectTimestamp } from "./settings";

/** A record waiting in the buffer, with when it arrived (for prefixes and object names) and where it was read (for the checkpoint). */
export interface Buffered {
  data: Buffer;
  arrival: Date;
  from?: { shardId: string; sequenceNumber: string };
}

/** Each shard's last sequence number among delivered records (the buffer keeps each shard's records in order). */
export function deliveredThrough(records: readonly Buffered[]): Record<string, string> {
  const through: Record<string, string> = {};
  for (const r of records) if (r.from) through[r.from.shardId] = r.from.sequenceNumber;
  return through;
}

/** What one source record lands as: its user records when it is a KPL aggregate whose MD5 checks out, else itself. */
export function landedRecords(data: Buffer): { records: Buffer[]; aggregated: boolean } {
  const users = deaggregateKpl(data);
  return users === undefined ? { records: [data], aggregated: false } : { records: users.map((u) => u.data), aggregated: true };
}

/** Whether the buffer has reached `bufferingSize` (counted before compression, as Firehose does). */
export function sizeReached(bufferBytes: number, s: Pick<DeliverySettings, "sizeBytes">): boolean {
  return bufferBytes >= s.sizeBytes;
}

/** Whether the oldest buffered record has waited the buffering interval. */
export function intervalReached(records: number, sinceMs: number, nowMs: number, s: Pick<DeliverySettings, "intervalSeconds">): boolean {
  return records > 0 && nowMs - sinceMs >= s.intervalSeconds * 1000;
}

/**
 * The key of an object holding records whose oldest arrived at `oldest`:
 * the prefix expanded at that time, then `<stream>-1-<yyyy-MM-dd-HH-mm-ss>-<id><extension>`.
 * `errorType` expands `!{firehose:error-output-type}` in an error prefix.
 */
export function objectKey(prefix: string, deliveryStream: string, oldest: Date, id: string, extension: string, errorType?: string): string {
  return `${expandPrefix(prefix, oldest, errorType)}${deliveryStream}-1-${objectTimestamp(oldest)}-${id}${extension}`;
}

/** The records one after the other, each followed by the declared delimiter when there is one. */
export function objectBody(records: readonly Buffered[], delimiter: Buffer | undefined): Buffer {
  return Buffer.concat(records.flatMap((r) => (delimiter === undefined ? [r.data] : [r.data, delimiter])));
}

/** An object's bytes as stored: GZIP when declared. */
export function objectBytes(body: Buffer | string, gzip: boolean): Buffer {
  return gzip ? gzipSync(body) : Buffer.isBuffer(body) ? body : Buffer.from(body);
}

/** The error output for records that could not be delivered: one JSON line per record, its data base64. */
export function errorRecords(records: readonly Buffered[], cause: unknown, attemptsMade: number, endedMs: number): string {
  const lines = records.map((r) =>
    JSON.stringify({
      attemptsMade,
      arrivalTimestamp: r.arrival.getTime(),
      errorCode: (cause as Error)?.name ?? "Error",
      errorMessage: (cause as Error)?.message ?? String(cause),
      attemptEndingTimestamp: endedMs,
      rawData: r.data.toString("base64"),
    }),
  );
  return lines.join("\n") + "\n";
}

/** Milliseconds before PutObject attempt n + 1. */
export function deliveryBackoffMs(attempt: number): number {
  return 100 * 2 ** attempt;
}

/** The next wait after a failed read of the source: doubling from 500 ms, at most 5 s. */
export function readBackoffMs(previous: number): number {
  return Math.min(5000, (previous || 250) * 2);
}
