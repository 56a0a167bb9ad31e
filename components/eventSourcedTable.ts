/**
 * EventSourcedTable: the event stream (source of truth), the DynamoDB read
 * model projected from it by a Lambda serialised from the user's `reduce`,
 * and where poison events are kept with their data. With `retireReadModel`
 * only the stream remains (read-model version 1 retired once a later version
 * serves): the read model's resources leave the program and every remaining
 * URN stays as it was.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { DEFAULT_DEDUP_WINDOW } from "../handlers/projector";
import { Reducer } from "../handlers/shared/domain";
import { METRIC } from "../handlers/observability/metrics";
import { AWS_MANAGED_KINESIS_KEY, DATA_PROTECTION_DEFAULT, kinesisStream, resolveStream, StreamMode, StreamSettings } from "./parts/kinesisStream";
import { FunctionSettings } from "./parts/lambdaDefaults";
import { functionSums } from "./parts/alarms";
import type { Monitoring } from "./parts/dashboard";
import { keyedTable } from "./parts/tables";
import { streamConsumer } from "./parts/streamConsumer";
import { MappingSettings, StreamMappingOptions } from "./parts/streamMapping";
import { COMPONENT_TYPES } from "./parts/typeTokens";
import { projectorArgs, resolveProjector } from "./readModelVersion";
import { ArgCheck, withDefaults } from "./parts/validation";

/** The source stream's settings. */
export interface EventStreamOptions {
  /** Hours records are kept, 24–8760. Default 168: a week to notice and replay. */
  retentionHours?: number;
  /** Capacity mode. Default ON_DEMAND: scales itself, no shard planning; PROVISIONED needs `shardCount`. */
  mode?: StreamMode;
  /** Shards, 1–10000; required for, and only allowed with, PROVISIONED. No default: capacity is the caller's choice. */
  shardCount?: number;
  /**
   * KMS key ARN for encryption at rest. Default the AWS-managed `alias/aws/kinesis`: encrypted, nothing to administer, no other account reads it.
   * With a customer-managed key, the projector (and every reader given `streamKeyArn`) gets `kms:Decrypt` and the API `kms:GenerateDataKey`
   * on it, through Kinesis only; the key's policy must let this account's IAM policies apply (the default key policy does) or name
   * `keyUserRoleArns`' roles.
   */
  kmsKeyArn?: pulumi.Input<string>;
  /** Pulumi `protect` on the stream (DATA_PROTECTION_DEFAULT): a destroy or replacement fails instead of deleting its records. Default true. */
  protect?: boolean;
  /**
   * Customer-managed keys the stream was encrypted with before `kmsKeyArn` (a change of key applies to records written
   * after it; those before stay encrypted with the former key): every reader keeps `kms:Decrypt` on them. Keep each
   * listed, and enabled, for the stream's retention after the change. Default none.
   */
  previousKmsKeyArns?: pulumi.Input<string>[];
}

/** Args of {@link EventSourcedTable}. */
export interface EventSourcedTableArgs<S> {
  /** Folds one event into an aggregate's state; `null` deletes it. Serialised into the projector. Required: it is the read model. */
  reduce: Reducer<S>;
  /** The source stream. Default: see {@link EventStreamOptions}. */
  stream?: EventStreamOptions;
  /** The projector's event-source mapping. Default: see {@link StreamMappingOptions} (PROJECTOR_DEFAULTS). */
  mapping?: StreamMappingOptions;
  /**
   * Whether a producer may pack user records of several partition keys (aggregates) into one KPL record, as the KPL's
   * aggregation does. Default true; `mapping.parallelizationFactor` above 1 needs false (order per aggregate).
   */
  kplMixedKeys?: boolean;
  /** Event ids remembered per aggregate to drop producer-retry duplicates, 1–1000. Default 16 (the projector's): retries come close behind their original, and every started KB of item is a WCU on every write (16 keep a small item at 1). */
  dedupWindow?: number;
  /** Projector memory, 128–10240 MB. Default 1769, one vCPU (PROJECTOR_DEFAULTS): the SDK's CPU per write decides a shard's headroom. */
  memorySize?: number;
  /** Projector timeout, 1–900 s. Default 60 (FUNCTION_DEFAULTS): well above a batch's work, short enough to retry a hung call soon. */
  timeout?: number;
  /** Refuse to delete the tables. Default true: the read model is rebuildable, parked events are not. */
  deletionProtection?: boolean;
  /** Where alarms notify. Default none: alarms still show in the console. */
  alarmActions?: pulumi.Input<string>[];
  /**
   * Retire the read model (version 1): no tables, projector, mapping, queue or alarms; the stream stays. Default false.
   * Deploy `deletionProtection: false` first: a protected table refuses deletion (`pulumi up` fails on it).
   */
  retireReadModel?: boolean;
}

