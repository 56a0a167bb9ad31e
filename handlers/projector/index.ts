/**
 * The projector: the Lambda behind the source stream's event-source mapping
 * that folds events into the read-model table, idempotently and in order.
 *
 * Per batch: group by aggregate, one consistent BatchGetItem per 100
 * aggregates, fold in memory, park poison durably, then one conditional
 * PutItem per changed aggregate (re-read and re-fold when the condition
 * fails). An aggregate already blocked is written only when the batch parks
 * new events behind the block (its `parkedThrough` advances), so a re-drive
 * lifting the block concurrently conflicts with it instead of missing them. Whatever could not be written is reported as `batchItemFailures`
 * from its lowest sequence number; the rest is a no-op on redelivery.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ENV, intEnv, requireEnv } from "../shared/env";
import { KinesisStreamBatchResponse, KinesisStreamEvent, resumeFrom } from "../shared/kinesisEvent";
import { parkEvents, ParkedEvent } from "../shared/parkedTable";
import { AggregateBatch, foldAggregate, FoldResult, groupRecords } from "./fold";
import { READ_CHUNK, readAggregate, readAggregates, writeAggregate } from "../shared/readModelStore";
import type { StoredAggregate } from "../shared/readModelItem";
import { DEFAULT_RETRY_BUDGET, isTransient, realClock, RetryBudget, RetryClock } from "../shared/retry";
import { compareSequence } from "../shared/sequence";
import { Reducer } from "../shared/domain";

/** How a projector runs; `projectorConfigFromEnv` builds it in the Lambda. */
export interface ProjectorConfig {
  tableName: string;
  parkedTableName: string;
  /** Event ids remembered per aggregate to drop producer retries (default 64). */
  dedupWindow: number;
  retry: RetryBudget;
  /** Reads, folds and conditional writes per aggregate before giving up (default 5). */
  maxFoldAttempts: number;
}

/** What a projector needs; clients are built by the caller (handlers/clients.ts). */
export interface ProjectorDeps<S> {
  dynamodb: DynamoDBClient;
  reduce: Reducer<S>;
  config: ProjectorConfig;
  clock?: RetryClock;
  /** One JSON-able entry per line; defaults to console.log of JSON. Never given event data. */
  log?: (entry: Record<string, unknown>) => void;
}

/** Default dedup window. */
export const DEFAULT_DEDUP_WINDOW = 64;
/** Default fold attempts per aggregate. */
export const DEFAULT_MAX_FOLD_ATTEMPTS = 5;
/** Conditional writes in flight at once. */
const WRITE_CONCURRENCY = 16;

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

function errorFields(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; message?: string };
  return { errorName: e?.name ?? "Error", errorMessage: e?.message ?? String(err), transient: isTransient(err) };
}

