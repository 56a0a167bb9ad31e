/**
 * A small model of Lambda's Kinesis event-source mapping, enough to drive the
 * real handlers under random delivery schedules: per shard, batches of random
 * size from a position; on a reported `batchItemFailures` sequence number,
 * retry from it; on a function error (the handler throws, or the process
 * "dies" after a crash), retry the batch, bisected when it allows; after
 * `maxRetries`, give the records up to the on-failure destination (which, as
 * on AWS, holds pointers only) and go on. On top: redelivery of a batch that
 * succeeded (at-least-once), a concurrent invocation of the batch or a
 * prefix of it (a timed-out invocation still running while its retry runs,
 * whose writes can land after the retry's), and replays from
 * TRIM_HORIZON mid-run and at the end.
 */
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from "../../handlers/shared/kinesisEvent";
import { FaultPlan } from "../support/faults";

export type Handler = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;

/** A delivery schedule; every choice within it comes from `random`. */
export interface Schedule {
  maxBatch: number;
  /** Probability of delivering a successful batch once more. */
  redeliver: number;
  /** Probability of running a batch twice at once. */
  concurrent: number;
  bisect: boolean;
  replayMid: boolean;
  replayEnd: boolean;
}

/** What happened, for the checks and the report. */
export interface EsmStats {
  invocations: number;
  functionErrors: number;
  partialFailures: number;
  redeliveries: number;
  concurrent: number;
  replays: number;
  /** Records sent to the on-failure destination once retries ran out. */
  givenUp: KinesisStreamRecord[];
}

export function newStats(): EsmStats {
  return { invocations: 0, functionErrors: 0, partialFailures: 0, redeliveries: 0, concurrent: 0, replays: 0, givenUp: [] };
}

/** Lambda's default-like retry count for the mapping (the component sets 10). */
export const MAX_RETRIES = 10;
/** From this retry of one batch on, the plan's faults are off: every outage ends. */
export const CALM_AFTER = 5;

type Outcome = { ok: true; response: KinesisStreamBatchResponse } | { ok: false; error: unknown };

async function invoke(handler: Handler, plan: FaultPlan, records: KinesisStreamRecord[], stats: EsmStats): Promise<Outcome> {
  stats.invocations += 1;
  try {
    const response = await handler({ Records: records.slice() });
    // A crash killed the process: whatever it would have answered is lost.
    if (plan.crashed) return { ok: false, error: new Error("crashed") };
    return { ok: true, response };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Delivers one shard's records (in sequence order) until all are acknowledged or given up. */
export async function runShard(
  handler: Handler,
  plan: FaultPlan,
  records: KinesisStreamRecord[],
  schedule: Schedule,
  random: () => number,
  stats: EsmStats,
  slow: Handler = handler,
): Promise<void> {
  let replayMidAt = schedule.replayMid ? Math.floor(random() * (records.length + 1)) : -1;
  let replayEnd = schedule.replayEnd;
  let p = 0;
  let retries = 0;
  let bisectSize: number | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    if (p >= records.length) {
      if (!replayEnd) return;
      replayEnd = false;
      stats.replays += 1;
      p = 0;
      continue;
    }
    if (replayMidAt >= 0 && p >= replayMidAt) {
      replayMidAt = -1;
      stats.replays += 1;
      p = 0;
    }
    const size = bisectSize ?? 1 + Math.floor(random() * schedule.maxBatch);
    const batch = records.slice(p, p + size);
    plan.enabled = retries < CALM_AFTER;
    plan.crashed = false;

    let outcome: Outcome;
    if (random() < schedule.concurrent) {
      stats.concurrent += 1;
      // A timed-out earlier invocation still running (slow: its writes come late): the same batch or a prefix of it.
      const zombie = batch.slice(0, 1 + Math.floor(random() * batch.length));
      const [first] = await Promise.all([invoke(handler, plan, batch, stats), invoke(slow, plan, zombie, stats)]);
      outcome = plan.crashed ? { ok: false, error: new Error("crashed") } : first;
    } else {
      outcome = await invoke(handler, plan, batch, stats);
    }
    plan.crashed = false;

    let resumeAt: number | undefined; // index within batch
    if (!outcome.ok) {
      stats.functionErrors += 1;
      resumeAt = 0;
    } else if (outcome.response.batchItemFailures.length > 0) {
      stats.partialFailures += 1;
      const seq = outcome.response.batchItemFailures[0].itemIdentifier;
      const idx = batch.findIndex((r) => r.kinesis.sequenceNumber === seq);
      // An identifier outside the batch fails the whole batch, as Lambda does.
      resumeAt = idx < 0 ? 0 : idx;
    }

    if (resumeAt === undefined) {
      if (random() < schedule.redeliver) {
        stats.redeliveries += 1;
        plan.crashed = false;
        await invoke(handler, plan, batch, stats); // its answer is not used: the mapping already moved on
        plan.crashed = false;
      }
      p += batch.length;
      retries = 0;
      bisectSize = undefined;
      continue;
    }
    retries += 1;
    if (retries > MAX_RETRIES) {
      stats.givenUp.push(...batch.slice(resumeAt));
      p += batch.length;
      retries = 0;
      bisectSize = undefined;
      continue;
    }
    p += resumeAt;
    const left = batch.length - resumeAt;
    bisectSize = !outcome.ok && schedule.bisect && left > 1 ? Math.ceil(left / 2) : undefined;
  }
  throw new Error("the mapping model did not finish in 10,000 invocations");
}
