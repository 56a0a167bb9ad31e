/**
 * The shapes an event-source mapping deals in, as AWS has them: the mapping's
 * declared settings with Lambda's defaults, the Kinesis event records it
 * sends, the function's partial-batch response, and the on-failure
 * invocation record it sends to its destination.
 */
import { createHash, randomUUID } from "crypto";
import type { _Record } from "@aws-sdk/client-kinesis";
import { KinesisStreamRecord } from "../../../handlers/shared/kinesisEvent";

/** An EventSourceMapping's declared inputs (as the manifest records them). */
export interface MappingSpec {
  eventSourceArn: string;
  /** Function name or ARN (the program passes the ARN). */
  functionName: string;
  startingPosition?: "TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP" | string;
  /** For AT_TIMESTAMP: seconds since the epoch, or an ISO string. */
  startingPositionTimestamp?: number | string;
  batchSize?: number;
  maximumBatchingWindowInSeconds?: number;
  parallelizationFactor?: number;
  /** -1: retry until the records expire. */
  maximumRetryAttempts?: number;
  /** -1: no maximum age. */
  maximumRecordAgeInSeconds?: number;
  bisectBatchOnFunctionError?: boolean;
  functionResponseTypes?: string[];
  destinationConfig?: { onFailure?: { destinationArn?: string } };
  /** false: the mapping exists but does not poll. */
  enabled?: boolean;
}

/** The settings as Lambda applies them: its defaults where the spec is silent. */
export interface MappingSettings {
  streamArn: string;
  streamName: string;
  account: string;
  region: string;
  functionArn: string;
  startingPosition: "TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP";
  startingTimestamp?: Date;
  batchSize: number;
  windowMs: number;
  parallelizationFactor: number;
  maximumRetryAttempts: number;
  maximumRecordAgeMs: number;
  bisect: boolean;
  reportBatchItemFailures: boolean;
  onFailureArn?: string;
}

