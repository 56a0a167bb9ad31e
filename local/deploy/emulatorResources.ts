/**
 * The emulator calls behind the local provider, and behind every stream and
 * table the bench and the tests create: streams in kinesis-local (under the
 * client's account), tables in dynalite, buckets in s3rver, each taking the
 * inputs a Pulumi resource declares. Each is idempotent, so a restart
 * against persisted emulators reuses what it finds, and converges settings
 * the emulator can change (shards, retention, encryption); a table whose
 * keys differ is an error, not a silent reuse.
 */
import {
  CreateStreamCommand,
  DecreaseStreamRetentionPeriodCommand,
  DescribeStreamSummaryCommand,
  IncreaseStreamRetentionPeriodCommand,
  KinesisClient,
  StartStreamEncryptionCommand,
  StreamDescriptionSummary,
  UpdateShardCountCommand,
} from "@aws-sdk/client-kinesis";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, KeySchemaElement, TableDescription } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { emulatorDynamo, emulatorKinesis, emulatorS3 } from "../emulators/clients";
import type { LocalEndpoints } from "../shared/manifest";

/** How long one resource may take to become ACTIVE; kinesis-local's defaults are 500 ms per transition. */
const READY_TIMEOUT_MS = 30_000;
const POLL_MS = 25;

/** SDK clients for one stack's account. */
export interface EmulatorClients {
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  s3: S3Client;
  /** Closes keep-alive sockets so the process can exit. */
  destroy(): void;
}

/**
 * Clients for `account`: kinesis-local picks the account from the access key
 * id; s3rver knows only its built-in `S3RVER` key (it does not verify SigV4).
 * Kinesis over HTTP/1.1: the SDK's default HTTP/2 is not spoken by the emulator.
 */
export function emulatorClients(endpoints: LocalEndpoints, account: string, region: string): EmulatorClients {
  const kinesis = emulatorKinesis({ endpoint: endpoints.kinesis, account, region });
  const dynamodb = emulatorDynamo({ endpoint: endpoints.dynamodb, account, region });
  const s3 = emulatorS3({ endpoint: endpoints.s3, account, region });
  return {
    kinesis,
    dynamodb,
    s3,
    destroy: () => {
      kinesis.destroy();
      dynamodb.destroy();
      s3.destroy();
    },
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`emulator: ${what} must become ACTIVE within ${READY_TIMEOUT_MS} ms, and did not`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const named = (err: unknown, ...names: string[]) => names.includes((err as { name?: string })?.name ?? "");

async function activeStream(kinesis: KinesisClient, name: string): Promise<StreamDescriptionSummary> {
  return until(`stream ${name}`, async () => {
    const s = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!;
    return s.StreamStatus === "ACTIVE" ? s : undefined;
  });
}

/** Creates (or reuses) a stream: 1 shard when ON_DEMAND, else `shardCount`; then retention and KMS encryption as declared. */
export async function ensureStream(kinesis: KinesisClient, name: string, inputs: Record<string, any>): Promise<StreamDescriptionSummary> {
  const mode = inputs.streamModeDetails?.streamMode ?? (inputs.shardCount ? "PROVISIONED" : "ON_DEMAND");
  const shards: number = mode === "ON_DEMAND" ? 1 : (inputs.shardCount ?? 1);
  try {
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  } catch (err) {
    if (!named(err, "ResourceInUseException")) throw err;
  }
  let summary = await activeStream(kinesis, name);
  if (mode !== "ON_DEMAND" && summary.OpenShardCount !== shards) {
    await kinesis.send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: shards, ScalingType: "UNIFORM_SCALING" }));
    summary = await activeStream(kinesis, name);
  }
  const retention: number = inputs.retentionPeriod ?? 24;
  if (summary.RetentionPeriodHours !== retention) {
    const Command = retention > (summary.RetentionPeriodHours ?? 24) ? IncreaseStreamRetentionPeriodCommand : DecreaseStreamRetentionPeriodCommand;
    await kinesis.send(new Command({ StreamName: name, RetentionPeriodHours: retention }));
    summary = await activeStream(kinesis, name);
  }
  if (inputs.encryptionType === "KMS" && summary.EncryptionType !== "KMS") {
    await kinesis.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: "KMS", KeyId: inputs.kmsKeyId }));
    summary = await activeStream(kinesis, name);
  }
  return summary;
}

/** String-typed keys `hashKey` (and `rangeKey`), as a table's `hashKey`, `rangeKey` and `attributes` inputs declare them. */
export function stringKeys(hashKey: string, rangeKey?: string): { hashKey: string; rangeKey?: string; attributes: { name: string; type: "S" }[] } {
  const attributes = [hashKey, ...(rangeKey ? [rangeKey] : [])].map((name) => ({ name, type: "S" as const }));
  return { hashKey, ...(rangeKey ? { rangeKey } : {}), attributes };
}

const keyText = (keys: KeySchemaElement[] | undefined) => (keys ?? []).map((k) => `${k.AttributeName} ${k.KeyType}`).join(", ");

/** Creates (or reuses, if its keys match) an on-demand table with the declared keys and attribute types. */
export async function ensureTable(dynamodb: DynamoDBClient, name: string, inputs: Record<string, any>): Promise<TableDescription> {
  const keySchema: KeySchemaElement[] = [
    { AttributeName: inputs.hashKey, KeyType: "HASH" },
    ...(inputs.rangeKey ? [{ AttributeName: inputs.rangeKey as string, KeyType: "RANGE" as const }] : []),
  ];
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: (inputs.attributes ?? []).map((a: { name: string; type: "S" | "N" | "B" }) => ({ AttributeName: a.name, AttributeType: a.type })),
        KeySchema: keySchema,
      }),
    );
  } catch (err) {
    if (!named(err, "ResourceInUseException")) throw err;
  }
  const table = await until(`table ${name}`, async () => {
    const t = (await dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table!;
    return t.TableStatus === "ACTIVE" ? t : undefined;
  });
  if (keyText(table.KeySchema) !== keyText(keySchema)) {
    throw new Error(
      `local cloud: table ${name} exists with keys (${keyText(table.KeySchema)}) but the program declares (${keyText(keySchema)}); remove it from the local data to recreate it`,
    );
  }
  return table;
}

/** Creates (or reuses) a bucket. */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (!named(err, "BucketAlreadyOwnedByYou", "BucketAlreadyExists")) throw err;
  }
  await s3.send(new HeadBucketCommand({ Bucket: bucket }));
}
