/**
 * The parked-events table: poison events and the events parked behind them,
 * kept with their raw bytes so an operator can inspect and re-drive them.
 * Shared by the projector and the bridge (each with its own table, same schema).
 * `parkedTable(...)` holds the client, name, retry budget and clock once; the
 * item codec below it is pure.
 *
 * Schema: hash key `pk` (S) = aggregateId, range key `sk` (S) = the stored
 * position (handlers/shared/sequence.ts: the padded sequence number, with
 * ".<sub-sequence>" for a user record of a KPL aggregate past the first; rows
 * written before deaggregation have the bare padded number, i.e. sub-sequence
 * 0). Other attributes mirror {@link ParkedEvent}. Every value is derived from
 * the record itself, so parking again on a replay writes the same item under
 * the same key.
 *
 * Events an operator discarded (`npm run redrive -- --discard`) are kept in
 * the same table as audit rows under `pk` = `<aggregateId>#discarded` (no
 * aggregate id holds a "#", see ID_PATTERN), marked by `discardedAt`: never
 * listed, queried or re-driven as parked events.
 */
import { AttributeValue, BatchWriteItemCommand, DeleteItemCommand, QueryCommand, ScanCommand, WriteRequest } from "@aws-sdk/client-dynamodb";
import { drainBatch, leftoverError, realClock, RetryClock, withRetry } from "./retry";
import type { SourceRecord } from "../kpl/sourceRecords";
import { arrivedAt } from "./kinesisEvent";
import { encodePosition, formatPosition } from "./sequence";
import type { TableAccess } from "./table";

/** One parked event. */
export interface ParkedEvent {
  aggregateId: string;
  /** Unpadded sequence number of the Kinesis record (every user record of an aggregate shares it). */
  sequenceNumber: string;
  /**
   * Set when the row holds one user record of a KPL aggregate: its index in the aggregate, and `data` is that user
   * record's bytes. Absent when the row holds the Kinesis record as delivered (a plain record, a corrupt aggregate,
   * or a row parked before deaggregation, whose data may be a whole aggregate).
   */
  subSequenceNumber?: number;
  /** From the envelope, when it could be decoded. */
  eventId?: string;
  /** Why it was parked, e.g. the envelope error or "parked behind <seq>". */
  reason: string;
  /** Base64 of the raw bytes: the record's, or the user record's (see subSequenceNumber). */
  data: string;
  /** ISO time the record arrived in the stream (its approximate arrival timestamp). */
  arrivedAt: string;
  /** Lambda's eventID for the record: `<shardId>:<sequenceNumber>`. */
  shardEventId: string;
  /** Position (`<sequence>` or `<sequence>.<sub-sequence>`) of the poison event this one waits behind. */
  parkedBehind?: string;
}

/** An event an operator discarded: skipped for good, never applied; its row kept as the audit. */
export interface DiscardedEvent extends ParkedEvent {
  /** ISO time of the discard. */
  discardedAt: string;
  /** Who discarded it: the caller's ARN (STS GetCallerIdentity) or what the operator gave. */
  discardedBy: string;
  /** Why, in the operator's words. */
  discardReason: string;
}

/** Appended to an aggregate id to form the partition key of its audit rows. */
export const DISCARDED_KEY_SUFFIX = "#discarded";

/**
 * The row that parks a user record under its own partition key: with its own bytes and sub-sequence number when it
 * comes from a KPL aggregate, else the record as Lambda delivered it.
 */
export function parkedEventOf(source: SourceRecord, reason: string, eventId?: string, parkedBehind?: string): ParkedEvent {
  const { record } = source;
  const e: ParkedEvent = {
    aggregateId: source.partitionKey,
    sequenceNumber: source.sequenceNumber,
    reason,
    data: source.aggregated ? source.data.toString("base64") : record.kinesis.data,
    arrivedAt: arrivedAt(record),
    shardEventId: record.eventID,
  };
  if (source.aggregated) e.subSequenceNumber = source.subSequenceNumber;
  if (eventId !== undefined) e.eventId = eventId;
  if (parkedBehind !== undefined) e.parkedBehind = parkedBehind;
  return e;
}

/** BatchWriteItem's limit. */
const WRITE_CHUNK = 25;

/** The stored position of a parked event (its sort key). */
export function parkedPosition(e: Pick<ParkedEvent, "sequenceNumber" | "subSequenceNumber">): string {
  return encodePosition(e.sequenceNumber, e.subSequenceNumber ?? 0);
}

/** A parked event's position as people see it: `<sequence>` or `<sequence>.<sub-sequence>`. */
export function parkedPositionText(e: Pick<ParkedEvent, "sequenceNumber" | "subSequenceNumber">): string {
  return formatPosition({ sequenceNumber: e.sequenceNumber, subSequenceNumber: e.subSequenceNumber ?? 0 });
}

