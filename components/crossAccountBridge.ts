/**
 * CrossAccountBridge: a Lambda serialised from the user's `map` that reads
 * the source stream with its own event-source mapping and writes the
 * versioned analytics contract into a stream in the consumer account.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { bridgeConfigFromEnv, bridgeKinesisClient, createBridge } from "../handlers/bridge";
import { dynamoClient } from "../handlers/shared/clients";
import { ENV } from "../handlers/shared/env";
import { keyedTable } from "./parts/tables";
import { streamConsumer } from "./parts/streamConsumer";
import { Statement } from "./parts/iam";
import { StreamMappingOptions } from "./parts/streamMapping";
import { COMPONENT_TYPES } from "./parts/typeTokens";
import { Mapper } from "../handlers/shared/domain";
import { AggregateMode } from "../handlers/bridge/contract";

/**
 * How the bridge reaches the analytics stream:
 * - `assumeRole`: it assumes the consumer's writer role with an ExternalId
 *   (credentials cached per container, STS about once an hour);
 * - `resourcePolicy`: the analytics stream's resource policy grants this
 *   bridge's role directly; no STS, no writer role.
 */
export type BridgeAccess = { mode: "assumeRole"; writerRoleArn: pulumi.Input<string>; externalId: pulumi.Input<string> } | { mode: "resourcePolicy" };

/** Args of {@link CrossAccountBridge}. */
export interface CrossAccountBridgeArgs {
  /** The source stream (EventSourcedTable.stream). */
  sourceStreamArn: pulumi.Input<string>;
  /** Hours the source stream keeps records; bounds the mapping's record age. */
  sourceRetentionHours: number;
  /** The source stream's KMS key when it is customer-managed. */
  sourceKeyArn?: pulumi.Input<string>;
  /** Internal event → analytics contract record(s); serialised into the bridge. */
  map: Mapper;
  /** The analytics stream in the consumer account. */
  targetStreamArn: pulumi.Input<string>;
  /** Its customer-managed key (writers need kms:GenerateDataKey). */
  targetKeyArn: pulumi.Input<string>;
  /** Access to the consumer account. */
  access: BridgeAccess;
  /** The bridge role's fixed name; the consumer's trust or resource policy names it. */
  roleName: string;
  /** The bridge's event-source mapping. */
  mapping?: StreamMappingOptions;
  /**
   * KPL aggregation of the records written to the analytics stream (the
   * `aws-kinesis-agg` format). Default `"off"`: the analytics stream is the
   * contract with another account, and with "off" every consumer of it reads
   * plain JSON records. `"sourceShard"` packs each batch into records of up
   * to 1 MiB keyed by the source shard id (one source shard feeds one target
   * shard, so every aggregate's order holds): `npm run bench` measures 0.01
   * PUT payload units per ~250-byte event instead of 1 (at the ideal
   * ⌈bytes ÷ 25 KB⌉ per batch), and 0.21 instead of 1 for 5 KB events; on an
   * ON_DEMAND stream (billed per record rounded up to 1 KiB) 0.24 KiB instead
   * of 1 per small event, about the same for 5 KB events. Every consumer must
   * then deaggregate: Firehose from a Kinesis source does so itself; Lambda
   * and other consumers need a KPL deaggregator (e.g. `aws-kinesis-agg`).
   * `"partitionKey"` packs per aggregate only (helps with hot keys alone).
   */
  aggregateRecords?: AggregateMode;
  /** Bridge memory in MB. Default 256. */
  memorySize?: number;
  /** Refuse to delete the parked table. Default true. */
  deletionProtection?: boolean;
  /** Where alarms notify. */
  alarmActions?: pulumi.Input<string>[];
}

