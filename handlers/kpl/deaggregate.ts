/**
 * KPL deaggregation for the local Firehose, as Amazon Data Firehose does it
 * for a Kinesis Data Streams source: a record whose data is
 *
 *   magic 0xF3899AC2 | protobuf AggregatedRecord | MD5 of the protobuf (16 bytes)
 *
 * and whose MD5 checks out is split into its user records (in order); any
 * other record, a failed checksum or an unparsable protobuf included, is
 * delivered as it is. The format is the one handlers/kplAggregate.ts writes
 * (`aws-kinesis-agg`, amazon-kinesis-producer's aggregation-format.md). A
 * small protobuf reader, no dependency.
 */
import { createHash } from "crypto";

const MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
const MD5_BYTES = 16;

/** One user record of an aggregate. */
export interface KplUserRecord {
  partitionKey: string;
  explicitHashKey?: string;
  data: Buffer;
}

/** True when `data` starts with the KPL magic and is long enough to hold a checksum. */
export function isKplAggregate(data: Uint8Array): boolean {
  return data.length >= MAGIC.length + MD5_BYTES && MAGIC.equals(data.subarray(0, MAGIC.length));
}

/** A protobuf reader over `buf[start, end)`; throws on anything malformed. */
function reader(buf: Buffer, start: number, end: number) {
  let o = start;
  const varint = (): number => {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      // up to 2^56: far beyond any length or index here
      if (o >= end) throw new Error("truncated varint");
      const b = buf[o++];
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
    throw new Error("varint too long");
  };
  const bytes = (): [number, number] => {
    const len = varint();
    if (o + len > end) throw new Error("truncated field");
    const from = o;
    o += len;
    return [from, o];
  };
  const skip = (wireType: number): void => {
    if (wireType === 0) varint();
    else if (wireType === 1) o += 8;
    else if (wireType === 2) bytes();
    else if (wireType === 5) o += 4;
    else throw new Error(`wire type ${wireType}`);
    if (o > end) throw new Error("truncated field");
  };
  return { done: () => o >= end, varint, bytes, skip };
}

/**
 * The user records of a KPL aggregated record, or undefined when `data` is
 * not one Firehose would deaggregate (no magic, checksum mismatch, malformed
 * protobuf, an index outside the key table): such a record is delivered as it is.
 */
export function deaggregateKpl(data: Uint8Array): KplUserRecord[] | undefined {
  if (!isKplAggregate(data)) return undefined;
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const end = buf.length - MD5_BYTES;
  if (!createHash("md5").update(buf.subarray(MAGIC.length, end)).digest().equals(buf.subarray(end))) return undefined;
  try {
    const keys: string[] = [];
    const hashKeys: string[] = [];
    const records: { key: number; hashKey?: number; data: Buffer }[] = [];
    const r = reader(buf, MAGIC.length, end);
    while (!r.done()) {
      const tag = r.varint();
      const field = Math.floor(tag / 8);
      if ((field === 1 || field === 2 || field === 3) && tag % 8 !== 2) throw new Error(`field ${field} is not length-delimited`);
      if (field === 1 || field === 2) {
        const [from, to] = r.bytes();
        (field === 1 ? keys : hashKeys).push(buf.toString("utf8", from, to));
      } else if (field === 3) {
        const [from, to] = r.bytes();
        const rec = reader(buf, from, to);
        let key: number | undefined;
        let hashKey: number | undefined;
        let body: Buffer | undefined;
        while (!rec.done()) {
          const t = rec.varint();
          if (t === 0x08) key = rec.varint();
          else if (t === 0x10) hashKey = rec.varint();
          else if (t === 0x1a) {
            const [a, b] = rec.bytes();
            body = buf.subarray(a, b);
          } else rec.skip(t % 8); // tags (field 4) and anything newer
        }
        if (key === undefined || body === undefined) throw new Error("a record without partition_key_index or data");
        records.push({ key, hashKey, data: body });
      } else {
        r.skip(tag % 8);
      }
    }
    return records.map((x) => {
      const partitionKey = keys[x.key];
      if (partitionKey === undefined) throw new Error(`partition_key_index ${x.key} outside the table`);
      const explicitHashKey = x.hashKey === undefined ? undefined : hashKeys[x.hashKey];
      return { partitionKey, ...(explicitHashKey === undefined ? {} : { explicitHashKey }), data: Buffer.from(x.data) };
    });
  } catch {
    return undefined;
  }
}
