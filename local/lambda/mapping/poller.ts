/**
 * A Kinesis event-source mapping, polled as Lambda polls it: one loop per
 * shard, in order, honouring the declared starting position, batch size,
 * batching window, parallelization factor (concurrent batches per shard, order
 * kept per partition key), partial batch responses, retries, bisection,
 * maximum record age and the on-failure destination (see batch.ts). Child
 * shards start once their parents are drained, so order holds across
 * resharding. Each shard's checkpoint (the last record of its done prefix)
 * can persist, so a restart resumes after it. The decisions are pure
 * functions (lanes.ts, discovery.ts, progress.ts); the shard loop is in
 * shard.ts; here are the mapping's state and its discovery of shards.
 */
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { KinesisStreamEvent } from "../../../handlers/shared/kinesisEvent";
import { listShards } from "../../emulators/kinesisShards";
import { ShardCheckpoint } from "../../shared/checkpoints";
import { MappingStats, sleep } from "./batch";
import { planDiscovery, ShardStart } from "./discovery";
import { retryDelayMs } from "./lanes";
import { MappingSettings, mappingSettingsOf, MappingSpec } from "./records";
import { runShard, ShardLoopEnv } from "./shard";
import { IDLE_POLL_MS, StreamWrites } from "../../shared/streamWrites";

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
  /** Poll interval per shard while records wait in a batching window (and, without `writes`, when idle), and the base of the retry backoff. Default 200 ms. */
  pollIntervalMs?: number;
  /** The puts to the stream the local cloud hears of: with them an idle shard is polled once a second (Lambda's base rate), and read at once after a put. */
  writes?: StreamWrites;
  /** The idle poll interval with `writes`. Default {@link IDLE_POLL_MS}. */
  idlePollIntervalMs?: number;
  /** Where the shards' checkpoints persist (local/shared/checkpoints.ts): loaded at start, saved as they move. Default: in memory. */
  checkpoints?: { load(): Record<string, ShardCheckpoint>; save(shards: Record<string, ShardCheckpoint>): void };
}

/** A running mapping. */
export interface MappingPoller {
  /** Resolves once every shard the mapping starts with has its iterator (records put after this are seen even from LATEST). */
  readonly ready: Promise<void>;
  stats(): MappingStats;
  /**
   * Ends every loop: nothing new is read, waits and retries are cut short, and an invocation in flight
   * may finish within `drainMs` (default 0) so its batch is checkpointed; after that it is abandoned
   * (its batch is not checkpointed, and is delivered again after a restart).
   */
  stop(drainMs?: number): Promise<void>;
}

/** Starts polling; returns at once (see {@link MappingPoller.ready}). */
export function startMappingPoller(spec: MappingSpec, deps: MappingDeps): MappingPoller {
  const s: MappingSettings = mappingSettingsOf(spec);
  const controller = new AbortController();
  const signal = controller.signal;
  const abandoning = new AbortController();
  const checkpoints = deps.checkpoints?.load() ?? {};
  const saveCheckpoints = () => {
    try {
      deps.checkpoints?.save(checkpoints);
    } catch (err) {
      fail("saving the checkpoints", err);
    }
  };
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
      abandon: abandoning.signal,
      retryDelayMs: (n) => retryDelayMs(n, pollMs),
    },
    pollMs,
    writes: deps.writes,
    idlePollMs: Math.max(pollMs, deps.idlePollIntervalMs ?? IDLE_POLL_MS),
    fail,
    setLag: (shardId, ms) => {
      if (ms === undefined) lag.delete(shardId);
      else lag.set(shardId, ms);
      stats.lagMs = Math.max(0, ...lag.values());
    },
    checkpoint: (shardId, sequenceNumber) => {
      checkpoints[shardId] = { sequenceNumber };
      saveCheckpoints();
    },
    drained: (shardId) => {
      checkpoints[shardId] = { ...checkpoints[shardId], drained: true };
      saveCheckpoints();
    },
  };
  // Shards drained before a restart stay drained: their children start from their own checkpoints.
  const drainedBefore = Object.keys(checkpoints).filter((id) => checkpoints[id].drained);
  const started = new Set<string>(drainedBefore);
  const done = new Set<string>(drainedBefore);
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
    const plan = planDiscovery(await listShards(deps.kinesis, s.streamName, signal), { started, done }, initial, s, checkpoints);
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
    async stop(drainMs = 0) {
      controller.abort();
      const abandon = setTimeout(() => abandoning.abort(), drainMs);
      // Loops may start discoveries as they end; bounded, since discovery starts nothing once aborted.
      for (let i = 0; i < 100 && loops.size > 0; i++) await Promise.all([...loops]);
      clearTimeout(abandon);
    },
  };
}
