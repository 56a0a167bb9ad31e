/**
 * One batch's life in an event-source mapping: invoke, then retry, bisect,
 * resume after a partial failure, or give up to the on-failure destination,
 * until every record of the batch is either processed or given up on.
 * Follows Lambda's documented rules: splitting a batch doesn't consume the
 * retry quota; records older than the maximum age are given up on before
 * any (re)invocation; a partial failure resumes at the lowest reported record.
 */
import { KinesisStreamEvent } from "../../../handlers/shared/kinesisEvent";
import { batchOutcome, FailureCondition, MappingSettings, onFailureRecord, PolledRecord, toEventRecord } from "./records";

/** Counters the mapping reports on its status line. */
export interface MappingStats {
  /** Invocations made (retries and bisected halves included). */
  batches: number;
  /** Records read from the stream. */
  records: number;
  /** Records the function processed. */
  succeeded: number;
  /** Re-invocations of records that failed (retries and bisected halves). */
  retries: number;
  /** Records given up on and sent to the on-failure destination. */
  sentToOnFailure: number;
  /** Records given up on with no destination to send them to. */
  discarded: number;
  /** How far behind current time the reading is (kinesisShards.ts pageLagMs), ms, the maximum over shards. */
  lagMs: number;
  lastError?: string;
}

/** What delivering a batch needs from its poller. */
export interface BatchContext {
  settings: MappingSettings;
  invokeIdentityArn: string;
  invoke(event: KinesisStreamEvent): Promise<unknown>;
  sendToOnFailure(destinationArn: string, message: object): Promise<void>;
  now(): number;
  log(e: object): void;
  stats: MappingStats;
  /** Stopping: no new invocation, retry or wait starts. */
  signal: AbortSignal;
  /** Stopped for good: an invocation in flight is abandoned (a draining stop fires it after `signal`; default: with it). */
  abandon?: AbortSignal;
  /** Milliseconds to wait before the n-th retry (n ≥ 1). */
  retryDelayMs(n: number): number;
}

/** Waits `ms`, or less when `signal` aborts (the timer is cleared either way). */
export function sleep(ms: number, signal: AbortSignal, wake?: Promise<void>): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener("abort", done, { once: true });
    wake?.then(done, done);
  });
}

/** Settles with the invocation, or with undefined as soon as `signal` aborts (the invocation is then abandoned). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<{ value?: T; error?: unknown; aborted?: true }> {
  return new Promise((resolve) => {
    const onAbort = () => resolve({ aborted: true });
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve({ value });
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        resolve({ error });
      },
    );
  });
}

interface Work {
  records: PolledRecord[];
  retries: number;
  invokes: number;
  functionError: boolean;
}

async function giveUp(ctx: BatchContext, work: Work, records: PolledRecord[], condition: FailureCondition): Promise<void> {
  const s = ctx.settings;
  const message = onFailureRecord(records, s, condition, work.invokes, work.functionError, ctx.now());
  ctx.log({
    event: "onFailure",
    function: s.functionArn,
    condition,
    shardId: records[0].shardId,
    records: records.length,
    destination: s.onFailureArn ?? null,
  });
  if (!s.onFailureArn) {
    ctx.stats.discarded += records.length;
    return;
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.sendToOnFailure(s.onFailureArn, message);
      ctx.stats.sentToOnFailure += records.length;
      return;
    } catch (err) {
      ctx.stats.lastError = `on-failure destination: ${(err as Error).message}`;
      // Lambda keeps trying the destination; a bounded number here, then the records are discarded with a log line.
      if (attempt >= 5 || ctx.signal.aborted) {
        ctx.stats.discarded += records.length;
        ctx.log({ event: "onFailureLost", function: s.functionArn, error: (err as Error).message });
        return;
      }
      await sleep(ctx.retryDelayMs(attempt), ctx.signal);
    }
  }
}

/**
 * Delivers one batch until each record is processed or given up on; returns early, leaving the rest, if the
 * poller stops. Resolves with how many records are done: always a prefix of the batch (the work queue is the
 * undone rest, in order), so the shard's checkpoint can move past them.
 */
export async function deliverBatch(batch: PolledRecord[], ctx: BatchContext): Promise<number> {
  const s = ctx.settings;
  const queue: Work[] = [{ records: batch, retries: 0, invokes: 0, functionError: false }];
  const undone = () => queue.reduce((n, w) => n + w.records.length, 0);
  while (queue.length > 0 && !ctx.signal.aborted) {
    const work = queue[0];
    if (s.maximumRecordAgeMs >= 0) {
      // Arrival times grow along a shard, so the expired records are a prefix.
      const now = ctx.now();
      const expired = work.records.findIndex((r) => now - r.arrivalMs <= s.maximumRecordAgeMs);
      const cut = expired < 0 ? work.records.length : expired;
      if (cut > 0) {
        await giveUp(ctx, work, work.records.slice(0, cut), "RecordAgeExceeded");
        work.records = work.records.slice(cut);
        if (work.records.length === 0) {
          queue.shift();
          continue;
        }
      }
    }
    const records = work.records;
    if (work.invokes > 0) ctx.stats.retries += 1;
    work.invokes += 1;
    ctx.stats.batches += 1;
    const event: KinesisStreamEvent = { Records: records.map((r) => toEventRecord(r, s, ctx.invokeIdentityArn)) };
    ctx.log({ event: "invoke", function: s.functionArn, shardId: records[0].shardId, records: records.length, attempt: work.invokes });
    // A synchronous throw (e.g. no such function) is a failed invocation too, never a lost batch.
    const answer = await untilAborted(
      Promise.resolve().then(() => ctx.invoke(event)),
      ctx.abandon ?? ctx.signal,
    );
    if (answer.aborted) return batch.length - undone();
    const outcome =
      answer.error !== undefined
        ? { kind: "failure" as const, functionError: true, message: (answer.error as Error)?.message ?? String(answer.error) }
        : batchOutcome(answer.value, records, s.reportBatchItemFailures);
    if (outcome.kind === "success") {
      ctx.stats.succeeded += records.length;
      queue.shift();
      continue;
    }
    let failing = records;
    if (outcome.kind === "partial") {
      ctx.stats.succeeded += outcome.index;
      failing = records.slice(outcome.index);
      ctx.log({ event: "partialFailure", function: s.functionArn, resumeAt: failing[0].sequenceNumber });
    } else {
      ctx.stats.lastError = `${s.functionArn}: ${outcome.message}`;
      ctx.log({ event: "batchFailed", function: s.functionArn, error: outcome.message, records: records.length });
    }
    work.functionError = outcome.kind === "failure" && outcome.functionError;
    // A function error on a batch of several: split it; the halves keep the retry count (splitting is not a retry).
    if (outcome.kind === "failure" && outcome.functionError && s.bisect && failing.length > 1) {
      const mid = Math.ceil(failing.length / 2);
      queue.splice(
        0,
        1,
        { records: failing.slice(0, mid), retries: work.retries, invokes: work.invokes, functionError: true },
        { records: failing.slice(mid), retries: work.retries, invokes: work.invokes, functionError: true },
      );
      continue;
    }
    if (s.maximumRetryAttempts >= 0 && work.retries >= s.maximumRetryAttempts) {
      await giveUp(ctx, work, failing, "RetryAttemptsExhausted");
      queue.shift();
      continue;
    }
    work.retries += 1;
    work.records = failing;
    await sleep(ctx.retryDelayMs(work.retries), ctx.signal);
  }
  return batch.length - undone();
}
