/**
 * `npm run bench`: cost and speed per event against the baselines a user
 * would otherwise write. Prints a table and writes bench-results/bench-<time>.json.
 * Counts (requests, records, units, bytes) are exact and repeat run to run;
 * times are CPU µs (process.cpuUsage) or ms, each also given as a ratio to a
 * baseline measured in this same process.
 *
 *   npx ts-node --transpile-only bench/run.ts [--quick]
 */
// First, so that a bad option is answered before the emulators and handlers load (0.4 s instead of 3.0 s here).
import { quick } from "./runOptions";
import * as fs from "fs";
import * as path from "path";
import { startDynalite, startKinesisLocal } from "../local/emulators/emulators";
import { artifactRows } from "./artifacts";
import { bridgeCounts, bridgeCpu, BridgeImpl, EVENT_SIZES } from "./bridge";
import { costSection, printCost } from "./cost/section";
import { sdkRequestCpu } from "./sdkRequest";
import { endToEnd } from "./localCloud/e2e";
import { projectorCounts, projectorCpu, ProjectorImpl } from "./projector";
import { stsCallsPerHour } from "./sts";
import type { KeyShape } from "./workload";
const f2 = (x: number) => x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : x >= 1 ? 2 : 4);
const pad = (s: string | number, n: number) => String(s).padStart(n);
const log = (s = "") => process.stdout.write(s + "\n");

