/**
 * Helpers over the emulators with real SDK clients: accounts, streams, tables,
 * and reading a stream back as the Kinesis events Lambda would deliver.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordCommand,
} from "@aws-sdk/client-kinesis";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ScanCommand, AttributeValue } from "@aws-sdk/client-dynamodb";
import { KinesisStreamEvent, KinesisStreamRecord } from "../../handlers/shared/kinesisEvent";
import { accountCredentials, emulatorDynamo, emulatorKinesis } from "../../local/emulators/clients";

export const REGION = "us-east-1";
/** kinesis-local namespaces streams by the 12-digit access key id. */
export const PRODUCER_ACCOUNT = "111111111111";
export const CONSUMER_ACCOUNT = "222222222222";

let counter = 0;
/** A name no other test uses. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export { accountCredentials };

/** A Kinesis client for one emulated account, over HTTP/1.1. */
export function testKinesis(account = PRODUCER_ACCOUNT): KinesisClient {
  return emulatorKinesis({ account });
}

/** A DynamoDB client against dynalite. */
export function testDynamo(): DynamoDBClient {
  return emulatorDynamo();
}

/** Creates a stream and waits until it is ACTIVE; returns its ARN. */
export async function createStream(kinesis: KinesisClient, name: string, shards = 1): Promise<string> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (let i = 0; i < 200; i++) {
    const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (d.StreamDescriptionSummary?.StreamStatus === "ACTIVE") return d.StreamDescriptionSummary.StreamARN!;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`stream ${name} did not become ACTIVE`);
}

/** Creates a table with a string hash key `pk` (and optional string range key `sk`). */
export async function createTable(dynamo: DynamoDBClient, name: string, rangeKey?: string): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, ...(rangeKey ? [{ AttributeName: rangeKey, AttributeType: "S" as const }] : [])],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, ...(rangeKey ? [{ AttributeName: rangeKey, KeyType: "RANGE" as const }] : [])],
    }),
  );
  // dynalite turns a table ACTIVE on a later tick; a request before that fails as if it were absent.
  for (let i = 0; i < 200; i++) {
    const d = await dynamo.send(new DescribeTableCommand({ TableName: name }));
    if (d.Table?.TableStatus === "ACTIVE") return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`table ${name} did not become ACTIVE`);
}

/** Every item of a table (small tables only). */
export async function scanAll(dynamo: DynamoDBClient, name: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: name, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Appends one JSON record; returns its sequence number. */
export async function putJson(kinesis: KinesisClient, stream: string, partitionKey: string, body: unknown): Promise<string> {
  const data = typeof body === "string" ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
  const out = await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: partitionKey, Data: data }));
  return out.SequenceNumber!;
}

/** Every record of every shard from TRIM_HORIZON, shaped as Lambda delivers them. */
export async function readStream(kinesis: KinesisClient, stream: string, account = PRODUCER_ACCOUNT): Promise<KinesisStreamRecord[]> {
  const arn = `arn:aws:kinesis:${REGION}:${account}:stream/${stream}`;
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const out: KinesisStreamRecord[] = [];
  for (const shard of shards) {
    let iterator = (
      await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: stream,
          ShardId: shard.ShardId!,
          ShardIteratorType: "TRIM_HORIZON",
        }),
      )
    ).ShardIterator;
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? []) {
        out.push({
          awsRegion: REGION,
          eventID: `${shard.ShardId}:${r.SequenceNumber}`,
          eventName: "aws:kinesis:record",
          eventSource: "aws:kinesis",
          eventSourceARN: arn,
          eventVersion: "1.0",
          invokeIdentityArn: `arn:aws:iam::${account}:role/test-function-role`,
          kinesis: {
            kinesisSchemaVersion: "1.0",
            partitionKey: r.PartitionKey!,
            sequenceNumber: r.SequenceNumber!,
            data: Buffer.from(r.Data!).toString("base64"),
            approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp ?? new Date()).getTime() / 1000,
          },
        });
      }
      if (!page.Records?.length || page.MillisBehindLatest === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

/** Splits records into Lambda batches of at most `size`. */
export function toBatches(records: KinesisStreamRecord[], size: number): KinesisStreamEvent[] {
  const batches: KinesisStreamEvent[] = [];
  for (let i = 0; i < records.length; i += size) batches.push({ Records: records.slice(i, i + size) });
  return batches;
}
