/**
 * A Kinesis event-source mapping, polled as Lambda polls it: one loop per
 * shard, in order, honouring the declared starting position, batch size,
 * batching window, parallelization factor (concurrent batches per shard, order
 * kept per partition key), partial batch responses, retries, bisection,
 * maximum record age and the on-failure destination (see
 * eventSourceMappingBatch.ts). Child shards start once their parents are
 * drained, so order holds across resharding.
 */
import {
  GetRecordsCommand,
  GetRecordsCommandOutput,
  GetShardIteratorCommand,
  GetShardIteratorCommandInput,
  KinesisClient,
  ListShardsCommand,
  Shard,
} from "@aws-sdk/client-kinesis";
import { KinesisStreamEvent } from "../../../handlers/shared/kinesisEvent";
import { BatchContext, deliverBatch, MappingStats, sleep } from "./batch";
import { laneOf, MappingSettings, mappingSettingsOf, MappingSpec, PolledRecord } from "./records";

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

const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** JSON overhead of one record in the event besides its data. */
const RECORD_OVERHEAD_BYTES = 600;
const MAX_BACKOFF_MS = 5_000;

interface Lane {
  buffer: PolledRecord[];
  busy?: Promise<void>;
}

interface ShardStart {
  shardId: string;
  input: Omit<GetShardIteratorCommandInput, "StreamName" | "ShardId">;
}

