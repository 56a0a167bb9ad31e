/**
 * A Kinesis event-source mapping with the defaults design.md sets, its
 * encrypted on-failure queue, and the statements its function needs to read.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Statement } from "./iam";

/** Event-source mapping settings; every one has a safe default. */
export interface StreamMappingOptions {
  /** Default TRIM_HORIZON: a new mapping starts from the oldest record, so nothing written before it existed is lost. */
  startingPosition?: "TRIM_HORIZON" | "LATEST";
  /** Records per invocation. Default 100. */
  batchSize?: number;
  /** Seconds to gather a batch. Default 1. */
  maximumBatchingWindowInSeconds?: number;
  /** Concurrent batches per shard (1–10); order per partition key is kept. Default 1. */
  parallelizationFactor?: number;
  /** Retries of a failing batch. Default 10. */
  maximumRetryAttempts?: number;
  /** Give up on records older than this. Default: half the stream's retention, so a pointer in the on-failure queue still has data behind it. */
  maximumRecordAgeInSeconds?: number;
  /** Split a failing batch to isolate the bad record. Default true. */
  bisectBatchOnFunctionError?: boolean;
}

/** The settings as applied, defaults filled in. */
export function mappingSettings(options: StreamMappingOptions, retentionHours: number): Required<StreamMappingOptions> {
  const halfRetention = Math.floor((retentionHours * 3600) / 2);
  return {
    startingPosition: options.startingPosition ?? "TRIM_HORIZON",
    batchSize: options.batchSize ?? 100,
    maximumBatchingWindowInSeconds: options.maximumBatchingWindowInSeconds ?? 1,
    parallelizationFactor: options.parallelizationFactor ?? 1,
    maximumRetryAttempts: options.maximumRetryAttempts ?? 10,
    maximumRecordAgeInSeconds: options.maximumRecordAgeInSeconds ?? Math.min(604_800, Math.max(60, halfRetention)),
    bisectBatchOnFunctionError: options.bisectBatchOnFunctionError ?? true,
  };
}

/** Where Lambda sends pointers to batches it gave up on: encrypted, kept 14 days. */
export function onFailureQueue(name: string, opts: pulumi.CustomResourceOptions): aws.sqs.Queue {
  return new aws.sqs.Queue(name, { sqsManagedSseEnabled: true, messageRetentionSeconds: 1_209_600 }, opts);
}

/** What a function fed by a mapping must be allowed to do. */
export function streamReadStatements(streamArn: pulumi.Input<string>, queueArn: pulumi.Input<string>, streamKeyArn?: pulumi.Input<string>): Statement[] {
  const statements: Statement[] = [
    {
      Sid: "ReadSourceStream",
      Action: ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
      Resource: streamArn,
    },
    { Sid: "SendFailurePointers", Action: "sqs:SendMessage", Resource: queueArn },
  ];
  if (streamKeyArn) statements.push({ Sid: "DecryptSourceStream", Action: "kms:Decrypt", Resource: streamKeyArn });
  return statements;
}

/** Args of {@link streamMapping}. */
export interface StreamMappingArgs {
  streamArn: pulumi.Input<string>;
  fn: aws.lambda.Function;
  queue: aws.sqs.Queue;
  retentionHours: number;
  options?: StreamMappingOptions;
}

/** The mapping itself, reporting partial batch failures. */
export function streamMapping(name: string, args: StreamMappingArgs, opts: pulumi.CustomResourceOptions): aws.lambda.EventSourceMapping {
  const s = mappingSettings(args.options ?? {}, args.retentionHours);
  return new aws.lambda.EventSourceMapping(
    name,
    {
      eventSourceArn: args.streamArn,
      functionName: args.fn.arn,
      startingPosition: s.startingPosition,
      batchSize: s.batchSize,
      maximumBatchingWindowInSeconds: s.maximumBatchingWindowInSeconds,
      parallelizationFactor: s.parallelizationFactor,
      maximumRetryAttempts: s.maximumRetryAttempts,
      maximumRecordAgeInSeconds: s.maximumRecordAgeInSeconds,
      bisectBatchOnFunctionError: s.bisectBatchOnFunctionError,
      functionResponseTypes: ["ReportBatchItemFailures"],
      destinationConfig: { onFailure: { destinationArn: args.queue.arn } },
    },
    opts,
  );
}
