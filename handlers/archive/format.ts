/**
 * The event archive's format: one S3 object per shard per delivered batch,
 * gzipped JSON Lines, one line per user record of the source stream with
 * everything a rebuild needs to order it (shard, sequence and sub-sequence
 * number, partition key, arrival time) and its bytes exactly as written.
 *
 * The key is derived from what the object holds — its shard and the first
 * and last position in it — so a redelivered batch rewrites the same key
 * instead of adding a copy, and the keys alone tell which run of a shard is
 * covered. Positions are stored padded (handlers/shared/sequence.ts), so key
 * order within a shard is stream order.
 */
import { gunzipSync, gzipSync } from "zlib";
import { userRecordsOf } from "../kpl/sourceRecords";
import { KinesisStreamRecord, recordBytes } from "../shared/kinesisEvent";
import { encodePosition } from "../shared/sequence";

/** One archived user record. */
export interface ArchivedRecord {
  shardId: string;
  sequenceNumber: string;
  /** 0 for a plain record; the index inside a KPL aggregate otherwise. */
  subSequenceNumber: number;
  partitionKey: string;
  /** Milliseconds since the epoch: the record's approximate arrival time in the stream. */
  arrivalMs: number;
  /** Base64 of the user record's bytes as the producer wrote them. */
  data: string;
  /** True for a user record of a KPL aggregate. */
  aggregated?: boolean;
  /** Set when the record carries the KPL magic but does not deaggregate: `data` is then the whole record. */
  corrupt?: string;
}

/** A parsed object key: which run of which shard the object covers. */
export interface ArchiveKey {
  key: string;
  shardId: string;
  /** Stored (padded) positions: string order is stream order. */
  first: string;
  last: string;
}

/** Default prefix of the archive's objects inside its bucket. */
export const ARCHIVE_PREFIX = "records/";
const SUFFIX = ".jsonl.gz";
const SHARD_ID = /^[A-Za-z0-9_.-]{1,128}$/;

/** The shard a delivered record came from: Lambda's eventID is `<shardId>:<sequenceNumber>`. */
export function shardOf(record: KinesisStreamRecord): string {
  const shardId = record.eventID.split(":")[0];
  if (!SHARD_ID.test(shardId)) throw new Error(`record eventID must be <shardId>:<sequenceNumber>, got ${JSON.stringify(record.eventID)}`);
  return shardId;
}

/** The user records of delivered Kinesis records, in delivery order, as the archive stores them. */
export function toArchived(records: KinesisStreamRecord[]): ArchivedRecord[] {
  const out: ArchivedRecord[] = [];
  for (const record of records) {
    const shardId = shardOf(record);
    const arrivalMs = Math.round(record.kinesis.approximateArrivalTimestamp * 1000);
    const users = userRecordsOf({ partitionKey: record.kinesis.partitionKey, sequenceNumber: record.kinesis.sequenceNumber, data: recordBytes(record) });
    for (const u of users) {
      const line: ArchivedRecord = {
        shardId,
        sequenceNumber: u.sequenceNumber,
        subSequenceNumber: u.subSequenceNumber,
        partitionKey: u.partitionKey,
        arrivalMs,
        data: u.data.toString("base64"),
      };
      if (u.aggregated) line.aggregated = true;
      if (u.corrupt) line.corrupt = u.corrupt;
      out.push(line);
    }
  }
  return out;
}

/** A record's stored position. */
export function positionOf(r: Pick<ArchivedRecord, "sequenceNumber" | "subSequenceNumber">): string {
  return encodePosition(r.sequenceNumber, r.subSequenceNumber);
}

/**
 * The key of the object holding `records` (one shard's, in stream order): `<prefix><shardId>/<first>/<last>.jsonl.gz`.
 * Each position its own segment: a padded position is 150 characters, and file-backed stores (s3rver) refuse names over 255.
 */
export function objectKey(prefix: string, records: ArchivedRecord[]): string {
  if (records.length === 0) throw new Error("an archive object holds at least one record, got none");
  const shardId = records[0].shardId;
  if (records.some((r) => r.shardId !== shardId)) throw new Error(`an archive object holds one shard's records, got several besides ${shardId}`);
  return `${prefix}${shardId}/${positionOf(records[0])}/${positionOf(records[records.length - 1])}${SUFFIX}`;
}

/** Parses a key `objectKey` made; undefined for any other object under the prefix. */
export function parseKey(prefix: string, key: string): ArchiveKey | undefined {
  if (!key.startsWith(prefix) || !key.endsWith(SUFFIX)) return undefined;
  const [shardId, first, last, ...rest] = key.slice(prefix.length, -SUFFIX.length).split("/");
  const position = /^\d+(\.\d+)?$/;
  if (rest.length || !shardId || !SHARD_ID.test(shardId) || !position.test(first ?? "") || !position.test(last ?? "") || first > last) return undefined;
  return { key, shardId, first, last };
}

/** One shard's records sorted in stream order, duplicates (same position) dropped. */
export function inStreamOrder(records: ArchivedRecord[]): ArchivedRecord[] {
  const byPosition = new Map<string, ArchivedRecord>();
  for (const r of records) byPosition.set(positionOf(r), r);
  return [...byPosition.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

/** The object's body: gzipped JSON Lines. */
export function encodeObject(records: ArchivedRecord[]): Buffer {
  return gzipSync(Buffer.from(records.map((r) => JSON.stringify(r)).join("\n") + "\n", "utf8"));
}

/** Reads an object's body; throws naming the key and line on anything but the archive's format. */
export function decodeObject(key: string, body: Uint8Array): ArchivedRecord[] {
  const text = gunzipSync(body).toString("utf8");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line, i) => {
      const r = JSON.parse(line) as ArchivedRecord;
      const ok = typeof r.shardId === "string" && /^\d+$/.test(r.sequenceNumber) && Number.isInteger(r.subSequenceNumber) && typeof r.data === "string";
      if (!ok || typeof r.partitionKey !== "string" || !Number.isFinite(r.arrivalMs)) {
        throw new Error(
          `archive object ${key} line ${i + 1} is not an archived record (shardId, sequenceNumber, subSequenceNumber, partitionKey, arrivalMs, data)`,
        );
      }
      return r;
    });
}
