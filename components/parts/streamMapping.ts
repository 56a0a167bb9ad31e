/**
 * A Kinesis event-source mapping with the defaults design.md sets, its
 * encrypted on-failure queue, and the statements its function needs to read.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Statement, viaKinesis } from "./iam";
import { ArgCheck, withDefaults } from "./validation";

/** Event-source mapping settings; every one has a safe default (MAPPING_DEFAULTS). */
export interface StreamMappingOptions {
  /**
   * Default TRIM_HORIZON: a new mapping starts from the oldest record, so nothing written before it existed is lost.
   * Read when the mapping is created only: a later change is ignored (MAPPING_START_INPUTS).
   */
  startingPosition?: "TRIM_HORIZON" | "LATEST";
  /** Records per invocation, 1–10000. Default 500: one PutRecords call (its limit) and fewer writes per event for the projector; bisect keeps a retried batch's repeated work small. */
  batchSize?: number;
  /** Seconds to gather a batch, 0–300. Default 1: fuller batches for at most a second of latency. */
  maximumBatchingWindowInSeconds?: number;
  /**
   * Concurrent batches per shard, 1–10. Default 1. Above 1, Lambda keeps order per Kinesis partition key only, not per
   * aggregate: a KPL record packing several aggregates' events under one key would be processed beside a later event of
   * one of them. So a value above 1 needs `kplMixedKeys: false` (see {@link resolveMappingSettings}).
   */
  parallelizationFactor?: number;
  /**
   * Retries of a failing batch, -1 (until the record expires) to 10000. Default 10000, bounded by the record age: the
   * functions park poison themselves, so what fails a batch is transient (throttling, an outage) or a fault to fix, and
   * a batch given up is gone from the projection for good (later events pass its position); 10 gave up within minutes.
   */
  maximumRetryAttempts?: number;
  /** Give up on records older than this: -1, or 60–604800 s and below the stream's retention. Default half the retention, so a pointer in the on-failure queue still has data behind it. */
  maximumRecordAgeInSeconds?: number;
  /** Split a failing batch to isolate the bad record. Default true: one poison record then costs a few retries, not the whole batch's. */
  bisectBatchOnFunctionError?: boolean;
}

/** The mapping settings as applied, defaults filled in. */
export type MappingSettings = Required<StreamMappingOptions>;

/** The defaults that do not depend on the stream (the record age is half its retention). */
export const MAPPING_DEFAULTS: Omit<MappingSettings, "maximumRecordAgeInSeconds"> = {
  startingPosition: "TRIM_HORIZON",
  batchSize: 500,
  maximumBatchingWindowInSeconds: 1,
  parallelizationFactor: 1,
  maximumRetryAttempts: 10_000,
  bisectBatchOnFunctionError: true,
};

/** Lambda's range of a Kinesis mapping's record age, in seconds (-1: no limit but the retention). */
export const RECORD_AGE_SECONDS = { min: 60, max: 604_800 } as const;

/** Why a parallelization factor above 1 needs `kplMixedKeys: false` (the check's message). */
const MIXED_KEYS_RULE =
  "above 1, Lambda keeps order per Kinesis partition key only, so a KPL record that packs several aggregates' events under one key is processed " +
  "beside a later event of one of them, which the projector then drops as applied; set kplMixedKeys false only when no producer packs records " +
  "of different partition keys into one KPL record (plain records, this project's producer library, the KPL with AggregationEnabled false)";

/**
 * Our defaults over the options, checked against Lambda's ranges for a Kinesis source (`field`: how the component names the options).
 * `kplMixedKeys` (default true): whether a producer may pack user records of several partition keys into one KPL record, as the KPL's
 * aggregation does; then one batch per shard is the only order-safe parallelization factor.
 */