/** Checks a spec and fills in Lambda's defaults (batch 100, no window, factor 1, retries and age unbounded, no bisect). */
export function mappingSettingsOf(spec: MappingSpec): MappingSettings {
  // A stream, or an enhanced fan-out consumer of one (`<stream ARN>/consumer/<name>:<time>`), whose stream is polled.
  const arn = /^(arn:aws[\w-]*:kinesis:([\w-]+):(\d{12}):stream\/([^/]+))(\/consumer\/[^/]+:\d+)?$/.exec(spec.eventSourceArn ?? "");
  if (!arn) throw new Error(`event source ${spec.eventSourceArn} is not a Kinesis stream or stream consumer ARN (other sources are not emulated)`);
  const [, streamArn, region, account, streamName] = arn;
  const position = spec.startingPosition ?? "TRIM_HORIZON";
  if (position !== "TRIM_HORIZON" && position !== "LATEST" && position !== "AT_TIMESTAMP") throw new Error(`unknown startingPosition ${position}`);
  const int = (value: number | undefined, fallback: number, min: number, max: number, name: string): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} ${v} is outside ${min}..${max}`);
    return v;
  };
  const functionArn = spec.functionName.startsWith("arn:") ? spec.functionName : `arn:aws:lambda:${region}:${account}:function:${spec.functionName}`;
  let startingTimestamp: Date | undefined;
  if (position === "AT_TIMESTAMP") {
    const t = spec.startingPositionTimestamp;
    startingTimestamp = typeof t === "number" ? new Date(t * 1000) : t ? new Date(t) : undefined;
    if (!startingTimestamp || Number.isNaN(startingTimestamp.getTime())) throw new Error("AT_TIMESTAMP needs startingPositionTimestamp");
  }
  const maxAge = int(spec.maximumRecordAgeInSeconds, -1, -1, 604_800, "maximumRecordAgeInSeconds");
  return {
    streamArn,
    streamName,
    account,
    region,
    functionArn,
    startingPosition: position,
    startingTimestamp,
    batchSize: int(spec.batchSize, 100, 1, 10_000, "batchSize"),
    windowMs: int(spec.maximumBatchingWindowInSeconds, 0, 0, 300, "maximumBatchingWindowInSeconds") * 1000,
    parallelizationFactor: int(spec.parallelizationFactor, 1, 1, 10, "parallelizationFactor"),
    maximumRetryAttempts: int(spec.maximumRetryAttempts, -1, -1, 10_000, "maximumRetryAttempts"),
    maximumRecordAgeMs: maxAge < 0 ? -1 : maxAge * 1000,
    bisect: spec.bisectBatchOnFunctionError ?? false,
    reportBatchItemFailures: (spec.functionResponseTypes ?? []).includes("ReportBatchItemFailures"),
    onFailureArn: spec.destinationConfig?.onFailure?.destinationArn || undefined,
  };
}

/** A record as read from a shard, with when this poller fetched it. */
export interface PolledRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Buffer;
  /** Epoch ms. */
  arrivalMs: number;
  /** Epoch ms (wall clock of this process), for the batching window. */
  fetchedAt: number;
}

/** A record of a GetRecords page, as the poller keeps it (arrival defaults to when it was fetched). */
export function polledRecord(r: _Record, shardId: string, fetchedAt: number): PolledRecord {
  return {
    shardId,
    sequenceNumber: r.SequenceNumber!,
    partitionKey: r.PartitionKey!,
    data: Buffer.from(r.Data ?? new Uint8Array()),
    arrivalMs: (r.ApproximateArrivalTimestamp ?? new Date(fetchedAt)).getTime(),
    fetchedAt,
  };
}

/** The record as Lambda puts it into the event. */
export function toEventRecord(r: PolledRecord, s: MappingSettings, invokeIdentityArn: string): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: "1.0",
      partitionKey: r.partitionKey,
      sequenceNumber: r.sequenceNumber,
      data: r.data.toString("base64"),
      approximateArrivalTimestamp: r.arrivalMs / 1000,
    },
    eventSource: "aws:kinesis",
    eventVersion: "1.0",
    eventID: `${r.shardId}:${r.sequenceNumber}`,
    eventName: "aws:kinesis:record",
    invokeIdentityArn,
    awsRegion: s.region,
    eventSourceARN: s.streamArn,
  };
}

/** Which of `factor` concurrent batches of a shard a partition key goes to (order per key is kept). */
export function laneOf(partitionKey: string, factor: number): number {
  if (factor <= 1) return 0;
  return createHash("md5").update(partitionKey).digest().readUInt32BE(0) % factor;
}

/** How a batch ended, from the function's answer. */
export type BatchOutcome =
  | { kind: "success" }
  /** ReportBatchItemFailures: records before `index` are done; resume at `index`. */
  | { kind: "partial"; index: number }
  | { kind: "failure"; functionError: boolean; message: string };

/**
 * Reads the function's answer as Lambda does: with ReportBatchItemFailures, an
 * empty or absent list is success, the lowest listed record is where to resume,
 * and an identifier that is empty or not in the batch fails the whole batch.
 */
export function batchOutcome(result: unknown, batch: PolledRecord[], reportBatchItemFailures: boolean): BatchOutcome {
  if (!reportBatchItemFailures || result === null || typeof result !== "object") return { kind: "success" };
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: "success" };
  if (!Array.isArray(failures)) return { kind: "failure", functionError: false, message: "batchItemFailures is not a list" };
  if (failures.length === 0) return { kind: "success" };
  let lowest = Infinity;
  for (const f of failures) {
    const id = f && typeof f === "object" ? (f as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    const index = typeof id === "string" && id !== "" ? batch.findIndex((r) => r.sequenceNumber === id) : -1;
    if (index < 0) return { kind: "failure", functionError: false, message: `invalid itemIdentifier ${JSON.stringify(id)}` };
    lowest = Math.min(lowest, index);
  }
  return { kind: "partial", index: lowest };
}

/** Why records were given up on. */
export type FailureCondition = "RetryAttemptsExhausted" | "RecordAgeExceeded";

/** Lambda's on-failure invocation record for a Kinesis batch it gave up on. */
export function onFailureRecord(
  records: PolledRecord[],
  s: MappingSettings,
  condition: FailureCondition,
  invokeCount: number,
  functionError: boolean,
  nowMs: number,
): object {
  const first = records[0];
  const last = records[records.length - 1];
  return {
    requestContext: { requestId: randomUUID(), functionArn: s.functionArn, condition, approximateInvokeCount: invokeCount },
    // A batch never invoked (expired before its turn) has no response.
    responseContext:
      invokeCount > 0
        ? { statusCode: 200, executedVersion: "$LATEST", functionError: functionError ? "Unhandled" : "" }
        : { statusCode: 0, executedVersion: "", functionError: "" },
    version: "1.0",
    timestamp: new Date(nowMs).toISOString(),
    KinesisBatchInfo: {
      shardId: first.shardId,
      startSequenceNumber: first.sequenceNumber,
      endSequenceNumber: last.sequenceNumber,
      approximateArrivalOfFirstRecord: new Date(first.arrivalMs).toISOString(),
      approximateArrivalOfLastRecord: new Date(last.arrivalMs).toISOString(),
      batchSize: records.length,
      streamArn: s.streamArn,
    },
  };
}