function lowestSequence(batches: AggregateBatch[]): string | undefined {
  let lowest: string | undefined;
  for (const b of batches) {
    for (const r of b.records) if (lowest === undefined || compareSequence(r.sequenceNumber, lowest) < 0) lowest = r.sequenceNumber;
  }
  return lowest;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function forEachConcurrently<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

interface Folded {
  batch: AggregateBatch;
  read: StoredAggregate | undefined;
  result: FoldResult;
}

/** Builds the handler for a Kinesis event-source mapping (with ReportBatchItemFailures). */
export function createProjector<S>(deps: ProjectorDeps<S>): (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse> {
  const { dynamodb, reduce, config } = deps;
  const clock = deps.clock ?? realClock;
  const log = deps.log ?? ((entry: Record<string, unknown>) => console.log(JSON.stringify(entry)));

  const logPoison = (result: FoldResult) => {
    for (const p of result.poison) {
      const msg = p.kind === "idempotency-conflict" ? "parked rejected duplicate (eventId applied before with other data)" : "parked poison event";
      log({
        level: "warn",
        msg,
        table: config.tableName,
        aggregateId: p.aggregateId,
        sequenceNumber: p.sequenceNumber,
        eventId: p.eventId,
        kind: p.kind,
        detail: p.detail,
      });
    }
    if (result.parked.length > result.poison.length) {
      log({
        level: "info",
        msg: "parked events behind poison",
        table: config.tableName,
        aggregateId: result.next.aggregateId,
        count: result.parked.length - result.poison.length,
      });
    }
  };
  const giveUp = (stage: string, err: unknown, batches: AggregateBatch[]) => {
    log({
      level: "error",
      msg: `projector gave up (${stage})`,
      table: config.tableName,
      aggregates: batches.length,
      aggregateIds: batches.slice(0, 10).map((b) => b.aggregateId),
      ...errorFields(err),
    });
  };

  /** Writes one aggregate, re-reading and re-folding on a failed condition; true once durable. */
  const commit = async (f: Folded, now: string): Promise<boolean> => {
    let { read, result } = f;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1 && result.parked.length > 0) {
        await parkEvents(dynamodb, config.parkedTableName, result.parked, config.retry, clock);
        logPoison(result);
      }
      if (!result.changed) return true;
      if (await writeAggregate(dynamodb, config.tableName, result.next, read, config.retry, clock)) return true;
      if (attempt >= config.maxFoldAttempts) {
        giveUp("condition kept failing", { name: "ConditionalCheckFailedException", message: `${attempt} attempts` }, [f.batch]);
        return false;
      }
      read = await readAggregate(dynamodb, config.tableName, f.batch.aggregateId, config.retry, clock);
      result = foldAggregate(read, f.batch, reduce, config.dedupWindow, now);
    }
  };

  return async function project(event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> {
    const groups = groupRecords(event.Records ?? []);
    const now = new Date().toISOString();
    const failed: AggregateBatch[] = [];

    // Read every aggregate's item, 100 per request.
    const folded: Folded[] = [];
    for (let i = 0; i < groups.length; i += READ_CHUNK) {
      const chunk = groups.slice(i, i + READ_CHUNK);
      let items: Map<string, StoredAggregate>;
      try {
        items = await readAggregates(
          dynamodb,
          config.tableName,
          chunk.map((g) => g.aggregateId),
          config.retry,
          clock,
        );
      } catch (err) {
        giveUp("read", err, chunk);
        failed.push(...chunk);
        continue;
      }
      for (const batch of chunk) {
        const read = items.get(batch.aggregateId);
        try {
          folded.push({ batch, read, result: foldAggregate(read, batch, reduce, config.dedupWindow, now) });
        } catch (err) {
          giveUp("fold", err, [batch]);
          failed.push(batch);
        }
      }
    }

    // Park poison (and what waits behind it) before any item records the block.
    let writable = folded;
    const parking = folded.filter((f) => f.result.parked.length > 0);
    if (parking.length > 0) {
      const events: ParkedEvent[] = parking.flatMap((f) => f.result.parked);
      try {
        await parkEvents(dynamodb, config.parkedTableName, events, config.retry, clock);
        parking.forEach((f) => logPoison(f.result));
      } catch (err) {
        giveUp(
          "park",
          err,
          parking.map((f) => f.batch),
        );
        failed.push(...parking.map((f) => f.batch));
        writable = folded.filter((f) => f.result.parked.length === 0);
      }
    }

    // One conditional write per changed aggregate; stop starting new ones once DynamoDB is overwhelmed.
    let overwhelmed = false;
    await forEachConcurrently(
      writable.filter((f) => f.result.changed),
      WRITE_CONCURRENCY,
      async (f) => {
        if (overwhelmed) {
          failed.push(f.batch);
          return;
        }
        try {
          if (!(await commit(f, now))) failed.push(f.batch);
        } catch (err) {
          giveUp("write", err, [f.batch]);
          failed.push(f.batch);
          if (isTransient(err)) overwhelmed = true;
        }
      },
    );

    const resume = lowestSequence(failed);
    if (resume !== undefined)
      log({ level: "error", msg: "projector reports batch item failure", table: config.tableName, resumeFrom: resume, failedAggregates: failed.length });
    return resumeFrom(resume);
  };
}
