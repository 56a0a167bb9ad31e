/**
 * Helpers over the emulators with real SDK clients: accounts, streams and
 * tables (created as the local provider creates them), and reading a stream
 * back as the Kinesis events Lambda would deliver.
 */
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordCommand } from "@aws-sdk/client-kinesis";
import { DynamoDBClient, ScanCommand, AttributeValue } from "@aws-sdk/client-dynamodb";
import { KinesisStreamEvent, KinesisStreamRecord } from "../../handlers/shared/kinesisEvent";
import { accountCredentials, emulatorDynamo, emulatorKinesis } from "../../local/emulators/clients";
import { ensureStream, ensureTable, stringKeys } from "../../local/deploy/emulatorResources";
import { LOCAL_ACCOUNTS, LOCAL_REGION } from "../../local/shared/manifest";

export const REGION = LOCAL_REGION;
/** kinesis-local namespaces streams by the 12-digit access key id. */
export const PRODUCER_ACCOUNT = LOCAL_ACCOUNTS.producer;
export const CONSUMER_ACCOUNT = LOCAL_ACCOUNTS.consumer;

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

/** Creates a provisioned stream of `shards` shards and waits until it is ACTIVE; returns its ARN. */
export async function createStream(kinesis: KinesisClient, name: string, shards = 1): Promise<string> {
  return (await ensureStream(kinesis, name, { shardCount: shards })).StreamARN!;
}

/** Creates a table with a string hash key `pk` (and optional string range key) and waits until it is ACTIVE. */
export async function createTable(dynamo: DynamoDBClient, name: string, rangeKey?: string): Promise<void> {
  await ensureTable(dynamo, name, stringKeys("pk", rangeKey));
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

// The official KPL aggregation module (awslabs/kinesis-aggregation), a devDependency: what a KPL-style producer writes and a consumer reads.
const kplOfficial = require("aws-kinesis-agg");

/** Aggregates user records with the official aggregator (`RecordAggregator`): the data of one Kinesis record and its outer key (the first user record's). */
export function kplAggregate(users: { partitionKey: string; data: Buffer | string }[]): { partitionKey: string; bytes: Buffer } {
  const aggregator = new kplOfficial.RecordAggregator();
  for (const u of users) aggregator.addUserRecord({ partitionKey: u.partitionKey, data: Buffer.from(u.data) });
  const out = aggregator.build();
  return { partitionKey: out.partitionKey, bytes: out.data };
}

/** A Kinesis record's user records as the official deaggregator numbers them (checksums verified; a plain record has no sub-sequence number). */
export function kplDeaggregate(record: KinesisStreamRecord): { partitionKey: string; sequenceNumber: string; subSequenceNumber?: number; data: Buffer }[] {
  let out: { partitionKey: string; sequenceNumber: string; subSequenceNumber?: number; data: Buffer }[] = [];
  let error: Error | undefined;
  kplOfficial.deaggregateSync(
    record.kinesis,
    true,
    (err: Error | null, users?: { partitionKey: string; sequenceNumber: string; subSequenceNumber?: number; data: string }[]) => {
      if (err) error = err;
      else
        out = (users ?? []).map((u) => ({
          partitionKey: u.partitionKey,
          sequenceNumber: u.sequenceNumber,
          subSequenceNumber: u.subSequenceNumber,
          data: Buffer.from(u.data, "base64"),
        }));
    },
  );
  if (error) throw error;
  return out;
}
