/**
 * Pins the bench's exact counts for a fixed workload (requests, records,
 * PUT payload units per event), so a regression in batching, aggregation or
 * credential caching fails CI. No timing is asserted. The workloads are the
 * bench's own (bench/workload.ts: seeded keys, batch size 100), run against
 * the emulators the root hooks start.
 */
import { expect } from "chai";
import { bridgeCounts, BridgeImpl } from "../../bench/bridge";
import { projectorCounts } from "../../bench/projector";
import type { KeyShape } from "../../bench/workload";
import { stsCallsPerHour } from "../../bench/sts";

describe("bench counts (exact, fixed workload)", function () {
  this.timeout(120_000);

  it("projector: 500 events, batch 100 — one BatchGetItem per batch, one PutItem per aggregate per batch, capacity units per event at most the naive one's (one GetItem + one PutItem per event) for every key shape", async () => {
    const pin = async (impl: "batched" | "naive", keys: KeyShape) => {
      const c = await projectorCounts(impl, 500, keys);
      return {
        impl,
        keys,
        reads: c.reads,
        writes: c.writes,
        requests: c.requests,
        distinctPerBatch: c.distinctPerBatch,
        rcu: c.rcu,
        wcu: c.wcu,
        maxItemBytes: c.maxItemBytes,
      };
    };
    const got = [];
    for (const impl of ["batched", "naive"] as const) for (const keys of ["uniform", "hot", "longLived"] as const) got.push(await pin(impl, keys));
    expect(got).to.deep.equal(EXPECTED_PROJECTOR);
    // The cost goal, stated: billed read and write units per event never above the naive projector's, long-lived aggregates (full dedup window) included.
    for (const g of got.filter((x) => x.impl === "batched")) {
      const naive = got.find((x) => x.impl === "naive" && x.keys === g.keys)!;
      expect(g.wcu, `${g.keys} WCU`).to.be.at.most(naive.wcu);
      expect(g.rcu, `${g.keys} RCU`).to.be.at.most(naive.rcu);
    }
    // The goal, stated: writes per event = distinct aggregates per batch ÷ events; one bulk read per 100 aggregates.
    for (const g of got.filter((x) => x.impl === "batched")) {
      expect(g.writes).to.equal(g.distinctPerBatch * 5);
      expect(g.reads).to.equal(5);
    }
  });

  it("projector, keyed writes (every event its own Idempotency-Key): one claim PutItem per event besides the unkeyed line's requests, 1 WCU each, no read", async () => {
    const c = await projectorCounts("batched", 500, "uniform", undefined, true);
    const unkeyed = EXPECTED_PROJECTOR[0] as { writes: number; wcu: number; rcu: number };
    expect({ reads: c.reads, writes: c.writes, requests: c.requests, rcu: c.rcu, wcu: c.wcu }).to.deep.equal({
      reads: 5,
      writes: unkeyed.writes + 500,
      requests: { BatchGetItemCommand: 5, PutItemCommand: unkeyed.writes + 500 },
      rcu: unkeyed.rcu,
      wcu: unkeyed.wcu + 500,
    });
  });

  it("bridge: calls, records and PUT payload units per workload; sourceShard aggregation at the ideal ⌈bytes ÷ 25 KB⌉ per batch", async () => {
    const cases: [BridgeImpl, number, string, number][] = [
      ["perEventPutRecord", 100, "200B", 100],
      ["forwarderPutRecord", 500, "200B", 100],
      ["bridge:off", 500, "200B", 100],
      ["bridge:partitionKey", 500, "200B", 100],
      ["bridge:sourceShard", 500, "200B", 100],
      ["bridge:sourceShard", 500, "200B", 500],
      ["forwarderPutRecord", 200, "5KB", 100],
      ["bridge:off", 200, "5KB", 100],
      ["bridge:sourceShard", 200, "5KB", 100],
      ["bridge:sourceShard", 200, "5KB", 200],
    ];
    const got: Record<string, unknown>[] = [];
    for (const [impl, n, size, batch] of cases) {
      const c = await bridgeCounts(impl, n, size, batch);
      got.push({
        impl,
        n,
        size,
        batch,
        calls: c.calls,
        records: c.records,
        units: c.units,
        onDemandKiB: c.onDemandKiB,
        wireBytes: c.wireBytes,
        idealUnits: c.idealUnits,
        idealUnitsPerBatch: c.idealUnitsPerBatch,
      });
    }
    expect(got).to.deep.equal(EXPECTED_BRIDGE);
    for (const g of got.filter((x) => x.impl === "bridge:sourceShard")) expect(g.units).to.equal(g.idealUnitsPerBatch);
  });

  it("STS: the cached provider calls AssumeRole 27 times in 24 h of one invocation per second (every 55 min), the naive one 3,600 times in 1 h", async () => {
    const cached = await stsCallsPerHour(24, 1, false);
    expect({ calls: cached.calls, firstHourCalls: cached.firstHourCalls }).to.deep.equal({ calls: 27, firstHourCalls: 2 });
    const naive = await stsCallsPerHour(1, 1, true);
    expect(naive.calls).to.equal(3600);
  });
});

