/**
 * A batch as the projector folds it: every record decoded once and grouped by
 * aggregate in sequence order, and the problems that make a record poison
 * before any reducer runs (it does not decode, or it names another aggregate).
 */
import { parseEnvelope, ParseResult } from "../shared/envelope";
import { KinesisStreamRecord, recordBytes } from "../shared/kinesisEvent";
import { padSequence } from "../shared/sequence";

/** A record decoded once per batch. */
export interface DecodedRecord {
  record: KinesisStreamRecord;
  /** Unpadded, as Lambda reports it. */
  sequenceNumber: string;
  padded: string;
  parsed: ParseResult;
}

/** One aggregate's records of a batch, in sequence order. */
export interface AggregateBatch {
  /** The partition key, which is the aggregate id even when the payload is garbage. */
  aggregateId: string;
  records: DecodedRecord[];
}

/** Why a record is poison: `reason` goes to the parked table, `kind`/`detail` to logs (no event data). */
export interface Poison {
  kind:
    | "undecodable"
    | "invalid-envelope"
    | "aggregate-mismatch"
    | "data-not-serialisable"
    | "reduce-threw"
    | "reduce-returned-undefined"
    | "state-not-serialisable"
    | "state-too-large"
    /** Not poison strictly: a rejected duplicate, parked without blocking the aggregate. */
    | "idempotency-conflict";
  reason: string;
  detail: string;
}

/** A poison event parked by a fold, for logging. */
export interface PoisonNote extends Poison {
  aggregateId: string;
  sequenceNumber: string;
  eventId?: string;
}

/** Decodes a record's envelope once. */
export function decodeRecord(record: KinesisStreamRecord): DecodedRecord {
  const sequenceNumber = record.kinesis.sequenceNumber;
  return { record, sequenceNumber, padded: padSequence(sequenceNumber), parsed: parseEnvelope(recordBytes(record)) };
}

/** Decodes every record once and groups them by partition key, each group in sequence order. */
export function groupRecords(records: KinesisStreamRecord[]): AggregateBatch[] {
  const groups = new Map<string, AggregateBatch>();
  for (const record of records) {
    const key = record.kinesis.partitionKey;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { aggregateId: key, records: [] }));
    group.records.push(decodeRecord(record));
  }
  const out = [...groups.values()];
  // Lambda delivers in order already; sorting makes the fold independent of it.
  for (const g of out) g.records.sort((a, b) => (a.padded < b.padded ? -1 : a.padded > b.padded ? 1 : 0));
  return out;
}

/** Decoding problems, found without calling the reducer. */
export function recordPoison(rec: DecodedRecord, aggregateId: string): Poison | undefined {
  if (!rec.parsed.ok) {
    const undecodable = rec.parsed.reason.startsWith("not UTF-8 JSON");
    // The JSON parser's message quotes the payload: keep it out of logs.
    return undecodable
      ? { kind: "undecodable", reason: rec.parsed.reason, detail: "not UTF-8 JSON" }
      : { kind: "invalid-envelope", reason: rec.parsed.reason, detail: rec.parsed.reason };
  }
  if (rec.parsed.event.aggregateId !== aggregateId) {
    const reason = "envelope aggregateId does not match the partition key";
    return { kind: "aggregate-mismatch", reason, detail: reason };
  }
  return undefined;
}

/** A poison (or rejected) record as the fold reports it. */
export function poisonNote(bad: Poison, aggregateId: string, rec: DecodedRecord): PoisonNote {
  return { ...bad, aggregateId, sequenceNumber: rec.sequenceNumber, ...(rec.parsed.ok ? { eventId: rec.parsed.event.eventId } : {}) };
}
