/**
 * Bridge: PutRecords calls, records, PUT payload units and on-demand billed
 * KiB per event, counted from the requests a real SDK client sends to
 * kinesis-local, and handler CPU per event over a fake client; beside two
 * baselines: one PutRecord per event, and the awslabs KinesisLambdaForwarder
 * (the official `aws-kinesis-agg` aggregate(), one PutRecord per aggregated
 * record, keyed by the first record's partition key).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KinesisClient, PutRecordCommand } from "@aws-sdk/client-kinesis";
import { BridgeConfig, createBridge } from "../handlers/bridge";
import { kinesisClient } from "../handlers/shared/clients";
import { KinesisStreamBatchResponse, KinesisStreamEvent } from "../handlers/shared/kinesisEvent";
import { parseEnvelope } from "../handlers/shared/envelope";
import { accountCredentials, emulatorDynamo, emulatorKinesis } from "../local/emulators/clients";
import { ensureStream } from "../local/deploy/emulatorResources";
import { LOCAL_ACCOUNTS } from "../local/shared/manifest";
import { fakeKinesis, medianCpuPerEvent } from "./fakes";
import { batches, envelopes, toRecords } from "./workload";
import { Mapper } from "../handlers/shared/domain";
import { AggregateMode } from "../handlers/bridge/contract";
const agg = require("aws-kinesis-agg");

/** A PUT payload unit: 25 KB chunks of a record (counted as 25 × 1024 bytes, data + partition key). */
export const PUT_UNIT_BYTES = 25 * 1024;
/** On-demand streams bill each record rounded up to 1 KiB. */
export const ON_DEMAND_BYTES = 1024;

export type BridgeImpl = "perEventPutRecord" | "forwarderPutRecord" | `bridge:${AggregateMode}`;

/** The analytics contract as a user's `map` would write it: the payload passes through. */
export const benchMap: Mapper = (e) => ({ contract: "order-lifecycle.v1", data: e.data });

/** Pads chosen so the wire record (data + partition key) is ~200 B and ~5 KB. */
export const EVENT_SIZES: Record<string, number> = { "200B": 26, "5KB": 4946 };

export interface BridgeCounts {
  events: number;
  batchSize: number;
  calls: number;
  records: number;
  units: number;
  onDemandKiB: number;
  /** Plain wire bytes (data + aggregateId) of all events: what ideal packing divides. */
  wireBytes: number;
  /** ⌈wireBytes ÷ 25 KB⌉: the ideal over the whole run. */
  idealUnits: number;
  /** Σ over batches of ⌈batch wire bytes ÷ 25 KB⌉: the best any packing inside one invocation can do. */
  idealUnitsPerBatch: number;
}

function observe(client: { middlewareStack: KinesisClient["middlewareStack"] }) {
  const stats = { calls: 0, records: 0, units: 0, onDemandKiB: 0 };
  const add = (data: Uint8Array, pk: string) => {
    const size = data.length + Buffer.byteLength(pk);
    stats.records += 1;
    stats.units += Math.ceil(size / PUT_UNIT_BYTES);
    stats.onDemandKiB += Math.ceil(size / ON_DEMAND_BYTES);
  };
  client.middlewareStack.add(
    (next, context) => async (args: any) => {
      if (context.commandName === "PutRecordsCommand") {
        stats.calls += 1;
        for (const r of args.input.Records) add(r.Data, r.PartitionKey);
      } else if (context.commandName === "PutRecordCommand") {
        stats.calls += 1;
        add(args.input.Data, args.input.PartitionKey);
      }
      return next(args);
    },
    { step: "initialize", name: "benchObservePuts", priority: "high" },
  );
  return stats;
}

/** The wire record the bridge would write for an event, as the baselines send it. */
function wireOf(data: string): { partitionKey: string; data: Buffer } {
  const parsed = parseEnvelope(Buffer.from(data, "base64"));
  if (!parsed.ok) throw new Error("bench events are valid");
  const e = parsed.event;
  const out = benchMap(e) as { contract: string; data: unknown };
  return {
    partitionKey: e.aggregateId,
    data: Buffer.from(
      JSON.stringify({ id: e.eventId, eventId: e.eventId, aggregateId: e.aggregateId, occurredAt: e.occurredAt, contract: out.contract, data: out.data }),
    ),
  };
}

