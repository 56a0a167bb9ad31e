/**
 * Operator re-drive of the projector's parked events, after a fix to `reduce`.
 * Reuses the projector's own fold, store and parking code, so a re-driven
 * event is applied exactly as the projector would have applied it.
 *
 * Per blocked aggregate (its item has `parkedAt`):
 * 0. rows parked before KPL deaggregation that hold a whole aggregate are
 *    unpacked first (legacyRows.ts), so each row holds one user record;
 * 1. read the item (consistent) and its parked rows (position order);
 * 2. rows at or below the stored position are already past: deleted when
 *    provably applied (their eventId is among the item's recent ids with the
 *    same data hash: an earlier re-drive stopped before cleaning up, or a
 *    redelivery parked them again); rejected duplicates (an eventId applied
 *    with other data) are kept and reported; anything else is kept and
 *    reported as skipped (never deleted silently);
 * 3. fold the rows above the position up to the item's `parkedThrough` (all
 *    of them on items written before it) onto the item with the block lifted,
 *    with the CURRENT reduce; an event that still fails blocks the aggregate
 *    again, and it and every later row stay parked (their rows rewritten with
 *    the new reason). Rows an operator discards (discard.ts) are passed over
 *    in the fold (position advanced, never applied) and get an audit row
 *    before the item is written;
 * 4. one conditional write (position, `parkedAt` and `parkedThrough` as read),
 *    exactly as the projector writes: a concurrent projector parking more
 *    events (it advances `parkedThrough` with the same condition) or another
 *    re-drive makes it fail, and it is re-read and re-folded;
 * 5. delete the rows that were applied. Rows above `parkedThrough` belong to a
 *    projector whose own conditional write is still to come: if the block was
 *    lifted first, that write fails and the projector applies them itself, in
 *    order (see `redriveAggregate`).
 * Idempotent: running it again finds nothing above the position and changes nothing.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { claimAggregate, readModelClaims } from "../projector/claims";
import { foldAggregate, IDEMPOTENCY_CONFLICT } from "../projector/fold";
import { AggregateBatch, decodeRecord, DecodedRecord } from "../projector/records";
import type { Reducer } from "../shared/domain";
import { DiscardedEvent, ParkedEvent, parkedPosition, parkedTable } from "../shared/parkedTable";
import type { StoredAggregate } from "../shared/readModelItem";
import { readModelStore } from "../shared/readModelStore";
import { realClock, RetryBudget, RetryClock } from "../shared/retry";
import { unpackLegacyRows } from "./legacyRows";
import { rowSources, rowStatus } from "./parkedRows";

/** What a re-drive did to one aggregate. */
export interface RedriveResult {
  aggregateId: string;
  /** "applied": the whole backlog applied and the block lifted; "stillBlocked": an event failed again; "notBlocked": nothing to do; "conflict": kept losing the conditional write. */
  outcome: "applied" | "stillBlocked" | "notBlocked" | "conflict";
  /** Events applied now (duplicates skipped by eventId count as done, not applied). */
  applied: number;
  /** Rows deleted from the parked table (done now, or stale). */
  deleted: number;
  /** Rows still parked (those read by this run and not deleted). */
  stillParked: number;
  /** Why the first still-parked event failed. */
  reason?: string;
  /**
   * Rows at or below the position that are not known to be applied (later events went past them): for the
   * operator to look at. The `parkedThrough` protocol prevents this; it can remain from before it.
   */
  stranded?: ParkedEvent[];
  /** Rejected duplicates (an eventId applied before with other data): kept for the operator, never applied. */
  rejected?: ParkedEvent[];
  /** Events discarded by this run (see DiscardRequest), each with its audit row written. */
  discarded?: DiscardedEvent[];
}

/** Which of an aggregate's waiting rows an operator discards, by whom, when and why. */
export interface DiscardRequest {
  rows: ParkedEvent[];
  by: string;
  reason: string;
  /** ISO time. */
  at: string;
}

export interface RedriveConfig {
  tableName: string;
  parkedTableName: string;
  dedupWindow: number;
  retry: RetryBudget;
  /** Conditional-write attempts before giving up with "conflict" (default 5). */
  maxAttempts?: number;
}

/**
 * Re-drives one blocked aggregate with `reduce` (the current one).
 *
 * It applies the parked rows up to the item's `parkedThrough` as read (all of them on an item
 * written before `parkedThrough` existed) and lifts the block with a write conditioned on
 * position, `parkedAt` and `parkedThrough` unchanged. A projector that parks more events behind
 * the block meanwhile writes them to the parked table first and then advances `parkedThrough`
 * with the same kind of condition, so either its write lands first (the re-drive's fails: it
 * re-reads and takes them too) or the re-drive's does (the projector's fails: it re-reads the
 * lifted item and applies them itself, in order). Either way no later event overtakes them.
 * Rows above `parkedThrough` are left alone: they belong to such a projector.
 */
