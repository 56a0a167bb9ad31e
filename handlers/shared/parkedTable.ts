/**
 * The parked-events table: poison events and the events parked behind them,
 * kept with their raw bytes so an operator can inspect and re-drive them.
 * Shared by the projector and the bridge (each with its own table, same schema).
 * `parkedTable(...)` holds the client, name, retry budget and clock once; the
 * item codec below it is pure.
 *
 * Schema: hash key `pk` (S) = aggregateId, range key `sk` (S) = padded
 * sequence number. Other attributes mirror {@link ParkedEvent}.
 * Every value is derived from the record itself, so parking again on a
 * replay writes the same item under the same key.
 */
import { AttributeValue, BatchWriteItemCommand, QueryCommand, ScanCommand, WriteRequest } from "@aws-sdk/client-dynamodb";
import { drainBatch, leftoverError, realClock, RetryClock, withRetry } from "./retry";
import { arrivedAt, KinesisStreamRecord } from "./kinesisEvent";
import { compareSequence, padSequence } from "./sequence";
import type { TableAccess } from "./table";

/** One parked event. */
export interface ParkedEvent {
  aggregateId: string;
  /** Unpadded Kinesis sequence number. */
  sequenceNumber: string;
  /** From the envelope, when it could be decoded. */
  eventId?: string;
  /** Why it was parked, e.g. the envelope error or "parked behind <seq>". */
  reason: string;
  /** Base64 of the raw record bytes. */
  data: string;
  /** ISO time the record arrived in the stream (its approximate arrival timestamp). */
  arrivedAt: string;
  /** Lambda's eventID for the record: `<shardId>:<sequenceNumber>`. */
  shardEventId: string;
  /** Unpadded sequence number of the poison event this one waits behind. */
  parkedBehind?: string;
}

/** The row that parks `record` as Lambda delivered it, under its partition key. */
export function parkedEventOf(record: KinesisStreamRecord, reason: string, eventId?: string, parkedBehind?: string): ParkedEvent {
  const e: ParkedEvent = {
    aggregateId: record.kinesis.partitionKey,
    sequenceNumber: record.kinesis.sequenceNumber,
    reason,
    data: record.kinesis.data,
    arrivedAt: arrivedAt(record),
    shardEventId: record.eventID,
  };
  if (eventId !== undefined) e.eventId = eventId;
  if (parkedBehind !== undefined) e.parkedBehind = parkedBehind;
  return e;
}

/** BatchWriteItem's limit. */
const WRITE_CHUNK = 25;

/** The key of a parked event's item. */
export function parkedItemKey(e: Pick<ParkedEvent, "aggregateId" | "sequenceNumber">): Record<string, AttributeValue> {
  return { pk: { S: e.aggregateId }, sk: { S: padSequence(e.sequenceNumber) } };
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
  if (e.eventId !== undefined) item.eventId = { S: e.eventId };
  if (e.parkedBehind !== undefined) item.parkedBehind = { S: e.parkedBehind };
  return item;
}

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
  park(events: ParkedEvent[]): Promise<void>;
  /** Every row, by aggregate and sequence number. */
  list(): Promise<ParkedEvent[]>;
  /** One aggregate's rows, in sequence order. */
  listOf(aggregateId: string): Promise<ParkedEvent[]>;
  /** Deletes rows by key, 25 per BatchWriteItem, re-sending UnprocessedItems; throws once the budget is spent. */
  delete(rows: ParkedEvent[]): Promise<void>;
}

/** The parked table `tableName`, through `dynamodb`. */
export function parkedTable(access: TableAccess): ParkedTable {
  const table: Table = { ...access, clock: access.clock ?? realClock };
  return {
    park: (events) => writeByKey(table, events, (e) => ({ PutRequest: { Item: encodeParkedItem(e) } }), "parked events left unprocessed"),
    list: async () =>
      (await readPages(table, (start) => new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: start, ConsistentRead: true }))).sort(byKey),
    listOf: (aggregateId) => readPages(table, (start) => new QueryCommand({ ...aggregateQuery(table.tableName, aggregateId), ExclusiveStartKey: start })),
    delete: (rows) => writeByKey(table, rows, (r) => ({ DeleteRequest: { Key: parkedItemKey(r) } }), "parked rows left undeleted"),
  };
}

type Table = TableAccess & { clock: RetryClock };

function byKey(a: ParkedEvent, b: ParkedEvent): number {
  return a.aggregateId < b.aggregateId ? -1 : a.aggregateId > b.aggregateId ? 1 : compareSequence(a.sequenceNumber, b.sequenceNumber);
}

/** One write request per key (BatchWriteItem rejects a request that names one key twice: the last wins), in chunks of 25. */
async function writeByKey(table: Table, events: ParkedEvent[], request: (e: ParkedEvent) => WriteRequest, left: string): Promise<void> {
  const byKey = new Map<string, WriteRequest>();
  for (const e of events) byKey.set(`${e.aggregateId}\u0000${e.sequenceNumber}`, request(e));
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

function aggregateQuery(tableName: string, aggregateId: string) {
  return { TableName: tableName, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: aggregateId } }, ConsistentRead: true };
}

/** Every page of a Scan or Query (`page` builds the request for the page from `start`), each page retried within the budget. */
async function readPages(table: Table, page: (start: Key | undefined) => ScanCommand | QueryCommand): Promise<ParkedEvent[]> {
  const rows: ParkedEvent[] = [];
  let start: Key | undefined;
  do {
    const from = start;
    // Both commands answer with Items and LastEvaluatedKey; send's overloads take one command type at a time.
    const out = await withRetry(() => table.dynamodb.send(page(from) as ScanCommand), table.retry, table.clock);
    rows.push(...(out.Items ?? []).map(decodeParkedItem));
    start = out.LastEvaluatedKey;
  } while (start);
  return rows;
}
