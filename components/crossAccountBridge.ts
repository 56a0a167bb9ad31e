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
import { Mapper } from "../handlers/shared/domain";
import { defaultMetricsSink } from "../handlers/observability/emf";
import { BRIDGE_METRICS, METRIC, metricsRecorder } from "../handlers/observability/metrics";
import { ACCESS_MODES, AccessMode, AGGREGATE_MODES, AggregateMode } from "../handlers/bridge/contract";
import { CROSS_ACCOUNT_DEFAULTS, defaultBridgeRoleName } from "./parts/crossAccount";
import { Statement, viaKinesis } from "./parts/iam";
import { RETENTION_HOURS } from "./parts/kinesisStream";
import { FunctionSettings, resolveFunction } from "./parts/lambdaDefaults";
import { functionSums } from "./parts/alarms";
import type { Monitoring } from "./parts/dashboard";
import { keyedTable } from "./parts/tables";
import { streamConsumer } from "./parts/streamConsumer";
import { MappingSettings, resolveMappingSettings, StreamMappingOptions } from "./parts/streamMapping";
import { COMPONENT_TYPES } from "./parts/typeTokens";
import { ArgCheck, withDefaults } from "./parts/validation";

/**
 * The access args: which {@link AccessMode} the bridge uses and what that
 * mode needs. `mode` defaults to assumeRole (CROSS_ACCOUNT_DEFAULTS), the
 * design's original access, which then needs the consumer's writer role and
 * its ExternalId; resourcePolicy needs nothing more.
 */
export type CrossAccountBridgeAccessArgs =
  { mode?: "assumeRole"; writerRoleArn: pulumi.Input<string>; externalId: pulumi.Input<string> } | { mode: "resourcePolicy" };

/** Args of {@link CrossAccountBridge}. */
export interface CrossAccountBridgeArgs {
  /** The source stream (EventSourcedTable.stream). Required: the bridge reads it with its own mapping. */
  sourceStreamArn: pulumi.Input<string>;
  /** Hours the source stream keeps records, 24–8760 (EventSourcedTable.retentionHours); bounds the mapping's record age. Required: it is the stream's, not the bridge's. */
  sourceRetentionHours: number;
  /** The source stream's KMS key when it is customer-managed. Default none: the AWS-managed key needs no grant. */
  sourceKeyArn?: pulumi.Input<string> | pulumi.Input<string>[];
  /** Internal event → analytics contract record(s); serialised into the bridge. Required: it is the contract. */
  map: Mapper;
  /** The analytics stream in the consumer account. Required. */
  targetStreamArn: pulumi.Input<string>;
  /** Its customer-managed key (writers need kms:GenerateDataKey). Required. */
  targetKeyArn: pulumi.Input<string>;
  /** Access to the consumer account; see {@link CrossAccountBridgeAccessArgs} (mode default assumeRole). */
  access: CrossAccountBridgeAccessArgs;
  /** The bridge role's fixed name, an IAM role name (at most 64 characters). Default `defaultBridgeRoleName(<this stack>)`: "event-pipeline-bridge" in the stack named "producer", "event-pipeline-bridge-<stack>" elsewhere, so two producer stacks in one account never collide; AnalyticsSink derives the same from its `producerStack`. */
  roleName?: string;
  /** The bridge's event-source mapping. Default: see {@link StreamMappingOptions}. */
  mapping?: StreamMappingOptions;
  /** Whether a producer may pack several partition keys into one KPL record (default true; a parallelization factor above 1 needs false: the first body of a reused Idempotency-Key must claim its id first). */
  kplMixedKeys?: boolean;
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
  /** Bridge memory, 128–10240 MB. Default 256 (FUNCTION_DEFAULTS): room for the SDK and a batch. */
  memorySize?: number;
  /** Bridge timeout, 1–900 s. Default 60 (FUNCTION_DEFAULTS): room for PutRecords retries with backoff. */
  timeout?: number;
  /** Refuse to delete the parked table. Default true: parked events exist nowhere else once the stream trims them. */
  deletionProtection?: boolean;
  /** Where alarms notify. Default none: alarms still show in the console. */
  alarmActions?: pulumi.Input<string>[];
}

/** CrossAccountBridge's own defaults; the mapping's and the function's are beside their builders. */
export const CROSS_ACCOUNT_BRIDGE_DEFAULTS = {
  aggregateRecords: "off" as AggregateMode,
  deletionProtection: true,
};

/** The access as applied: the mode always set. */
export type ResolvedAccess = CrossAccountBridgeAccessArgs & { mode: AccessMode };

