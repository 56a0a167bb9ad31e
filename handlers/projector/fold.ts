/**
 * The projector's pure part: fold one aggregate's records onto its stored
 * item in memory, deciding what is applied, skipped, rejected or parked. No
 * I/O here; the batch is decoded and grouped in records.ts, the dedup window
 * kept in dedupWindow.ts.
 */
import type { Reducer } from "../shared/domain";
import type { EventEnvelope } from "../shared/envelope";
import { ParkedEvent, parkedEventOf } from "../shared/parkedTable";
import {
  emptyAggregate,
  encodeReadModelItem,
  IDEMPOTENCY_CONFLICT,
  withRejected,
  MAX_ITEM_BYTES,
  readModelItemSize,
  recentEntry,
  StoredAggregate,
} from "../shared/readModelItem";
import { showPosition } from "../shared/sequence";
import { eventDataHash, foldWindow, FoldWindow, windowLookup, windowPush, windowString } from "./dedupWindow";
import type { Claims } from "./claims";
import { AggregateBatch, DecodedRecord, Poison, PoisonNote, poisonNote, recordPoison } from "./records";

export { IDEMPOTENCY_CONFLICT };

/** The outcome of folding one aggregate. */
export interface FoldResult {
  /** The item to write; meaningful only when `changed`. */
  next: StoredAggregate;
  /** False when the item would be written unchanged (then nothing is written). */
  changed: boolean;
  /** Events to park before the item is written. */
  parked: readonly ParkedEvent[];
  /** The poison among `parked` (the rest wait behind it), and rejected duplicates (idempotency-conflict). */
  poison: readonly PoisonNote[];
}

/** The parked events and poison of a fold with none (shared, never written to: the fields are readonly). */
const NOTHING: readonly never[] = [];

type FoldAttempt = FoldResult | { restartAt: string; poison: Poison } | { checkEach: true };

/**
 * Items are checked against the limit with room to spare for the block attributes
 * (`parkedAt`, `parkedThrough`: about 300 bytes), which a later fold may add without
 * applying anything; the per-event check (after a failed final one) is stricter still,
 * so it always finds the event that crossed the final limit.
 */
const FINAL_LIMIT = MAX_ITEM_BYTES - 512;
const PER_EVENT_LIMIT = MAX_ITEM_BYTES - 1024;

/** Why an item cannot be stored (over `limit` bytes), or undefined when it can. */
function stateProblem(candidate: StoredAggregate, limit: number): Poison | undefined {
  // A cheap upper bound first (UTF-8 takes at most 3 bytes per UTF-16 unit; the other attributes and all names
  // take well under 1 KB): the exact size is computed only for items that may be near the limit.
  let bound = 1024 + 3 * ((candidate.stateJson?.length ?? 0) + candidate.aggregateId.length);
  bound += 3 * (candidate.recent.length + (candidate.rejected?.length ?? 0));
  if (bound <= limit) return undefined;
  const size = readModelItemSize(encodeReadModelItem(candidate));
  if (size <= limit) return undefined;
  const reason = `reduce returned a state too large to store: the item would be ${size} bytes (DynamoDB's limit is ${MAX_ITEM_BYTES})`;
  return { kind: "state-too-large", reason, detail: `item of ${size} bytes` };
}

function errorName(err: unknown): string {
  return (err as { name?: string } | null | undefined)?.name || "Error";
}

/** The state's JSON, or why it has none. */
function serialiseState(state: unknown): string | Poison {
  let json: string | undefined;
  try {
    json = JSON.stringify(state);
  } catch (err) {
    const name = errorName(err);
    return {
      kind: "state-not-serialisable",
      reason: `reduce returned a state that cannot be serialised (${name}: ${err && (err as Error).message})`,
      detail: name,
    };
  }
  if (json === undefined) return { kind: "state-not-serialisable", reason: "reduce returned a state that cannot be serialised (not JSON)", detail: "not JSON" };
  return json;
}

/** The event's data hash, or why its data cannot be hashed (strings and poison apart: no wrapper per event). */
function dataHash(event: EventEnvelope): string | Poison {
  try {
    return eventDataHash(event);
  } catch (err) {
    const name = errorName(err);
    return { kind: "data-not-serialisable", reason: `event data cannot be serialised (${name}: ${err && (err as Error).message})`, detail: name };
  }
}