/** The read model's resources (version 1), absent once retired. */
export interface TableReadModel {
  table: aws.dynamodb.Table;
  parkedTable: aws.dynamodb.Table;
  projector: aws.lambda.Function;
  projectorRole: aws.iam.Role;
  mapping: aws.lambda.EventSourceMapping;
  onFailureQueue: aws.sqs.Queue;
  alarms: aws.cloudwatch.MetricAlarm[];
  /** What the stack's dashboard shows of it (OperationsDashboard). */
  monitoring: Monitoring;
}

/** EventSourcedTable's own defaults; the stream's, the mapping's and the function's are beside their builders. */
export const EVENT_SOURCED_TABLE_DEFAULTS = { dedupWindow: DEFAULT_DEDUP_WINDOW, deletionProtection: true };

/** The most event ids a window may hold: about 36 KB of item with ULIDs (138 KB with 128-character ids), each KB a WCU on every write. */
const MAX_DEDUP_WINDOW = 1000;

/** Every arg resolved and checked. */
export interface TableSettings {
  stream: StreamSettings;
  mapping: MappingSettings;
  sizing: FunctionSettings;
  dedupWindow: number;
  deletionProtection: boolean;
  retireReadModel: boolean;
  /** Pulumi `protect` on the stream. */
  protectStream: boolean;
}

/** Applies the defaults and checks every arg; throws `EventSourcedTable <name>: …` on the first bad one. */
export function resolveTableSettings<S>(name: string, args: EventSourcedTableArgs<S>): TableSettings {
  const check = new ArgCheck("EventSourcedTable", name);
  check.that(typeof args.reduce === "function", `reduce must be a function (state, event) => state | null, got ${typeof args.reduce}`);
  const own = withDefaults(EVENT_SOURCED_TABLE_DEFAULTS, { dedupWindow: args.dedupWindow, deletionProtection: args.deletionProtection });
  check.integer("dedupWindow", own.dedupWindow, 1, MAX_DEDUP_WINDOW);
  const stream = resolveStream(check, { retentionHours: "stream.retentionHours", mode: "stream.mode", shardCount: "stream.shardCount" }, args.stream ?? {});
  return {
    ...own,
    retireReadModel: check.flag("retireReadModel", args.retireReadModel, false),
    protectStream: check.flag("stream.protect", args.stream?.protect, DATA_PROTECTION_DEFAULT),
    stream,
    ...resolveProjector(check, args.mapping, { memorySize: args.memorySize, timeout: args.timeout }, stream.retentionHours, args.kplMixedKeys),
  };
}

/**
 * An event-sourced read model.
 *
 * | Resource | Secure default |
 * |---|---|
 * | Kinesis stream | KMS-encrypted (AWS-managed key unless `kmsKeyArn`; then readers get `kms:Decrypt` via Kinesis), ON_DEMAND, 168 h retention |
 * | Read-model table (`pk`) | on-demand, point-in-time recovery, SSE, deletion protection |
 * | Parked table (`pk`, `sk`) | poison events and those parked behind them, with their data; same protections |
 * | Projector function | nodejs22.x arm64, 1769 MB (one vCPU), 60 s, dedup window 16; JSON logs in its own log group (30 d) |
 * | Projector role | trusts Lambda only; limited to these tables, this stream and its queue |
 * | Event-source mapping | TRIM_HORIZON, batch 500, window 1 s, 1 batch per shard (more needs kplMixedKeys: false), bisect, ReportBatchItemFailures, 10,000 retries, record age half the retention |
 * | On-failure queue | SQS-managed SSE, 14 days |
 * | Alarms | iterator age (a quarter of the record age, at most 5 min), crashes, batch failures reported, parked events, on-failure queue depth |
 */
