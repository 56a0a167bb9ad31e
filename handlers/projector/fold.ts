/**
 * The projector's pure part: decode and group a batch by aggregate, and fold
 * one aggregate's records onto its stored item in memory. No I/O here.
 */
import * as crypto from "crypto";
import type { EventEnvelope, ParseResult } from "../shared/envelope";
import type { Reducer } from "../shared/domain";
import { parseEnvelope } from "../shared/envelope";
import { KinesisStreamRecord, recordBytes } from "../shared/kinesisEvent";
import type { ParkedEvent } from "../shared/parkedTable";
import {
  emptyAggregate,
  encodeReadModelItem,
  MAX_ITEM_BYTES,
  readModelItemSize,
  RECENT_SEPARATOR,
  recentCount,
  recentEntry,
  recentLookup,
  StoredAggregate,
} from "../shared/readModelItem";
import { padSequence, unpadSequence } from "../shared/sequence";

/** Why an event is parked when its eventId was applied before with other data. */
export const IDEMPOTENCY_CONFLICT = "Idempotency-Key reused with different data";

/**
 * 8 hex of sha256 over the event's type and data, kept next to its id in the
 * dedup window: a producer retry has the same, a reused Idempotency-Key with
 * another body (same eventId, see apiPostEvent.ts) has not. The envelope's
 * `occurredAt` is left out: the API sets it anew on every request. Throws
 * when the data cannot be serialised (nesting too deep for JSON.stringify).
 */
