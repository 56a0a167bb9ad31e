/**
 * Parked rows as an operator sees them: a parked table's listing, with each
 * row's status against the read model and a summary per blocked aggregate
 * (why, and what waits behind it), and the user records a row holds, rebuilt
 * so that a re-drive runs them through the same code as the functions.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { decodeKpl } from "../kpl/deaggregate";
import { sourceRecords, SourceRecord } from "../kpl/sourceRecords";
import { eventDataHash } from "../projector/dedupWindow";
import { IDEMPOTENCY_CONFLICT } from "../projector/fold";
import { parseEnvelope } from "../shared/envelope";
import type { KinesisStreamRecord } from "../shared/kinesisEvent";
import { ParkedEvent, parkedPosition, parkedPositionText, parkedTable } from "../shared/parkedTable";
import { recentLookup, StoredAggregate } from "../shared/readModelItem";
import { readModelStore } from "../shared/readModelStore";
import { DEFAULT_RETRY_BUDGET, RetryBudget } from "../shared/retry";

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
  /** Set on a row parked before deaggregation that holds a whole KPL aggregate: how many user records (a re-drive unpacks it). */
  aggregateOf?: number;
}

/** Lists a parked table; with the read-model table, each row's status. */
export async function listParked(
  dynamodb: DynamoDBClient,
  parkedTableName: string,
  readModelTable?: string,
  retry: RetryBudget = DEFAULT_RETRY_BUDGET,
): Promise<ParkedListing[]> {
  const rows = await parkedTable({ dynamodb, tableName: parkedTableName, retry }).list();
  const listed = (r: ParkedEvent): ParkedListing => {
    const whole = legacyAggregateSize(r);
    return { ...r, table: parkedTableName, ...(whole === undefined ? {} : { aggregateOf: whole }) };
  };
  if (!readModelTable) return rows.map(listed);
  const store = readModelStore({ dynamodb, tableName: readModelTable, retry });
  const items = new Map<string, StoredAggregate | undefined>();
  const out: ParkedListing[] = [];
  for (const r of rows) {
    if (!items.has(r.aggregateId)) items.set(r.aggregateId, await store.read(r.aggregateId));
    out.push({ ...listed(r), status: rowStatus(r, items.get(r.aggregateId)) });
  }
  return out;
}

/** One blocked aggregate: the event that blocks it and what waits behind it. */
export interface BlockSummary {
  aggregateId: string;
  /** Position of the blocking event. */
  blockedAt: string;
  eventId?: string;
  /** Why it is parked. */
  reason: string;
  /** Events parked behind it, and the positions of the first and last of them. */
  waiting: number;
  waitingFrom?: string;
  waitingTo?: string;
}

/** Per blocked aggregate of a listing (with statuses): why it is blocked and what waits behind it (count and range). */
export function blockSummaries(listing: ParkedListing[]): BlockSummary[] {
  const byAggregate = new Map<string, ParkedListing[]>();
  for (const r of listing) if (r.status === "blocked") byAggregate.set(r.aggregateId, [...(byAggregate.get(r.aggregateId) ?? []), r]);
  return [...byAggregate.entries()].map(([aggregateId, rows]) => {
    const [first, ...behind] = rows; // a listing is in position order
    const summary: BlockSummary = { aggregateId, blockedAt: parkedPositionText(first), reason: first.reason, waiting: behind.length };
    if (first.eventId !== undefined) summary.eventId = first.eventId;
    if (behind.length) Object.assign(summary, { waitingFrom: parkedPositionText(behind[0]), waitingTo: parkedPositionText(behind[behind.length - 1]) });
    return summary;
  });
}

/** A projector's parked row against the aggregate's item (see ParkedListing's status). */
export function rowStatus(r: ParkedEvent, item: StoredAggregate | undefined): NonNullable<ParkedListing["status"]> {
  if (r.reason === IDEMPOTENCY_CONFLICT) return "rejected";
  const position = parkedPosition(r);
  if (item && position <= item.position) {
    const stored = r.eventId === undefined ? undefined : recentLookup(item.recent, r.eventId);
    if (stored === undefined) return "skipped";
    if (stored === "") return "applied"; // an entry written before the hash: the id is all there is
    const parsed = parseEnvelope(rowSources(r)[0]?.data ?? Buffer.alloc(0));
    let hash: string | undefined;
    try {
      hash = parsed.ok ? eventDataHash(parsed.event) : undefined;
    } catch {
      hash = undefined;
    }
    return hash === stored ? "applied" : hash === undefined ? "skipped" : "rejected";
  }
  if (item?.parkedAt !== undefined && position >= item.parkedAt) return "blocked";
  return "pending";
}

/** Rebuilds the record Lambda delivered from a parked row (the data is the raw record, base64; a user record's own for a user-record row). */
export function parkedToRecord(e: ParkedEvent): KinesisStreamRecord {
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
      sequenceNumber: e.sequenceNumber,
      data: e.data,
      approximateArrivalTimestamp: Number.isFinite(arrived) ? arrived / 1000 : 0,
    },
  };
}

/**
 * The user records a row holds, as the functions saw them: one for a row of a user record (never deaggregated again:
 * its bytes are the user record's), or the record's as it deaggregates now for a row of a whole record (one for a
 * plain or corrupt record; every user record of an aggregate parked before deaggregation, whatever its key).
 */
export function rowSources(e: ParkedEvent): SourceRecord[] {
  const record = parkedToRecord(e);
  if (e.subSequenceNumber === undefined) return sourceRecords([record]);
  const data = Buffer.from(e.data, "base64");
  const user = { partitionKey: e.aggregateId, sequenceNumber: e.sequenceNumber, subSequenceNumber: e.subSequenceNumber, aggregated: true, data };
  return [{ ...user, record, position: parkedPosition(e) }];
}

/** How many user records a row parked before deaggregation holds when it holds a whole KPL aggregate; undefined for any other row. */
export function legacyAggregateSize(e: ParkedEvent): number | undefined {
  if (e.subSequenceNumber !== undefined) return undefined;
  const decoded = decodeKpl(Buffer.from(e.data, "base64"));
  return decoded.kind === "aggregate" ? decoded.records.length : undefined;
}