export class EventSourcedTable<S = unknown> extends pulumi.ComponentResource {
  public readonly stream: aws.kinesis.Stream;
  /** The stream's customer-managed key, when one was given: writers need kms:GenerateDataKey on it, readers kms:Decrypt. */
  public readonly streamKeyArn: pulumi.Input<string> | undefined;
  /** Every key a reader of the stream must decrypt with: `streamKeyArn` (if customer-managed) and the previous keys. */
  public readonly streamDecryptKeyArns: pulumi.Input<string>[];
  /** The stream's retention as applied: a reader's mapping bounds its record age by it. */
  public readonly retentionHours: number;
  /** Version 1's read model: tables, projector and what watches it; undefined once retired (`retireReadModel`). */
  public readonly readModel: TableReadModel | undefined;

  constructor(name: string, args: EventSourcedTableArgs<S>, opts?: pulumi.ComponentResourceOptions) {
    // Validate before registering anything: a bad arg fails with no half-built component.
    const s = resolveTableSettings(name, args);
    super(COMPONENT_TYPES.EventSourcedTable, name, {}, opts);
    const child = { parent: this };
    const streamKeyArn = args.stream?.kmsKeyArn;
    this.streamKeyArn = streamKeyArn;
    this.streamDecryptKeyArns = [...(streamKeyArn ? [streamKeyArn] : []), ...(args.stream?.previousKmsKeyArns ?? [])];

    this.retentionHours = s.stream.retentionHours;
    this.stream = kinesisStream(`${name}-events`, s.stream, streamKeyArn ?? AWS_MANAGED_KINESIS_KEY, { ...child, protect: s.protectStream });
    this.readModel = s.retireReadModel ? undefined : projectReadModel(name, args, s, this.stream, this.streamDecryptKeyArns, child);
    const rm = this.readModel;
    this.registerOutputs({
      streamArn: this.stream.arn,
      ...(rm ? { tableName: rm.table.name, parkedTableName: rm.parkedTable.name, projectorName: rm.projector.name } : {}),
    });
  }
}

/** Version 1's read model beside the stream: the same logical names (and so URNs) as ever. */
function projectReadModel<S>(
  name: string,
  args: EventSourcedTableArgs<S>,
  s: TableSettings,
  stream: aws.kinesis.Stream,
  decryptKeyArns: pulumi.Input<string>[],
  child: pulumi.CustomResourceOptions,
): TableReadModel {
  const table = keyedTable(`${name}-read-model`, undefined, s.deletionProtection, child);
  const parkedTable = keyedTable(`${name}-parked`, "sk", s.deletionProtection, child);
  const projector = streamConsumer(
    `${name}-projector`,
    {
      ...projectorArgs(args.reduce, table, parkedTable, s.dedupWindow, s.sizing),
      streamArn: stream.arn,
      streamKeyArn: decryptKeyArns,
      mapping: s.mapping,
      queueName: `${name}-projector-failures`,
      mappingName: `${name}-projector-mapping`,
      alarmActions: args.alarmActions,
      retentionHours: s.stream.retentionHours,
      redrive: pulumi.interpolate`--table ${table.name} --parked ${parkedTable.name}`,
    },
    child,
  );
  return {
    table,
    parkedTable,
    projector: projector.fn,
    projectorRole: projector.role,
    onFailureQueue: projector.queue,
    mapping: projector.mapping,
    alarms: projector.alarms,
    monitoring: {
      title: `${name} projector`,
      throughput: functionSums(projector.fn, [
        [METRIC.recordsReceived, "records in"],
        [METRIC.eventsApplied, "applied"],
        [METRIC.duplicatesSkipped, "skipped, applied before"],
        [METRIC.retries, "retries"],
      ]),
      alarms: projector.watched,
    },
  };
}
