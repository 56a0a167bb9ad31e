/**
 * The projector's pure part: decode and group a batch by aggregate, and fold
 * one aggregate's records onto its stored item in memory. No I/O here.
 */
import type { EventEnvelope, ParseResult } from "./envelope";
import { parseEnvelope } from "./envelope";
import { KinesisStreamRecord, recordBytes } from "./kinesisEvent";
import type { ParkedEvent } from "./parking";
import { emptyAggregate, StoredAggregate } from "./readModel";
import { padSequence, unpadSequence } from "./sequence";

/** The reducer a user writes: `null` deletes (a tombstone). */
export type Reducer<S = unknown> = (state: S | undefined, event: EventEnvelope) => S | null;

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
  kind: "undecodable" | "invalid-envelope" | "aggregate-mismatch" | "reduce-threw" | "reduce-returned-undefined";
  reason: string;
  detail: string;
}

/** A poison event parked by a fold, for logging. */
export interface PoisonNote extends Poison {
  aggregateId: string;
  sequenceNumber: string;
  eventId?: string;
}

/** The outcome of folding one aggregate. */
export interface FoldResult {
  /** The item to write; meaningful only when `changed`. */
  next: StoredAggregate;
  /** False when the item would be written unchanged (then nothing is written). */
  changed: boolean;
  /** Events to park before the item is written. */
  parked: ParkedEvent[];
  /** The poison among `parked` (the rest wait behind it). */
  poison: PoisonNote[];
}

/** Decodes every record once and groups them by partition key, each group in sequence order. */
export function groupRecords(records: KinesisStreamRecord[]): AggregateBatch[] {
  const groups = new Map<string, AggregateBatch>();
  for (const record of records) {
    const sequenceNumber = record.kinesis.sequenceNumber;
    const decoded: DecodedRecord = { record, sequenceNumber, padded: padSequence(sequenceNumber), parsed: parseEnvelope(recordBytes(record)) };
    const key = record.kinesis.partitionKey;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { aggregateId: key, records: [] }));
    group.records.push(decoded);
  }
  const out = [...groups.values()];
  // Lambda delivers in order already; sorting makes the fold independent of it.
  for (const g of out) g.records.sort((a, b) => (a.padded < b.padded ? -1 : a.padded > b.padded ? 1 : 0));
  return out;
}

/** Decoding problems, found without calling the reducer. */
function recordPoison(rec: DecodedRecord, aggregateId: string): Poison | undefined {
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

function parkedEvent(aggregateId: string, rec: DecodedRecord, reason: string, parkedBehind?: string): ParkedEvent {
  const e: ParkedEvent = {
    aggregateId,
    sequenceNumber: rec.sequenceNumber,
    reason,
    data: rec.record.kinesis.data,
    arrivedAt: new Date(Math.round(rec.record.kinesis.approximateArrivalTimestamp * 1000)).toISOString(),
    shardEventId: rec.record.eventID,
  };
  if (rec.parsed.ok) e.eventId = rec.parsed.event.eventId;
  if (parkedBehind !== undefined) e.parkedBehind = parkedBehind;
  return e;
}

type FoldAttempt = FoldResult | { restartAt: string; poison: Poison };

function foldOnce<S>(
  stored: StoredAggregate | undefined,
  batch: AggregateBatch,
  reduce: Reducer<S>,
  dedupWindow: number,
  now: string,
  knownPoison: Map<string, Poison>,
): FoldAttempt {
  const id = batch.aggregateId;
  const base = stored ?? emptyAggregate(id);
  let { position, parkedAt, version, lastEventId, deleted } = base;
  let recent = base.recentEventIds;
  let state: S | undefined;
  let stateLoaded = false;
  let applied = 0;
  const parked: ParkedEvent[] = [];
  const poison: PoisonNote[] = [];

  for (const rec of batch.records) {
    if (rec.padded <= position) continue; // applied before: a replay or redelivery
    if (parkedAt !== undefined) {
      // The poison itself was parked durably before the block was stored.
      if (rec.padded !== parkedAt) parked.push(parkedEvent(id, rec, `parked behind ${unpadSequence(parkedAt)}`, unpadSequence(parkedAt)));
      continue;
    }
    let bad = knownPoison.get(rec.padded) ?? recordPoison(rec, id);
    if (!bad && rec.parsed.ok) {
      const event = rec.parsed.event;
      if (recent.includes(event.eventId)) {
        position = rec.padded; // a producer retry: skip it, but don't see it again
        continue;
      }
      if (!stateLoaded) {
        state = deleted || base.stateJson === undefined ? undefined : (JSON.parse(base.stateJson) as S);
        stateLoaded = true;
      }
      try {
        const next = reduce(state, event);
        if (next === undefined) bad = { kind: "reduce-returned-undefined", reason: "reduce returned undefined", detail: "reduce returned undefined" };
        else {
          state = next === null ? undefined : next;
          deleted = next === null;
          version += 1;
          lastEventId = event.eventId;
          recent = recent === base.recentEventIds ? recent.slice() : recent;
          recent.push(event.eventId);
          if (recent.length > dedupWindow) recent.splice(0, recent.length - dedupWindow);
          position = rec.padded;
          applied += 1;
        }
      } catch (err) {
        const e = err as Error;
        const name = (e && e.name) || "Error";
        bad = { kind: "reduce-threw", reason: `reduce threw ${name}: ${e && e.message}`, detail: name };
      }
      // The reducer may have mutated the state before failing: rebuild it from the stored JSON.
      if (bad && applied > 0) return { restartAt: rec.padded, poison: bad };
    }
    if (bad) {
      parked.push(parkedEvent(id, rec, bad.reason));
      poison.push({ ...bad, aggregateId: id, sequenceNumber: rec.sequenceNumber, ...(rec.parsed.ok ? { eventId: rec.parsed.event.eventId } : {}) });
      parkedAt = rec.padded;
    }
  }

  let stateJson = base.stateJson;
  if (applied > 0) {
    stateJson = deleted ? undefined : JSON.stringify(state); // once per aggregate, not per event
    if (!deleted && stateJson === undefined) throw new Error(`reduce produced a state that is not JSON for aggregate ${id}`);
  }
  const changed = position !== base.position || parkedAt !== base.parkedAt;
  const next: StoredAggregate = { aggregateId: id, stateJson, deleted, position, version, lastEventId, recentEventIds: recent, updatedAt: now, parkedAt };
  return { next, changed, parked, poison };
}

/**
 * Folds one aggregate's records onto its stored item (undefined: no item yet).
 * Records at or below the stored position are skipped; duplicates by eventId
 * advance the position only; the first poison blocks the aggregate and every
 * later record is parked behind it. Throws only when the stored state is not
 * JSON or the reducer's state cannot be serialised.
 */
export function foldAggregate<S>(
  stored: StoredAggregate | undefined,
  batch: AggregateBatch,
  reduce: Reducer<S>,
  dedupWindow: number,
  now: string,
): FoldResult {
  const knownPoison = new Map<string, Poison>();
  for (;;) {
    const attempt = foldOnce(stored, batch, reduce, dedupWindow, now, knownPoison);
    if (!("restartAt" in attempt)) return attempt;
    knownPoison.set(attempt.restartAt, attempt.poison);
  }
}
