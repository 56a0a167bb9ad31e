/**
 * The projector: the Lambda behind the source stream's event-source mapping
 * that folds events into the read-model table, idempotently and in order.
 *
 * Per batch (the steps are in batch.ts): group by aggregate, one consistent
 * BatchGetItem per 100 aggregates, fold in memory, park poison durably, then
 * one conditional PutItem per changed aggregate (re-read and re-fold when the
 * condition fails). An aggregate already blocked is written only when the
 * batch parks new events behind the block (its `parkedThrough` advances), so
 * a re-drive lifting the block concurrently conflicts with it instead of
 * missing them. Whatever could not be written is reported as
 * `batchItemFailures` from its lowest sequence number; the rest is a no-op on
 * redelivery.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Reducer } from "../shared/domain";
import { ENV, intEnv, requireEnv } from "../shared/env";
import { KinesisStreamBatchResponse, KinesisStreamEvent, resumeFrom } from "../shared/kinesisEvent";
import { parkedTable } from "../shared/parkedTable";
import { readModelStore } from "../shared/readModelStore";
import { DEFAULT_RETRY_BUDGET, realClock, RetryBudget, RetryClock } from "../shared/retry";
import { defaultMetricsSink } from "../observability/emf";
import { countingClock, METRIC, MetricsRecorder, metricsRecorder, PROJECTOR_METRICS } from "../observability/metrics";
import { BatchContext, Folded, lowestSequence, parkFolded, readAndFold, writeFolded } from "./batch";
import { readModelClaims } from "./claims";
import { projectorLog } from "./log";
import { groupRecords } from "./records";

/** How a projector runs; `projectorConfigFromEnv` builds it in the Lambda. */
export interface ProjectorConfig {
  tableName: string;
  parkedTableName: string;
  /** Event ids remembered per aggregate to drop producer retries (default {@link DEFAULT_DEDUP_WINDOW}). */
  dedupWindow: number;
  retry: RetryBudget;
  /** Reads, folds and conditional writes per aggregate before giving up (default 5). */
  maxFoldAttempts: number;
}

/** What a projector needs; clients are built by the caller (handlers/shared/clients.ts). */
export interface ProjectorDeps<S> {
  dynamodb: DynamoDBClient;
  reduce: Reducer<S>;
  config: ProjectorConfig;
  clock?: RetryClock;
  /** One JSON-able entry per line; defaults to console.log of JSON. Never given event data. */
  log?: (entry: Record<string, unknown>) => void;
  /** PROJECTOR_METRICS, published once per batch; default EMF on stdout in Lambda (defaultMetricsSink). */
  metrics?: MetricsRecorder;
}

/**
 * Default dedup window: the aggregate's last 16 applied events. A producer retry comes close behind
 * its original (the API's SDK attempts fall inside one request, a client's Idempotency-Key retry
 * seconds later), so few of the aggregate's events lie between them; and each entry (~36 bytes) is
 * written on every write of the item, billed per started KB: 16 keep a small aggregate's item under
 * 1 KB, i.e. 1 WCU per write as the naive projector's, where 64 made it 3 (bench: README Performance).
 */
export const DEFAULT_DEDUP_WINDOW = 16;
/** Default fold attempts per aggregate. */
export const DEFAULT_MAX_FOLD_ATTEMPTS = 5;

/** Reads the projector's configuration from the function's environment. */
export function projectorConfigFromEnv(env: NodeJS.ProcessEnv): ProjectorConfig {
  return {
    tableName: requireEnv(env, ENV.TABLE_NAME),
    parkedTableName: requireEnv(env, ENV.PARKED_TABLE_NAME),
    dedupWindow: intEnv(env, ENV.DEDUP_WINDOW, DEFAULT_DEDUP_WINDOW),
    retry: { ...DEFAULT_RETRY_BUDGET, maxAttempts: intEnv(env, ENV.RETRY_MAX_ATTEMPTS, DEFAULT_RETRY_BUDGET.maxAttempts) },
    maxFoldAttempts: DEFAULT_MAX_FOLD_ATTEMPTS,
  };
}

/** Builds the handler for a Kinesis event-source mapping (with ReportBatchItemFailures). */
export function createProjector<S>(deps: ProjectorDeps<S>): (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse> {
  const { dynamodb, reduce, config } = deps;
  const metrics = deps.metrics ?? metricsRecorder(PROJECTOR_METRICS, defaultMetricsSink(process.env));
  const clock = countingClock(deps.clock ?? realClock, () => metrics.add(METRIC.retries));
  const log = projectorLog(deps.log ?? ((entry: Record<string, unknown>) => console.log(JSON.stringify(entry))), config.tableName);
  const ctx: BatchContext<S> = {
    store: readModelStore({ dynamodb, tableName: config.tableName, retry: config.retry, clock }),
    claims: readModelClaims({ dynamodb, tableName: config.tableName, retry: config.retry, clock }),
    parked: parkedTable({ dynamodb, tableName: config.parkedTableName, retry: config.retry, clock }),
    reduce,
    dedupWindow: config.dedupWindow,
    maxFoldAttempts: config.maxFoldAttempts,
    log,
  };

  return async function project(event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> {
    const started = Date.now();
    const now = new Date(started).toISOString();
    const records = event.Records ?? [];
    const read = await readAndFold(ctx, groupRecords(records), now);
    const parked = await parkFolded(ctx, read.folded);
    const written = await writeFolded(ctx, parked.writable, now);
    const failed = [...read.failed, ...parked.failed, ...written];
    const resume = lowestSequence(failed);
    if (resume !== undefined) log.resumes(resume, failed.length);
    countOutcomes(metrics, records.length, read.folded, failed);
    metrics.add(METRIC.batchFailures, resume === undefined ? 0 : 1);
    metrics.add(METRIC.batchDuration, Date.now() - started);
    metrics.publish();
    return resumeFrom(resume);
  };
}

/**
 * Counts what the batch did to the aggregates that ended durable (not among `failed`): applied (the
 * version each advanced by), parked (the rows its fold parked), and skipped as already applied (every
 * other record of it: a record is applied, parked or skipped). A failed aggregate's records come again.
 */
export function countOutcomes(metrics: MetricsRecorder, received: number, folded: Folded[], failed: { aggregateId: string }[]): void {
  const gaveUp = new Set(failed.map((b) => b.aggregateId));
  metrics.add(METRIC.recordsReceived, received);
  for (const f of folded) {
    if (gaveUp.has(f.batch.aggregateId)) continue;
    const applied = f.result.changed ? f.result.next.version - (f.read?.version ?? 0) : 0;
    metrics.add(METRIC.eventsApplied, applied);
    metrics.add(METRIC.eventsParked, f.result.parked.length);
    metrics.add(METRIC.duplicatesSkipped, f.batch.records.length - applied - f.result.parked.length);
  }
}