/** What reduce made of one event: the next state (null: deleted) with its JSON when checked, or why it is poison. */
type Reduced<S> = { next: S | null; json?: string } | { bad: Poison };

/**
 * Runs reduce on one event. With `candidate` (the slow path, after the final check failed), a state is also
 * serialised and its item, built by `candidate` from the JSON, checked against the per-event limit.
 */
function reduceEvent<S>(reduce: Reducer<S>, state: S | undefined, event: EventEnvelope, candidate?: (json: string) => StoredAggregate): Reduced<S> {
  try {
    const next = reduce(state, event);
    if (next === undefined) return { bad: { kind: "reduce-returned-undefined", reason: "reduce returned undefined", detail: "reduce returned undefined" } };
    if (!candidate || next === null) return { next };
    const json = serialiseState(next);
    if (typeof json !== "string") return { bad: json };
    const bad = stateProblem(candidate(json), PER_EVENT_LIMIT);
    return bad ? { bad } : { next, json };
  } catch (err) {
    const name = errorName(err);
    return { bad: { kind: "reduce-threw", reason: `reduce threw ${name}: ${err && (err as Error).message}`, detail: name } };
  }
}

/** The live window once `entry` is appended, without touching `recent`. */
function windowWith(recent: FoldWindow, entry: string, max: number): string {
  const w = foldWindow(windowString(recent));
  windowPush(w, entry, max);
  return windowString(w);
}

function parked(rec: DecodedRecord, reason: string, parkedBehind?: string): ParkedEvent {
  return parkedEventOf(rec.source, reason, rec.parsed.ok ? rec.parsed.event.eventId : undefined, parkedBehind);
}

function foldOnce<S>(
  stored: StoredAggregate | undefined,
  batch: AggregateBatch,
  reduce: Reducer<S>,
  dedupWindow: number,
  now: string,
  knownPoison: Map<string, Poison> | undefined,
  checkEach: boolean,
  claims: Claims | undefined,
): FoldAttempt {
  const id = batch.aggregateId;
  const base = stored ?? emptyAggregate(id);
  let { position, parkedAt, parkedThrough, version, deleted, rejected } = base;
  if (parkedAt === undefined) parkedThrough = undefined;
  const recent = foldWindow(base.recent);
  let state: S | undefined;
  let stateLoaded = false;
  /** JSON of `state` as last checked (checkEach only). */
  let checkedJson: string | undefined;
  let applied = 0;
  // Made at the first entry: nearly every fold parks nothing.
  let toPark: ParkedEvent[] | undefined;
  let poison: PoisonNote[] | undefined;

  for (const rec of batch.records) {
    if (rec.padded <= position) continue; // applied before: a replay or redelivery
    if (parkedAt !== undefined) {
      // The poison itself was parked durably before the block was stored.
      if (rec.padded !== parkedAt) {
        (toPark ??= []).push(parked(rec, `parked behind ${showPosition(parkedAt)}`, showPosition(parkedAt)));
        if (parkedThrough === undefined || rec.padded > parkedThrough) parkedThrough = rec.padded;
      }
      continue;
    }
    if (rec.discard) {
      position = rec.padded; // an operator discarded it (re-drive --discard): passed, never applied
      continue;
    }
    let bad = knownPoison?.get(rec.padded) ?? recordPoison(rec, id);
    if (!bad && rec.parsed.ok) {
      const event = rec.parsed.event;
      const hashed = dataHash(event);
      const hash = typeof hashed === "string" ? hashed : "";
      if (typeof hashed !== "string") bad = hashed;
      const storedHash = bad ? undefined : windowLookup(recent, event.eventId);
      // Not in the window: a keyed event's claim (claims.ts) says whether its id was seen before, at any distance.
      const claim = bad || storedHash !== undefined ? undefined : claims?.get(rec.padded);
      if (storedHash !== undefined || claim === "retry" || claim === "conflict") {
        position = rec.padded; // seen before: skip it, but don't see it again
        if (storedHash === "" || storedHash === hash || claim === "retry") continue; // a producer retry (or an entry written before the hash)
        // The same eventId with other data: an Idempotency-Key reused for another body. It is parked for
        // the operator but does NOT block the aggregate: it is a rejected duplicate, not a gap in the
        // aggregate's history (the event that owns the id was applied), so later events go on.
        (toPark ??= []).push(parked(rec, IDEMPOTENCY_CONFLICT));
        rejected = withRejected(rejected, rec.padded, event.eventId); // so its poller learns it lost
        (poison ??= []).push(poisonNote({ kind: "idempotency-conflict", reason: IDEMPOTENCY_CONFLICT, detail: IDEMPOTENCY_CONFLICT }, id, rec));
        continue;
      }
      if (!bad) {
        if (!stateLoaded) {
          state = deleted || base.stateJson === undefined ? undefined : (JSON.parse(base.stateJson) as S);
          stateLoaded = true;
        }
        const entry = recentEntry(event.eventId, hash);
        // The slow path builds each event's item to check it: see foldAggregate.
        const candidate = checkEach
          ? (json: string): StoredAggregate => ({
              ...base,
              stateJson: json,
              deleted: false,
              position: rec.padded,
              version: version + 1,
              recent: windowWith(recent, entry, dedupWindow),
              updatedAt: now,
              parkedAt: undefined,
              parkedThrough: undefined,
            })
          : undefined;
        const reduced = reduceEvent(reduce, state, event, candidate);
        if ("bad" in reduced) bad = reduced.bad;
        else {
          state = reduced.next === null ? undefined : reduced.next;
          deleted = reduced.next === null;
          checkedJson = reduced.json;
          version += 1;
          windowPush(recent, entry, dedupWindow);
          position = rec.padded;
          applied += 1;
        }
        // The reducer may have mutated the state before failing: rebuild it from the stored JSON.
        if (bad && applied > 0) return { restartAt: rec.padded, poison: bad };
      }
    }
    if (bad) {
      (toPark ??= []).push(parked(rec, bad.reason));
      (poison ??= []).push(poisonNote(bad, id, rec));
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
      const json = serialiseState(state);
      if (typeof json !== "string") return { checkEach: true };
      stateJson = json;
    }
  }
  const changed = position !== base.position || parkedAt !== base.parkedAt || parkedThrough !== (base.parkedAt === undefined ? undefined : base.parkedThrough);
  const next: StoredAggregate = {
    aggregateId: id,
    stateJson,
    deleted,
    position,
    version,
    recent: windowString(recent),
    updatedAt: now,
    parkedAt,
    parkedThrough,
  };
  if (rejected) next.rejected = rejected; // absent rather than undefined, without spreading an object per fold
  if (applied > 0 && !deleted && stateProblem(next, FINAL_LIMIT)) {
    if (checkEach) throw new Error(`the read-model item of aggregate ${id} is too large although every event was checked`);
    return { checkEach: true };
  }
  return { next, changed, parked: toPark ?? NOTHING, poison: poison ?? NOTHING };
}

