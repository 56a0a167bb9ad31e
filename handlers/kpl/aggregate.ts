/**
 * KPL-style record aggregation in the `aws-kinesis-agg` format, so the
 * official deaggregators (and Amazon Data Firehose, which de-aggregates KPL
 * records from a Kinesis Data Streams source) read what the bridge writes:
 *
 *   magic 0xF3899AC2 | protobuf AggregatedRecord | MD5 of the protobuf (16 bytes)
 *
 *   message AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2; repeated Record records = 3; }
 *   message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2; required bytes data = 3; repeated Tag tags = 4; }
 *
 * A tiny protobuf writer, no dependency (the Lambda carries only its
 * serialised code). Closure-serialisable: plain functions and arrays, no
 * module-level Set/Map/classes.
 */
import { createHash } from "crypto";

/** The KPL aggregation magic number. */
export const KPL_MAGIC = [0xf3, 0x89, 0x9a, 0xc2];
/** Magic (4) + MD5 (16): what an aggregated record adds around its protobuf. */
export const KPL_FRAMING_BYTES = 20;

/** One user record to aggregate. */
export interface UserRecord {
  partitionKey: string;
  data: Uint8Array;
}

/** Bytes of `n` as a protobuf varint (n ≥ 0, below 2^53). */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size += 1;
  }
  return size;
}

function writeVarint(buf: Buffer, offset: number, n: number): number {
  while (n >= 128) {
    buf[offset++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}

/** Bytes one `Record` adds to the AggregatedRecord (field tag, length, body). */
export function recordFieldSize(keyIndex: number, dataBytes: number): number {
  const body = 1 + varintSize(keyIndex) + 1 + varintSize(dataBytes) + dataBytes;
  return 1 + varintSize(body) + body;
}

/** Bytes one partition key table entry adds. */
export function keyFieldSize(keyBytes: number): number {
  return 1 + varintSize(keyBytes) + keyBytes;
}

/**
 * Encodes user records into one aggregated record's data: magic, protobuf,
 * MD5. Partition keys are interned in order of first appearance.
 */
export function encodeAggregated(records: readonly UserRecord[]): Buffer {
  const keys: string[] = [];
  const keyBytes: Buffer[] = [];
  // A plain object as the lookup table (closure serialisation keeps no Map internals).
  const keyIndex: Record<string, number> = Object.create(null);
  const indices: number[] = new Array(records.length);
  let size = 0;
  for (let i = 0; i < records.length; i++) {
    const pk = records[i].partitionKey;
    let k = keyIndex[pk];
    if (k === undefined) {
      k = keys.length;
      keyIndex[pk] = k;
      keys.push(pk);
      const b = Buffer.from(pk, "utf8");
      keyBytes.push(b);
      size += keyFieldSize(b.length);
    }
    indices[i] = k;
    size += recordFieldSize(k, records[i].data.length);
  }
  const out = Buffer.allocUnsafe(4 + size + 16);
  out[0] = KPL_MAGIC[0];
  out[1] = KPL_MAGIC[1];
  out[2] = KPL_MAGIC[2];
  out[3] = KPL_MAGIC[3];
  let o = 4;
  for (const b of keyBytes) {
    out[o++] = 0x0a; // field 1, length-delimited
    o = writeVarint(out, o, b.length);
    o += b.copy(out, o);
  }
  for (let i = 0; i < records.length; i++) {
    const data = records[i].data;
    const k = indices[i];
    out[o++] = 0x1a; // field 3, length-delimited
    o = writeVarint(out, o, 1 + varintSize(k) + 1 + varintSize(data.length) + data.length);
    out[o++] = 0x08; // Record.partition_key_index, varint
    o = writeVarint(out, o, k);
    out[o++] = 0x1a; // Record.data, length-delimited
    o = writeVarint(out, o, data.length);
    out.set(data, o);
    o += data.length;
  }
  createHash("md5").update(out.subarray(4, o)).digest().copy(out, o);
  return out;
}

/** What the packer needs of each entry. */
export interface PackItem {
  /** The user record's own partition key (kept inside the aggregate). */
  partitionKey: string;
  data: Uint8Array;
}

/** A group of consecutive items that fit one aggregated record (`aggregate` false: one item sent as it is). */
export interface Pack<T> {
  items: T[];
  aggregate: boolean;
}

/**
 * Splits `items` (in order) into consecutive packs whose aggregated record,
 * plus `outerKeyBytes` of the Kinesis partition key, stays within `maxBytes`
 * (Kinesis: 1 MiB). A single item that does not fit aggregated is returned
 * alone with `aggregate: false` (deaggregators pass non-KPL records through).
 * Linear in the number of items.
 */
export function packAggregates<T extends PackItem>(items: readonly T[], outerKeyBytes: number, maxBytes: number): Pack<T>[] {
  const packs: Pack<T>[] = [];
  const budget = maxBytes - outerKeyBytes - KPL_FRAMING_BYTES;
  let current: T[] = [];
  let keys: Record<string, number> = Object.create(null);
  let keyCount = 0;
  let size = 0;
  const flush = () => {
    if (current.length > 0) packs.push({ items: current, aggregate: true });
    current = [];
    keys = Object.create(null);
    keyCount = 0;
    size = 0;
  };
  const added = (item: T): number => {
    const k = keys[item.partitionKey];
    if (k !== undefined) return recordFieldSize(k, item.data.length);
    return keyFieldSize(Buffer.byteLength(item.partitionKey, "utf8")) + recordFieldSize(keyCount, item.data.length);
  };
  for (const item of items) {
    let cost = added(item);
    if (size + cost > budget && current.length > 0) {
      flush();
      cost = added(item);
    }
    if (cost > budget) {
      packs.push({ items: [item], aggregate: false });
      continue;
    }
    if (keys[item.partitionKey] === undefined) keys[item.partitionKey] = keyCount++;
    current.push(item);
    size += cost;
  }
  flush();
  return packs;
}
