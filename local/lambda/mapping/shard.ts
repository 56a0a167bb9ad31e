/**
 * One shard's loop in an event-source mapping (poller.ts starts one per
 * shard): read in order, spread the records over the lanes (parallelization
 * factor, order kept per partition key), start each lane's batch when it is
 * due, and move the shard's checkpoint past every done prefix (progress.ts).
 * It ends when the shard is drained or the mapping stops; a stop lets the
 * batches in flight finish (or be abandoned) before it returns.
 */
import { GetRecordsCommand, GetRecordsCommandOutput, GetShardIteratorCommand, KinesisClient } from "@aws-sdk/client-kinesis";
import { MAX_PAGE_RECORDS, pageBehind, pageLagMs, resumeFrom } from "../../emulators/kinesisShards";
import { BatchContext, deliverBatch, sleep } from "./batch";
import { ShardStart } from "./discovery";
import { batchLength, idleWaitMs, Lane, lanesDue, readAheadCap, shardFinished } from "./lanes";
import { shardProgress } from "./progress";
import { laneOf, MappingSettings, polledRecord } from "./records";
import { StreamWrites, writeHint } from "../../shared/streamWrites";

/** What a shard loop shares with its mapping. */
export interface ShardLoopEnv {
  kinesis: KinesisClient;
  settings: MappingSettings;
  /** Also holds the stop signal, the counters and the retry backoff. */
  batch: BatchContext;
  pollMs: number;
  /** Puts heard on the stream; without them an idle shard is polled every `pollMs`. */
  writes?: StreamWrites;
  /** The idle poll interval when `writes` is given. */
  idlePollMs: number;
  fail(where: string, err: unknown): void;
  /** Records how far behind current time a shard's reading is (pageLagMs); undefined once the shard's loop ends. */
  setLag(shardId: string, ms: number | undefined): void;
  /** The shard's checkpoint moved: every record up to this one is done. */
  checkpoint(shardId: string, sequenceNumber: string): void;
  /** The shard is drained: closed, read to its end, every record done. */
  drained(shardId: string): void;
}

function errorName(err: unknown): string {
  return (err as Error)?.name ?? "Error";
}

async function openIterator(env: ShardLoopEnv, start: ShardStart): Promise<string | undefined> {
  const input = { StreamName: env.settings.streamName, ShardId: start.shardId, ...start.input };
  return (await env.kinesis.send(new GetShardIteratorCommand(input), { abortSignal: env.batch.signal })).ShardIterator;
}

/** The shard's first iterator, retried until it comes or the mapping stops; none for a shard already closed and gone. */
async function firstIterator(env: ShardLoopEnv, start: ShardStart): Promise<{ iterator?: string; closed: boolean }> {
  const { signal } = env.batch;
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      const iterator = await openIterator(env, start);
      return { iterator, closed: iterator === undefined };
    } catch (err) {
      if (signal.aborted) break;
      env.fail(`GetShardIterator ${start.shardId}`, err);
      await sleep(env.batch.retryDelayMs(attempt), signal);
    }
  }
  return { closed: false };
}

/** Lets a finishing batch wake the shard loop; a wake-up between the dispatch and the wait is kept, not lost. */
function wakeSignal(): { nudge(): void; woken(): Promise<void>; takeKick(): boolean } {
  let kicked = false;
  let wake!: () => void;
  let woken = new Promise<void>((r) => (wake = r));
  return {
    nudge() {
      kicked = true;
      const w = wake;
      woken = new Promise<void>((r) => (wake = r));
      w();
    },
    woken: () => woken,
    takeKick() {
      const was = kicked;
      kicked = false;
      return was;
    },
  };
}

