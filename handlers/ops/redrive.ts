/**
 * Operator re-drive of parked events, after a fix to `reduce` (projector) or
 * `map` (bridge). Reuses the projector's own fold, store and parking code, so
 * a re-driven event is applied exactly as the projector would have applied it.
 *
 * Projector, per blocked aggregate (its item has `parkedAt`):
 * 1. read the item (consistent) and its parked rows (sequence order);
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
 *    the new reason);
 * 4. one conditional write (position, `parkedAt` and `parkedThrough` as read),
 *    exactly as the projector writes: a concurrent projector parking more
 *    events (it advances `parkedThrough` with the same condition) or another
 *    re-drive makes it fail, and it is re-read and re-folded;
 * 5. delete the rows that were applied. Rows above `parkedThrough` belong to a
 *    projector whose own conditional write is still to come: if the block was
 *    lifted first, that write fails and the projector applies them itself, in
 *    order (see `redriveAggregate`).
 * Idempotent: running it again finds nothing above the position and changes nothing.
 *
 * Bridge: a parked event that decodes and maps now is re-sent through the
 * bridge itself (same wire format, same PutRecords retries; the consumer
 * dedups on `id`), then its row is deleted; one that still fails stays parked.
 */
import { AttributeValue, BatchWriteItemCommand, DynamoDBClient, QueryCommand, ScanCommand, WriteRequest } from "@aws-sdk/client-dynamodb";
import type { BridgeDeps } from "../bridge";
import { createBridge } from "../bridge";
import { parseEnvelope } from "../shared/envelope";
import type { KinesisStreamRecord } from "../shared/kinesisEvent";
import { decodeParkedItem, ParkedEvent, parkEvents } from "../shared/parkedTable";
import { AggregateBatch, DecodedRecord, eventDataHash, foldAggregate, IDEMPOTENCY_CONFLICT } from "../projector/fold";
import { readAggregate, writeAggregate } from "../shared/readModelStore";
import { recentLookup, StoredAggregate } from "../shared/readModelItem";
import { backoffDelay, DEFAULT_RETRY_BUDGET, isTransient, realClock, RetryBudget, RetryClock } from "../shared/retry";
import { compareSequence, padSequence } from "../shared/sequence";
import { Reducer } from "../shared/domain";

/** What `listParked` shows per row. */
export interface ParkedListing extends ParkedEvent {
  table: string;
  /**
   * For the projector: "blocked" (waits for a re-drive), "applied" (at or below the stored position and among its
   * recent event ids with the same data: a re-drive only deletes it), "rejected" (its eventId was applied with other
   * data: an Idempotency-Key reused for another body; kept for the operator, never applied), "skipped" (at or below
   * the position but not known to be applied: later events went past it; look at it), "pending" (the item is not
   * blocked (yet): a projector is parking it behind a block or applying it).
   */
  status?: "blocked" | "applied" | "rejected" | "skipped" | "pending";
}

/** Every row of a parked table, by aggregate and sequence number. */
export async function scanParked(dynamodb: DynamoDBClient, parkedTable: string): Promise<ParkedEvent[]> {
  const rows: ParkedEvent[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName: parkedTable, ExclusiveStartKey: start, ConsistentRead: true }));
    rows.push(...(page.Items ?? []).map(decodeParkedItem));
    start = page.LastEvaluatedKey;
  } while (start);
  return rows.sort((a, b) => (a.aggregateId < b.aggregateId ? -1 : a.aggregateId > b.aggregateId ? 1 : compareSequence(a.sequenceNumber, b.sequenceNumber)));
}

