/**
 * The bench's cost section: Lambda duration per batch under the latency model
 * at the declared defaults (duration.ts), a shard's headroom, and dollars per
 * million events for the whole path (pricing.ts), each beside the naive
 * design (one GetItem + PutItem per event, one cross-account PutRecord per
 * event, Lambda's default batch of 100). Billed units come from the emulators
 * (capacity units, Kinesis KiB); durations are modelled.
 */
import { PROJECTOR_DEFAULTS } from "../../components/readModelVersion";
import { FUNCTION_DEFAULTS } from "../../components/parts/lambdaDefaults";
import { MAPPING_DEFAULTS } from "../../components/parts/streamMapping";
import { bridgeCounts, EVENT_SIZES } from "../bridge";
import { bridgeDuration, DurationRow, FunctionDefaults, projectorDuration } from "./duration";
import { LATENCY } from "./latencyModel";
import { dollarsPerMillion, UnitsPerEvent } from "./pricing";
import { projectorCounts } from "../projector";
import { envelopes, KeyShape } from "../workload";

/** The shard write limit every throughput figure is read against (records/s). */
export const SHARD_WRITE_LIMIT = 1000;

export const PROJECTOR_AT_DEFAULTS: FunctionDefaults = {
  batchSize: MAPPING_DEFAULTS.batchSize,
  memoryMb: PROJECTOR_DEFAULTS.memorySize,
  parallelizationFactor: PROJECTOR_DEFAULTS.parallelizationFactor,
};
export const BRIDGE_AT_DEFAULTS: FunctionDefaults = {
  batchSize: MAPPING_DEFAULTS.batchSize,
  memoryMb: FUNCTION_DEFAULTS.memorySize,
  parallelizationFactor: MAPPING_DEFAULTS.parallelizationFactor,
};
/** What a hand-written consumer gets from Lambda's own defaults: batch 100, one batch per shard, 256 MB. */
export const NAIVE_DEFAULTS: FunctionDefaults = { batchSize: 100, memoryMb: 256, parallelizationFactor: 1 };

/** Lognormal mean from p50/p99 (what a request costs on average). */
function meanMs(command: string): number {
  const f = LATENCY[command];
  const sigma = Math.log(f.p99 / f.p50) / 2.326;
  return f.p50 * Math.exp((sigma * sigma) / 2);
}

/** The API's duration per event, modelled: one PutRecord plus ~2 ms of CPU at 256 MB (not measured here). */
const API_GB_SECONDS = ((meanMs("PutRecordCommand") + 2) / 1000) * (FUNCTION_DEFAULTS.memorySize / 1024);

export interface CostResult {
  durations: DurationRow[];
  /** Per key shape: units and dollars per million for this pipeline and the naive design. */
  bills: { keys: KeyShape; design: "pipeline" | "naive"; units: UnitsPerEvent; dollars: ReturnType<typeof dollarsPerMillion> }[];
}

const gbs = (r: DurationRow) => (r.modelledMsPerEvent / 1000) * (r.memoryMb / 1024);

/** Runs the duration model and prices one event through the whole path. */
export async function costSection(quick: boolean): Promise<CostResult> {
  const nBatches = quick ? 4 : 10;
  const durations: DurationRow[] = [];
  for (const keys of ["uniform", "hot", "longLived"] as KeyShape[]) {
    durations.push(await projectorDuration("batched", keys, PROJECTOR_AT_DEFAULTS, nBatches));
    durations.push(await projectorDuration("naive", keys, NAIVE_DEFAULTS, quick ? 1 : 2));
  }
  durations.push(await bridgeDuration("bridge:off", BRIDGE_AT_DEFAULTS, nBatches * 2));
  durations.push(await bridgeDuration("perEventPutRecord", NAIVE_DEFAULTS, 1));

  // Billed Kinesis KiB of the source envelope and of the analytics record (200-byte events).
  const sourceBytes = Buffer.byteLength(JSON.stringify(envelopes(1, "uniform", EVENT_SIZES["200B"])[0]));
  const sourceKiB = Math.ceil(sourceBytes / 1024);
  const analytics = await bridgeCounts("bridge:off", 500, "200B", BRIDGE_AT_DEFAULTS.batchSize);
  const analyticsKiB = analytics.onDemandKiB / analytics.events;
  const analyticsBytes = analytics.wireBytes / analytics.events;
  const bridge = durations.find((d) => d.impl === "bridge:off")!;
  const naiveBridge = durations.find((d) => d.impl === "perEventPutRecord")!;

  const bills: CostResult["bills"] = [];
  const n = quick ? 1000 : 5000;
  for (const keys of ["uniform", "hot", "longLived"] as KeyShape[]) {
    for (const design of ["pipeline", "naive"] as const) {
      const impl = design === "pipeline" ? "batched" : "naive";
      const batch = design === "pipeline" ? PROJECTOR_AT_DEFAULTS.batchSize : NAIVE_DEFAULTS.batchSize;
      const c = await projectorCounts(impl, n, keys, batch);
      const proj = durations.find((d) => d.impl === impl && d.keys === keys)!;
      const br = design === "pipeline" ? bridge : naiveBridge;
      const units: UnitsPerEvent = {
        apiRequests: 1,
        lambdaGbSeconds: API_GB_SECONDS + gbs(proj) + gbs(br),
        lambdaInvocations: 1 + 1 / proj.batchSize + 1 / br.batchSize,
        kinesisInKiB: sourceKiB + analyticsKiB,
        // Source read by the projector and the bridge; the analytics stream by Firehose.
        kinesisOutKiB: (2 * sourceBytes + analyticsBytes) / 1024,
        wru: c.wcu / n,
        rru: c.rcu / n,
        firehoseKiB: 5 * Math.ceil(analyticsBytes / (5 * 1024)),
        // Landing: one object per 5 MB buffer of records (before GZIP); archive: one object per source batch (assumed: the archive is another engineer's, not landed here).
        s3Puts: analyticsBytes / (5 * 1024 * 1024) + 1 / proj.batchSize,
        // Kinesis and S3 reuse data keys (minutes per producer and bucket key): below 0.001 per event; counted as 0.
        kmsRequests: 0,
        // The bridge's credentials are cached: 1.13 AssumeRole per hour per container (bench STS), and STS is free.
        stsRequests: 0,
      };
      bills.push({ keys, design, units, dollars: dollarsPerMillion(units) });
    }
  }
  return { durations, bills };
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "-");
const pad = (s: string | number, n: number) => String(s).padStart(n);