export function resolveMappingSettings(
  check: ArgCheck,
  field: string,
  options: StreamMappingOptions | undefined,
  retentionHours: number,
  kplMixedKeys = true,
): MappingSettings {
  const retentionSeconds = retentionHours * 3600;
  const halfRetention = Math.floor(retentionSeconds / 2);
  const ageDefault = Math.min(RECORD_AGE_SECONDS.max, Math.max(RECORD_AGE_SECONDS.min, halfRetention));
  const s = withDefaults({ ...MAPPING_DEFAULTS, maximumRecordAgeInSeconds: ageDefault }, options);
  check.oneOf(`${field}.startingPosition`, s.startingPosition, ["TRIM_HORIZON", "LATEST"]);
  check.integer(`${field}.batchSize`, s.batchSize, 1, 10_000);
  check.integer(`${field}.maximumBatchingWindowInSeconds`, s.maximumBatchingWindowInSeconds, 0, 300, " s");
  check.integer(`${field}.parallelizationFactor`, s.parallelizationFactor, 1, 10);
  check.flag("kplMixedKeys", kplMixedKeys, true);
  check.that(
    !(s.parallelizationFactor > 1 && kplMixedKeys !== false),
    `${field}.parallelizationFactor ${s.parallelizationFactor} needs kplMixedKeys: false: ${MIXED_KEYS_RULE}`,
  );
  check.integer(`${field}.maximumRetryAttempts`, s.maximumRetryAttempts, -1, 10_000);
  const age = s.maximumRecordAgeInSeconds;
  if (age !== -1) {
    check.integer(`${field}.maximumRecordAgeInSeconds`, age, RECORD_AGE_SECONDS.min, RECORD_AGE_SECONDS.max, " s (or -1)");
    check.that(
      age < retentionSeconds,
      `${field}.maximumRecordAgeInSeconds must be below the stream's retention (${retentionSeconds} s), or the on-failure pointer can outlive its record, got ${age}`,
    );
  }
  return s;
}

/** Where Lambda sends pointers to batches it gave up on: encrypted, kept 14 days. */
export function onFailureQueue(name: string, opts: pulumi.CustomResourceOptions): aws.sqs.Queue {
  return new aws.sqs.Queue(name, { sqsManagedSseEnabled: true, messageRetentionSeconds: 1_209_600 }, opts);
}

/** What a function fed by a mapping must be allowed to do. */
export function streamReadStatements(
  streamArn: pulumi.Input<string>,
  queueArn: pulumi.Input<string>,
  streamKeyArn?: pulumi.Input<string> | pulumi.Input<string>[],
  consumerArn?: pulumi.Input<string>,
): Statement[] {
  const statements: Statement[] = [
    {
      Sid: "ReadSourceStream",
      Action: ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
      Resource: streamArn,
    },
    { Sid: "SendFailurePointers", Action: "sqs:SendMessage", Resource: queueArn },
  ];
  // A customer-managed key: reading records needs kms:Decrypt (Kinesis's "Permissions to use user-generated KMS keys"), only through Kinesis.
  // Through an enhanced fan-out consumer, Lambda subscribes to each shard as that consumer.
  if (consumerArn)
    statements.push({ Sid: "SubscribeAsConsumer", Action: ["kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"], Resource: consumerArn });
  // Several keys: the stream's and those it was encrypted with before (records written then stay encrypted with them).
  const keys = [streamKeyArn ?? []].flat();
  if (keys.length)
    statements.push({ Sid: "DecryptSourceStream", Action: "kms:Decrypt", Resource: keys.length === 1 ? keys[0] : keys, Condition: viaKinesis(streamArn) });
  return statements;
}

/** Args of {@link streamMapping}. */
export interface StreamMappingArgs {
  /** The stream, or the enhanced fan-out consumer to read it through. */
  streamArn: pulumi.Input<string>;
  fn: aws.lambda.Function;
  queue: aws.sqs.Queue;
  /** Resolved by the component with {@link resolveMappingSettings}. */
  settings: MappingSettings;
  /** Start AT_TIMESTAMP this RFC 3339 time instead of `settings.startingPosition` (older than the trim horizon: the oldest record). */
  startingPositionTimestamp?: string;
}

/**
 * Where a mapping starts is read when it is created and never again: the provider replaces a mapping whose start
 * changes, and the new one would begin there, skipping what lies between the old one's checkpoint and it (a
 * read-model version's `liveFrom` moved later) or reading it all again. To start elsewhere, deploy a new version.
 */
export const MAPPING_START_INPUTS = ["startingPosition", "startingPositionTimestamp"];

/** The mapping itself, reporting partial batch failures; its start is kept from creation ({@link MAPPING_START_INPUTS}). */
export function streamMapping(name: string, args: StreamMappingArgs, opts: pulumi.CustomResourceOptions): aws.lambda.EventSourceMapping {
  return new aws.lambda.EventSourceMapping(
    name,
    {
      eventSourceArn: args.streamArn,
      functionName: args.fn.arn,
      ...args.settings,
      ...(args.startingPositionTimestamp ? { startingPosition: "AT_TIMESTAMP", startingPositionTimestamp: args.startingPositionTimestamp } : {}),
      functionResponseTypes: ["ReportBatchItemFailures"],
      destinationConfig: { onFailure: { destinationArn: args.queue.arn } },
    },
    { ...opts, ignoreChanges: [...(opts.ignoreChanges ?? []), ...MAPPING_START_INPUTS] },
  );
}