/** The key of a parked event's item. */
export function parkedItemKey(e: Pick<ParkedEvent, "aggregateId" | "sequenceNumber" | "subSequenceNumber">): Record<string, AttributeValue> {
  return { pk: { S: e.aggregateId }, sk: { S: parkedPosition(e) } };
}

/** The key of a discarded event's audit row. */
function discardedItemKey(e: Pick<ParkedEvent, "aggregateId" | "sequenceNumber" | "subSequenceNumber">): Record<string, AttributeValue> {
  return { pk: { S: e.aggregateId + DISCARDED_KEY_SUFFIX }, sk: { S: parkedPosition(e) } };
}

/** Encodes a parked event as an item of the parked table. */
export function encodeParkedItem(e: ParkedEvent): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    ...parkedItemKey(e),
    sequenceNumber: { S: e.sequenceNumber },
    reason: { S: e.reason },
    data: { S: e.data },
    arrivedAt: { S: e.arrivedAt },
    shardEventId: { S: e.shardEventId },
  };
  if (e.subSequenceNumber !== undefined) item.subSequenceNumber = { N: String(e.subSequenceNumber) };
  if (e.eventId !== undefined) item.eventId = { S: e.eventId };
  if (e.parkedBehind !== undefined) item.parkedBehind = { S: e.parkedBehind };
  return item;
}

/** Encodes a discarded event's audit row. */
function encodeDiscardedItem(e: DiscardedEvent): Record<string, AttributeValue> {
  return {
    ...encodeParkedItem(e),
    ...discardedItemKey(e),
    aggregateId: { S: e.aggregateId },
    discardedAt: { S: e.discardedAt },
    discardedBy: { S: e.discardedBy },
    discardReason: { S: e.discardReason },
  };
}

/** Decodes an audit row (written by encodeDiscardedItem). */
function decodeDiscardedItem(item: Record<string, AttributeValue>): DiscardedEvent {
  return {
    ...decodeParkedItem(item),
    aggregateId: item.aggregateId?.S ?? "",
    discardedAt: item.discardedAt?.S ?? "",
    discardedBy: item.discardedBy?.S ?? "",
    discardReason: item.discardReason?.S ?? "",
  };
}

/** Audit rows carry `discardedAt`; parked events never do. */
const isDiscarded = (item: Record<string, AttributeValue>) => item.discardedAt !== undefined;

/** A Scan or count filter that leaves audit rows out: what is parked. */
export const PARKED_EVENTS_FILTER = "attribute_not_exists(discardedAt)";

/** Decodes an item of the parked table. */
export function decodeParkedItem(item: Record<string, AttributeValue>): ParkedEvent {
  const e: ParkedEvent = {
    aggregateId: item.pk?.S ?? "",
    sequenceNumber: item.sequenceNumber?.S ?? "",
    reason: item.reason?.S ?? "",
    data: item.data?.S ?? "",
    arrivedAt: item.arrivedAt?.S ?? "",
    shardEventId: item.shardEventId?.S ?? "",
  };
  if (item.subSequenceNumber?.N !== undefined) e.subSequenceNumber = Number(item.subSequenceNumber.N);
  if (item.eventId?.S !== undefined) e.eventId = item.eventId.S;
  if (item.parkedBehind?.S !== undefined) e.parkedBehind = item.parkedBehind.S;
  return e;
}

/** A parked table's reads and writes, each retrying transient errors within the budget. */
export interface ParkedTable {
  /**
   * Writes parked events in BatchWriteItem chunks of 25, re-sending UnprocessedItems; throws once the
   * budget is spent. Idempotent by key: the same event parked twice is one item.
   */
  park(events: readonly ParkedEvent[]): Promise<void>;
  /** Every parked event (audit rows left out), by aggregate and position. */
  list(): Promise<ParkedEvent[]>;
  /** One aggregate's rows, in position order. */
  listOf(aggregateId: string): Promise<ParkedEvent[]>;
  /** Deletes rows by key, 25 per BatchWriteItem, re-sending UnprocessedItems; throws once the budget is spent. */
  delete(rows: ParkedEvent[]): Promise<void>;
  /**
   * Deletes rows that hold a whole Kinesis record (no `subSequenceNumber`), each only while it still does: a user
   * record parked meanwhile under the same key stays. One conditional DeleteItem per row.
   */
  deleteWholeRecords(rows: ParkedEvent[]): Promise<void>;
  /** Writes audit rows for discarded events (idempotent by key, as `park`). */
  recordDiscarded(events: DiscardedEvent[]): Promise<void>;
  /** Every audit row, by aggregate and position; one aggregate's when given. */
  listDiscarded(aggregateId?: string): Promise<DiscardedEvent[]>;
  /** Deletes audit rows (a discard that did not happen after all). */
  deleteDiscarded(rows: DiscardedEvent[]): Promise<void>;
}