export function eventDataHash(event: Pick<EventEnvelope, "type" | "data">): string {
  const text = `${event.type}\n${JSON.stringify(event.data)}`;
  // crypto.hash (Node ≥ 20.12) is the one-shot form of the same digest, about 2.5× cheaper for short input.
  const oneShot = (crypto as unknown as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;
  return (oneShot ? oneShot("sha256", text, "hex") : crypto.createHash("sha256").update(text, "utf8").digest("hex")).slice(0, 8);
}

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

/** The outcome of folding one aggregate. */
export interface FoldResult {
  /** The item to write; meaningful only when `changed`. */
  next: StoredAggregate;
  /** False when the item would be written unchanged (then nothing is written). */
  changed: boolean;
  /** Events to park before the item is written. */
  parked: ParkedEvent[];
  /** The poison among `parked` (the rest wait behind it), and rejected duplicates (idempotency-conflict). */
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

/**
 * The dedup window during a fold, without rebuilding the stored string per event: the stored `recent` (its
 * entries before `start` evicted) followed by the entries `added` by this fold (those before `addedStart`
 * evicted). `count` (live entries) is counted at the first append. Joined once, by `windowString`.
 */
interface FoldWindow {
  stored: string;
  start: number;
  added: string;
  addedStart: number;
  count: number;
}

function foldWindow(recent: string): FoldWindow {
  return { stored: recent, start: 0, added: "", addedStart: 0, count: -1 };
}

/** The data hash of `eventId`'s newest live entry ("" when it has none), undefined when not in the window. */
function windowLookup(w: FoldWindow, eventId: string): string | undefined {
  if (w.added !== "") {
    const hash = recentLookup(w.added, eventId, w.addedStart);
    if (hash !== undefined) return hash;
  }
  return w.start < w.stored.length ? recentLookup(w.stored, eventId, w.start) : undefined;
}

/** Appends an entry, evicting the oldest beyond `max`. */
function windowPush(w: FoldWindow, entry: string, max: number): void {
  if (w.count < 0) w.count = recentCount(w.stored);
  w.added = w.added === "" ? entry : w.added + RECENT_SEPARATOR + entry;
  for (w.count += 1; w.count > max; w.count--) {
    if (w.start < w.stored.length) {
      const sep = w.stored.indexOf(RECENT_SEPARATOR, w.start);
      w.start = sep < 0 ? w.stored.length : sep + 1;
    } else {
      const sep = w.added.indexOf(RECENT_SEPARATOR, w.addedStart);
      if (sep >= 0) w.addedStart = sep + 1;
      else {
        w.added = "";
        w.addedStart = 0;
      }
    }
  }
}

/** The live window as one string (the `recent` attribute). */
function windowString(w: FoldWindow): string {
  const stored = w.start === 0 ? w.stored : w.start >= w.stored.length ? "" : w.stored.slice(w.start);
  const added = w.addedStart === 0 ? w.added : w.added.slice(w.addedStart);
  return stored === "" ? added : added === "" ? stored : stored + RECENT_SEPARATOR + added;
}

type FoldAttempt = FoldResult | { restartAt: string; poison: Poison } | { checkEach: true };

/** Why an item cannot be stored (over `limit` bytes), or undefined when it can. */
function stateProblem(candidate: StoredAggregate, limit: number): Poison | undefined {
  // A cheap upper bound first (UTF-8 takes at most 3 bytes per UTF-16 unit; the other attributes and all names
  // take well under 1 KB): the exact size is computed only for items that may be near the limit.
  let bound = 1024 + 3 * ((candidate.stateJson?.length ?? 0) + candidate.aggregateId.length + (candidate.lastEventId?.length ?? 0));
  bound += 3 * candidate.recent.length;
  if (bound <= limit) return undefined;
  const size = readModelItemSize(encodeReadModelItem(candidate));
  if (size <= limit) return undefined;
  const reason = `reduce returned a state too large to store: the item would be ${size} bytes (DynamoDB's limit is ${MAX_ITEM_BYTES})`;
  return { kind: "state-too-large", reason, detail: `item of ${size} bytes` };
}

function serialiseState(state: unknown): { json: string } | { poison: Poison } {
  let json: string | undefined;
  try {
    json = JSON.stringify(state);
  } catch (err) {
    const e = err as Error;
    const name = (e && e.name) || "Error";
    return {
      poison: { kind: "state-not-serialisable", reason: `reduce returned a state that cannot be serialised (${name}: ${e && e.message})`, detail: name },
    };
  }
  if (json === undefined)
    return { poison: { kind: "state-not-serialisable", reason: "reduce returned a state that cannot be serialised (not JSON)", detail: "not JSON" } };
  return { json };
}

/**
 * Items are checked against the limit with room to spare for the block attributes
 * (`parkedAt`, `parkedThrough`: about 300 bytes), which a later fold may add without
 * applying anything; the per-event check (after a failed final one) is stricter still,
 * so it always finds the event that crossed the final limit.
 */
const FINAL_LIMIT = MAX_ITEM_BYTES - 512;
const PER_EVENT_LIMIT = MAX_ITEM_BYTES - 1024;

function foldOnce<S>(
  stored: StoredAggregate | undefined,
  batch: AggregateBatch,
  reduce: Reducer<S>,
  dedupWindow: number,
  now: string,
  knownPoison: Map<string, Poison>,
  checkEach: boolean,
): FoldAttempt {
  const id = batch.aggregateId;
  const base = stored ?? emptyAggregate(id);
  let { position, parkedAt, parkedThrough, version, lastEventId, deleted } = base;
  if (parkedAt === undefined) parkedThrough = undefined;
  const recent = foldWindow(base.recent);
  let state: S | undefined;
  let stateLoaded = false;
  /** JSON of `state` as last checked (checkEach only). */
  let checkedJson: string | undefined;
  let applied = 0;
  const parked: ParkedEvent[] = [];
  const poison: PoisonNote[] = [];

  for (const rec of batch.records) {
    if (rec.padded <= position) continue; // applied before: a replay or redelivery
    if (parkedAt !== undefined) {
      // The poison itself was parked durably before the block was stored.
      if (rec.padded !== parkedAt) {
        parked.push(parkedEvent(id, rec, `parked behind ${unpadSequence(parkedAt)}`, unpadSequence(parkedAt)));
        if (parkedThrough === undefined || rec.padded > parkedThrough) parkedThrough = rec.padded;
      }
      continue;
    }
    let bad = knownPoison.get(rec.padded) ?? recordPoison(rec, id);
    if (!bad && rec.parsed.ok) {
      const event = rec.parsed.event;
      let hash = "";
      try {
        hash = eventDataHash(event);
      } catch (err) {
        const e = err as Error;
        const name = (e && e.name) || "Error";
        bad = { kind: "data-not-serialisable", reason: `event data cannot be serialised (${name}: ${e && e.message})`, detail: name };
      }
      const storedHash = bad ? undefined : windowLookup(recent, event.eventId);
      if (storedHash !== undefined) {
        position = rec.padded; // seen before: skip it, but don't see it again
        if (storedHash === "" || storedHash === hash) continue; // a producer retry (or an entry written before the hash)
        // The same eventId with other data: an Idempotency-Key reused for another body. It is parked for
        // the operator but does NOT block the aggregate: it is a rejected duplicate, not a gap in the
        // aggregate's history (the event that owns the id was applied), so later events go on.
        parked.push(parkedEvent(id, rec, IDEMPOTENCY_CONFLICT));
        poison.push({
          kind: "idempotency-conflict",
          reason: IDEMPOTENCY_CONFLICT,
          detail: IDEMPOTENCY_CONFLICT,
          aggregateId: id,
          sequenceNumber: rec.sequenceNumber,
          eventId: event.eventId,
        });
        continue;
      }
      if (!bad) {
        if (!stateLoaded) {
          state = deleted || base.stateJson === undefined ? undefined : (JSON.parse(base.stateJson) as S);
          stateLoaded = true;
        }
        try {
          const next = reduce(state, event);
          if (next === undefined) bad = { kind: "reduce-returned-undefined", reason: "reduce returned undefined", detail: "reduce returned undefined" };
          else {
            let json: string | undefined;
            if (checkEach && next !== null) {
              // Slow path, after the final check failed: find the event whose state cannot be stored.
              const s = serialiseState(next);
              if ("poison" in s) bad = s.poison;
              else {
                json = s.json;
                const nextWindow = foldWindow(windowString(recent));
                windowPush(nextWindow, recentEntry(event.eventId, hash), dedupWindow);
                const nextRecent = windowString(nextWindow);
                bad = stateProblem(
                  {
                    ...base,
                    stateJson: json,
                    deleted: false,
                    position: rec.padded,
                    version: version + 1,
                    lastEventId: event.eventId,
                    recent: nextRecent,
                    updatedAt: now,
                    parkedAt: undefined,
                    parkedThrough: undefined,
                  },
                  PER_EVENT_LIMIT,
                );
              }
            }
            if (!bad) {
              state = next === null ? undefined : next;
              deleted = next === null;
              checkedJson = json;
              version += 1;
              lastEventId = event.eventId;
              windowPush(recent, recentEntry(event.eventId, hash), dedupWindow);
              position = rec.padded;
              applied += 1;
            }
          }
        } catch (err) {
          const e = err as Error;
          const name = (e && e.name) || "Error";
          bad = { kind: "reduce-threw", reason: `reduce threw ${name}: ${e && e.message}`, detail: name };
        }
        // The reducer may have mutated the state before failing: rebuild it from the stored JSON.
        if (bad && applied > 0) return { restartAt: rec.padded, poison: bad };
      }
    }
    if (bad) {
      parked.push(parkedEvent(id, rec, bad.reason));
      poison.push({ ...bad, aggregateId: id, sequenceNumber: rec.sequenceNumber, ...(rec.parsed.ok ? { eventId: rec.parsed.event.eventId } : {}) });
      parkedAt = rec.padded;
      parkedThrough = rec.padded;
    }
  }

  let stateJson = base.stateJson;
  if (applied > 0) {
    // Serialised once per aggregate, not per event; a state that cannot be stored sends the fold down the slow path.
    if (deleted) stateJson = undefined;
    else if (checkEach) stateJson = checkedJson;
    else {
      const s = serialiseState(state);
      if ("poison" in s) return { checkEach: true };
      stateJson = s.json;
    }
  }
  const changed = position !== base.position || parkedAt !== base.parkedAt || parkedThrough !== (base.parkedAt === undefined ? undefined : base.parkedThrough);
  const next: StoredAggregate = {
    aggregateId: id,
    stateJson,
    deleted,
    position,
    version,
    lastEventId,
    recent: windowString(recent),
    updatedAt: now,
    parkedAt,
    parkedThrough,
  };
  if (applied > 0 && !deleted && stateProblem(next, FINAL_LIMIT)) {
    if (checkEach) throw new Error(`the read-model item of aggregate ${id} is too large although every event was checked`);
    return { checkEach: true };
  }
  return { next, changed, parked, poison };
}

/**
 * Folds one aggregate's records onto its stored item (undefined: no item yet).
 * Records at or below the stored position are skipped; duplicates by eventId
 * advance the position only; the first poison blocks the aggregate and every
 * later record is parked behind it. Throws only when the stored state is not
 * JSON. An event whose state cannot be stored (JSON.stringify throws, or the
 * item would exceed DynamoDB's 400 KB) is poison like one whose reduce throws.
 * The state is serialised once per aggregate, at the end: only when that fails
 * is the fold run again checking every event's state, to find the first event
 * that cannot be stored (so a state that is unstorable only in the middle of
 * a batch and storable again by its end is stored; one batch at a time, the
 * middle event would have been parked: the one exception to batch-size
 * independence, for reducers that build and then drop an unstorable state).
 * An event whose eventId is in the window with other data (an Idempotency-Key
 * reused for another body) is parked as rejected without blocking.
 */
export function foldAggregate<S>(stored: StoredAggregate | undefined, batch: AggregateBatch, reduce: Reducer<S>, dedupWindow: number, now: string): FoldResult {
  const knownPoison = new Map<string, Poison>();
  let checkEach = false;
  for (;;) {
    const attempt = foldOnce(stored, batch, reduce, dedupWindow, now, knownPoison, checkEach);
    if ("checkEach" in attempt) checkEach = true;
    else if ("restartAt" in attempt) knownPoison.set(attempt.restartAt, attempt.poison);
    else return attempt;
  }
}
