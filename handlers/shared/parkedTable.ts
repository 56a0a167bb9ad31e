/**
 * The parked-events table: poison events and the events parked behind them,
 * kept with their raw bytes so an operator can inspect and re-drive them.
 * Shared by the projector and the bridge (each with its own table, same schema).
 *
 * Schema: hash key `pk` (S) = aggregateId, range key `sk` (S) = padded
 * sequence number. Other attributes mirror {@link ParkedEvent}.
 * Every value is derived from the record itself, so parking again on a
 * replay writes the same item under the same key.
 */
import { AttributeValue, BatchWriteItemCommand, DynamoDBClient, WriteRequest } from "@aws-sdk/client-dynamodb";
import { drainBatch, realClock, RetryBudget, RetryClock } from "./retry";
import { padSequence } from "./sequence";

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

/** BatchWriteItem's limit. */
const WRITE_CHUNK = 25;

/** Encodes a parked event as an item of the parked table. */
export function encodeParkedItem(e: ParkedEvent): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    pk: { S: e.aggregateId },
    sk: { S: padSequence(e.sequenceNumber) },
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

/** Raised when UnprocessedItems remain after the budget; retryable, as throttling causes it. */
function unprocessedError(count: number): Error {
  const err = new Error(`${count} parked events left unprocessed after the retry budget`) as Error & { $retryable: { throttling: boolean } };
  err.name = "UnprocessedItemsException";
  err.$retryable = { throttling: true };
  return err;
}

function writeChunk(dynamodb: DynamoDBClient, tableName: string, requests: WriteRequest[], retry: RetryBudget, clock: RetryClock): Promise<void> {
  return drainBatch(
    requests,
    async (pending) => {
      const out = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
      return out.UnprocessedItems?.[tableName] ?? [];
    },
    retry,
    clock,
    unprocessedError,
  );
}

/**
 * Writes parked events in BatchWriteItem chunks of 25, retrying transient
 * errors and UnprocessedItems within the budget; throws once it is spent.
 * Idempotent by key: the same event parked twice is one item.
 */
export async function parkEvents(
  dynamodb: DynamoDBClient,
  tableName: string,
  events: ParkedEvent[],
  retry: RetryBudget,
  clock: RetryClock = realClock,
): Promise<void> {
  // BatchWriteItem rejects a request that names one key twice: keep the last.
  const byKey = new Map<string, WriteRequest>();
  for (const e of events) byKey.set(`${e.aggregateId}\u0000${e.sequenceNumber}`, { PutRequest: { Item: encodeParkedItem(e) } });
  const requests = [...byKey.values()];
  for (let i = 0; i < requests.length; i += WRITE_CHUNK) {
    await writeChunk(dynamodb, tableName, requests.slice(i, i + WRITE_CHUNK), retry, clock);
  }
}
