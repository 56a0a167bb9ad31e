/**
 * Lambda duration per batch under the latency model: the handlers run with
 * real SDK clients over the in-process transport (inProcess.ts), each request
 * delayed as latencyModel.ts draws it (SDK middleware), one batch after
 * another as one shard's mapping delivers a backlog. Wall time per batch is
 * the billed duration on a full core; at a function's memory Lambda gives
 * memory ÷ 1,769 MB of a vCPU, so the CPU part is scaled by that. Sustained
 * events/s per shard = parallelization factor × events ÷ duration: above it,
 * the backlog (iterator age) grows.
 */
import { addLatency } from "../../local/shared/sdkMiddleware";
import { buildBridge, BridgeImpl, EVENT_SIZES } from "../bridge";
import { cpuMicros } from "../fakes";
import { inProcessDynamo, inProcessKinesis } from "./inProcess";
import { latencySampler } from "./latencyModel";
import { buildProjector, ProjectorImpl } from "../projector";
import { batches, envelopes, KEY_POOL, KeyShape, LONG_LIVED_HISTORY, toRecords } from "../workload";

/** Memory that buys one vCPU (Lambda developer guide, "Configure Lambda function memory"). */
export const ONE_VCPU_MB = 1769;

/** One function's modelled duration at its defaults. */
export interface DurationRow {
  fn: string;
  impl: string;
  keys: string;
  batchSize: number;
  events: number;
  /** Requests per batch (all commands). */
  requestsPerBatch: number;
  /** Wall ms per batch on this machine (full core), latency model on. */
  wallMsPerBatch: number;
  /** CPU ms per batch on this machine (handler + SDK). */
  cpuMsPerBatch: number;
  memoryMb: number;
  /** Wall + CPU × (1,769 ÷ memory − 1): the duration Lambda would bill at `memoryMb`. */
  modelledMsPerBatch: number;
  modelledMsPerEvent: number;
  parallelizationFactor: number;
  /** events/s one shard keeps up with: parallelization × batch ÷ modelled duration. */
  sustainedPerShard: number;
}

export interface FunctionDefaults {
  batchSize: number;
  memoryMb: number;
  parallelizationFactor: number;
}

type Handler = (e: any) => Promise<unknown>;

async function measure(handler: Handler, bs: { Records: unknown[] }[]): Promise<{ wallMs: number; cpuMs: number }> {
  for (const b of bs.slice(0, 3)) await handler(b); // JIT and connection warm-up, not counted
  let wall = 0;
  let cpu = 0;
  for (const b of bs.slice(3)) {
    const t0 = process.hrtime.bigint();
    cpu += await cpuMicros(async () => void (await handler(b)));
    wall += Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const n = bs.length - 3;
  return { wallMs: wall / n, cpuMs: cpu / 1000 / n };
}

function row(fn: string, impl: string, keys: string, d: FunctionDefaults, events: number, requests: number, m: { wallMs: number; cpuMs: number }): DurationRow {
  const modelled = m.wallMs + m.cpuMs * (ONE_VCPU_MB / d.memoryMb - 1);
  return {
    fn,
    impl,
    keys,
    batchSize: d.batchSize,
    events,
    requestsPerBatch: requests,
    wallMsPerBatch: m.wallMs,
    cpuMsPerBatch: m.cpuMs,
    memoryMb: d.memoryMb,
    modelledMsPerBatch: modelled,
    modelledMsPerEvent: modelled / d.batchSize,
    parallelizationFactor: d.parallelizationFactor,
    sustainedPerShard: (d.parallelizationFactor * d.batchSize * 1000) / modelled,
  };
}

/** The projector (or the naive one) over `nBatches` batches of `keys`. */
export async function projectorDuration(impl: ProjectorImpl, keys: KeyShape, d: FunctionDefaults, nBatches: number, seed = 7): Promise<DurationRow> {
  const { client, store } = inProcessDynamo();
  addLatency(client, latencySampler(seed));
  const before = keys === "longLived" ? KEY_POOL.longLived * LONG_LIVED_HISTORY : 0;
  const all = toRecords(envelopes(before + (nBatches + 3) * d.batchSize, keys));
  // A long-lived aggregate's history, projected straight into the store (no SDK, no latency): full dedup windows.
  const seedWith = buildProjector(impl, store, "duration");
  for (const b of batches(all.slice(0, before), 100)) await seedWith(b);
  for (const k of Object.keys(store.counts)) delete store.counts[k];
  const bs = batches(all.slice(before), d.batchSize);
  const m = await measure(buildProjector(impl, client, "duration"), bs);
  const requests = Object.values(store.counts).reduce((a, b) => a + b, 0) / bs.length;
  return row("projector", impl, keys, d, d.batchSize, requests, m);
}

/** The bridge (or one PutRecord per event) over `nBatches` batches of 200-byte events. */
export async function bridgeDuration(impl: BridgeImpl, d: FunctionDefaults, nBatches: number, seed = 7): Promise<DurationRow> {
  const kinesis = inProcessKinesis();
  let requests = 0;
  kinesis.middlewareStack.add((next) => async (args) => (requests++, next(args)), { step: "initialize", name: "countBridgeRequests" });
  addLatency(kinesis, latencySampler(seed));
  const { client: dynamodb } = inProcessDynamo();
  const bs = batches(toRecords(envelopes((nBatches + 3) * d.batchSize, "uniform", EVENT_SIZES["200B"])), d.batchSize);
  const m = await measure(buildBridge(impl, kinesis, "arn:aws:kinesis:us-east-1:222222222222:stream/duration", dynamodb), bs);
  return row("bridge", impl, "uniform", d, d.batchSize, requests / bs.length, m);
}