/**
 * Folds one aggregate's records onto its stored item (undefined: no item yet).
 * Records at or below the stored position are skipped; duplicates by eventId
 * advance the position only, as do records a re-drive marks `discard`; the
 * first poison blocks the aggregate and every later record is parked behind it. Throws only when the stored state is not
 * JSON. An event whose state cannot be stored (JSON.stringify throws, or the
 * item would exceed DynamoDB's 400 KB) is poison like one whose reduce throws.
 * The state is serialised once per aggregate, at the end: only when that fails
 * is the fold run again checking every event's state, to find the first event
 * that cannot be stored (so a state that is unstorable only in the middle of
 * a batch and storable again by its end is stored; one batch at a time, the
 * middle event would have been parked: the one exception to batch-size
 * independence, for reducers that build and then drop an unstorable state).
 * An event whose eventId is in the window with other data (an Idempotency-Key
 * reused for another body) is parked as rejected without blocking; beyond the
 * window, `claims` (by stored position) say the same of keyed events.
 */
export function foldAggregate<S>(
  stored: StoredAggregate | undefined,
  batch: AggregateBatch,
  reduce: Reducer<S>,
  dedupWindow: number,
  now: string,
  claims?: Claims,
): FoldResult {
  let knownPoison: Map<string, Poison> | undefined; // made at the first restart: most folds never need one
  let checkEach = false;
  for (;;) {
    const attempt = foldOnce(stored, batch, reduce, dedupWindow, now, knownPoison, checkEach, claims);
    if ("checkEach" in attempt) checkEach = true;
    else if ("restartAt" in attempt) (knownPoison ??= new Map()).set(attempt.restartAt, attempt.poison);
    else return attempt;
  }
}