/** Every arg resolved and checked. */
export interface BridgeSettings {
  access: ResolvedAccess;
  roleName: string;
  aggregateRecords: AggregateMode;
  deletionProtection: boolean;
  mapping: MappingSettings;
  sizing: FunctionSettings;
  retentionHours: number;
}

const ROLE_ARN_PATTERN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

function resolveAccess(check: ArgCheck, access: CrossAccountBridgeAccessArgs | undefined): ResolvedAccess {
  const given = check.present("access", access, "(assumeRole with writerRoleArn and externalId, or resourcePolicy)");
  check.oneOf("access.mode", given.mode ?? CROSS_ACCOUNT_DEFAULTS.accessMode, ACCESS_MODES);
  if (given.mode === "resourcePolicy") return { mode: "resourcePolicy" };
  const why = 'when access.mode is "assumeRole": the bridge assumes the consumer\'s writer role';
  const writerRoleArn = check.present("access.writerRoleArn", given.writerRoleArn, why);
  const externalId = check.present("access.externalId", given.externalId, `${why} with it`);
  check.matches("access.writerRoleArn", writerRoleArn, ROLE_ARN_PATTERN, "an IAM role ARN");
  check.externalId("access.externalId", externalId);
  return { mode: "assumeRole", writerRoleArn, externalId };
}

/** Applies the defaults and checks every arg; throws `CrossAccountBridge <name>: …` on the first bad one. */
export function resolveBridgeSettings(name: string, args: CrossAccountBridgeArgs): BridgeSettings {
  const check = new ArgCheck("CrossAccountBridge", name);
  check.that(typeof args.map === "function", `map must be a function (event) => record | record[] | undefined, got ${typeof args.map}`);
  // The role name's default depends on the stack, so it is not in the data above.
  const own = withDefaults(
    { ...CROSS_ACCOUNT_BRIDGE_DEFAULTS, roleName: defaultBridgeRoleName(pulumi.getStack()) },
    {
      roleName: args.roleName,
      aggregateRecords: args.aggregateRecords,
      deletionProtection: args.deletionProtection,
    },
  );
  check.roleName("roleName", own.roleName);
  check.oneOf("aggregateRecords", own.aggregateRecords, AGGREGATE_MODES);
  const retentionHours = check.integer("sourceRetentionHours", args.sourceRetentionHours, RETENTION_HOURS.min, RETENTION_HOURS.max, " h");
  return {
    ...own,
    access: resolveAccess(check, args.access),
    mapping: resolveMappingSettings(check, "mapping", args.mapping, retentionHours, args.kplMixedKeys),
    sizing: resolveFunction(check, { memorySize: args.memorySize, timeout: args.timeout }),
    retentionHours,
  };
}

function accessStatements(access: ResolvedAccess, args: CrossAccountBridgeArgs): Statement[] {
  if (access.mode === "assumeRole") {
    return [{ Sid: "AssumeWriterRole", Action: "sts:AssumeRole", Resource: access.writerRoleArn }];
  }
  return [
    { Sid: "WriteAnalyticsStream", Action: "kinesis:PutRecords", Resource: args.targetStreamArn },
    {
      Sid: "EncryptAnalyticsRecords",
      Action: "kms:GenerateDataKey",
      Resource: args.targetKeyArn,
      // Defence in depth: the consumer's key policy already limits this to Kinesis.
      Condition: viaKinesis(args.targetStreamArn),
    },
  ];
}

