/**
 * Projector: DynamoDB requests per event against dynalite (real SDK client,
 * counted by SDK middleware), and handler CPU per event outside I/O (the same
 * handler over an in-memory fake client), each beside the naive baseline.
 */
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { dynamoClient } from "../handlers/shared/clients";
import { createProjector, DEFAULT_DEDUP_WINDOW } from "../handlers/projector";
import { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from "../handlers/shared/kinesisEvent";
import { readModelItemSize } from "../handlers/shared/readModelItem";
import { countCapacity, countRequests } from "../local/shared/sdkMiddleware";
import { ensureTable, stringKeys } from "../local/deploy/emulatorResources";
import { fakeDynamo, medianCpuPerEvent } from "./fakes";
import { naiveProjector } from "./naiveProjector";
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
export async function projectorCounts(impl: ProjectorImpl, n: number, keys: KeyShape, batchSize = BATCH_SIZE): Promise<ProjectorCounts> {
  const client = dynamoClient();
  const table = `bench-${impl}-${keys}-${n}-${batchSize}-${process.pid}-${++tables}`;
  await ensureTable(client, table, stringKeys("pk"));
  await ensureTable(client, `${table}-parked`, stringKeys("pk", "sk"));
  const before = keys === "longLived" ? KEY_POOL.longLived * LONG_LIVED_HISTORY : 0;
  const all = toRecords(envelopes(before + n, keys));
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
 * `npx ts-node --transpile-only bench/projector.ts [events] [rounds]`: handler CPU µs per event alone,
 * naive and batched interleaved `rounds` times per key shape in this one process; prints each round and
 * the medians, with the ratio to naive.
 */
async function cpuOnly(n: number, rounds: number): Promise<void> {
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  for (const keys of ["uniform", "hot", "longLived"] as KeyShape[]) {
    const us: Record<ProjectorImpl, number[]> = { naive: [], batched: [] };
    for (let r = 0; r < rounds; r++) for (const impl of ["naive", "batched"] as ProjectorImpl[]) us[impl].push((await projectorCpu(impl, n, keys)).cpuUsPerEvent);
    const [naive, batched] = [median(us.naive), median(us.batched)];
    // Each round's pair ran back to back, under the same load: the median of their ratios is the steadier figure.
    const ratio = median(us.batched.map((b, i) => b / us.naive[i]));
    const f = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(" ");
    process.stdout.write(
      `${keys.padEnd(9)} naive ${naive.toFixed(2)} µs/ev [${f(us.naive)}]  batched ${batched.toFixed(2)} µs/ev [${f(us.batched)}]  ×naive ${(batched / naive).toFixed(2)} (median of round ratios ${ratio.toFixed(2)})\n`,
    );
  }
}

if (require.main === module) {
  const [n, rounds] = process.argv.slice(2).map(Number);
  cpuOnly(n || 10_000, rounds || 3).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
