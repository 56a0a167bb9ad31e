/**
 * Projector: DynamoDB requests per event against dynalite (real SDK client,
 * counted by SDK middleware), and handler CPU per event outside I/O (the same
 * handler over an in-memory fake client), each beside the naive baseline.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoClient } from "../handlers/shared/clients";
import { createProjector } from "../handlers/projector";
import { KinesisStreamBatchResponse, KinesisStreamEvent } from "../handlers/shared/kinesisEvent";
import { countRequests } from "../local/shared/sdkMiddleware";
import { ensureTable, stringKeys } from "../local/deploy/emulatorResources";
import { fakeDynamo, medianCpuPerEvent } from "./fakes";
import { naiveProjector } from "./naiveProjector";
import { batches, benchReduce, BenchState, envelopes, KeyShape, toRecords } from "./workload";

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
      dedupWindow: 64,
      retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 100 },
      maxFoldAttempts: 5,
    },
    clock,
    log: () => undefined,
  });
}

export type ProjectorImpl = "batched" | "naive";

function build(impl: ProjectorImpl, client: Pick<DynamoDBClient, "send">, table: string): Handler {
  return impl === "batched" ? ours(client, table) : naiveProjector(client, table, benchReduce);
}

function sum(counts: Record<string, number>, names: string[]): number {
  return names.reduce((s, n) => s + (counts[n] ?? 0), 0);
}

/** Runs `n` events in batches of 100 against dynalite (AWS_ENDPOINT_URL_DYNAMODB) and counts requests. */
export async function projectorCounts(impl: ProjectorImpl, n: number, keys: KeyShape): Promise<ProjectorCounts> {
  const client = dynamoClient();
  const table = `bench-${impl}-${keys}-${n}-${process.pid}-${++tables}`;
  await ensureTable(client, table, stringKeys("pk"));
  await ensureTable(client, `${table}-parked`, stringKeys("pk", "sk"));
  const counts = countRequests(client);
  const project = build(impl, client, table);
  const bs = batches(toRecords(envelopes(n, keys)), BATCH_SIZE);
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
  };
}

/** Handler CPU µs per event over the in-memory fake client (no I/O), after a warm-up; median of slices (see medianCpuPerEvent). */
export async function projectorCpu(
  impl: ProjectorImpl,
  n: number,
  keys: KeyShape,
): Promise<{ cpuUsPerEvent: number; cpuMeanUsPerEvent: number; reads: number; writes: number }> {
  const warm = fakeDynamo();
  const warmUp = build(impl, warm, "warm");
  for (const b of batches(toRecords(envelopes(2000, keys, 0, 7)), BATCH_SIZE)) await warmUp(b);
  const bs = batches(toRecords(envelopes(n, keys)), BATCH_SIZE);
  let fake = fakeDynamo();
  const cpu = await medianCpuPerEvent(() => build(impl, (fake = fakeDynamo()), "cpu"), bs, Math.min(5, Math.max(1, Math.ceil(50_000 / n))));
  // Requests per event of the last repetition (one full pass over the workload).
  return { cpuUsPerEvent: cpu.median, cpuMeanUsPerEvent: cpu.mean, reads: sum(fake.counts, READS), writes: sum(fake.counts, WRITES) };
}
