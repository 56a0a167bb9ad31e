/**
 * What a table module holds once, so that its callers never thread it
 * through each call: the client, the table's name, the retry budget and the
 * clock the retries sleep on (injected, so tests run without waiting).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { RetryBudget, RetryClock } from "./retry";

export interface TableAccess {
  dynamodb: DynamoDBClient;
  tableName: string;
  retry: RetryBudget;
  /** Default: real time and Math.random. */
  clock?: RetryClock;
}