function accessEnvironment(access: ResolvedAccess): Record<string, pulumi.Input<string>> {
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
 * | Bridge function | nodejs22.x arm64, 256 MB, 60 s; JSON logs in its own log group (30 d) |
 * | Bridge role | fixed name (default `event-pipeline-bridge` in the stack named "producer", `event-pipeline-bridge-<stack>` elsewhere), trusts Lambda only; reads the source, parks, and holds only the one access mode's grant (`sts:AssumeRole` on the writer role, or `kinesis:PutRecords` + `kms:GenerateDataKey` via Kinesis) |
 * | Event-source mapping | its own on the source stream: TRIM_HORIZON, batch 500, window 1 s, bisect, ReportBatchItemFailures, 10,000 retries, record age half the retention |
 * | Records written | plain JSON (`aggregateRecords` off) unless KPL aggregation is chosen |
 * | Parked table (`pk`, `sk`) | poison events (undecodable, `map` throws) with their data; on-demand, PITR, SSE, deletion protection |
 * | Forwarded-ids table (`pk` = eventId) | ids derived from an Idempotency-Key that were forwarded, with their data digest, so a reused key's other body is parked, not forwarded; TTL after the stream's retention; on-demand, PITR, SSE, deletion protection |
 * | On-failure queue | SQS-managed SSE, 14 days |
 * | Alarms | iterator age (a quarter of the record age, at most 5 min), crashes, batch failures reported, parked events, on-failure queue depth |
 */
export class CrossAccountBridge extends pulumi.ComponentResource {
  public readonly fn: aws.lambda.Function;
  public readonly role: aws.iam.Role;
  public readonly mapping: aws.lambda.EventSourceMapping;
  public readonly parkedTable: aws.dynamodb.Table;
  /** Ids derived from an Idempotency-Key that the bridge forwarded, each with its data digest: a later other body is parked, not forwarded. */
  public readonly forwardedTable: aws.dynamodb.Table;
  public readonly onFailureQueue: aws.sqs.Queue;
  public readonly alarms: aws.cloudwatch.MetricAlarm[];
  /** The access mode as applied: the consumer stack must use the same. */
  public readonly accessMode: AccessMode;
  /** What the stack's dashboard shows of it (OperationsDashboard). */
  public readonly monitoring: Monitoring;

  constructor(name: string, args: CrossAccountBridgeArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before registering anything: a bad arg fails with no half-built component.
    const s = resolveBridgeSettings(name, args);
    super(COMPONENT_TYPES.CrossAccountBridge, name, {}, opts);
    const child = { parent: this };
    this.accessMode = s.access.mode;

    this.parkedTable = keyedTable(`${name}-parked`, "sk", s.deletionProtection, child);
    // Key-derived event ids the bridge has forwarded, with their data digest (handlers/bridge/forwardedIds.ts); kept for good (the TTL only
    // removes rows written with an expiresAt before claims stopped expiring).
    this.forwardedTable = keyedTable(`${name}-forwarded`, undefined, s.deletionProtection, child, "expiresAt");

    const map = args.map;
    const forwarder = streamConsumer(
      `${name}-forwarder`,
      {
        description: "Maps events to the analytics contract and writes them to the consumer account",
        // Once per container: the target client caches and refreshes assumed-role credentials, and counts its STS calls into the bridge's metrics.
        callbackFactory: () => {
          const metrics = metricsRecorder(BRIDGE_METRICS, defaultMetricsSink(process.env));
          return createBridge({
            kinesis: bridgeKinesisClient(process.env, undefined, metrics),
            dynamodb: dynamoClient(),
            map,
            config: bridgeConfigFromEnv(process.env),
            metrics,
          });
        },
        roleName: s.roleName,
        sizing: s.sizing,
        environment: {
          [ENV.TARGET_STREAM_ARN]: args.targetStreamArn,
          [ENV.PARKED_TABLE_NAME]: this.parkedTable.name,
          [ENV.FORWARDED_TABLE_NAME]: this.forwardedTable.name,
          [ENV.AGGREGATE_RECORDS]: s.aggregateRecords,
          ...accessEnvironment(s.access),
        },
        statements: [
          { Sid: "ParkPoisonEvents", Action: "dynamodb:BatchWriteItem", Resource: this.parkedTable.arn },
          { Sid: "ClaimKeyedEventIds", Action: "dynamodb:PutItem", Resource: this.forwardedTable.arn },
          ...accessStatements(s.access, args),
        ],
        streamArn: args.sourceStreamArn,
        streamKeyArn: args.sourceKeyArn,
        mapping: s.mapping,
        queueName: `${name}-failures`,
        mappingName: `${name}-mapping`,
        alarmActions: args.alarmActions,
        retentionHours: s.retentionHours,
        redrive: pulumi.interpolate`--bridge-parked ${this.parkedTable.name} --target-stream-arn ${args.targetStreamArn}`,
      },
      child,
    );
    this.fn = forwarder.fn;
    this.role = forwarder.role;
    this.onFailureQueue = forwarder.queue;
    this.mapping = forwarder.mapping;
    this.alarms = forwarder.alarms;
    this.monitoring = {
      title: `${name}`,
      throughput: functionSums(forwarder.fn, [
        [METRIC.recordsReceived, "records in"],
        [METRIC.recordsForwarded, "wire records forwarded"],
        [METRIC.putRecordsFailedEntries, "PutRecords entries failed (retried)"],
        [METRIC.stsRefreshes, "STS AssumeRole calls"],
      ]),
      alarms: forwarder.watched,
    };

    this.registerOutputs({ roleArn: this.role.arn, functionName: this.fn.name, parkedTableName: this.parkedTable.name });
  }
}
