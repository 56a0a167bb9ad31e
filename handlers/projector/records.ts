/**
 * A batch as the projector folds it: every record split into its user
 * records (KPL aggregates deaggregated, handlers/kpl/sourceRecords.ts), each
 * decoded once and grouped by its own aggregate in position order, and the
 * problems that make a user record poison before any reducer runs (a corrupt
 * aggregate, it does not decode, or it names another aggregate).
 */
import { sourceRecords, SourceRecord } from "../kpl/sourceRecords";
import { parseEnvelope, ParseResult } from "../shared/envelope";
import type { KinesisStreamRecord } from "../shared/kinesisEvent";
import { showPosition } from "../shared/sequence";

/** A user record decoded once per batch. */
export interface DecodedRecord {
  source: SourceRecord;
  /** The Kinesis record's, unpadded, as Lambda reports it (batchItemFailures name the record, not the user record). */
  sequenceNumber: string;
  /** The stored position (sequence, sub-sequence): string order is stream order. */
  padded: string;
  parsed: ParseResult;
  /** Set by a re-drive on events an operator discarded: skipped (position passed, never applied) unless blocked before. */
  discard?: boolean;
}

/** One aggregate's records of a batch, in position order. */
export interface AggregateBatch {
  /** The partition key (a user record's own), which is the aggregate id even when the payload is garbage. */
  aggregateId: string;
  records: DecodedRecord[];
}

/** Why a record is poison: `reason` goes to the parked table, `kind`/`detail` to logs (no event data). */
export interface Poison {
  kind:
    | "corrupt-aggregate"
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
  /** Its position: `<sequence>` or `<sequence>.<sub-sequence>`. */
  sequenceNumber: string;
  eventId?: string;
}

/** Decodes a user record's envelope once (a corrupt aggregate is left undecoded: it is poison as it is). */
export function decodeRecord(source: SourceRecord): DecodedRecord {
  const parsed: ParseResult = source.corrupt !== undefined ? { ok: false, reason: source.corrupt } : parseEnvelope(source.data);
  return { source, sequenceNumber: source.sequenceNumber, padded: source.position, parsed };
}

/** Groups decoded user records by their partition key, each group in position order. */
export function groupDecoded(records: DecodedRecord[]): AggregateBatch[] {
  const groups = new Map<string, AggregateBatch>();
  for (const rec of records) {
    const key = rec.source.partitionKey;
    const group = groups.get(key);
    // A new group starts as a one-element array: pushing onto [] reserves room for 17 (most groups of uniform keys stay at one).
    if (group) group.records.push(rec);
    else groups.set(key, { aggregateId: key, records: [rec] });
  }
  const out = [...groups.values()];
  // Lambda delivers in order already; sorting makes the fold independent of it.
  for (const g of out) if (g.records.length > 1) g.records.sort((a, b) => (a.padded < b.padded ? -1 : a.padded > b.padded ? 1 : 0));
  return out;
}

/** Splits every record into its user records, decodes each once and groups them by aggregate (see groupDecoded). */
export function groupRecords(records: KinesisStreamRecord[]): AggregateBatch[] {
  return groupDecoded(sourceRecords(records).map(decodeRecord));
}

/** Decoding problems, found without calling the reducer. */
export function recordPoison(rec: DecodedRecord, aggregateId: string): Poison | undefined {
  if (rec.source.corrupt !== undefined) return { kind: "corrupt-aggregate", reason: rec.source.corrupt, detail: "corrupt KPL aggregate" };
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
  return { ...bad, aggregateId, sequenceNumber: showPosition(rec.padded), ...(rec.parsed.ok ? { eventId: rec.parsed.event.eventId } : {}) };
}