/** Reads one shard until it is drained (closed and every record delivered or given up on) or the mapping stops. */
export async function runShard(first: ShardStart, env: ShardLoopEnv, markReady: () => void): Promise<void> {
  const { settings: s, batch: ctx } = env;
  const { signal } = ctx;
  const shardId = first.shardId;
  let start = first;
  const lanes: Lane[] = Array.from({ length: s.parallelizationFactor }, () => ({ buffer: [] }));
  const buffered = () => lanes.reduce((n, l) => n + l.buffer.length, 0);
  const cap = readAheadCap(s);
  const wakeup = wakeSignal();
  const progress = shardProgress();
  let drained = false;
  let { iterator: it, closed } = await firstIterator(env, start);
  let lastSeq: string | undefined;
  const hint = writeHint(env.writes, s.streamArn);
  let lastReadAt = 0;
  markReady();
  let failures = 0;
  try {
    while (!signal.aborted) {
      let page: GetRecordsCommandOutput | undefined;
      let pageLimit = MAX_PAGE_RECORDS;
      if (!closed && it !== undefined && buffered() < cap) {
        // A put heard from here on may have landed after this read: it wakes the next wait.
        hint?.take();
        lastReadAt = Date.now();
        try {
          pageLimit = Math.min(MAX_PAGE_RECORDS, cap - buffered());
          page = await env.kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: pageLimit }), { abortSignal: signal });
          failures = 0;
        } catch (err) {
          if (signal.aborted) break;
          failures += 1;
          if (errorName(err) === "ExpiredIteratorException") {
            // Held while batches were retried: resume right after the last record read.
            start = { shardId, input: resumeFrom(lastSeq, start.input) };
            try {
              it = await openIterator(env, start);
            } catch (e) {
              if (!signal.aborted) env.fail(`GetShardIterator ${shardId}`, e);
            }
          } else {
            env.fail(`GetRecords ${shardId}`, err);
          }
          await sleep(ctx.retryDelayMs(Math.min(failures, 8)), signal);
          continue;
        }
        const fetchedAt = Date.now();
        for (const r of page.Records ?? []) {
          const record = polledRecord(r, shardId, fetchedAt);
          lanes[laneOf(record.partitionKey, s.parallelizationFactor)].buffer.push(record);
          progress.read(record.sequenceNumber);
          lastSeq = record.sequenceNumber;
        }
        ctx.stats.records += page.Records?.length ?? 0;
        env.setLag(shardId, pageLagMs(page, pageLimit, ctx.now()));
        it = page.NextShardIterator;
        if (!it) closed = true; // a closed shard, read to its end
      }
      const { due, nextWindowEnd } = lanesDue(lanes, s, Date.now(), closed);
      for (const lane of due.map((i) => lanes[i])) {
        const batch = lane.buffer.splice(0, batchLength(lane.buffer, s.batchSize));
        lane.busy = deliverBatch(batch, ctx)
          .then((done) => {
            const moved = progress.done(batch.slice(0, done).map((r) => r.sequenceNumber));
            if (moved) env.checkpoint(shardId, moved);
          })
          .catch((err) => env.fail(`batch on ${shardId}`, err))
          .finally(() => {
            lane.busy = undefined;
            wakeup.nudge();
          });
      }
      if (shardFinished(lanes, closed)) {
        drained = true;
        break;
      }
      if (wakeup.takeKick()) continue;
      const behind = page !== undefined && pageBehind(page, pageLimit);
      // Idle (nothing buffered, shard open, puts heard): Lambda's base rate, cut short by a put.
      const idle = hint !== undefined && buffered() === 0 && !closed;
      const wait = idleWaitMs({ behind, room: buffered() < cap, closed, pollMs: idle ? env.idlePollMs : env.pollMs, nextWindowEnd, now: Date.now() });
      if (wait === undefined) continue;
      if (!idle) await sleep(wait, signal, wakeup.woken());
      else {
        if (!hint.take()) await sleep(wait, signal, Promise.race([wakeup.woken(), hint.heard()]));
        // Woken by a put: still no sooner than the busy poll interval after the last read.
        const gap = env.pollMs - (Date.now() - lastReadAt);
        if (gap > 0) await sleep(gap, signal, wakeup.woken());
      }
    }
  } finally {
    hint?.stop();
  }
  // Stopping: the batches in flight finish, or are abandoned when the stop stops draining.
  await Promise.all(lanes.map((l) => l.busy));
  env.setLag(shardId, undefined);
  if (drained) env.drained(shardId);
}