/**
 * Pinned from a run; a change here is a change in DynamoDB requests or billed capacity units per event.
 * rcu/wcu: as dynalite reports ReturnConsumedCapacity (1 RCU per started 4 KB per item read strongly
 * consistent, absent items included; 1 WCU per started KB of the larger of the old and the new item).
 * With the former 64-entry dedup window, long-lived aggregates cost 1,500 WCU here (items of 2,604 B), hot ones 88.
 */
const EXPECTED_PROJECTOR: unknown[] = [
  {
    impl: "batched",
    keys: "uniform",
    reads: 5,
    writes: 475,
    requests: { BatchGetItemCommand: 5, PutItemCommand: 475 },
    distinctPerBatch: 95,
    rcu: 475,
    wcu: 475,
    maxItemBytes: 395,
  },
  {
    impl: "batched",
    keys: "hot",
    reads: 5,
    writes: 50,
    requests: { BatchGetItemCommand: 5, PutItemCommand: 50 },
    distinctPerBatch: 10,
    rcu: 50,
    wcu: 50,
    maxItemBytes: 831,
  },
  {
    impl: "batched",
    keys: "longLived",
    reads: 5,
    writes: 500,
    requests: { BatchGetItemCommand: 5, PutItemCommand: 500 },
    distinctPerBatch: 100,
    rcu: 500,
    wcu: 500,
    maxItemBytes: 831,
  },
  {
    impl: "naive",
    keys: "uniform",
    reads: 500,
    writes: 500,
    requests: { GetItemCommand: 500, PutItemCommand: 500 },
    distinctPerBatch: 95,
    rcu: 500,
    wcu: 500,
    maxItemBytes: 146,
  },
  {
    impl: "naive",
    keys: "hot",
    reads: 500,
    writes: 500,
    requests: { GetItemCommand: 500, PutItemCommand: 500 },
    distinctPerBatch: 10,
    rcu: 500,
    wcu: 500,
    maxItemBytes: 148,
  },
  {
    impl: "naive",
    keys: "longLived",
    reads: 500,
    writes: 500,
    requests: { GetItemCommand: 500, PutItemCommand: 500 },
    distinctPerBatch: 100,
    rcu: 500,
    wcu: 500,
    maxItemBytes: 148,
  },
];
/** Pinned from a run; units are PUT payload units (25 × 1024 B of data + key per record, rounded up). */
const EXPECTED_BRIDGE: unknown[] = [
  {
    impl: "perEventPutRecord",
    n: 100,
    size: "200B",
    batch: 100,
    calls: 100,
    records: 100,
    units: 100,
    onDemandKiB: 100,
    wireBytes: 24890,
    idealUnits: 1,
    idealUnitsPerBatch: 1,
  },
  {
    impl: "forwarderPutRecord",
    n: 500,
    size: "200B",
    batch: 100,
    calls: 5,
    records: 5,
    units: 10,
    onDemandKiB: 130,
    wireBytes: 124453,
    idealUnits: 5,
    idealUnitsPerBatch: 5,
  },
  {
    impl: "bridge:off",
    n: 500,
    size: "200B",
    batch: 100,
    calls: 5,
    records: 500,
    units: 500,
    onDemandKiB: 500,
    wireBytes: 124453,
    idealUnits: 5,
    idealUnitsPerBatch: 5,
  },
  {
    impl: "bridge:partitionKey",
    n: 500,
    size: "200B",
    batch: 100,
    calls: 5,
    records: 475,
    units: 475,
    onDemandKiB: 475,
    wireBytes: 124453,
    idealUnits: 5,
    idealUnitsPerBatch: 5,
  },
  {
    impl: "bridge:sourceShard",
    n: 500,
    size: "200B",
    batch: 100,
    calls: 5,
    records: 5,
    units: 5,
    onDemandKiB: 120,
    wireBytes: 124453,
    idealUnits: 5,
    idealUnitsPerBatch: 5,
  },
  {
    impl: "bridge:sourceShard",
    n: 500,
    size: "200B",
    batch: 500,
    calls: 1,
    records: 1,
    units: 5,
    onDemandKiB: 120,
    wireBytes: 124453,
    idealUnits: 5,
    idealUnitsPerBatch: 5,
  },
  {
    impl: "forwarderPutRecord",
    n: 200,
    size: "5KB",
    batch: 100,
    calls: 2,
    records: 2,
    units: 42,
    onDemandKiB: 1012,
    wireBytes: 1033782,
    idealUnits: 41,
    idealUnitsPerBatch: 42,
  },
  {
    impl: "bridge:off",
    n: 200,
    size: "5KB",
    batch: 100,
    calls: 2,
    records: 200,
    units: 200,
    onDemandKiB: 1200,
    wireBytes: 1033782,
    idealUnits: 41,
    idealUnitsPerBatch: 42,
  },
  {
    impl: "bridge:sourceShard",
    n: 200,
    size: "5KB",
    batch: 100,
    calls: 2,
    records: 2,
    units: 42,
    onDemandKiB: 1010,
    wireBytes: 1033782,
    idealUnits: 41,
    idealUnitsPerBatch: 42,
  },
  {
    impl: "bridge:sourceShard",
    n: 200,
    size: "5KB",
    batch: 200,
    calls: 1,
    records: 1,
    units: 41,
    onDemandKiB: 1009,
    wireBytes: 1033782,
    idealUnits: 41,
    idealUnitsPerBatch: 41,
  },
];