export async function redriveAggregate<S>(
  dynamodb: DynamoDBClient,
  reduce: Reducer<S>,
  config: RedriveConfig,
  aggregateId: string,
  clock: RetryClock = realClock,
  discard?: DiscardRequest,
): Promise<RedriveResult> {
  const access = { dynamodb, retry: config.retry, clock };
  const store = readModelStore({ ...access, tableName: config.tableName });
  const claimStore = readModelClaims({ ...access, tableName: config.tableName });
  const parked = parkedTable({ ...access, tableName: config.parkedTableName });
  await unpackLegacyRows(dynamodb, reduce, config, await parked.listOf(aggregateId), clock);
  const discarding = new Set((discard?.rows ?? []).map(parkedPosition));
  const base: RedriveResult = { aggregateId, outcome: "notBlocked", applied: 0, deleted: 0, stillParked: 0 };
  const extras = (skipped: ParkedEvent[], rejected: ParkedEvent[]) => ({
    ...(skipped.length ? { stranded: skipped } : {}),
    ...(rejected.length ? { rejected } : {}),
  });
  for (let attempt = 1; attempt <= (config.maxAttempts ?? 5); attempt++) {
    const read = await store.read(aggregateId);
    const rows = await parked.listOf(aggregateId);
    // At or below the position: deleted only when provably applied (its eventId among the recent ones, same data);
    // rejected duplicates stay for the operator; anything else was skipped (see "stranded") and stays too.
    const past = rows.filter((r) => read !== undefined && parkedPosition(r) <= read.position);
    const stale = past.filter((r) => rowStatus(r, read) === "applied");
    const rejectedPast = past.filter((r) => rowStatus(r, read) === "rejected");
    const skipped = past.filter((r) => !stale.includes(r) && !rejectedPast.includes(r));
    if (!read || read.parkedAt === undefined) {
      // Not blocked: only clean up what is provably applied.
      if (stale.length) await parked.delete(stale);
      return { ...base, deleted: stale.length, stillParked: rows.length - stale.length, ...extras(skipped, rejectedPast) };
    }
    const through = read.parkedThrough;
    const backlog = rows.filter((r) => {
      const position = parkedPosition(r);
      return position > read.position && (through === undefined || position <= through);
    });
    const batch: AggregateBatch = { aggregateId, records: backlog.map((r) => backlogRecord(r, discarding.has(parkedPosition(r)))) };
    const unblocked: StoredAggregate = { ...read, parkedAt: undefined, parkedThrough: undefined };
    // Keyed rows beyond the window are claimed as the projector claims them (a late retry parked behind the block stays skipped).
    const claims = await claimAggregate(claimStore, batch, unblocked, config.dedupWindow);
    const result = foldAggregate(unblocked, batch, reduce, config.dedupWindow, new Date().toISOString(), claims);
    // Rows that fail again are parked again (new reason) before the item records the block, as the projector does.
    if (result.parked.length) await parked.park(result.parked);
    const stillParked = new Set(result.parked.map(parkedPosition));
    // A discarded row the fold passed over (not parked again behind a new block) is audited before the item moves past it.
    const discarded: DiscardedEvent[] = backlog
      .filter((r) => discarding.has(parkedPosition(r)) && !stillParked.has(parkedPosition(r)))
      .map((r) => ({ ...r, discardedAt: discard!.at, discardedBy: discard!.by, discardReason: discard!.reason }));
    if (discarded.length) await parked.recordDiscarded(discarded);
    const next = result.next;
    const unchanged = next.parkedAt === read.parkedAt && next.position === read.position && next.parkedThrough === read.parkedThrough;
    if (!unchanged && !(await store.write(next, read))) {
      if (discarded.length) await parked.deleteDiscarded(discarded); // not discarded after all: re-read and fold again
      continue;
    }
    const done = stale.concat(backlog.filter((r) => !stillParked.has(parkedPosition(r))));
    if (done.length) await parked.delete(done);
    const applied = next.version - read.version;
    const rejected = rejectedPast.concat(result.parked.filter((p) => p.reason === IDEMPOTENCY_CONFLICT));
    const outcome = next.parkedAt !== undefined ? "stillBlocked" : "applied";
    const firstFailing = result.parked.find((p) => p.reason !== IDEMPOTENCY_CONFLICT);
    return {
      ...base,
      outcome,
      applied,
      deleted: done.length,
      stillParked: rows.length - done.length,
      ...(outcome === "stillBlocked" && firstFailing ? { reason: firstFailing.reason } : {}),
      ...extras(skipped, rejected),
      ...(discarded.length ? { discarded } : {}),
    };
  }
  return { ...base, outcome: "conflict" };
}

/** A waiting row as the fold takes it: the one user record it holds (legacy rows are unpacked before). */
function backlogRecord(row: ParkedEvent, discard: boolean): DecodedRecord {
  const sources = rowSources(row);
  if (sources.length !== 1 || sources[0].partitionKey !== row.aggregateId)
    throw new Error(
      `parked row ${row.aggregateId} at ${parkedPosition(row)} holds ${sources.length} user records of a KPL aggregate; it must be unpacked first`,
    );
  const rec = decodeRecord(sources[0]);
  if (discard) rec.discard = true;
  return rec;
}

/** Re-drives every blocked aggregate of a parked table. */
export async function redriveProjector<S>(
  dynamodb: DynamoDBClient,
  reduce: Reducer<S>,
  config: RedriveConfig,
  clock: RetryClock = realClock,
): Promise<RedriveResult[]> {
  const rows = await parkedTable({ dynamodb, tableName: config.parkedTableName, retry: config.retry, clock }).list();
  const ids = [...new Set(rows.map((r) => r.aggregateId))];
  const out: RedriveResult[] = [];
  for (const id of ids) out.push(await redriveAggregate(dynamodb, reduce, config, id, clock));
  return out;
}
