/**
 * Projector: DynamoDB requests per event against dynalite (real SDK client,
 * counted by SDK middleware), and handler CPU per event outside I/O (the same
 * handler over an in-memory fake client), each beside the naive baseline.
 */
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { dynamoClient } from "../handlers/shared/clients";
import { idempotentEventId } from "../handlers/producer/ulid";
import { createProjector, DEFAULT_DEDUP_WINDOW } from "../handlers/projector";
import { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from "../handlers/shared/kinesisEvent";
import { readModelItemSize } from "../handlers/shared/readModelItem";
import { countCapacity, countRequests } from "../local/shared/sdkMiddleware";
import { ensureTable, stringKeys } from "../local/deploy/emulatorResources";
import { cpuMicros, fakeDynamo, medianCpuPerEvent } from "./fakes";
import { naiveProjector } from "./naiveProjector";
import { median } from "./stats";
import { batches, benchReduce, BenchState, envelopes, KEY_POOL, KeyShape, LONG_LIVED_HISTORY, toRecords } from "./workload";

export const BATCH_SIZE = 100;
const READS = ["BatchGetItemCommand", "GetItemCommand"];
const WRITES = ["PutItemCommand", "BatchWriteItemCommand"];

export interface ProjectorCounts {
  events: number;
  batches: number;
  distinctPerBatch: number;
  reads: number;
  writes: number;
  requests: Record<string, number>;
  /** Read capacity units as DynamoDB bills them (strongly consistent: 1 per started 4 KB per item). */
  rcu: number;
  /** Write capacity units as DynamoDB bills them (1 per started KB of the larger of old and new item). */
  wcu: number;
  /** The largest read-model item written, in bytes as DynamoDB counts them. */
  maxItemBytes: number;
}

type Handler = (e: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;
let tables = 0;

function ours(client: Pick<DynamoDBClient, "send">, table: string): Handler {
  const clock = { sleep: async () => undefined, random: () => 0.5 };
  return createProjector<BenchState>({
    dynamodb: client as DynamoDBClient,
    reduce: benchReduce,
    config: {
      tableName: table,
      parkedTableName: `${table}-parked`,
      dedupWindow: DEFAULT_DEDUP_WINDOW,
      retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 100 },
      maxFoldAttempts: 5,
    },
    clock,
    log: () => undefined,
  });
}

export type ProjectorImpl = "batched" | "naive";

/** The projector `impl` over `client`, writing `table` (and `<table>-parked`). */
export function buildProjector(impl: ProjectorImpl, client: Pick<DynamoDBClient, "send">, table: string): Handler {
  return impl === "batched" ? ours(client, table) : naiveProjector(client, table, benchReduce);
}

function sum(counts: Record<string, number>, names: string[]): number {
  return names.reduce((s, n) => s + (counts[n] ?? 0), 0);
}

/**
 * The history a long-lived aggregate has before the workload, projected in memory by the same
 * implementation and its items copied into `table`: the workload then starts on full dedup windows.
 */
async function seedHistory(impl: ProjectorImpl, client: DynamoDBClient, table: string, history: KinesisStreamRecord[]): Promise<void> {
  const fake = fakeDynamo();
  const project = buildProjector(impl, fake, table);
  for (const b of batches(history, 100)) await project(b);
  for (const item of Object.values(fake.tables[table] ?? {})) await client.send(new PutItemCommand({ TableName: table, Item: item }));
}

/**
 * Runs `n` events in batches of 100 against dynalite (AWS_ENDPOINT_URL_DYNAMODB) and counts requests
 * and the capacity units DynamoDB bills for them (dynalite's ReturnConsumedCapacity, per item).
 */
export async function projectorCounts(impl: ProjectorImpl, n: number, keys: KeyShape, batchSize = BATCH_SIZE, keyed = false): Promise<ProjectorCounts> {
  const client = dynamoClient();
  const table = `bench-${impl}-${keys}-${n}-${batchSize}-${process.pid}-${++tables}`;
  await ensureTable(client, table, stringKeys("pk"));
  await ensureTable(client, `${table}-parked`, stringKeys("pk", "sk"));
  const before = keys === "longLived" ? KEY_POOL.longLived * LONG_LIVED_HISTORY : 0;
  // Keyed: every event written with its own Idempotency-Key (an `idem-` id), so the projector claims each one.
  const events = envelopes(before + n, keys).map((e) => (keyed ? { ...e, eventId: idempotentEventId(e.aggregateId, e.eventId) } : e));
  const all = toRecords(events);
  if (before > 0) await seedHistory(impl, client, table, all.slice(0, before));
  const counts = countRequests(client);
  const capacity = countCapacity(client, readModelItemSize as (item: Record<string, unknown>) => number);
  let maxItemBytes = 0;
  client.middlewareStack.add(
    (next) => async (args: any) => {
      if (args.input?.TableName === table && args.input.Item) maxItemBytes = Math.max(maxItemBytes, readModelItemSize(args.input.Item));
      return next(args);
    },
    { step: "initialize", name: "benchItemBytes" },
  );
  const project = buildProjector(impl, client, table);
  const bs = batches(all.slice(before), batchSize);
  let distinct = 0;
  for (const b of bs) {
    distinct += new Set(b.Records.map((r) => r.kinesis.partitionKey)).size;
    const res = await project(b);
    if (res.batchItemFailures.length) throw new Error(`${impl} projector reported a failure`);
  }
  // Requests made while creating tables came before the counter was added.
  return {
    events: n,
    batches: bs.length,
    distinctPerBatch: distinct / bs.length,
    reads: sum(counts, READS),
    writes: sum(counts, WRITES),
    requests: { ...counts },
    rcu: capacity.read,
    wcu: capacity.write,
    maxItemBytes,
  };
}

/**
 * Events run through a throwaway handler before timing: enough for V8 to finish optimising the hot
 * functions even on a busy machine (with 2,000 the first timed repetitions still ran unoptimised code
 * when other processes held the cores, and the median moved by 1.5 × between runs).
 */
const WARM_UP_EVENTS = 20_000;

/** Handler CPU µs per event over the in-memory fake client (no I/O), after a warm-up; median of slices (see medianCpuPerEvent). */
export async function projectorCpu(
  impl: ProjectorImpl,
  n: number,
  keys: KeyShape,
): Promise<{ cpuUsPerEvent: number; cpuMeanUsPerEvent: number; reads: number; writes: number }> {
  const warm = fakeDynamo();
  const warmUp = buildProjector(impl, warm, "warm");
  for (const b of batches(toRecords(envelopes(WARM_UP_EVENTS, keys, 0, 7)), BATCH_SIZE)) await warmUp(b);
  const bs = batches(toRecords(envelopes(n, keys)), BATCH_SIZE);
  let fake = fakeDynamo();
  const cpu = await medianCpuPerEvent(() => buildProjector(impl, (fake = fakeDynamo()), "cpu"), bs, Math.min(5, Math.max(1, Math.ceil(50_000 / n))));
  // Requests per event of the last repetition (one full pass over the workload).
  return { cpuUsPerEvent: cpu.median, cpuMeanUsPerEvent: cpu.mean, reads: sum(fake.counts, READS), writes: sum(fake.counts, WRITES) };
}

/**
 * Handler CPU µs per event of both implementations in `rounds` rounds, each a pass of `n` events
 * through a fresh naive handler and then a fresh one of ours, after the same warm-up as projectorCpu:
 * the two passes of a round see about the same load from the rest of the machine, so the median of
 * the rounds' ratios holds on a busy one better than a ratio of medians. (Interleaving batch by batch
 * instead charges one implementation's garbage to the other's scavenges.) With `--expose-gc` each pass
 * starts on a collected heap: without it the naive pass collected what the previous round of ours left,
 * which flattered ours by about 0.1 (README).
 */
async function runAll(handler: Handler, bs: KinesisStreamEvent[]): Promise<void> {
  for (const b of bs) await handler(b);
}

export async function pairedCpu(n: number, keys: KeyShape, rounds: number): Promise<Record<ProjectorImpl, number> & { ratio: number; ratios: number[] }> {
  const impls: ProjectorImpl[] = ["naive", "batched"];
  for (const impl of impls) {
    const warmUp = buildProjector(impl, fakeDynamo(), "warm");
    for (const b of batches(toRecords(envelopes(WARM_UP_EVENTS, keys, 0, 7)), BATCH_SIZE)) await warmUp(b);
  }
  const bs = batches(toRecords(envelopes(n, keys)), BATCH_SIZE);
  const total: Record<ProjectorImpl, number> = { naive: 0, batched: 0 };
  const ratios: number[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let r = 0; r < rounds; r++) {
    const handlers = impls.map((impl) => buildProjector(impl, fakeDynamo(), "cpu"));
    const us = [0, 0];
    for (let k = 0; k < 2; k++) {
      gc?.();
      us[k] = await cpuMicros(async () => void (await runAll(handlers[k], bs)));
    }
    ratios.push(us[1] / us[0]);
    total.naive += us[0];
    total.batched += us[1];
  }
  return { naive: total.naive / (n * rounds), batched: total.batched / (n * rounds), ratio: median(ratios), ratios };
}

/**
 * Bytes the heap grows by per event over one pass of `n` events through a fresh handler: exact only
 * when nothing is collected during the pass, so it needs `node --expose-gc --max-semi-space-size=1024
 * --min-semi-space-size=1024` (undefined without both: `--expose-gc` alone is pairedCpu's).
 */
export async function allocatedPerEvent(impl: ProjectorImpl, n: number, keys: KeyShape): Promise<number | undefined> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc || !process.execArgv.some((a) => a.startsWith("--max-semi-space-size"))) return undefined;
  const bs = batches(toRecords(envelopes(n, keys)), BATCH_SIZE);
  await runAll(buildProjector(impl, fakeDynamo(), "warm"), bs);
  const handler = buildProjector(impl, fakeDynamo(), "alloc");
  gc();
  const before = process.memoryUsage().heapUsed;
  await runAll(handler, bs);
  return (process.memoryUsage().heapUsed - before) / n;
}

