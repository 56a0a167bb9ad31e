/**
 * The archiver: the Lambda behind the archive's own event-source mapping on
 * the source stream. Per batch it writes one object per shard (a mapping's
 * batch holds one shard's records, in order) whose key is derived from the
 * positions it holds (format.ts), so a redelivered, retried or bisected
 * batch rewrites a key it already wrote, or a key whose run overlaps one
 * already written, never a record at a new place that hides a gap. A shard
 * whose object could not be written is reported from its first record, so
 * Lambda redelivers all of it; nothing else in the batch depends on it.
 */
import * as crypto from "crypto";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord, resumeFrom } from "../shared/kinesisEvent";
import { ENV, intEnv, requireEnv } from "../shared/env";
import { DEFAULT_RETRY_BUDGET, realClock, RetryBudget, RetryClock, withRetry } from "../shared/retry";
import { compareSequence } from "../shared/sequence";
import { defaultMetricsSink } from "../observability/emf";
import { ARCHIVER_METRICS, countingClock, METRIC, MetricsRecorder, metricsRecorder } from "../observability/metrics";
import { ARCHIVE_PREFIX, encodeObject, objectKey, shardOf, toArchived } from "./format";

/** Where the archiver writes; `archiverConfigFromEnv` builds it in the Lambda. */
export interface ArchiverConfig {
  bucket: string;
  prefix: string;
  retry: RetryBudget;
}

/** What an archiver needs; the client is built by the caller (handlers/shared/clients.ts). */
export interface ArchiverDeps {
  s3: S3Client;
  config: ArchiverConfig;
  clock?: RetryClock;
  /** ARCHIVER_METRICS, once per batch; default EMF on stdout in Lambda. */
  metrics?: MetricsRecorder;
  log?: (entry: Record<string, unknown>) => void;
}

/** Reads the archiver's configuration from the function's environment. */
export function archiverConfigFromEnv(env: NodeJS.ProcessEnv): ArchiverConfig {
  return {
    bucket: requireEnv(env, ENV.ARCHIVE_BUCKET),
    prefix: env[ENV.ARCHIVE_PREFIX] || ARCHIVE_PREFIX,
    retry: { ...DEFAULT_RETRY_BUDGET, maxAttempts: intEnv(env, ENV.RETRY_MAX_ATTEMPTS, DEFAULT_RETRY_BUDGET.maxAttempts) },
  };
}

/** The batch's records per shard, each shard's in delivery order. */
function byShard(records: KinesisStreamRecord[]): KinesisStreamRecord[][] {
  const shards = new Map<string, KinesisStreamRecord[]>();
  for (const r of records) {
    const id = shardOf(r);
    shards.set(id, [...(shards.get(id) ?? []), r]);
  }
  return [...shards.values()];
}

/** Builds the handler for the archive's Kinesis event-source mapping (with ReportBatchItemFailures). */
export function createArchiver(deps: ArchiverDeps): (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse> {
  const { s3, config } = deps;
  const metrics = deps.metrics ?? metricsRecorder(ARCHIVER_METRICS, defaultMetricsSink(process.env));
  const clock = countingClock(deps.clock ?? realClock, () => metrics.add(METRIC.retries));
  const log = deps.log ?? ((entry: Record<string, unknown>) => console.log(JSON.stringify(entry)));

  async function put(records: KinesisStreamRecord[]): Promise<void> {
    // Stream order inside the object even if a batch arrived reordered: the key names its first and last position.
    const archived = toArchived([...records].sort((a, b) => compareSequence(a.kinesis.sequenceNumber, b.kinesis.sequenceNumber)));
    const key = objectKey(config.prefix, archived);
    const body = encodeObject(archived);
    // S3 refuses a PUT without Content-MD5 (or a checksum) into a bucket with default Object Lock retention
    // (archiveObjectLock*), and the client sends no checksum of its own (requestChecksumCalculation WHEN_REQUIRED).
    const md5 = crypto.createHash("md5").update(body).digest("base64");
    await withRetry(
      () =>
        s3.send(
          new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body, ContentMD5: md5, ContentType: "application/x-ndjson", ContentEncoding: "gzip" }),
        ),
      config.retry,
      clock,
    );
  }

  return async function archive(event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> {
    const started = Date.now();
    const records = event.Records ?? [];
    const failed: string[] = [];
    for (const shard of byShard(records)) {
      try {
        await put(shard);
      } catch (err) {
        const first = shard.reduce(
          (lo, r) => (compareSequence(r.kinesis.sequenceNumber, lo) < 0 ? r.kinesis.sequenceNumber : lo),
          shard[0].kinesis.sequenceNumber,
        );
        log({ level: "error", message: "archive object not written; the shard's records come again", shardId: shardOf(shard[0]), first, error: String(err) });
        failed.push(first);
      }
    }
    metrics.add(METRIC.recordsReceived, records.length);
    metrics.add(METRIC.batchFailures, failed.length ? 1 : 0);
    metrics.add(METRIC.batchDuration, Date.now() - started);
    metrics.publish();
    const resume = failed.sort(compareSequence)[0];
    return resumeFrom(resume);
  };
}