/** Prints the cost section's tables. */
export function printCost(r: CostResult, log: (s?: string) => void): void {
  log(`== Lambda duration under the latency model (MODELLED: real SDK clients answered in-process, each request delayed by ${describeLatency()}) ==`);
  log("duration at memory M = wall on this machine + CPU × (1,769 MB ÷ M − 1): Lambda gives M ÷ 1,769 MB of a vCPU");
  log(
    `${"function".padEnd(10)} ${"impl".padEnd(18)} ${"keys".padEnd(9)} ${pad("batch", 5)} ${pad("MB", 5)} ${pad("P", 2)} ${pad("req/batch", 9)} ${pad("CPU µs/ev", 9)} ${pad("ms/batch", 9)} ${pad("ms/event", 8)} ${pad("events/s/shard", 14)} ${pad("× 1,000/s", 9)}`,
  );
  for (const d of r.durations) {
    log(
      `${d.fn.padEnd(10)} ${d.impl.padEnd(18)} ${d.keys.padEnd(9)} ${pad(d.batchSize, 5)} ${pad(d.memoryMb, 5)} ${pad(d.parallelizationFactor, 2)} ${pad(f(d.requestsPerBatch, 1), 9)} ${pad(f((d.cpuMsPerBatch * 1000) / d.batchSize, 0), 9)} ${pad(f(d.modelledMsPerBatch, 0), 9)} ${pad(f(d.modelledMsPerEvent, 3), 8)} ${pad(f(d.sustainedPerShard, 0), 14)} ${pad(f(d.sustainedPerShard / SHARD_WRITE_LIMIT), 9)}`,
    );
  }
  log("events/s/shard = P × batch ÷ duration: above it the backlog, and the iterator age, grow; the shard accepts at most 1,000 records/s.");
  log();
  log("== Dollars per million events, whole path (200-byte events; MODELLED durations, MEASURED capacity units and KiB) ==");
  const lines: (keyof UnitsPerEvent)[] = [
    "apiRequests",
    "lambdaGbSeconds",
    "lambdaInvocations",
    "kinesisInKiB",
    "kinesisOutKiB",
    "wru",
    "rru",
    "firehoseKiB",
    "s3Puts",
    "kmsRequests",
    "stsRequests",
  ];
  log(
    `${"keys".padEnd(9)} ${"design".padEnd(8)} ${pad("WRU/ev", 7)} ${pad("RRU/ev", 7)} ${pad("GB-s/ev", 9)} ` +
      ["API", "λ GB-s", "λ req", "KDS in", "KDS out", "WRU", "RRU", "Firehose", "S3", "KMS", "STS"].map((h) => pad(h, 8)).join(" ") +
      ` ${pad("total $", 8)}`,
  );
  for (const b of r.bills) {
    log(
      `${b.keys.padEnd(9)} ${b.design.padEnd(8)} ${pad(f(b.units.wru, 3), 7)} ${pad(f(b.units.rru, 3), 7)} ${pad(f(b.units.lambdaGbSeconds, 5), 9)} ` +
        lines.map((l) => pad(f(b.dollars[l], 3), 8)).join(" ") +
        ` ${pad(f(b.dollars.total, 3), 8)}`,
    );
  }
  log("fixed costs not per event: each on-demand stream $0.04/hour (two streams), retention beyond 24 h, the Firehose and table storage.");
}

function describeLatency(): string {
  return Object.entries(LATENCY)
    .map(([c, l]) => `${c.replace("Command", "")} p50 ${l.p50}/p99 ${l.p99} ms`)
    .join(", ");
}
