/**
 * Parked rows as an operator sees them: a parked table's listing, with each
 * row's status against the read model, and the record Lambda delivered,
 * rebuilt from a row so that a re-drive runs it through the same code.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { eventDataHash } from "../projector/dedupWindow";
import { IDEMPOTENCY_CONFLICT } from "../projector/fold";
import { parseEnvelope } from "../shared/envelope";
import type { KinesisStreamRecord } from "../shared/kinesisEvent";
import { ParkedEvent, parkedTable } from "../shared/parkedTable";
import { recentLookup, StoredAggregate } from "../shared/readModelItem";
import { readModelStore } from "../shared/readModelStore";
import { DEFAULT_RETRY_BUDGET, RetryBudget } from "../shared/retry";
import { padSequence } from "../shared/sequence";

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

/** Lists a parked table; with the read-model table, each row's status. */
export async function listParked(
  dynamodb: DynamoDBClient,
  parkedTableName: string,
  readModelTable?: string,
  retry: RetryBudget = DEFAULT_RETRY_BUDGET,
): Promise<ParkedListing[]> {
  const rows = await parkedTable({ dynamodb, tableName: parkedTableName, retry }).list();
  if (!readModelTable) return rows.map((r) => ({ ...r, table: parkedTableName }));
  const store = readModelStore({ dynamodb, tableName: readModelTable, retry });
  const items = new Map<string, StoredAggregate | undefined>();
  const out: ParkedListing[] = [];
  for (const r of rows) {
    if (!items.has(r.aggregateId)) items.set(r.aggregateId, await store.read(r.aggregateId));
    out.push({ ...r, table: parkedTableName, status: rowStatus(r, items.get(r.aggregateId)) });
  }
  return out;
}

/** A projector's parked row against the aggregate's item (see ParkedListing's status). */
export function rowStatus(r: ParkedEvent, item: StoredAggregate | undefined): NonNullable<ParkedListing["status"]> {
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
