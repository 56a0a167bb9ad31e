/**
 * Deterministic workloads: Kinesis records shaped as Lambda delivers them,
 * with monotonically increasing sequence numbers and keys drawn from a fixed
 * linear congruential generator, so every count the bench prints repeats.
 */
import type { EventEnvelope } from "../handlers/shared/envelope";
import type { KinesisStreamEvent, KinesisStreamRecord } from "../handlers/shared/kinesisEvent";

/**
 * `uniform`: 1,000 aggregates drawn at random; `hot`: 10 aggregates, so ~10 events per aggregate per batch
 * of 100; `longLived`: 1,000 aggregates in turn, so one event each per batch of up to 1,000, every one with a
 * history of {@link LONG_LIVED_HISTORY} events before the workload (so its dedup window is full: see projectorCounts).
 */
export type KeyShape = "uniform" | "hot" | "longLived";
export const KEY_POOL: Record<KeyShape, number> = { uniform: 1000, hot: 10, longLived: 1000 };
/** Events each long-lived aggregate has had before the workload: more than any dedup window default (64 before, 16 now). */
export const LONG_LIVED_HISTORY = 70;

/** A seeded generator (Numerical Recipes LCG), uniform in [0, 1). */
export function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** A Kinesis-like sequence number (56 digits), increasing with i. */
export function sequenceNumber(i: number): string {
  return "4959" + String(i + 1).padStart(52, "0");
}

/** Builds `n` envelopes over the key shape; `dataBytes` pads the payload. */
export function envelopes(n: number, keys: KeyShape, dataBytes = 0, seed = 42): EventEnvelope[] {
  const rnd = lcg(seed);
  const pool = KEY_POOL[keys];
  const pad = "x".repeat(dataBytes);
  const out: EventEnvelope[] = [];
  for (let i = 0; i < n; i++) {
    const agg = keys === "longLived" ? i % pool : Math.floor(rnd() * pool);
    out.push({
      eventId: `01JBENCH${String(i).padStart(18, "0")}`,
      aggregateId: `order-${String(agg).padStart(6, "0")}`,
      type: i % 5 === 0 ? "OrderPlaced" : "LineAdded",
      occurredAt: "2025-01-01T00:00:00.000Z",
      schemaVersion: 1,
      data: { amountCents: (i * 37) % 1000, pad },
    });
  }
  return out;
}

/** The envelopes as Lambda's Kinesis records on one shard. */
export function toRecords(events: EventEnvelope[], shard = "shardId-000000000000"): KinesisStreamRecord[] {
  return events.map((e, i) => {
    const seq = sequenceNumber(i);
    return {
      awsRegion: "us-east-1",
      eventID: `${shard}:${seq}`,
      eventName: "aws:kinesis:record",
      eventSource: "aws:kinesis",
      eventSourceARN: "arn:aws:kinesis:us-east-1:111111111111:stream/orders-events",
      eventVersion: "1.0",
      invokeIdentityArn: "arn:aws:iam::111111111111:role/bench",
      kinesis: {
        kinesisSchemaVersion: "1.0",
        partitionKey: e.aggregateId,
        sequenceNumber: seq,
        data: Buffer.from(JSON.stringify(e)).toString("base64"),
        approximateArrivalTimestamp: 1735689600,
      },
    };
  });
}

/** Lambda batches of `size` (the component's default batch size is 100). */
export function batches(records: KinesisStreamRecord[], size: number): KinesisStreamEvent[] {
  const out: KinesisStreamEvent[] = [];
  for (let i = 0; i < records.length; i += size) out.push({ Records: records.slice(i, i + size) });
  return out;
}

/** The bench's read model: what a small order aggregate might keep. */
export interface BenchState {
  count: number;
  totalCents: number;
  last: string;
}
export const benchReduce = (s: BenchState | undefined, e: EventEnvelope): BenchState => ({
  count: (s?.count ?? 0) + 1,
  totalCents: (s?.totalCents ?? 0) + ((e.data as { amountCents?: number }).amountCents ?? 0),
  last: e.type,
});