/** The parked table `tableName`, through `dynamodb`. */
export function parkedTable(access: TableAccess): ParkedTable {
  const table: Table = { ...access, clock: access.clock ?? realClock };
  return {
    park: (events) => writeByKey(table, events, parkedItemKey, (e) => ({ PutRequest: { Item: encodeParkedItem(e) } }), "parked events left unprocessed"),
    list: async () =>
      (await scanAll(table))
        .filter((i) => !isDiscarded(i))
        .map(decodeParkedItem)
        .sort(byKey),
    listOf: async (aggregateId) => (await queryAll(table, aggregateId)).map(decodeParkedItem),
    delete: (rows) => writeByKey(table, rows, parkedItemKey, (r) => ({ DeleteRequest: { Key: parkedItemKey(r) } }), "parked rows left undeleted"),
    deleteWholeRecords: async (rows) => {
      for (const r of rows) await deleteWholeRecord(table, r);
    },
    recordDiscarded: (events) =>
      writeByKey(table, events, discardedItemKey, (e) => ({ PutRequest: { Item: encodeDiscardedItem(e) } }), "audit rows left unprocessed"),
    listDiscarded: async (aggregateId) =>
      (aggregateId === undefined ? await scanAll(table) : await queryAll(table, aggregateId + DISCARDED_KEY_SUFFIX))
        .filter(isDiscarded)
        .map(decodeDiscardedItem)
        .sort(byKey),
    deleteDiscarded: (rows) => writeByKey(table, rows, discardedItemKey, (r) => ({ DeleteRequest: { Key: discardedItemKey(r) } }), "audit rows left undeleted"),
  };
}

type Table = TableAccess & { clock: RetryClock };

function byKey(a: ParkedEvent, b: ParkedEvent): number {
  if (a.aggregateId !== b.aggregateId) return a.aggregateId < b.aggregateId ? -1 : 1;
  const pa = parkedPosition(a);
  const pb = parkedPosition(b);
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

/** One write request per key (BatchWriteItem rejects a request that names one key twice: the last wins), in chunks of 25. */
async function writeByKey<E extends ParkedEvent>(
  table: Table,
  events: readonly E[],
  keyOf: (e: E) => Record<string, AttributeValue>,
  request: (e: E) => WriteRequest,
  left: string,
): Promise<void> {
  const byKey = new Map<string, WriteRequest>();
  for (const e of events) {
    const key = keyOf(e);
    byKey.set(`${key.pk.S}\u0000${key.sk.S}`, request(e));
  }
  const requests = [...byKey.values()];
  for (let i = 0; i < requests.length; i += WRITE_CHUNK) {
    await drainBatch(
      requests.slice(i, i + WRITE_CHUNK),
      async (pending) => {
        const out = await table.dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table.tableName]: pending } }));
        return out.UnprocessedItems?.[table.tableName] ?? [];
      },
      table.retry,
      table.clock,
      (count) => leftoverError("UnprocessedItemsException", `${count} ${left} after the retry budget`),
    );
  }
}

type Key = Record<string, AttributeValue>;

async function deleteWholeRecord(table: Table, row: ParkedEvent): Promise<void> {
  const del = () =>
    new DeleteItemCommand({ TableName: table.tableName, Key: parkedItemKey(row), ConditionExpression: "attribute_not_exists(subSequenceNumber)" });
  try {
    await withRetry(() => table.dynamodb.send(del()), table.retry, table.clock);
  } catch (err) {
    if ((err as Error)?.name !== "ConditionalCheckFailedException") throw err;
  }
}

function aggregateQuery(tableName: string, aggregateId: string) {
  return { TableName: tableName, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: aggregateId } }, ConsistentRead: true };
}

const scanAll = (table: Table) => readPages(table, (start) => new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: start, ConsistentRead: true }));
const queryAll = (table: Table, pk: string) =>
  readPages(table, (start) => new QueryCommand({ ...aggregateQuery(table.tableName, pk), ExclusiveStartKey: start }));

/** Every page of a Scan or Query (`page` builds the request for the page from `start`), each page retried within the budget. */
async function readPages(table: Table, page: (start: Key | undefined) => ScanCommand | QueryCommand): Promise<Key[]> {
  const items: Key[] = [];
  let start: Key | undefined;
  do {
    const from = start;
    // Both commands answer with Items and LastEvaluatedKey; send's overloads take one command type at a time.
    const out = await withRetry(() => table.dynamodb.send(page(from) as ScanCommand), table.retry, table.clock);
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}