/** One aggregate's parked rows, in sequence order. */
export async function parkedOf(dynamodb: DynamoDBClient, parkedTable: string, aggregateId: string): Promise<ParkedEvent[]> {
  const rows: ParkedEvent[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new QueryCommand({
        TableName: parkedTable,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: aggregateId } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    rows.push(...(page.Items ?? []).map(decodeParkedItem));
    start = page.LastEvaluatedKey;
  } while (start);
  return rows;
}

/** Lists a parked table; with the read-model table, each row's status. */
export async function listParked(
  dynamodb: DynamoDBClient,
  parkedTable: string,
  readModelTable?: string,
  retry: RetryBudget = DEFAULT_RETRY_BUDGET,
): Promise<ParkedListing[]> {
  const rows = await scanParked(dynamodb, parkedTable);
  if (!readModelTable) return rows.map((r) => ({ ...r, table: parkedTable }));
  const items = new Map<string, StoredAggregate | undefined>();
  const out: ParkedListing[] = [];
  for (const r of rows) {
    if (!items.has(r.aggregateId)) items.set(r.aggregateId, await readAggregate(dynamodb, readModelTable, r.aggregateId, retry, realClock));
    out.push({ ...r, table: parkedTable, status: rowStatus(r, items.get(r.aggregateId)) });
  }
  return out;
}

function rowStatus(r: ParkedEvent, item: StoredAggregate | undefined): NonNullable<ParkedListing["status"]> {
  if (r.reason === IDEMPOTENCY_CONFLICT) return "rejected";
  const padded = padSequence(r.sequenceNumber);
  if (item && padded <= item.position) {
    const stored = r.eventId === undefined ? undefined : recentLookup(item.recent, r.eventId);
    if (stored === undefined) return "skipped";
    if (stored === "") return "applied"; // an entry written before the hash: the id is all there is
    const parsed = parseEnvelope(Buffer.from(r.data, "base64"));
    let hash: string | undefined;
    try {
      hash = parsed.ok ? eventDataHash(parsed.event) : undefined;
    } catch {
      hash = undefined;
    }
    return hash === stored ? "applied" : hash === undefined ? "skipped" : "rejected";
  }
  if (item?.parkedAt !== undefined && padded >= item.parkedAt) return "blocked";
  return "pending";
}

/** Rebuilds the record Lambda delivered from a parked row (the data is the raw record, base64). */
export function parkedToRecord(e: ParkedEvent): KinesisStreamRecord {
  const colon = e.shardEventId.lastIndexOf(":");
  const arrived = Date.parse(e.arrivedAt);
  return {
    awsRegion: process.env.AWS_REGION ?? "",
    eventID: e.shardEventId,
    eventName: "aws:kinesis:record",
    eventSource: "aws:kinesis",
    eventSourceARN: "",
    eventVersion: "1.0",
    invokeIdentityArn: "",
    kinesis: {
      kinesisSchemaVersion: "1.0",
      partitionKey: e.aggregateId,
      sequenceNumber: colon > 0 ? e.shardEventId.slice(colon + 1) || e.sequenceNumber : e.sequenceNumber,
      data: e.data,
      approximateArrivalTimestamp: Number.isFinite(arrived) ? arrived / 1000 : 0,
    },
  };
}

function decoded(e: ParkedEvent): DecodedRecord {
  const record = parkedToRecord(e);
  record.kinesis.sequenceNumber = e.sequenceNumber;
  return { record, sequenceNumber: e.sequenceNumber, padded: padSequence(e.sequenceNumber), parsed: parseEnvelope(Buffer.from(e.data, "base64")) };
}

/** Deletes rows of a parked table, 25 per BatchWriteItem, retrying within the budget. */
export async function deleteParked(
  dynamodb: DynamoDBClient,
  parkedTable: string,
  rows: ParkedEvent[],
  retry: RetryBudget = DEFAULT_RETRY_BUDGET,
  clock: RetryClock = realClock,
): Promise<void> {
  const seen = new Set<string>();
  const requests: WriteRequest[] = [];
  for (const r of rows) {
    const key = `${r.aggregateId}\u0000${r.sequenceNumber}`;
    if (seen.has(key)) continue;
    seen.add(key);
    requests.push({ DeleteRequest: { Key: { pk: { S: r.aggregateId }, sk: { S: padSequence(r.sequenceNumber) } } } });
  }
  for (let i = 0; i < requests.length; i += 25) {
    let pending = requests.slice(i, i + 25);
    for (let attempt = 1; pending.length > 0; attempt++) {
      try {
        const out = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [parkedTable]: pending } }));
        pending = out.UnprocessedItems?.[parkedTable] ?? [];
        if (pending.length === 0) break;
        if (attempt >= retry.maxAttempts) throw new Error(`${pending.length} parked rows left undeleted after the retry budget`);
      } catch (err) {
        if (attempt >= retry.maxAttempts || !isTransient(err)) throw err;
      }
      await clock.sleep(backoffDelay(attempt, retry, clock.random));
    }
  }
}

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
): Promise<RedriveResult> {
  const { tableName, parkedTableName, retry } = config;
  const base: RedriveResult = { aggregateId, outcome: "notBlocked", applied: 0, deleted: 0, stillParked: 0 };
  const extras = (skipped: ParkedEvent[], rejected: ParkedEvent[]) => ({
    ...(skipped.length ? { stranded: skipped } : {}),
    ...(rejected.length ? { rejected } : {}),
  });
  for (let attempt = 1; attempt <= (config.maxAttempts ?? 5); attempt++) {
    const read = await readAggregate(dynamodb, tableName, aggregateId, retry, clock);
    const rows = await parkedOf(dynamodb, parkedTableName, aggregateId);
    // At or below the position: deleted only when provably applied (its eventId among the recent ones, same data);
    // rejected duplicates stay for the operator; anything else was skipped (see "stranded") and stays too.
    const past = rows.filter((r) => read !== undefined && padSequence(r.sequenceNumber) <= read.position);
    const stale = past.filter((r) => rowStatus(r, read) === "applied");
    const rejectedPast = past.filter((r) => rowStatus(r, read) === "rejected");
    const skipped = past.filter((r) => !stale.includes(r) && !rejectedPast.includes(r));
    if (!read || read.parkedAt === undefined) {
      // Not blocked: only clean up what is provably applied.
      if (stale.length) await deleteParked(dynamodb, parkedTableName, stale, retry, clock);
      return { ...base, deleted: stale.length, stillParked: rows.length - stale.length, ...extras(skipped, rejectedPast) };
    }
    const through = read.parkedThrough;
    const backlog = rows.filter((r) => {
      const padded = padSequence(r.sequenceNumber);
      return padded > read.position && (through === undefined || padded <= through);
    });
    const batch: AggregateBatch = { aggregateId, records: backlog.map(decoded) };
    const unblocked: StoredAggregate = { ...read, parkedAt: undefined, parkedThrough: undefined };
    const result = foldAggregate(unblocked, batch, reduce, config.dedupWindow, new Date().toISOString());
    // Rows that fail again are parked again (new reason) before the item records the block, as the projector does.
    if (result.parked.length) await parkEvents(dynamodb, parkedTableName, result.parked, retry, clock);
    const next = result.next;
    const unchanged = next.parkedAt === read.parkedAt && next.position === read.position && next.parkedThrough === read.parkedThrough;
    if (!unchanged && !(await writeAggregate(dynamodb, tableName, next, read, retry, clock))) continue; // someone wrote in between: re-read
    const stillParked = new Set(result.parked.map((p) => p.sequenceNumber));
    const done = stale.concat(backlog.filter((r) => !stillParked.has(r.sequenceNumber)));
    if (done.length) await deleteParked(dynamodb, parkedTableName, done, retry, clock);
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
    };
  }
  return { ...base, outcome: "conflict" };
}