type Handler = (e: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse | void>;

/** The bridge `impl` writing to `targetStreamArn` through `kinesis`, parking through `dynamodb` (default: the emulator). */
export function buildBridge(
  impl: BridgeImpl,
  kinesis: Pick<KinesisClient, "send">,
  targetStreamArn: string,
  dynamodb: DynamoDBClient = emulatorDynamo(),
): Handler {
  if (impl === "perEventPutRecord") {
    return async (event) => {
      for (const r of event.Records) {
        const w = wireOf(r.kinesis.data);
        await kinesis.send(new PutRecordCommand({ StreamARN: targetStreamArn, PartitionKey: w.partitionKey, Data: w.data }));
      }
    };
  }
  if (impl === "forwarderPutRecord") {
    return (event) =>
      new Promise<void>((resolve, reject) => {
        const wires = event.Records.map((r) => wireOf(r.kinesis.data));
        agg.aggregate(
          wires,
          (encoded: { partitionKey: string; data: Buffer }, done: (err?: Error) => void) => {
            kinesis.send(new PutRecordCommand({ StreamARN: targetStreamArn, PartitionKey: encoded.partitionKey, Data: encoded.data })).then(() => done(), done);
          },
          () => resolve(),
          (err: Error) => reject(err),
        );
      });
  }
  const config: BridgeConfig = {
    targetStreamArn,
    parkedTableName: "bench-bridge-parked",
    retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 100 },
    maxRecordsPerCall: 500,
    maxBytesPerCall: 5 * 1024 * 1024,
    aggregate: impl.slice("bridge:".length) as AggregateMode,
  };
  return createBridge({
    kinesis: kinesis as KinesisClient,
    dynamodb,
    map: benchMap,
    config,
    clock: { sleep: async () => undefined, random: () => 0.5 },
    log: () => undefined,
  });
}

function workload(n: number, size: string, keys: "uniform" | "hot" = "uniform") {
  return toRecords(envelopes(n, keys, EVENT_SIZES[size]));
}

let streams = 0;

/** Counts against kinesis-local (AWS_ENDPOINT_URL_KINESIS), consumer account, a 4-shard target stream. */
export async function bridgeCounts(impl: BridgeImpl, n: number, size: string, batchSize: number): Promise<BridgeCounts> {
  const admin = emulatorKinesis({ account: LOCAL_ACCOUNTS.consumer });
  const arn = (await ensureStream(admin, `bench-analytics-${process.pid}-${++streams}`, { shardCount: 4 })).StreamARN!;
  admin.destroy();
  const kinesis = kinesisClient({ credentials: accountCredentials(LOCAL_ACCOUNTS.consumer) });
  const stats = observe(kinesis);
  const handler = buildBridge(impl, kinesis, arn);
  const bs = batches(workload(n, size), batchSize);
  let wireBytes = 0;
  let idealUnitsPerBatch = 0;
  for (const b of bs) {
    let batchBytes = 0;
    for (const r of b.Records) {
      const w = wireOf(r.kinesis.data);
      batchBytes += w.data.length + Buffer.byteLength(w.partitionKey);
    }
    wireBytes += batchBytes;
    idealUnitsPerBatch += Math.ceil(batchBytes / PUT_UNIT_BYTES);
    const res = await handler(b);
    if (res && res.batchItemFailures.length) throw new Error(`${impl} reported a failure`);
  }
  return { events: n, batchSize, ...stats, wireBytes, idealUnits: Math.ceil(wireBytes / PUT_UNIT_BYTES), idealUnitsPerBatch };
}

/** Handler CPU µs per event over a fake client that acknowledges everything, after a warm-up; median of slices. */
export async function bridgeCpu(impl: BridgeImpl, n: number, size: string, batchSize: number): Promise<number> {
  const warm = buildBridge(impl, fakeKinesis(), "arn:aws:kinesis:us-east-1:222222222222:stream/warm");
  for (const b of batches(workload(1000, size), batchSize)) await warm(b);
  const bs = batches(workload(n, size), batchSize);
  const cpu = await medianCpuPerEvent(
    () => buildBridge(impl, fakeKinesis(), "arn:aws:kinesis:us-east-1:222222222222:stream/cpu"),
    bs,
    Math.min(5, Math.max(1, Math.ceil(50_000 / n))),
  );
  return cpu.median;
}
