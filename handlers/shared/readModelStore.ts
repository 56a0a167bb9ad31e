/**
 * The projector's reads and writes of read-model items: bulk consistent reads,
 * a single consistent re-read, and the conditional write that makes a fold
 * safe against another writer (no transactions: dynalite has none).
 */
import { AttributeValue, BatchGetItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { drainBatch, RetryBudget, RetryClock, withRetry } from "./retry";
import { decodeStoredAggregate, encodeReadModelItem, StoredAggregate } from "./readModelItem";

/** BatchGetItem's limit. */
export const READ_CHUNK = 100;

function unprocessedKeysError(count: number): Error {
  const err = new Error(`${count} keys left unprocessed after the retry budget`) as Error & { $retryable: { throttling: boolean } };
  err.name = "UnprocessedKeysException";
  err.$retryable = { throttling: true };
  return err;
}

/**
 * Reads up to 100 items with one consistent BatchGetItem, retrying transient
 * errors and UnprocessedKeys within the budget. Absent items are absent from
 * the result. Throws once the budget is spent.
 */
export async function readAggregates(
  dynamodb: DynamoDBClient,
  tableName: string,
  aggregateIds: string[],
  retry: RetryBudget,
  clock: RetryClock,
): Promise<Map<string, StoredAggregate>> {
  const found = new Map<string, StoredAggregate>();
  const keys: Record<string, AttributeValue>[] = aggregateIds.map((id) => ({ pk: { S: id } }));
  await drainBatch(
    keys,
    async (pending) => {
      const out = await dynamodb.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }));
      for (const item of out.Responses?.[tableName] ?? []) {
        const a = decodeStoredAggregate(item);
        found.set(a.aggregateId, a);
      }
      return out.UnprocessedKeys?.[tableName]?.Keys ?? [];
    },
    retry,
    clock,
    unprocessedKeysError,
  );
  return found;
}

/** Re-reads one item consistently (after a failed condition). */
export async function readAggregate(
  dynamodb: DynamoDBClient,
  tableName: string,
  aggregateId: string,
  retry: RetryBudget,
  clock: RetryClock,
): Promise<StoredAggregate | undefined> {
  const out = await withRetry(
    () => dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: aggregateId } }, ConsistentRead: true })),
    retry,
    clock,
  );
  return out.Item ? decodeStoredAggregate(out.Item) : undefined;
}

/**
 * Writes `next` only if the item is still as it was read (`read`, undefined
 * when absent): same position and same block (`parkedAt`, and `parkedThrough`
 * while blocked). Returns false when the condition failed, i.e. someone else
 * wrote in between.
 */
export async function writeAggregate(
  dynamodb: DynamoDBClient,
  tableName: string,
  next: StoredAggregate,
  read: StoredAggregate | undefined,
  retry: RetryBudget,
  clock: RetryClock,
): Promise<boolean> {
  const names: Record<string, string> = { "#pk": "pk" };
  const values: Record<string, AttributeValue> = {};
  let condition = "attribute_not_exists(#pk)";
  if (read) {
    // POSITION is a reserved word; parkedAt is checked too so a block set meanwhile is never lost.
    names["#position"] = "position";
    names["#parkedAt"] = "parkedAt";
    values[":position"] = { S: read.position };
    condition = "#position = :position";
    if (read.parkedAt === undefined) condition += " AND attribute_not_exists(#parkedAt)";
    else {
      // While blocked, parkedThrough too: events parked behind the block meanwhile are never lost
      // (a re-drive lifting the block fails, re-reads and applies them; see handlers/redrive.ts).
      names["#parkedThrough"] = "parkedThrough";
      values[":parkedAt"] = { S: read.parkedAt };
      condition += " AND #parkedAt = :parkedAt";
      if (read.parkedThrough === undefined) condition += " AND attribute_not_exists(#parkedThrough)";
      else {
        values[":parkedThrough"] = { S: read.parkedThrough };
        condition += " AND #parkedThrough = :parkedThrough";
      }
    }
    delete names["#pk"];
  }
  try {
    await withRetry(
      () =>
        dynamodb.send(
          new PutItemCommand({
            TableName: tableName,
            Item: encodeReadModelItem(next),
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
          }),
        ),
      retry,
      clock,
    );
    return true;
  } catch (err) {
    if ((err as Error)?.name === "ConditionalCheckFailedException") return false;
    throw err;
  }
}