function accessStatements(args: CrossAccountBridgeArgs): Statement[] {
  if (args.access.mode === "assumeRole") {
    return [{ Sid: "AssumeWriterRole", Action: "sts:AssumeRole", Resource: args.access.writerRoleArn }];
  }
  return [
    { Sid: "WriteAnalyticsStream", Action: "kinesis:PutRecords", Resource: args.targetStreamArn },
    {
      Sid: "EncryptAnalyticsRecords",
      Action: "kms:GenerateDataKey",
      Resource: args.targetKeyArn,
      // Defence in depth: the consumer's key policy already limits this to Kinesis.
      Condition: { StringEquals: { "kms:ViaService": pulumi.output(args.targetStreamArn).apply((arn) => `kinesis.${arn.split(":")[3]}.amazonaws.com`) } },
    },
  ];
}

function accessEnvironment(access: BridgeAccess): Record<string, pulumi.Input<string>> {
  if (access.mode === "assumeRole") {
    // Stays a secret in Pulumi state; in the function's configuration it is
    // readable by whoever may read that, which suits an ExternalId (a guard
    // against a confused deputy, not a credential).
    return { [ENV.ACCESS_MODE]: "assumeRole", [ENV.WRITER_ROLE_ARN]: access.writerRoleArn, [ENV.EXTERNAL_ID]: access.externalId };
  }
  return { [ENV.ACCESS_MODE]: "resourcePolicy" };
}

/**
 * The producer side of the cross-account path.
 *
 * | Resource | Secure default |
 * |---|---|
 * | Bridge function | nodejs22.x arm64; role with a fixed name, limited to reading the source, parking, and the one access mode |
 * | Event-source mapping | its own on the source stream: TRIM_HORIZON, bisect, ReportBatchItemFailures, bounded retries and age |
 * | Parked table | poison events (undecodable, `map` throws) with their data |
 * | On-failure queue | SQS-managed SSE, 14 days |
 * | Alarms | iterator age, function errors, on-failure queue depth |
 */
export class CrossAccountBridge extends pulumi.ComponentResource {
  public readonly fn: aws.lambda.Function;
  public readonly role: aws.iam.Role;
  public readonly mapping: aws.lambda.EventSourceMapping;
  public readonly parkedTable: aws.dynamodb.Table;
  public readonly onFailureQueue: aws.sqs.Queue;
  public readonly alarms: aws.cloudwatch.MetricAlarm[];

  constructor(name: string, args: CrossAccountBridgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.CrossAccountBridge, name, {}, opts);
    const child = { parent: this };

    this.parkedTable = keyedTable(`${name}-parked`, "sk", args.deletionProtection ?? true, child);

    const map = args.map;
    const forwarder = streamConsumer(
      `${name}-forwarder`,
      {
        description: "Maps events to the analytics contract and writes them to the consumer account",
        // Once per container: the target client caches and refreshes assumed-role credentials.
        callbackFactory: () =>
          createBridge({
            kinesis: bridgeKinesisClient(process.env),
            dynamodb: dynamoClient(),
            map,
            config: bridgeConfigFromEnv(process.env),
          }),
        roleName: args.roleName,
        memorySize: args.memorySize,
        environment: {
          [ENV.TARGET_STREAM_ARN]: args.targetStreamArn,
          [ENV.PARKED_TABLE_NAME]: this.parkedTable.name,
          [ENV.AGGREGATE_RECORDS]: args.aggregateRecords ?? "off",
          ...accessEnvironment(args.access),
        },
        statements: [{ Sid: "ParkPoisonEvents", Action: "dynamodb:BatchWriteItem", Resource: this.parkedTable.arn }, ...accessStatements(args)],
        streamArn: args.sourceStreamArn,
        retentionHours: args.sourceRetentionHours,
        streamKeyArn: args.sourceKeyArn,
        mapping: args.mapping,
        queueName: `${name}-failures`,
        mappingName: `${name}-mapping`,
        alarmActions: args.alarmActions,
      },
      child,
    );
    this.fn = forwarder.fn;
    this.role = forwarder.role;
    this.onFailureQueue = forwarder.queue;
    this.mapping = forwarder.mapping;
    this.alarms = forwarder.alarms;

    this.registerOutputs({ roleArn: this.role.arn, functionName: this.fn.name, parkedTableName: this.parkedTable.name });
  }
}