function errorName(err: unknown): string {
  return (err as Error)?.name ?? "Error";
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
  const ctx: BatchContext = {
    settings: s,
    invokeIdentityArn: deps.invokeIdentityArn ?? `arn:aws:iam::${s.account}:role/${functionName}`,
    invoke: deps.invoke,
    sendToOnFailure: deps.sendToOnFailure,
    now: deps.now ?? Date.now,
    log,
    stats,
    signal,
    retryDelayMs: (n) => Math.min(MAX_BACKOFF_MS, pollMs * 2 ** (n - 1)),
  };
  const started = new Set<string>();
  const done = new Set<string>();
  const loops = new Set<Promise<void>>();
  const fail = (where: string, err: unknown) => {
    stats.lastError = `${where}: ${(err as Error)?.message ?? String(err)}`;
    log({ event: "error", function: s.functionArn, where, error: stats.lastError });
  };

  const iterator = async (start: ShardStart): Promise<string | undefined> => {
    const out = await deps.kinesis.send(new GetShardIteratorCommand({ StreamName: s.streamName, ShardId: start.shardId, ...start.input }), {
      abortSignal: signal,
    });
    return out.ShardIterator;
  };

  /** Cuts the next batch off a lane: at most batchSize records and Lambda's 6 MB payload. */
  const cut = (lane: Lane): PolledRecord[] => {
    let bytes = 0;
    let n = 0;
    while (n < lane.buffer.length && n < s.batchSize) {
      bytes += Math.ceil(lane.buffer[n].data.length / 3) * 4 + RECORD_OVERHEAD_BYTES;
      if (n > 0 && bytes > MAX_PAYLOAD_BYTES) break;
      n += 1;
    }
    return lane.buffer.splice(0, n);
  };

  const runShard = async (start: ShardStart, markReady: () => void): Promise<void> => {
    const { shardId } = start;
    const lanes: Lane[] = Array.from({ length: s.parallelizationFactor }, () => ({ buffer: [] }));
    // Bounded read-ahead while batches are in flight.
    const cap = Math.min(s.batchSize * s.parallelizationFactor * 2, 20_000);
    let it: string | undefined;
    let lastSeq: string | undefined;
    let closed = false;
    // A lane that finishes wakes the loop; `kicked` covers a finish between the dispatch and the wait.
    let kicked = false;
    let wake!: () => void;
    let woken = new Promise<void>((r) => {
      wake = r;
    });
    const nudge = () => {
      kicked = true;
      const w = wake;
      woken = new Promise<void>((r) => {
        wake = r;
      });
      w();
    };
    for (let attempt = 1; !signal.aborted && it === undefined; attempt++) {
      try {
        it = await iterator(start);
        if (it === undefined) closed = true;
        break;
      } catch (err) {
        if (signal.aborted) break;
        fail(`GetShardIterator ${shardId}`, err);
        await sleep(ctx.retryDelayMs(attempt), signal);
      }
    }
    markReady();
    let failures = 0;
    while (!signal.aborted) {
      const buffered = lanes.reduce((n, l) => n + l.buffer.length, 0);
      let page: GetRecordsCommandOutput | undefined;
      if (!closed && it !== undefined && buffered < cap) {
        try {
          page = await deps.kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: Math.min(10_000, cap - buffered) }), { abortSignal: signal });
          failures = 0;
        } catch (err) {
          if (signal.aborted) break;
          failures += 1;
          if (errorName(err) === "ExpiredIteratorException") {
            // Held while batches were retried: resume right after the last record read.
            start = { shardId, input: lastSeq ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: lastSeq } : start.input };
            try {
              it = await iterator(start);
            } catch (e) {
              if (!signal.aborted) fail(`GetShardIterator ${shardId}`, e);
            }
          } else {
            fail(`GetRecords ${shardId}`, err);
          }
          await sleep(ctx.retryDelayMs(Math.min(failures, 8)), signal);
          continue;
        }
        const fetchedAt = Date.now();
        for (const r of page.Records ?? []) {
          lanes[laneOf(r.PartitionKey!, s.parallelizationFactor)].buffer.push({
            shardId,
            sequenceNumber: r.SequenceNumber!,
            partitionKey: r.PartitionKey!,
            data: Buffer.from(r.Data ?? new Uint8Array()),
            arrivalMs: (r.ApproximateArrivalTimestamp ?? new Date(fetchedAt)).getTime(),
            fetchedAt,
          });
          lastSeq = r.SequenceNumber!;
        }
        stats.records += page.Records?.length ?? 0;
        lag.set(shardId, page.MillisBehindLatest ?? 0);
        stats.lagMs = Math.max(0, ...lag.values());
        it = page.NextShardIterator;
        if (!it) closed = true; // a closed shard, read to its end
      }
      // Start a batch on each idle lane that is full, past its window, or holds the last records of a closed shard.
      const now = Date.now();
      let nextWindowEnd = Infinity;
      for (const lane of lanes) {
        if (lane.busy || lane.buffer.length === 0) continue;
        const windowEnd = lane.buffer[0].fetchedAt + s.windowMs;
        if (lane.buffer.length >= s.batchSize || now >= windowEnd || closed) {
          const batch = cut(lane);
          lane.busy = deliverBatch(batch, ctx)
            .catch((err) => fail(`batch on ${shardId}`, err))
            .finally(() => {
              lane.busy = undefined;
              nudge();
            });
        } else {
          nextWindowEnd = Math.min(nextWindowEnd, windowEnd);
        }
      }
      if (closed && lanes.every((l) => !l.busy && l.buffer.length === 0)) break;
      const behind = (page?.Records?.length ?? 0) > 0 && (page?.MillisBehindLatest ?? 0) > 0;
      const room = lanes.reduce((n, l) => n + l.buffer.length, 0) < cap;
      // Read on at once while behind; otherwise wait for a poll interval, a window's end or a lane to finish.
      if (kicked) kicked = false;
      else if (!(behind && room && !closed)) await sleep(Math.min(closed || !room ? 60_000 : pollMs, nextWindowEnd - Date.now()), signal, woken);
    }
    // Stopping: in-flight batches end promptly on the abort.
    await Promise.all(lanes.map((l) => l.busy));
    lag.delete(shardId);
    stats.lagMs = Math.max(0, ...lag.values());
  };

  /** Lists the shards and starts those whose parents are done (all of them at the first call, per the starting position). */
  let initial = true;
  const discover = async (): Promise<void> => {
    const shards: Shard[] = [];
    let token: string | undefined;
    do {
      const page = await deps.kinesis.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: s.streamName }), { abortSignal: signal });
      shards.push(...(page.Shards ?? []));
      token = page.NextToken;
    } while (token && !signal.aborted);
    const listed = new Set(shards.map((sh) => sh.ShardId!));
    const starts: ShardStart[] = [];
    for (const sh of shards) {
      const id = sh.ShardId!;
      if (started.has(id)) continue;
      const isOpen = !sh.SequenceNumberRange?.EndingSequenceNumber;
      if (initial && s.startingPosition !== "TRIM_HORIZON") {
        // LATEST / AT_TIMESTAMP: only open shards; closed ones hold nothing new.
        if (!isOpen) {
          started.add(id);
          done.add(id);
          continue;
        }
        starts.push({
          shardId: id,
          input: s.startingPosition === "LATEST" ? { ShardIteratorType: "LATEST" } : { ShardIteratorType: "AT_TIMESTAMP", Timestamp: s.startingTimestamp },
        });
        continue;
      }
      const parents = [sh.ParentShardId, sh.AdjacentParentShardId].filter((p): p is string => !!p && listed.has(p));
      if (parents.every((p) => done.has(p))) starts.push({ shardId: id, input: { ShardIteratorType: "TRIM_HORIZON" } });
    }
    initial = false;
    const ready: Promise<void>[] = [];
    for (const start of starts) {
      started.add(start.shardId);
      let markReady!: () => void;
      ready.push(
        new Promise<void>((r) => {
          markReady = r;
        }),
      );
      log({ event: "shardStarted", function: s.functionArn, shardId: start.shardId, position: start.input.ShardIteratorType });
      const loop: Promise<void> = runShard(start, markReady)
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
    }
    await Promise.all(ready);
  };

  const track = (p: Promise<void>) => {
    loops.add(p);
    void p.finally(() => loops.delete(p));
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
          await sleep(ctx.retryDelayMs(Math.min(attempt, 8)), signal);
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
