/**
 * The baseline a user would otherwise write: for each event, one GetItem for
 * the aggregate's state, `reduce`, and one conditional PutItem. No batching,
 * no bulk read, no dedup window; the one guard it needs for Lambda's
 * at-least-once delivery (a batch retried after a failure comes again) is the
 * stored position: a record at or below it was applied and is skipped.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { parseEnvelope } from "../handlers/shared/envelope";
import { KinesisStreamEvent, recordBytes } from "../handlers/shared/kinesisEvent";
import { compareSequence } from "../handlers/shared/sequence";
import type { Reducer } from "../handlers/shared/domain";

export function naiveProjector<S>(dynamodb: Pick<DynamoDBClient, "send">, tableName: string, reduce: Reducer<S>) {
  return async (event: KinesisStreamEvent) => {
    for (const record of event.Records) {
      const parsed = parseEnvelope(recordBytes(record));
      if (!parsed.ok) continue;
      const id = parsed.event.aggregateId;
      const got = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: id } }, ConsistentRead: true }));
      if (got.Item && compareSequence(record.kinesis.sequenceNumber, got.Item.position.S!) <= 0) continue; // redelivered
      const version = got.Item ? Number(got.Item.version.N) : 0;
      const state = got.Item ? (JSON.parse(got.Item.stateJson.S!) as S) : undefined;
      const next = reduce(state, parsed.event);
      await dynamodb.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { pk: { S: id }, stateJson: { S: JSON.stringify(next) }, version: { N: String(version + 1) }, position: { S: record.kinesis.sequenceNumber } },
          ConditionExpression: got.Item ? "version = :v" : "attribute_not_exists(pk)",
          ExpressionAttributeValues: got.Item ? { ":v": { N: String(version) } } : undefined,
        }),
      );
    }
    return { batchItemFailures: [] };
  };
}