/** Re-drives every blocked aggregate of a parked table. */
export async function redriveProjector<S>(
  dynamodb: DynamoDBClient,
  reduce: Reducer<S>,
  config: RedriveConfig,
  clock: RetryClock = realClock,
): Promise<RedriveResult[]> {
  const ids = [...new Set((await scanParked(dynamodb, config.parkedTableName)).map((r) => r.aggregateId))];
  const out: RedriveResult[] = [];
  for (const id of ids) out.push(await redriveAggregate(dynamodb, reduce, config, id, clock));
  return out;
}

/** What a bridge re-drive did. */
export interface BridgeRedriveResult {
  resent: number;
  deleted: number;
  stillParked: { aggregateId: string; sequenceNumber: string; reason: string }[];
}

/**
 * Re-sends the bridge's parked events that decode and map now, through the
 * bridge itself (deps.config.parkedTableName is the parked table), and deletes
 * their rows once acknowledged; the others stay parked. Re-sending twice is
 * harmless: the consumer dedups on `id`.
 */
export async function redriveBridge(deps: BridgeDeps): Promise<BridgeRedriveResult> {
  const { dynamodb, map, config } = deps;
  const rows = await scanParked(dynamodb, config.parkedTableName);
  const ready: ParkedEvent[] = [];
  const stillParked: BridgeRedriveResult["stillParked"] = [];
  for (const r of rows) {
    const parsed = parseEnvelope(Buffer.from(r.data, "base64"));
    let reason: string | undefined;
    if (!parsed.ok) reason = parsed.reason;
    else {
      try {
        map(parsed.event);
      } catch (err) {
        reason = `map threw ${(err as Error)?.name}: ${(err as Error)?.message}`;
      }
    }
    if (reason === undefined) ready.push(r);
    else stillParked.push({ aggregateId: r.aggregateId, sequenceNumber: r.sequenceNumber, reason });
  }
  if (ready.length === 0) return { resent: 0, deleted: 0, stillParked };
  // The bridge parks what still fails (e.g. a mapped record over 1 MiB) under the same key: note those keys.
  const reparked = new Set<string>();
  const watching = {
    send: (command: { input?: { RequestItems?: Record<string, WriteRequest[]> } }) => {
      for (const w of command.input?.RequestItems?.[config.parkedTableName] ?? []) {
        const item = w.PutRequest?.Item;
        if (item) reparked.add(`${item.pk?.S}\u0000${item.sequenceNumber?.S}`);
      }
      return dynamodb.send(command as never);
    },
  } as unknown as DynamoDBClient;
  const bridge = createBridge({ ...deps, dynamodb: watching, log: deps.log ?? (() => {}) });
  const records = ready.map((r) => {
    const rec = parkedToRecord(r);
    rec.kinesis.sequenceNumber = r.sequenceNumber;
    return rec;
  });
  const response = await bridge({ Records: records });
  if (response.batchItemFailures.length > 0) {
    // Partly sent at most: delete nothing, the next run re-sends (the consumer dedups on id).
    return {
      resent: 0,
      deleted: 0,
      stillParked: stillParked.concat(
        ready.map((r) => ({ aggregateId: r.aggregateId, sequenceNumber: r.sequenceNumber, reason: "re-send did not complete; run the re-drive again" })),
      ),
    };
  }
  const sent = ready.filter((r) => !reparked.has(`${r.aggregateId}\u0000${r.sequenceNumber}`));
  for (const r of ready)
    if (!sent.includes(r)) stillParked.push({ aggregateId: r.aggregateId, sequenceNumber: r.sequenceNumber, reason: "the bridge parked it again" });
  await deleteParked(dynamodb, config.parkedTableName, sent, config.retry, deps.clock);
  return { resent: sent.length, deleted: sent.length, stillParked };
}
