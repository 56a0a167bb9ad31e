/**
 * EventSourcedTable: the event stream (source of truth), the DynamoDB read
 * model projected from it by a Lambda serialised from the user's `reduce`,
 * and where poison events are kept with their data.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { createProjector, projectorConfigFromEnv } from "../handlers/projector";
import { dynamoClient } from "../handlers/shared/clients";
import { ENV } from "../handlers/shared/env";
import { keyedTable } from "./parts/tables";
import { streamConsumer } from "./parts/streamConsumer";
import { StreamMappingOptions } from "./parts/streamMapping";
import { COMPONENT_TYPES } from "./parts/typeTokens";
import { Reducer } from "../handlers/shared/domain";

/** The source stream's settings. */
export interface EventStreamOptions {
  /** Hours records are kept, 24–8760. Default 168: a week to notice and replay. */
  retentionHours?: number;
  /** ON_DEMAND (default) scales itself; PROVISIONED needs `shardCount`. */
  mode?: "ON_DEMAND" | "PROVISIONED";
  /** Shards, for PROVISIONED. */
  shardCount?: number;
  /** KMS key for encryption at rest. Default the AWS-managed `alias/aws/kinesis`. */
  kmsKeyArn?: pulumi.Input<string>;
}

/** Args of {@link EventSourcedTable}. */
export interface EventSourcedTableArgs<S> {
  /** Folds one event into an aggregate's state; `null` deletes it. Serialised into the projector. */
  reduce: Reducer<S>;
  /** The source stream. */
  stream?: EventStreamOptions;
  /** The projector's event-source mapping. */
  mapping?: StreamMappingOptions;
  /** Event ids remembered per aggregate to drop producer-retry duplicates. Default 64. */
  dedupWindow?: number;
  /** Projector memory in MB. Default 256. */
  memorySize?: number;
  /** Refuse to delete the tables (the read model is rebuildable, parked events are not). Default true. */
  deletionProtection?: boolean;
  /** Where alarms notify. */
  alarmActions?: pulumi.Input<string>[];
}

function eventStream(name: string, options: EventStreamOptions, opts: pulumi.CustomResourceOptions): aws.kinesis.Stream {
  const mode = options.mode ?? "ON_DEMAND";
  if (mode === "PROVISIONED" && !options.shardCount) throw new Error(`${name}: a PROVISIONED stream needs shardCount`);
  return new aws.kinesis.Stream(
    name,
    {
      retentionPeriod: options.retentionHours ?? 168,
      streamModeDetails: { streamMode: mode },
      shardCount: mode === "PROVISIONED" ? options.shardCount : undefined,
      encryptionType: "KMS",
      kmsKeyId: options.kmsKeyArn ?? "alias/aws/kinesis",
    },
    opts,
  );
}

/**
 * An event-sourced read model.
 *
 * | Resource | Secure default |
 * |---|---|
 * | Kinesis stream | KMS-encrypted, on-demand, 7-day retention |
 * | Read-model table (`pk`) | on-demand, point-in-time recovery, SSE, deletion protection |
 * | Parked table (`pk`, `sk`) | poison events and those parked behind them, with their data |
 * | Projector function | nodejs22.x arm64, role limited to these tables, this stream and its queue |
 * | Event-source mapping | TRIM_HORIZON, bisect, ReportBatchItemFailures, bounded retries and age |
 * | On-failure queue | SQS-managed SSE, 14 days |
 * | Alarms | iterator age, function errors, on-failure queue depth |
 */
export class EventSourcedTable<S = unknown> extends pulumi.ComponentResource {
  public readonly stream: aws.kinesis.Stream;
  public readonly table: aws.dynamodb.Table;
  public readonly parkedTable: aws.dynamodb.Table;
  public readonly projector: aws.lambda.Function;
  public readonly mapping: aws.lambda.EventSourceMapping;
  public readonly onFailureQueue: aws.sqs.Queue;
  public readonly alarms: aws.cloudwatch.MetricAlarm[];

  constructor(name: string, args: EventSourcedTableArgs<S>, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.EventSourcedTable, name, {}, opts);
    const child = { parent: this };
    const streamOptions = args.stream ?? {};
    const retentionHours = streamOptions.retentionHours ?? 168;
    const deletionProtection = args.deletionProtection ?? true;

    this.stream = eventStream(`${name}-events`, streamOptions, child);
    this.table = keyedTable(`${name}-read-model`, undefined, deletionProtection, child);
    this.parkedTable = keyedTable(`${name}-parked`, "sk", deletionProtection, child);

    const reduce = args.reduce;
    const projector = streamConsumer(
      `${name}-projector`,
      {
        description: "Projects events from the stream into the read-model table",
        // Runs once per container: the client and its connections are reused across invocations.
        callbackFactory: () => createProjector({ dynamodb: dynamoClient(), reduce, config: projectorConfigFromEnv(process.env) }),
        memorySize: args.memorySize,
        environment: {
          [ENV.TABLE_NAME]: this.table.name,
          [ENV.PARKED_TABLE_NAME]: this.parkedTable.name,
          [ENV.DEDUP_WINDOW]: String(args.dedupWindow ?? 64),
        },
        statements: [
          { Sid: "ProjectReadModel", Action: ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem"], Resource: this.table.arn },
          { Sid: "ParkPoisonEvents", Action: "dynamodb:BatchWriteItem", Resource: this.parkedTable.arn },
        ],
        streamArn: this.stream.arn,
        retentionHours,
        streamKeyArn: streamOptions.kmsKeyArn,
        mapping: args.mapping,
        queueName: `${name}-projector-failures`,
        mappingName: `${name}-projector-mapping`,
        alarmActions: args.alarmActions,
      },
      child,
    );
    this.projector = projector.fn;
    this.onFailureQueue = projector.queue;
    this.mapping = projector.mapping;
    this.alarms = projector.alarms;

    this.registerOutputs({
      streamArn: this.stream.arn,
      tableName: this.table.name,
      parkedTableName: this.parkedTable.name,
      projectorName: this.projector.name,
    });
  }
}