/**
 * `node --single-threaded --expose-gc -r ts-node/register/transpile-only bench/projector.ts [events] [rounds]`: handler CPU µs
 * per event alone (see pairedCpu) for each key shape, naive beside ours, with the ratio. `--single-threaded` (V8
 * compiles and collects on the main thread) to compare checkouts: without it a process's ratio fell in one of two
 * modes (uniform keys 1.24–1.67 over 9 processes, 1.30–1.32 with it). Bytes allocated per event too when node runs
 * with the flags allocatedPerEvent names.
 */
async function cpuOnly(n: number, rounds: number): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) process.stdout.write("(no --expose-gc: each pass is charged garbage the one before it left; see pairedCpu)\n");
  for (const keys of ["uniform", "hot", "longLived"] as KeyShape[]) {
    const c = await pairedCpu(n, keys, rounds);
    const [naiveB, oursB] = [await allocatedPerEvent("naive", n, keys), await allocatedPerEvent("batched", n, keys)];
    const bytes = naiveB === undefined || oursB === undefined ? "" : `  allocated B/ev naive ${naiveB.toFixed(0)} batched ${oursB.toFixed(0)}`;
    process.stdout.write(
      `${keys.padEnd(9)} naive ${c.naive.toFixed(2)} µs/ev  batched ${c.batched.toFixed(2)} µs/ev  ×naive ${c.ratio.toFixed(2)} (rounds ${c.ratios.map((x) => x.toFixed(2)).join(" ")})${bytes}\n`,
    );
  }
}

if (require.main === module) {
  const [n, rounds] = process.argv.slice(2).map(Number);
  cpuOnly(n || 10_000, rounds || 5).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
