/**
 * The source stream as its readers see it: each Kinesis record split into
 * its user records, each with its position (sequence number, sub-sequence
 * number) and its own partition key, as the KCL and the Lambda deaggregators
 * number them: a plain record is one user record at sub-sequence 0, an
 * aggregate's user records take their index. The projector, the bridge and
 * the re-drive read the stream through `sourceRecords`; an archive reader
 * (records with shard, sequence number and data) uses `userRecordsOf`.
 * A record with the KPL magic whose MD5 or protobuf fails is one "corrupt"
 * record, poison, under its outer key: never passed on as JSON.
 */
import { KinesisStreamRecord, recordBytes } from "../shared/kinesisEvent";
import { encodePosition } from "../shared/sequence";
import { decodeKpl, hasKplMagic } from "./deaggregate";

/** One user record of the source stream. */
export interface UserRecordAt {
  /** Its own partition key: the aggregate's key table entry, or the Kinesis record's key for a plain (or corrupt) record. */
  partitionKey: string;
  /** The Kinesis record's sequence number (unpadded); every user record of an aggregate shares it. */
  sequenceNumber: string;
  /** Its index in the aggregate; 0 for a plain record. */
  subSequenceNumber: number;
  /** True for a user record of a KPL aggregate (its data is its own, not the Kinesis record's). */
  aggregated: boolean;
  data: Buffer;
  /** Set on a Kinesis record that carries the KPL magic but does not deaggregate (checksum, protobuf): why. `data` is the whole record. */
  corrupt?: string;
}

/** A user record together with the record Lambda delivered (its shard event id, arrival time). */
export interface SourceRecord extends UserRecordAt {
  record: KinesisStreamRecord;
  /** The stored form of its position (handlers/shared/sequence.ts): string order is stream order. */
  position: string;
}

/** The user records of one Kinesis record (partition key, sequence number and raw data), in order. */
export function userRecordsOf(record: { partitionKey: string; sequenceNumber: string; data: Uint8Array }): UserRecordAt[] {
  const data = Buffer.isBuffer(record.data) ? record.data : Buffer.from(record.data.buffer, record.data.byteOffset, record.data.length);
  const whole = { partitionKey: record.partitionKey, sequenceNumber: record.sequenceNumber, subSequenceNumber: 0, aggregated: false, data };
  const decoded = decodeKpl(data);
  if (decoded.kind === "plain") return [whole];
  if (decoded.kind === "corrupt") return [{ ...whole, corrupt: decoded.reason }];
  return decoded.records.map((u, i) => ({
    partitionKey: u.partitionKey,
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: i,
    aggregated: true,
    data: u.data,
  }));
}

/** Every user record of a Lambda batch, in delivery order, each with its record and position. */
export function sourceRecords(records: KinesisStreamRecord[]): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (const record of records) {
    const { partitionKey, sequenceNumber } = record.kinesis;
    const data = recordBytes(record);
    // A plain record (nearly all of them) is built in one literal: spreading a user record per record cost more than decoding it.
    if (!hasKplMagic(data)) {
      out.push({ partitionKey, sequenceNumber, subSequenceNumber: 0, aggregated: false, data, record, position: encodePosition(sequenceNumber) });
      continue;
    }
    for (const u of userRecordsOf({ partitionKey, sequenceNumber, data }))
      out.push({ ...u, record, position: encodePosition(u.sequenceNumber, u.subSequenceNumber) });
  }
  return out;
}
