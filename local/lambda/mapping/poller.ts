/**
 * A Kinesis event-source mapping, polled as Lambda polls it: one loop per
 * shard, in order, honouring the declared starting position, batch size,
 * batching window, parallelization factor (concurrent batches per shard, order
 * kept per partition key), partial batch responses, retries, bisection,
 * maximum record age and the on-failure destination (see batch.ts). Child
 * shards start once their parents are drained, so order holds across
 * resharding. The decisions are pure functions (lanes.ts, discovery.ts);
 * here are the loops and their state.
 */
import { GetRecordsCommand, GetRecordsCommandOutput, GetShardIteratorCommand, KinesisClient } from "@aws-sdk/client-kinesis";
import { KinesisStreamEvent } from "../../../handlers/shared/kinesisEvent";
import { listShards, resumeFrom } from "../../emulators/kinesisShards";
import { BatchContext, deliverBatch, MappingStats, sleep } from "./batch";
import { planDiscovery, ShardStart } from "./discovery";
import { batchLength, idleWaitMs, Lane, lanesDue, readAheadCap, retryDelayMs, shardFinished } from "./lanes";
import { laneOf, MappingSettings, mappingSettingsOf, MappingSpec, polledRecord } from "./records";

export { MappingSpec, MappingStats };

/** What a poller needs besides the spec. */
export interface MappingDeps {
  /** A client for the stream's account. */
  kinesis: KinesisClient;
  /** Invokes the function synchronously; a rejection is a function error. */
  invoke: (event: KinesisStreamEvent) => Promise<unknown>;
  sendToOnFailure: (destinationArn: string, message: object) => Promise<void>;
  /** The function's execution role, sent as each record's invokeIdentityArn (default: a role named after the function). */
  invokeIdentityArn?: string;
  /** Clock for record age and timestamps (epoch ms); the batching window and waits use the real clock. */
  now?: () => number;
  log?: (e: object) => void;
  /** Idle poll interval per shard, and the base of the retry backoff. Default 200 ms. */
  pollIntervalMs?: number;
}

/** A running mapping. */
export interface MappingPoller {
  /** Resolves once every shard the mapping starts with has its iterator (records put after this are seen even from LATEST). */
  readonly ready: Promise<void>;
  stats(): MappingStats;
  /** Ends every loop promptly: waits are aborted, an in-flight invocation is abandoned (its batch is not checkpointed). */
  stop(): Promise<void>;
}

/** What a shard loop shares with its mapping. */
interface ShardLoopEnv {
  kinesis: KinesisClient;
  settings: MappingSettings;
  /** Also holds the stop signal, the counters and the retry backoff. */
  batch: BatchContext;
  pollMs: number;
  fail(where: string, err: unknown): void;
  /** Records a shard's MillisBehindLatest; undefined once the shard's loop ends. */
  setLag(shardId: string, ms: number | undefined): void;
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
async function runShard(first: ShardStart, env: ShardLoopEnv, markReady: () => void): Promise<void> {
  const { settings: s, batch: ctx } = env;
  const { signal } = ctx;
  const shardId = first.shardId;
  let start = first;
  const lanes: Lane[] = Array.from({ length: s.parallelizationFactor }, () => ({ buffer: [] }));
  const buffered = () => lanes.reduce((n, l) => n + l.buffer.length, 0);
  const cap = readAheadCap(s);
  const wakeup = wakeSignal();
  let { iterator: it, closed } = await firstIterator(env, start);
  let lastSeq: string | undefined;
  markReady();
  let failures = 0;
  while (!signal.aborted) {
    let page: GetRecordsCommandOutput | undefined;
    if (!closed && it !== undefined && buffered() < cap) {
      try {
        page = await env.kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: Math.min(10_000, cap - buffered()) }), { abortSignal: signal });
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
        lastSeq = record.sequenceNumber;
      }
      ctx.stats.records += page.Records?.length ?? 0;
      env.setLag(shardId, page.MillisBehindLatest ?? 0);
      it = page.NextShardIterator;
      if (!it) closed = true; // a closed shard, read to its end
    }
    const { due, nextWindowEnd } = lanesDue(lanes, s, Date.now(), closed);
    for (const lane of due.map((i) => lanes[i])) {
      const batch = lane.buffer.splice(0, batchLength(lane.buffer, s.batchSize));
      lane.busy = deliverBatch(batch, ctx)
        .catch((err) => env.fail(`batch on ${shardId}`, err))
        .finally(() => {
          lane.busy = undefined;
          wakeup.nudge();
        });
    }
    if (shardFinished(lanes, closed)) break;
    if (wakeup.takeKick()) continue;
    const behind = (page?.Records?.length ?? 0) > 0 && (page?.MillisBehindLatest ?? 0) > 0;
    const wait = idleWaitMs({ behind, room: buffered() < cap, closed, pollMs: env.pollMs, nextWindowEnd, now: Date.now() });
    if (wait !== undefined) await sleep(wait, signal, wakeup.woken());
  }
  // Stopping: in-flight batches end promptly on the abort.
  await Promise.all(lanes.map((l) => l.busy));
  env.setLag(shardId, undefined);
}

