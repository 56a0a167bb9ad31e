/**
 * The read-model table as the projector and the re-drive use it: bulk
 * consistent reads, a single consistent re-read, and the conditional write
 * that makes a fold safe against another writer (no transactions: dynalite
 * has none). `readModelStore(...)` holds the client, name, retry budget and
 * clock once; the item codec is readModelItem.ts.
 */
import { AttributeValue, BatchGetItemCommand, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { drainBatch, leftoverError, realClock, retryAfter, RetryClock, withRetry } from "./retry";
import { decodeStoredAggregate, encodeReadModelItem, StoredAggregate } from "./readModelItem";
import type { TableAccess } from "./table";

/** BatchGetItem's limit. */
export const READ_CHUNK = 100;

/** A read-model table's reads and writes, each retrying transient errors within the budget. */
export interface ReadModelStore {
  /**
   * Reads up to {@link READ_CHUNK} items with one consistent BatchGetItem, re-sending UnprocessedKeys.
   * Absent items are absent from the result. Throws once the budget is spent.
   */
  readMany(aggregateIds: string[]): Promise<Map<string, StoredAggregate>>;
  /** Reads one item consistently (e.g. again after a failed condition). */
  read(aggregateId: string): Promise<StoredAggregate | undefined>;
  /**
   * Writes `next` only if the item is still as it was read (`read`, undefined when absent): same
   * position and same block (`parkedAt`, and `parkedThrough` while blocked). Returns false when the
   * condition failed, i.e. someone else wrote in between.
   */
  write(next: StoredAggregate, read: StoredAggregate | undefined): Promise<boolean>;
}

/** The read-model table `tableName`, through `dynamodb`. */
export function readModelStore(access: TableAccess): ReadModelStore {
  const table: Table = { ...access, clock: access.clock ?? realClock };
  return {
    readMany: (aggregateIds) => readMany(table, aggregateIds),
    read: async (aggregateId) => {
      const get = () => new GetItemCommand({ TableName: table.tableName, Key: { pk: { S: aggregateId } }, ConsistentRead: true });
      const out = await withRetry(() => table.dynamodb.send(get()), table.retry, table.clock);
      return out.Item ? decodeStoredAggregate(out.Item) : undefined;
    },
    write: (next, read) => write(table, next, read),
  };
}

type Table = TableAccess & { clock: RetryClock };

async function readMany(table: Table, aggregateIds: string[]): Promise<Map<string, StoredAggregate>> {
  const found = new Map<string, StoredAggregate>();
  const keys: Record<string, AttributeValue>[] = aggregateIds.map((id) => ({ pk: { S: id } }));
  await drainBatch(
    keys,
    async (pending) => {
      const out = await table.dynamodb.send(new BatchGetItemCommand({ RequestItems: { [table.tableName]: { Keys: pending, ConsistentRead: true } } }));
      for (const item of out.Responses?.[table.tableName] ?? []) {
        const a = decodeStoredAggregate(item);
        found.set(a.aggregateId, a);
      }
      return out.UnprocessedKeys?.[table.tableName]?.Keys ?? [];
    },
    table.retry,
    table.clock,
    (count) => leftoverError("UnprocessedKeysException", `${count} keys left unprocessed after the retry budget`),
  );
  return found;
}

type Condition = { condition: string; names: Record<string, string>; values?: Record<string, AttributeValue> };

// The two conditions nearly every write uses, built once (the SDK only reads a command's input).
const ABSENT: Condition = { condition: "attribute_not_exists(#pk)", names: { "#pk": "pk" } };
const UNBLOCKED_NAMES: Record<string, string> = { "#position": "position", "#parkedAt": "parkedAt" };
const UNBLOCKED = "#position = :position AND attribute_not_exists(#parkedAt)";

/** The condition that the item is as `read` left it (absent when `read` is undefined). */
function unchangedSince(read: StoredAggregate | undefined): Condition {
  if (!read) return ABSENT;
  // POSITION is a reserved word; parkedAt is checked too so a block set meanwhile is never lost.
  if (read.parkedAt === undefined) return { condition: UNBLOCKED, names: UNBLOCKED_NAMES, values: { ":position": { S: read.position } } };
  const names: Record<string, string> = { ...UNBLOCKED_NAMES };
  const values: Record<string, AttributeValue> = { ":position": { S: read.position } };
  let condition = "#position = :position";
  // While blocked, parkedThrough too: events parked behind the block meanwhile are never lost
  // (a re-drive lifting the block fails, re-reads and applies them; see handlers/ops/projectorRedrive.ts).
  names["#parkedThrough"] = "parkedThrough";
  values[":parkedAt"] = { S: read.parkedAt };
  condition += " AND #parkedAt = :parkedAt";
  if (read.parkedThrough === undefined) condition += " AND attribute_not_exists(#parkedThrough)";
  else {
    values[":parkedThrough"] = { S: read.parkedThrough };
    condition += " AND #parkedThrough = :parkedThrough";
  }
  return { condition, names, values };
}

const durable = (): boolean => true;

const isConditionFailure = (err: unknown): boolean => (err as Error)?.name === "ConditionalCheckFailedException";

/** A failed condition is an answer (false); any other error is the caller's. */
function conditionFailed(err: unknown): boolean {
  if (isConditionFailure(err)) return false;
  throw err;
}

function write(table: Table, next: StoredAggregate, read: StoredAggregate | undefined): Promise<boolean> {
  const { condition, names, values } = unchangedSince(read);
  const input = {
    TableName: table.tableName,
    Item: encodeReadModelItem(next),
    ConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
  // A command per attempt, as the SDK expects (it only reads the input).
  const put = () => table.dynamodb.send(new PutItemCommand(input));
  let first: Promise<unknown>;
  try {
    first = put();
  } catch (err) {
    first = Promise.reject(err);
  }
  // One pair of callbacks on the first attempt (withRetry's would add a second): one write per aggregate, so
  // each promise on its way showed in the projector's CPU. A failed condition is never retried (not transient).
  return first.then(durable, (err: unknown) =>
    isConditionFailure(err) ? false : retryAfter(err, put, table.retry, table.clock).then(durable, conditionFailed),
  );
}
