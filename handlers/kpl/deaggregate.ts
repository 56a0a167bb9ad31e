/**
 * KPL deaggregation, the one reader of the `aws-kinesis-agg` format
 * (amazon-kinesis-producer's aggregation-format.md; handlers/kpl/aggregate.ts
 * writes it): a record whose data is
 *
 *   magic 0xF3899AC2 | protobuf AggregatedRecord | MD5 of the protobuf (16 bytes)
 *
 * is an aggregate; its user records come out in order, once the MD5 checks
 * out and the protobuf parses. `decodeKpl` tells the three cases apart (plain,
 * aggregate, corrupt aggregate) for the readers of the source stream, which
 * park a corrupt one as poison; `deaggregateKpl` is the local Firehose's view,
 * which delivers anything that does not deaggregate as it is, as Amazon Data
 * Firehose does. A small protobuf reader, no dependency; closure-serialisable
 * (plain functions, no module-level Buffer/Set/Map).
 */
import { createHash } from "crypto";
import { KPL_MAGIC } from "./aggregate";

const MAGIC_BYTES = 4;
const MD5_BYTES = 16;

/** One user record of an aggregate. */
export interface KplUserRecord {
  partitionKey: string;
  explicitHashKey?: string;
  data: Buffer;
}

/** What a record's data is: plain (no KPL magic), an aggregate's user records in order, or a corrupt aggregate and why. */
export type KplDecoded = { kind: "plain" } | { kind: "aggregate"; records: KplUserRecord[] } | { kind: "corrupt"; reason: string };

/** True when `data` starts with the KPL magic number (no JSON text does: 0xF3 0x89 0x9A 0xC2 is not UTF-8). */
export function hasKplMagic(data: Uint8Array): boolean {
  return data.length >= MAGIC_BYTES && data[0] === KPL_MAGIC[0] && data[1] === KPL_MAGIC[1] && data[2] === KPL_MAGIC[2] && data[3] === KPL_MAGIC[3];
}

/** True when `data` starts with the KPL magic and is long enough to hold a checksum. */
export function isKplAggregate(data: Uint8Array): boolean {
  return data.length >= MAGIC_BYTES + MD5_BYTES && hasKplMagic(data);
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

/** The user records of the protobuf in `buf[start, end)`; throws on anything malformed. */
function readAggregatedRecord(buf: Buffer, start: number, end: number): KplUserRecord[] {
  const keys: string[] = [];
  const hashKeys: string[] = [];
  const records: { key: number; hashKey?: number; data: Buffer }[] = [];
  const r = reader(buf, start, end);
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
  return records.map((x, i) => {
    const partitionKey = keys[x.key];
    if (partitionKey === undefined) throw new Error(`record ${i}: partition_key_index ${x.key} outside the key table of ${keys.length}`);
    const explicitHashKey = x.hashKey === undefined ? undefined : hashKeys[x.hashKey];
    return { partitionKey, ...(explicitHashKey === undefined ? {} : { explicitHashKey }), data: Buffer.from(x.data) };
  });
}

/**
 * Reads a record's data: "plain" without the KPL magic; with it, the
 * aggregate's user records once the MD5 over the protobuf matches and the
 * protobuf parses, else "corrupt" with the reason (never delivered as JSON).
 */
export function decodeKpl(data: Uint8Array): KplDecoded {
  if (!hasKplMagic(data)) return { kind: "plain" };
  if (data.length < MAGIC_BYTES + MD5_BYTES)
    return { kind: "corrupt", reason: `KPL aggregate of ${data.length} bytes is too short for its MD5 (at least ${MAGIC_BYTES + MD5_BYTES})` };
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const end = buf.length - MD5_BYTES;
  const md5 = createHash("md5").update(buf.subarray(MAGIC_BYTES, end)).digest();
  if (!md5.equals(buf.subarray(end))) {
    return {
      kind: "corrupt",
      reason: `KPL aggregate checksum mismatch: the MD5 of its protobuf is ${md5.toString("hex")}, the record says ${buf.toString("hex", end)}`,
    };
  }
  try {
    return { kind: "aggregate", records: readAggregatedRecord(buf, MAGIC_BYTES, end) };
  } catch (err) {
    return { kind: "corrupt", reason: `KPL aggregate protobuf is malformed: ${(err as Error).message}` };
  }
}

/**
 * The user records of a KPL aggregated record, or undefined when `data` is
 * not one Firehose would deaggregate (no magic, checksum mismatch, malformed
 * protobuf, an index outside the key table): such a record is delivered as it is.
 */
export function deaggregateKpl(data: Uint8Array): KplUserRecord[] | undefined {
  const decoded = decodeKpl(data);
  return decoded.kind === "aggregate" ? decoded.records : undefined;
}