/** Starts polling; returns at once (see {@link MappingPoller.ready}). */
export function startMappingPoller(spec: MappingSpec, deps: MappingDeps): MappingPoller {
  const s: MappingSettings = mappingSettingsOf(spec);
  const controller = new AbortController();
  const signal = controller.signal;
  const pollMs = deps.pollIntervalMs ?? 200;
  const log = deps.log ?? (() => undefined);
  const stats: MappingStats = { batches: 0, records: 0, succeeded: 0, retries: 0, sentToOnFailure: 0, discarded: 0, lagMs: 0 };
  const lag = new Map<string, number>();
  const functionName = s.functionArn.split(":").pop()!;
  const fail = (where: string, err: unknown) => {
    stats.lastError = `${where}: ${(err as Error)?.message ?? String(err)}`;
    log({ event: "error", function: s.functionArn, where, error: stats.lastError });
  };
  const env: ShardLoopEnv = {
    kinesis: deps.kinesis,
    settings: s,
    batch: {
      settings: s,
      invokeIdentityArn: deps.invokeIdentityArn ?? `arn:aws:iam::${s.account}:role/${functionName}`,
      invoke: deps.invoke,
      sendToOnFailure: deps.sendToOnFailure,
      now: deps.now ?? Date.now,
      log,
      stats,
      signal,
      retryDelayMs: (n) => retryDelayMs(n, pollMs),
    },
    pollMs,
    fail,
    setLag: (shardId, ms) => {
      if (ms === undefined) lag.delete(shardId);
      else lag.set(shardId, ms);
      stats.lagMs = Math.max(0, ...lag.values());
    },
  };
  const started = new Set<string>();
  const done = new Set<string>();
  const loops = new Set<Promise<void>>();
  let initial = true;
  const track = (p: Promise<void>) => {
    loops.add(p);
    void p.finally(() => loops.delete(p));
  };

  /** Starts a shard's loop; resolves once it has its iterator. */
  const startShard = (start: ShardStart): Promise<void> => {
    started.add(start.shardId);
    let markReady!: () => void;
    const ready = new Promise<void>((r) => (markReady = r));
    log({ event: "shardStarted", function: s.functionArn, shardId: start.shardId, position: start.input.ShardIteratorType });
    const loop: Promise<void> = runShard(start, env, markReady)
      .catch((err) => fail(`shard ${start.shardId}`, err))
      .then(() => {
        loops.delete(loop);
        if (signal.aborted) return;
        done.add(start.shardId);
        log({ event: "shardDone", function: s.functionArn, shardId: start.shardId });
        // A drained shard was closed by resharding: its children may start now.
        track(discoverWithRetry());
      });
    loops.add(loop);
    return ready;
  };

  /** Lists the shards and starts those the plan says (all of them at the first call, per the starting position). */
  const discover = async (): Promise<void> => {
    const plan = planDiscovery(await listShards(deps.kinesis, s.streamName, signal), { started, done }, initial, s);
    for (const id of plan.skipped) {
      started.add(id);
      done.add(id);
    }
    initial = false;
    await Promise.all(plan.starts.map(startShard));
  };

  // Discoveries one at a time, so a shard never starts twice.
  let chain: Promise<void> = Promise.resolve();
  const discoverWithRetry = (): Promise<void> => {
    chain = chain.then(async () => {
      for (let attempt = 1; !signal.aborted; attempt++) {
        try {
          await discover();
          return;
        } catch (err) {
          if (signal.aborted) return;
          fail("ListShards", err);
          await sleep(env.batch.retryDelayMs(Math.min(attempt, 8)), signal);
        }
      }
    });
    return chain;
  };

  const enabled = spec.enabled !== false;
  const ready = enabled ? discoverWithRetry() : Promise.resolve();
  if (enabled) track(ready);
  else log({ event: "disabled", function: s.functionArn });

  return {
    ready,
    stats: () => ({ ...stats }),
    async stop() {
      controller.abort();
      // Loops may start discoveries as they end; bounded, since discovery starts nothing once aborted.
      for (let i = 0; i < 100 && loops.size > 0; i++) await Promise.all([...loops]);
    },
  };
}