async function main() {
  const started = Date.now();
  const [dynamo, kinesis] = await Promise.all([startDynalite(), startKinesisLocal()]);
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "111111111111",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint,
  });
  const result: Record<string, unknown> = { startedAt: new Date(started).toISOString(), node: process.version, cpus: require("os").cpus().length, quick };
  try {
    // ---- Projector ----
    log(
      "== Projector (batch 100; requests counted against dynalite with the real SDK; 100k: same handler over an in-memory client; CPU: handler over an in-memory client, median of 100-batch slices) ==",
    );
    log(
      `${"impl".padEnd(8)} ${"keys".padEnd(9)} ${pad("events", 7)} ${pad("aggs/batch", 10)} ${pad("reads/ev", 9)} ${pad("writes/ev", 9)} ${pad("RCU/ev", 7)} ${pad("WCU/ev", 7)} ${pad("item B", 6)} ${pad("CPU µs/ev", 10)} ${pad("CPU ×naive", 10)} counted on`,
    );
    const projector: unknown[] = [];
    const sizes = quick ? [1000] : [1000, 10_000, 100_000];
    for (const keys of ["uniform", "hot", "longLived"] as KeyShape[]) {
      for (const n of sizes) {
        const cpu: Record<string, number> = {};
        const rows: Record<string, any> = {};
        for (const impl of ["naive", "batched"] as ProjectorImpl[]) {
          const c = await projectorCpu(impl, n, keys);
          cpu[impl] = c.cpuUsPerEvent;
          const onDynalite = n <= 10_000;
          const counts = onDynalite
            ? await projectorCounts(impl, n, keys)
            : { events: n, reads: c.reads, writes: c.writes, distinctPerBatch: NaN, rcu: NaN, wcu: NaN, maxItemBytes: NaN };
          rows[impl] = {
            impl,
            keys,
            countedOn: onDynalite ? "dynalite" : "in-memory client",
            ...counts,
            readsPerEvent: counts.reads / n,
            writesPerEvent: counts.writes / n,
            rcuPerEvent: counts.rcu / n,
            wcuPerEvent: counts.wcu / n,
            cpuUsPerEvent: c.cpuUsPerEvent,
          };
        }
        for (const impl of ["naive", "batched"]) {
          const r = rows[impl];
          r.cpuRatioToNaive = r.cpuUsPerEvent / cpu.naive;
          projector.push(r);
          log(
            `${impl.padEnd(8)} ${keys.padEnd(9)} ${pad(n, 7)} ${pad(Number.isNaN(r.distinctPerBatch) ? "-" : f2(r.distinctPerBatch), 10)} ${pad(f2(r.readsPerEvent), 9)} ${pad(f2(r.writesPerEvent), 9)} ${pad(Number.isNaN(r.rcuPerEvent) ? "-" : f2(r.rcuPerEvent), 7)} ${pad(Number.isNaN(r.wcuPerEvent) ? "-" : f2(r.wcuPerEvent), 7)} ${pad(Number.isNaN(r.maxItemBytes) ? "-" : r.maxItemBytes, 6)} ${pad(f2(r.cpuUsPerEvent), 10)} ${pad(f2(r.cpuRatioToNaive), 10)} ${r.countedOn}`,
          );
        }
      }
    }
    result.projector = projector;

    // ---- Bridge ----
    const nCounts = quick ? 500 : 1000;
    const nCpu = quick ? 2000 : 10_000;
    log();
    log(`== Bridge (${nCounts} events counted against kinesis-local with the real SDK; CPU over ${nCpu} events on an in-memory client) ==`);
    log("units: PUT payload units (25 KB = 25,600 B of data + key per record, rounded up); KiB: on-demand billed KiB (per record, rounded up)");
    log(
      `${"impl".padEnd(22)} ${"size".padEnd(5)} ${pad("batch", 5)} ${pad("calls/ev", 9)} ${pad("recs/ev", 8)} ${pad("units/ev", 9)} ${pad("÷ideal", 7)} ${pad("÷ideal/b", 8)} ${pad("KiB/ev", 7)} ${pad("CPU µs/ev", 9)} ${pad("CPU ×PR", 8)}`,
    );
    const bridge: unknown[] = [];
    const impls: [BridgeImpl, number][] = [
      ["perEventPutRecord", 100],
      ["forwarderPutRecord", 100],
      ["bridge:off", 100],
      ["bridge:partitionKey", 100],
      ["bridge:sourceShard", 100],
      ["forwarderPutRecord", 1000],
      ["bridge:sourceShard", 1000],
    ];
    for (const size of Object.keys(EVENT_SIZES)) {
      let baseCpu = 0;
      for (const [impl, batch] of impls) {
        const counts = await bridgeCounts(impl, nCounts, size, batch);
        const cpu = await bridgeCpu(impl, nCpu, size, batch);
        if (impl === "perEventPutRecord") baseCpu = cpu;
        const n = counts.events;
        const row = {
          impl,
          size,
          ...counts,
          meanWireBytes: counts.wireBytes / n,
          callsPerEvent: counts.calls / n,
          recordsPerEvent: counts.records / n,
          unitsPerEvent: counts.units / n,
          onDemandKiBPerEvent: counts.onDemandKiB / n,
          unitsOverIdeal: counts.units / counts.idealUnits,
          unitsOverIdealPerBatch: counts.units / counts.idealUnitsPerBatch,
          cpuUsPerEvent: cpu,
          cpuRatioToPerEventPutRecord: cpu / baseCpu,
        };
        bridge.push(row);
        log(
          `${impl.padEnd(22)} ${size.padEnd(5)} ${pad(batch, 5)} ${pad(f2(row.callsPerEvent), 9)} ${pad(f2(row.recordsPerEvent), 8)} ${pad(f2(row.unitsPerEvent), 9)} ${pad(f2(row.unitsOverIdeal), 7)} ${pad(f2(row.unitsOverIdealPerBatch), 8)} ${pad(f2(row.onDemandKiBPerEvent), 7)} ${pad(f2(cpu), 9)} ${pad(f2(row.cpuRatioToPerEventPutRecord), 8)}`,
        );
      }
      const first = bridge.find((b: any) => b.size === size) as any;
      log(`  (${size}: mean wire record ${f2(first.meanWireBytes)} B; ideal ⌈bytes ÷ 25 KB⌉ = ${first.idealUnits} units for ${first.events} events)`);
    }
    result.bridge = bridge;

    // ---- SDK request CPU ----
    log();
    const sdk = await sdkRequestCpu(quick ? 2000 : 6000, quick ? 3 : 5);
    result.sdkRequest = sdk;
    log("== DynamoDB request CPU through the handlers' SDK client, outside the network (bench/sdkRequest.ts) ==");
    log(`middleware resolved once per command class ${f2(sdk.cachedUs)} µs, per request (SDK default) ${f2(sdk.uncachedUs)} µs: × ${f2(sdk.ratio)}`);

    // ---- Duration, headroom and dollars (latency model) ----
    log();
    const cost = await costSection(quick);
    result.cost = cost;
    printCost(cost, log);

    // ---- STS ----
    log();
    log("== STS AssumeRole per container (one invocation per second, simulated clock, real STSClient against the local stub) ==");
    const cached = await stsCallsPerHour(24, 1, false);
    const naive = await stsCallsPerHour(1, 1, true);
    result.sts = { cached, naivePerInvocation: naive };
    log(
      `cached provider (handlers/assumeRole.ts): ${cached.calls} calls in ${cached.hours} h = ${f2(cached.callsPerHour)}/h (first hour: ${cached.firstHourCalls}); naive AssumeRole per invocation: ${naive.calls}/h; ratio ${f2(cached.callsPerHour / naive.callsPerHour)}`,
    );

    // ---- Artifacts ----
    log();
    const runs = quick ? 2 : 5;
    log(`== Lambda artifacts (zip bytes; cold start = median of ${runs} fresh processes: load __index.js + serve the first event against the emulators) ==`);
    const outDir = path.resolve(__dirname, "..", "bench-results");
    const art = await artifactRows(outDir, runs);
    result.artifacts = art;
    log(`${"function".padEnd(28)} ${pad("zip bytes", 10)} ${pad("load ms", 8)} ${pad("1st ev ms", 9)} ${pad("total ms", 9)} ${pad("× no-op", 8)}`);
    for (const r of [...art.rows, art.baseline]) {
      const c = r.coldStart!;
      log(
        `${r.fn.padEnd(28)} ${pad(r.zipBytes ? r.zipBytes.toLocaleString("en") : "-", 10)} ${pad(f2(c.loadMs), 8)} ${pad(f2(c.firstEventMs), 9)} ${pad(f2(c.totalMs), 9)} ${pad(f2(c.totalMs / art.baseline.coldStart!.totalMs), 8)}`,
      );
    }
    log(`${"(CallbackFunction defaults)".padEnd(28)} ${pad(art.defaultPackagingBytes.toLocaleString("en"), 10)}`);

    // ---- End to end ----
    log();
    log("== End to end on the local cloud ==");
    const e2e = await endToEnd(quick);
    result.endToEnd = e2e;
    for (const r of e2e) log(`${r.metric}: ${r.value ?? "-"} (raw emulator ${r.rawEmulatorValue ?? "-"}, ratio ${r.ratio ?? "-"}) ${r.note}`);

    result.runtimeSeconds = (Date.now() - started) / 1000;
    fs.mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `bench-${new Date(started).toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
    log();
    log(`bench finished in ${f2(result.runtimeSeconds as number)} s; results: ${file}`);
  } finally {
    await Promise.all([dynamo.close(), kinesis.close()]);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
