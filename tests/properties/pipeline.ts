/**
 * The property-based tests' world: random event histories over the example
 * domain (domain.ts), written to a real source stream, delivered to the REAL
 * projector and bridge (real SDK clients, emulators, seeded faults) by the
 * event-source-mapping model in esm.ts, then checked against an in-memory
 * model. Tables and streams are created once and reused; each run uses its
 * own aggregate and event ids. Histories mix plain records with KPL
 * aggregates written by the official aggregator (aws-kinesis-agg), packed as
 * the KPL packs: consecutive user records bound for the same shard, under the
 * first one's key; the model reads them with the official deaggregator.
 *
 * Used by tests/properties/*.test.ts (200 runs each) and scripts/properties.ts
 * (10,000 on demand).
 */
import * as fc from "fast-check";
import { createHash } from "crypto";
import { GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { map as domainMap, reduce as domainReduce } from "../../domain";
import { BridgeConfig, bridgeKinesisClient, createBridge } from "../../handlers/bridge";
import { dynamoClient } from "../../handlers/shared/clients";
import { ENVELOPE_SCHEMA_VERSION, EventEnvelope, parseEnvelope } from "../../handlers/shared/envelope";
import type { KinesisStreamRecord } from "../../handlers/shared/kinesisEvent";
import { decodeParkedItem, ParkedEvent } from "../../handlers/shared/parkedTable";
import { createProjector } from "../../handlers/projector";
import { decodeStoredAggregate, INITIAL_POSITION, newestEventId, recentEntries, StoredAggregate } from "../../handlers/shared/readModelItem";
import { encodePosition, padSequence } from "../../handlers/shared/sequence";
import { EXPLODE_CENTS } from "../support/projectorFixtures";
import {
  CONSUMER_ACCOUNT,
  createStream,
  createTable,
  kplAggregate,
  kplDeaggregate,
  PRODUCER_ACCOUNT,
  REGION,
  testDynamo,
  testKinesis,
  uniqueName,
} from "../support/aws";
import { faultRates, FaultPlan, prng } from "../support/faults";
import { startStsStub, StsStub } from "../../local/sts/stub";
import { EsmStats, newStats, runShard, Schedule } from "./esm";
import { Mapper } from "../../handlers/shared/domain";
import { AnalyticsWireRecord } from "../../handlers/bridge/contract";
import { Reducer } from "../../handlers/shared/domain";

// ---------------------------------------------------------------- histories

/** One step of a history; `agg` indexes the run's aggregates. */
export type Step =
  | { kind: "command"; agg: number; type: string; data: Record<string, unknown> }
  /** A producer retry: the same envelope (same eventId) appended again, with a new sequence number. */
  | { kind: "retry"; of: number }
  /** A poison record under the aggregate's partition key (a KPL aggregate whose MD5 fails: corruptKpl). */
  | { kind: "garbage"; agg: number; variant: "notJson" | "badUtf8" | "wrongSchema" | "otherAggregate" | "corruptKpl" };

export interface History {
  aggregates: number;
  steps: Step[];
  /** How the producer packs: each entry takes that many of the next records bound for one shard into a KPL aggregate (1: a plain record); plain once spent. */
  packs?: number[];
}

const line = fc.record({ sku: fc.constantFrom("A", "B", "C"), quantity: fc.integer({ min: 1, max: 3 }), unitPriceCents: fc.integer({ min: 1, max: 500 }) });
const command: fc.Arbitrary<{ type: string; data: Record<string, unknown> }> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant("OrderPlaced"),
      data: fc.record({ customerId: fc.constantFrom("c1", "c2"), lines: fc.array(line, { maxLength: 2 }) }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ type: fc.constant("LineAdded"), data: line }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant("OrderPaid"), data: fc.record({ amountCents: fc.integer({ min: 1, max: 2000 }) }) }) },
  { weight: 1, arbitrary: fc.constantFrom("OrderShipped", "OrderCancelled", "OrderErased", "SomethingNew").map((type) => ({ type, data: {} })) },
  // reduce and map both throw on this one: a bug fixed later (see the re-drive tests).
  { weight: 1, arbitrary: fc.constant({ type: "OrderPaid", data: { amountCents: EXPLODE_CENTS } }) },
);

/** Small histories: 1-3 aggregates, up to 16 steps. */
export const historyArb: fc.Arbitrary<History> = fc.integer({ min: 1, max: 3 }).chain((aggregates) =>
  fc.record({
    aggregates: fc.constant(aggregates),
    steps: fc.array(
      fc.oneof(
        { weight: 10, arbitrary: fc.tuple(fc.integer({ min: 0, max: aggregates - 1 }), command).map(([agg, c]): Step => ({ kind: "command", agg, ...c })) },
        { weight: 2, arbitrary: fc.nat(15).map((of): Step => ({ kind: "retry", of })) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(
              fc.integer({ min: 0, max: aggregates - 1 }),
              fc.constantFrom("notJson", "badUtf8", "wrongSchema", "otherAggregate", "corruptKpl") as fc.Arbitrary<"notJson">,
            )
            .map(([agg, variant]): Step => ({ kind: "garbage", agg, variant })),
        },
      ),
      { maxLength: 16 },
    ),
    packs: fc.array(fc.oneof({ weight: 2, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.integer({ min: 2, max: 5 }) }), { maxLength: 8 }),
  }),
);

export const scheduleArb: fc.Arbitrary<Schedule & { seed: number; faults: number; maxRecordsPerCall: number }> = fc.record({
  maxBatch: fc.integer({ min: 1, max: 8 }),
  redeliver: fc.constantFrom(0, 0.2, 0.5),
  concurrent: fc.constantFrom(0, 0.3, 0.6),
  bisect: fc.boolean(),
  replayMid: fc.boolean(),
  replayEnd: fc.boolean(),
  seed: fc.integer(),
  faults: fc.constantFrom(0, 1, 2, 2),
  maxRecordsPerCall: fc.constantFrom(2, 500, 500),
});

/** The test's reducer and mapper: the domain's, except that `explode` makes them throw. */
export const buggyReduce: Reducer<unknown> = (state, event) => {
  if ((event.data as { amountCents?: number })?.amountCents === EXPLODE_CENTS) throw new Error("reduce bug: explode");
  return domainReduce(state as never, event);
};
export const buggyMap: Mapper = (event) => {
  if ((event.data as { amountCents?: number })?.amountCents === EXPLODE_CENTS) throw new Error("map bug: explode");
  return domainMap(event);
};

/** A record as written: the bytes, its partition key and (when valid) the envelope; a KPL aggregate's user records. */
interface Written {
  partitionKey: string;
  bytes: Buffer;
  envelope?: EventEnvelope;
  users?: Written[];
}

let runCounter = 0;

/** Turns a history into this run's records: unique ids per run. */
export function materialise(history: History): { runId: string; aggregateIds: string[]; written: Written[] } {
  runCounter += 1;
  const runId = `p${process.pid}r${runCounter}x${Date.now().toString(36)}`;
  const aggregateIds = Array.from({ length: history.aggregates }, (_, i) => `${runId}-a${i}`);
  const written: Written[] = [];
  const envelopes: EventEnvelope[] = [];
  history.steps.forEach((step, i) => {
    if (step.kind === "command") {
      const e: EventEnvelope = {
        eventId: `${runId}-e${i}`,
        aggregateId: aggregateIds[step.agg],
        type: step.type,
        occurredAt: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
        schemaVersion: ENVELOPE_SCHEMA_VERSION,
        data: step.data,
      };
      envelopes.push(e);
      written.push({ partitionKey: e.aggregateId, bytes: Buffer.from(JSON.stringify(e)), envelope: e });
    } else if (step.kind === "retry") {
      if (envelopes.length === 0) return;
      const e = envelopes[step.of % envelopes.length];
      written.push({ partitionKey: e.aggregateId, bytes: Buffer.from(JSON.stringify(e)), envelope: e });
    } else {
      const pk = aggregateIds[step.agg];
      const bytes =
        step.variant === "notJson"
          ? Buffer.from("{not json")
          : step.variant === "badUtf8"
            ? Buffer.from([0x7b, 0xff, 0xfe, 0x7d])
            : step.variant === "wrongSchema"
              ? Buffer.from(JSON.stringify({ eventId: `${runId}-g${i}`, aggregateId: pk, schemaVersion: 99 }))
              : step.variant === "corruptKpl"
                ? corruptAggregate(pk, `${runId}-g${i}`)
                : Buffer.from(
                    JSON.stringify({
                      eventId: `${runId}-g${i}`,
                      aggregateId: `${runId}-elsewhere`,
                      type: "OrderPlaced",
                      occurredAt: "2025-01-01T00:00:00.000Z",
                      schemaVersion: 1,
                      data: { customerId: "c", lines: [] },
                    }),
                  );
      written.push({ partitionKey: pk, bytes });
    }
  });
  return { runId, aggregateIds, written };
}

/** A KPL aggregate (official aggregator) of one valid event of `pk`, its MD5 broken: poison as a whole. */
function corruptAggregate(pk: string, eventId: string): Buffer {
  const e = { eventId, aggregateId: pk, type: "OrderPlaced", occurredAt: "2025-01-01T00:00:00.000Z", schemaVersion: 1, data: { customerId: "c", lines: [] } };
  const bytes = kplAggregate([{ partitionKey: pk, data: JSON.stringify(e) }]).bytes;
  bytes[bytes.length - 1] ^= 0xff;
  return bytes;
}

/**
 * Packs records as the KPL does: the next `size` records bound for the same shard as the first (in write order, so
 * each shard's order holds) into one aggregate under the first one's key; what is left, and packs of 1, go plain.
 */
export function packRecords(written: Written[], packs: number[], shardOf: (partitionKey: string) => number): Written[] {
  const out: Written[] = [];
  const taken = new Array(written.length).fill(false);
  let p = 0;
  for (let i = 0; i < written.length; i++) {
    if (taken[i]) continue;
    const size = packs[p++] ?? 1;
    const members = [i];
    const shard = shardOf(written[i].partitionKey);
    for (let j = i + 1; j < written.length && members.length < size; j++) if (!taken[j] && shardOf(written[j].partitionKey) === shard) members.push(j);
    members.forEach((m) => (taken[m] = true));
    if (members.length === 1) out.push(written[i]);
    else
      out.push({
        ...kplAggregate(members.map((m) => ({ partitionKey: written[m].partitionKey, data: written[m].bytes }))),
        users: members.map((m) => written[m]),
      });
  }
  return out;
}

// ---------------------------------------------------------------- the world

export interface World {
  sourceStream: string;
  /** The source shard a partition key maps to (by its MD5 hash key, as Kinesis maps it). */
  shardOf: (partitionKey: string) => number;
  table: string;
  parked: string;
  bridgeParked: string;
  targetStream: string;
  targetArn: string;
  tail: StreamTail;
  sts: StsStub;
  close(): Promise<void>;
}

/** Creates the shared streams and tables (2 shards each), once per suite. */
export async function createWorld(): Promise<World> {
  const producer = testKinesis();
  const dynamo = testDynamo();
  const w = {
    sourceStream: uniqueName("prop-src"),
    table: uniqueName("prop-read"),
    parked: uniqueName("prop-parked"),
    bridgeParked: uniqueName("prop-bparked"),
    targetStream: uniqueName("prop-analytics"),
  };
  const [, targetArn] = await Promise.all([
    createStream(producer, w.sourceStream, 2),
    createStream(testKinesis(CONSUMER_ACCOUNT), w.targetStream, 2),
    createTable(dynamo, w.table),
    createTable(dynamo, w.parked, "sk"),
    createTable(dynamo, w.bridgeParked, "sk"),
  ]);
  const tail = await StreamTail.open(testKinesis(CONSUMER_ACCOUNT), w.targetStream);
  const ranges = ((await producer.send(new ListShardsCommand({ StreamName: w.sourceStream }))).Shards ?? []).map((sh) => ({
    start: BigInt(sh.HashKeyRange!.StartingHashKey!),
    end: BigInt(sh.HashKeyRange!.EndingHashKey!),
  }));
  const shardOf = (pk: string) => {
    const hash = BigInt(`0x${createHash("md5").update(pk, "utf8").digest("hex")}`);
    return ranges.findIndex((r) => hash >= r.start && hash <= r.end);
  };
  const sts = await startStsStub({ expectedExternalId: "prop-external-id" });
  // Credentials that always need refreshing: every PutRecords asks STS, so STS faults bite.
  sts.expiration = () => new Date(Date.now() + 1000);
  return { ...w, shardOf, targetArn, tail, sts, close: () => sts.stop() };
}

/** Writes the run's records with PutRecords; returns them per shard, as Lambda would deliver them. */
async function writeSource(kinesis: KinesisClient, stream: string, written: Written[]): Promise<Map<string, KinesisStreamRecord[]>> {
  const shards = new Map<string, KinesisStreamRecord[]>();
  if (written.length === 0) return shards;
  const out = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: written.map((w) => ({ PartitionKey: w.partitionKey, Data: w.bytes })) }));
  if (out.FailedRecordCount) throw new Error(`source PutRecords failed ${out.FailedRecordCount} entries`);
  const arrived = Date.now() / 1000;
  out.Records!.forEach((r, i) => {
    const list = shards.get(r.ShardId!) ?? [];
    shards.set(r.ShardId!, list);
    list.push({
      awsRegion: REGION,
      eventID: `${r.ShardId}:${r.SequenceNumber}`,
      eventName: "aws:kinesis:record",
      eventSource: "aws:kinesis",
      eventSourceARN: `arn:aws:kinesis:${REGION}:${PRODUCER_ACCOUNT}:stream/${stream}`,
      eventVersion: "1.0",
      invokeIdentityArn: `arn:aws:iam::${PRODUCER_ACCOUNT}:role/prop`,
      kinesis: {
        kinesisSchemaVersion: "1.0",
        partitionKey: written[i].partitionKey,
        sequenceNumber: r.SequenceNumber!,
        data: written[i].bytes.toString("base64"),
        approximateArrivalTimestamp: arrived,
      },
    });
  });
  for (const list of shards.values()) list.sort((a, b) => (padSequence(a.kinesis.sequenceNumber) < padSequence(b.kinesis.sequenceNumber) ? -1 : 1));
  return shards;
}

const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);

/** Reads a stream incrementally (each run reads only what it added), de-aggregating KPL records. */
export class StreamTail {
  private constructor(
    private kinesis: KinesisClient,
    private iterators: string[],
  ) {}

  static async open(kinesis: KinesisClient, stream: string): Promise<StreamTail> {
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
    const its: string[] = [];
    for (const s of shards) {
      its.push(
        (await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: s.ShardId!, ShardIteratorType: "TRIM_HORIZON" }))).ShardIterator!,
      );
    }
    return new StreamTail(kinesis, its);
  }

  /** Every record added since the last call, per shard in order, as (partitionKey, wire). */
  async drain(): Promise<{ shard: number; partitionKey: string; wire: AnalyticsWireRecord }[]> {
    const out: { shard: number; partitionKey: string; wire: AnalyticsWireRecord }[] = [];
    for (let s = 0; s < this.iterators.length; s++) {
      for (;;) {
        const page = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: this.iterators[s], Limit: 10_000 }));
        this.iterators[s] = page.NextShardIterator!;
        for (const r of page.Records ?? []) {
          const data = Buffer.from(r.Data!);
          for (const d of deaggregate(data, r.PartitionKey!, r.SequenceNumber!))
            out.push({ shard: s, partitionKey: d.partitionKey, wire: JSON.parse(d.data.toString("utf8")) });
        }
        if (!page.Records?.length || page.MillisBehindLatest === 0) break;
      }
    }
    return out;
  }
}

function deaggregate(data: Buffer, partitionKey: string, sequenceNumber: string): { partitionKey: string; data: Buffer }[] {
  if (data.length < 20 || !data.subarray(0, 4).equals(KPL_MAGIC)) return [{ partitionKey, data }];
  const agg = require("aws-kinesis-agg");
  let result: { partitionKey: string; data: Buffer }[] = [];
  agg.deaggregateSync(
    { partitionKey, sequenceNumber, data: data.toString("base64"), kinesisSchemaVersion: "1.0", approximateArrivalTimestamp: 0 },
    true,
    (err: Error | null, records?: { partitionKey: string; data: string }[]) => {
      if (err) throw err;
      result = (records ?? []).map((u) => ({ partitionKey: u.partitionKey, data: Buffer.from(u.data, "base64") }));
    },
  );
  return result;
}

// ---------------------------------------------------------------- the model

/** One user record as the model reads the stream: the official deaggregator's output, a corrupt aggregate (it throws) whole. */
interface ModelUnit {
  partitionKey: string;
  sequenceNumber: string;
  /** Set for a user record of an aggregate (as the parked row's subSequenceNumber). */
  subSequenceNumber?: number;
  /** Base64 of its bytes. */
  data: string;
  position: string;
}

/** The source records' user records in position order, read with the official deaggregator (the model's own reading). */
export function modelUnits(records: KinesisStreamRecord[]): ModelUnit[] {
  const units: ModelUnit[] = [];
  for (const r of records) {
    const { partitionKey, sequenceNumber, data } = r.kinesis;
    let users: ReturnType<typeof kplDeaggregate> | undefined;
    try {
      users = kplDeaggregate(r);
    } catch {
      users = undefined; // a checksum that fails: the record is poison as it is
    }
    if (users === undefined) units.push({ partitionKey, sequenceNumber, data, position: encodePosition(sequenceNumber) });
    else
      for (const u of users) {
        const sub = u.subSequenceNumber;
        units.push({
          partitionKey: u.partitionKey,
          sequenceNumber,
          data: u.data.toString("base64"),
          position: encodePosition(sequenceNumber, sub ?? 0),
          ...(sub === undefined ? {} : { subSequenceNumber: sub }),
        });
      }
  }
  return units.sort((a, b) => (a.position < b.position ? -1 : 1));
}

/** What the projector must end with for one aggregate (undefined item: nothing written). */
export interface ExpectedAggregate {
  item?: { state: unknown; deleted: boolean; version: number; position: string; lastEventId?: string; appliedIds: string[]; parkedAt?: string };
  /** Parked records: the poison first, then every later record of the aggregate. */
  parked: { sequenceNumber: string; subSequenceNumber?: number; data: string; eventId?: string; poison: boolean }[];
}

/** The model fold: each event applied once (dedup by eventId) in position order, blocked at the first poison. */
export function expectedProjection(records: KinesisStreamRecord[], reduce: Reducer<unknown>): Map<string, ExpectedAggregate> {
  const out = new Map<string, ExpectedAggregate>();
  const st = new Map<string, { state: unknown; deleted: boolean; applied: string[]; position: string; parkedAt?: string; touched: boolean }>();
  for (const r of modelUnits(records)) {
    const id = r.partitionKey;
    const exp = out.get(id) ?? { parked: [] };
    out.set(id, exp);
    const s = st.get(id) ?? { state: undefined, deleted: false, applied: [], position: INITIAL_POSITION, touched: false };
    st.set(id, s);
    const parsed = parseEnvelope(Buffer.from(r.data, "base64"));
    const eventId = parsed.ok ? parsed.event.eventId : undefined;
    const row = {
      sequenceNumber: r.sequenceNumber,
      ...(r.subSequenceNumber === undefined ? {} : { subSequenceNumber: r.subSequenceNumber }),
      data: r.data,
      eventId,
    };
    if (s.parkedAt !== undefined) {
      exp.parked.push({ ...row, poison: false });
      continue;
    }
    let poison = !parsed.ok || parsed.event.aggregateId !== id;
    if (!poison && parsed.ok) {
      if (s.applied.includes(parsed.event.eventId)) {
        s.position = r.position;
        s.touched = true;
        continue;
      }
      try {
        const next = reduce(s.state === undefined ? undefined : JSON.parse(JSON.stringify(s.state)), parsed.event);
        if (next === undefined) poison = true;
        else {
          s.state = next === null ? undefined : next;
          s.deleted = next === null;
          s.applied.push(parsed.event.eventId);
          s.position = r.position;
          s.touched = true;
        }
      } catch {
        poison = true;
      }
    }
    if (poison) {
      s.parkedAt = r.position;
      s.touched = true;
      exp.parked.push({ ...row, poison: true });
    }
  }
  for (const [id, s] of st) {
    if (!s.touched) continue;
    out.get(id)!.item = {
      state: s.deleted ? undefined : s.state,
      deleted: s.deleted,
      version: s.applied.length,
      position: s.position,
      lastEventId: s.applied[s.applied.length - 1],
      appliedIds: s.applied.slice(-64),
      parkedAt: s.parkedAt,
    };
  }
  return out;
}

type ModelPoison = { aggregateId: string; sequenceNumber: string; subSequenceNumber?: number; data: string };

/** The wire records the bridge must land, in source order per aggregate (first occurrence), and its poison. */
export function expectedBridge(
  records: KinesisStreamRecord[],
  map: Mapper,
): { wire: Map<string, AnalyticsWireRecord[]>; order: Map<string, string[]>; poison: ModelPoison[] } {
  const wire = new Map<string, AnalyticsWireRecord[]>();
  const order = new Map<string, string[]>();
  const poison: ModelPoison[] = [];
  for (const r of modelUnits(records)) {
    const parsed = parseEnvelope(Buffer.from(r.data, "base64"));
    let mapped: ReturnType<Mapper>;
    try {
      if (!parsed.ok) throw new Error("undecodable");
      if (parsed.event.aggregateId !== r.partitionKey) throw new Error("aggregate mismatch");
      mapped = map(parsed.event);
    } catch {
      const sub = r.subSequenceNumber === undefined ? {} : { subSequenceNumber: r.subSequenceNumber };
      poison.push({ aggregateId: r.partitionKey, sequenceNumber: r.sequenceNumber, ...sub, data: r.data });
      continue;
    }
    if (!parsed.ok) continue;
    const e = parsed.event;
    const list = mapped === undefined ? [] : Array.isArray(mapped) ? mapped : [mapped];
    list.forEach((m) => {
      // The k-th of its contract's records, k counted among the records of that contract only (contract.ts).
      const same = list.filter((x) => x.contract === m.contract);
      const id = same.length > 1 ? `${e.eventId}#${same.indexOf(m)}` : e.eventId;
      const w: AnalyticsWireRecord = { id, eventId: e.eventId, aggregateId: e.aggregateId, occurredAt: e.occurredAt, contract: m.contract, data: m.data };
      wire.set(id, [...(wire.get(id) ?? []), JSON.parse(JSON.stringify(w))]);
      const o = order.get(e.aggregateId) ?? [];
      order.set(e.aggregateId, o);
      if (!o.includes(id)) o.push(id);
    });
  }
  return { wire, order, poison };
}

// ---------------------------------------------------------------- the runs

/** Delays every write of a client by a few milliseconds (a slow, timed-out container). */
function slowDown(client: { middlewareStack: { add: (...a: any[]) => void } }): void {
  client.middlewareStack.add(
    (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      if (/^(Put|BatchWrite)/.test(String(context.commandName))) await new Promise((r) => setTimeout(r, 3 + Math.floor(Math.random() * 6)));
      return next(args);
    },
    { step: "initialize", priority: "low", name: "slowWrites" },
  );
}

export interface RunReport {
  stats: EsmStats;
  faults: number;
  records: number;
  /** Of `records`, the KPL aggregates, and the user records they hold. */
  kpl?: { aggregates: number; userRecords: number };
}

/** How many of a run's source records are KPL aggregates, and how many user records they hold. */
function kplCounts(run: Run): { aggregates: number; userRecords: number } {
  const aggregates = run.written.filter((w) => w.users);
  return { aggregates: aggregates.length, userRecords: aggregates.reduce((n, w) => n + w.users!.length, 0) };
}

async function parkedRows(table: string, aggregateId: string): Promise<ParkedEvent[]> {
  const out = await testDynamo().send(
    new QueryCommand({ TableName: table, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: aggregateId } }, ConsistentRead: true }),
  );
  return (out.Items ?? []).map(decodeParkedItem); // sk order = position order
}

async function storedItem(table: string, aggregateId: string): Promise<StoredAggregate | undefined> {
  const out = await testDynamo().send(new GetItemCommand({ TableName: table, Key: { pk: { S: aggregateId } }, ConsistentRead: true }));
  return out.Item ? decodeStoredAggregate(out.Item) : undefined;
}

function fail(message: string, detail: unknown): never {
  throw new Error(`${message}\n${JSON.stringify(detail, null, 1).slice(0, 4000)}`);
}

/**
 * Property 1 (projector): after any schedule, per aggregate, the read model is
 * the model fold of each event applied once in sequence order (state, version,
 * applied ids in order, last id, position, block), and the parked table holds
 * exactly the poison and everything behind it, with its data. Nothing is
 * given up while retries last; what would be is accounted for.
 */
export async function projectorRun(
  world: World,
  history: History,
  schedule: Schedule & { seed: number; faults: number },
  reduce: Reducer<unknown> = buggyReduce,
): Promise<RunReport> {
  const run = await writeRun(world, history);
  const delivered = await deliverProjector(world, run, schedule, reduce);
  await checkProjector(world, run, delivered.stats, reduce);
  return { ...delivered, records: run.written.length };
}

/** One run's records, written to the source stream. */
export interface Run {
  runId: string;
  aggregateIds: string[];
  written: Written[];
  shards: Map<string, KinesisStreamRecord[]>;
}

export async function writeRun(world: World, history: History): Promise<Run> {
  const m = materialise(history);
  const packed = packRecords(m.written, history.packs ?? [], world.shardOf);
  return { ...m, written: packed, shards: await writeSource(testKinesis(), world.sourceStream, packed) };
}

/** Delivers a run to the projector, one container per shard. */
export async function deliverProjector(
  world: World,
  run: Run,
  schedule: Schedule & { seed: number; faults: number },
  reduce: Reducer<unknown>,
): Promise<{ stats: EsmStats; faults: number }> {
  const { shards } = run;
  const stats = newStats();
  let faults = 0;
  await Promise.all(
    [...shards.values()].map(async (records, s) => {
      // One container per shard: its own client, fault plan and handler.
      const plan = new FaultPlan(schedule.seed + s, faultRates(schedule.faults));
      const dynamodb = dynamoClient();
      plan.attach(dynamodb, "dynamodb");
      const build = (client: typeof dynamodb) =>
        createProjector({
          dynamodb: client,
          reduce,
          clock: { sleep: async () => {}, random: plan.random },
          log: () => {},
          config: {
            tableName: world.table,
            parkedTableName: world.parked,
            dedupWindow: 64,
            retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4 },
            maxFoldAttempts: 5,
          },
        });
      // The zombie of a timed-out invocation: another container, its writes late.
      const slowClient = dynamoClient();
      plan.attach(slowClient, "dynamodb");
      slowDown(slowClient);
      await runShard(build(dynamodb), plan, records, schedule, prng(schedule.seed ^ (0x5eed + s)), stats, build(slowClient));
      faults += plan.total();
    }),
  );
  return { stats, faults };
}

/** Checks property 1 for a delivered run. */
export async function checkProjector(world: World, run: Run, stats: EsmStats, reduce: Reducer<unknown>): Promise<void> {
  const { aggregateIds } = run;
  const all = [...run.shards.values()].flat();
  const expected = expectedProjection(all, reduce);
  const lost = stats.givenUp.length;
  if (lost > 0)
    fail(
      `${lost} records were given up to the on-failure destination`,
      stats.givenUp.map((r) => r.kinesis.sequenceNumber),
    );
  for (const id of aggregateIds) {
    const exp = expected.get(id) ?? { parked: [] };
    const item = await storedItem(world.table, id);
    if (!exp.item) {
      if (item) fail(`aggregate ${id}: an item exists but nothing should have been written`, item);
    } else {
      if (!item) fail(`aggregate ${id}: no item`, exp.item);
      const got = {
        state: item.stateJson === undefined || item.deleted ? undefined : JSON.parse(item.stateJson),
        deleted: item.deleted,
        version: item.version,
        position: item.position,
        lastEventId: newestEventId(item.recent),
        appliedIds: recentEntries(item.recent).eventIds,
        parkedAt: item.parkedAt,
      };
      if (JSON.stringify(got) !== JSON.stringify(exp.item)) fail(`aggregate ${id}: read model differs from the model fold`, { got, expected: exp.item });
    }
    const rows = await parkedRows(world.parked, id);
    const gotParked = rows.map((r) => ({
      sequenceNumber: r.sequenceNumber,
      ...(r.subSequenceNumber === undefined ? {} : { subSequenceNumber: r.subSequenceNumber }),
      data: r.data,
      eventId: r.eventId,
      poison: r.parkedBehind === undefined,
    }));
    if (JSON.stringify(gotParked) !== JSON.stringify(exp.parked))
      fail(`aggregate ${id}: parked table differs (each given-up event with its data)`, { got: gotParked, expected: exp.parked });
    for (const r of rows) if (!r.reason) fail(`aggregate ${id}: parked row without a reason`, r);
  }
}

/**
 * Property 2 (bridge): every mapped record lands in the consumer stream at
 * least once and, after dedup by id, exactly once with the right content;
 * per aggregate, the first landings are in source order (when `checkOrder`);
 * poison is parked with its data; nothing is given up while retries last.
 */
export async function bridgeRun(
  world: World,
  history: History,
  schedule: Schedule & { seed: number; faults: number; maxRecordsPerCall: number },
  options: BridgeOptions,
): Promise<RunReport & { landed: number; duplicates: number }> {
  const run = await writeRun(world, history);
  const delivered = await deliverBridge(world, run, schedule, options);
  return { ...delivered, records: run.written.length, ...(await checkBridge(world, run, delivered.stats, options)) };
}

export type BridgeOptions = { aggregate?: string; checkOrder: boolean; partialFailures: boolean };

/** Delivers a run to the bridge (assumeRole mode, STS stub), one container per shard. */
export async function deliverBridge(
  world: World,
  run: Run,
  schedule: Schedule & { seed: number; faults: number; maxRecordsPerCall: number },
  options: BridgeOptions,
): Promise<{ stats: EsmStats; faults: number }> {
  const { shards } = run;
  const stats = newStats();
  let faults = 0;
  await Promise.all(
    [...shards.values()].map(async (records, s) => {
      const rates = faultRates(schedule.faults);
      if (!options.partialFailures) rates.partialPutRecords = 0;
      const plan = new FaultPlan(schedule.seed + 7919 * (s + 1), rates);
      const sts = world.sts.client();
      plan.attach(sts, "sts");
      const kinesis = bridgeKinesisClient(
        { ACCESS_MODE: "assumeRole", WRITER_ROLE_ARN: `arn:aws:iam::${CONSUMER_ACCOUNT}:role/writer`, EXTERNAL_ID: "prop-external-id" },
        sts,
      );
      plan.attach(kinesis, "target");
      const dynamodb = dynamoClient();
      plan.attach(dynamodb, "dynamodb");
      const config = {
        targetStreamArn: world.targetArn,
        parkedTableName: world.bridgeParked,
        retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4 },
        maxRecordsPerCall: schedule.maxRecordsPerCall,
        maxBytesPerCall: 5 * 1024 * 1024,
        aggregate: options.aggregate,
      } as BridgeConfig;
      const bridge = createBridge({ kinesis, dynamodb, map: buggyMap, config, clock: { sleep: async () => {}, random: plan.random }, log: () => {} });
      const slowKinesis = bridgeKinesisClient(
        { ACCESS_MODE: "assumeRole", WRITER_ROLE_ARN: `arn:aws:iam::${CONSUMER_ACCOUNT}:role/writer`, EXTERNAL_ID: "prop-external-id" },
        sts,
      );
      plan.attach(slowKinesis, "target");
      slowDown(slowKinesis);
      const slow = createBridge({
        kinesis: slowKinesis,
        dynamodb,
        map: buggyMap,
        config,
        clock: { sleep: async () => {}, random: plan.random },
        log: () => {},
      });
      await runShard(bridge, plan, records, schedule, prng(schedule.seed ^ (0xb1d9e + s)), stats, slow);
      faults += plan.total();
    }),
  );
  return { stats, faults };
}

/** Checks property 2 for a delivered run. */
export async function checkBridge(world: World, run: Run, stats: EsmStats, options: BridgeOptions): Promise<{ landed: number; duplicates: number }> {
  const { runId, aggregateIds } = run;
  const all = [...run.shards.values()].flat();
  const exp = expectedBridge(all, buggyMap);
  if (stats.givenUp.length > 0)
    fail(
      `${stats.givenUp.length} records were given up to the on-failure destination`,
      stats.givenUp.map((r) => r.kinesis.sequenceNumber),
    );
  const landed = (await world.tail.drain()).filter((l) => l.wire.eventId?.startsWith(`${runId}-`));
  const firstSeen = new Map<string, string[]>();
  const ids = new Set<string>();
  for (const l of landed) {
    const candidates = exp.wire.get(l.wire.id);
    if (!candidates) fail(`landed a record that should not exist: ${l.wire.id}`, l);
    if (!candidates.some((c) => JSON.stringify(c) === JSON.stringify(l.wire)))
      fail(`record ${l.wire.id} landed with the wrong content`, { got: l.wire, expected: candidates });
    if (l.partitionKey !== l.wire.aggregateId && options.aggregate !== "sourceShard")
      fail(`record ${l.wire.id} landed under partition key ${l.partitionKey}`, l);
    if (!ids.has(l.wire.id)) {
      ids.add(l.wire.id);
      const o = firstSeen.get(l.wire.aggregateId) ?? [];
      firstSeen.set(l.wire.aggregateId, o);
      o.push(l.wire.id);
    }
  }
  const missing = [...exp.wire.keys()].filter((id) => !ids.has(id));
  if (missing.length) fail(`${missing.length} mapped records never landed in the consumer stream`, missing);
  if (options.checkOrder) {
    for (const [agg, order] of exp.order) {
      // With KPL aggregation by source shard, ordering holds per source shard, which holds each aggregate.
      if (JSON.stringify(firstSeen.get(agg) ?? []) !== JSON.stringify(order))
        fail(`aggregate ${agg}: landed out of order`, { got: firstSeen.get(agg), expected: order });
    }
  }
  const gotPoison: ModelPoison[] = [];
  for (const id of aggregateIds)
    for (const r of await parkedRows(world.bridgeParked, id)) {
      const sub = r.subSequenceNumber === undefined ? {} : { subSequenceNumber: r.subSequenceNumber };
      gotPoison.push({ aggregateId: r.aggregateId, sequenceNumber: r.sequenceNumber, ...sub, data: r.data });
    }
  const sortKey = (p: ModelPoison) => `${p.aggregateId} ${encodePosition(p.sequenceNumber, p.subSequenceNumber ?? 0)}`;
  const wantPoison = exp.poison
    .filter((p) => aggregateIds.includes(p.aggregateId))
    .sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
  if (JSON.stringify(gotPoison) !== JSON.stringify(wantPoison))
    fail("bridge parked table differs (poison with its data)", { got: gotPoison, expected: wantPoison });
  return { landed: landed.length, duplicates: landed.length - ids.size };
}

/** fast-check parameters shared by the suites and the script: NUM_RUNS, SEED and PATH from the environment. */
export function runParameters(defaultRuns: number): fc.Parameters<unknown> {
  const p: fc.Parameters<unknown> = { numRuns: Number(process.env.NUM_RUNS ?? defaultRuns), endOnFailure: false };
  if (process.env.SEED) p.seed = Number(process.env.SEED);
  if (process.env.FC_PATH) p.path = process.env.FC_PATH;
  return p;
}

/**
 * Both consumers of one stream, as deployed: the projector's and the bridge's
 * mappings deliver the same run concurrently, each on its own schedule and
 * faults; then both properties are checked.
 */
export async function pipelineRun(
  world: World,
  history: History,
  schedule: Schedule & { seed: number; faults: number; maxRecordsPerCall: number },
  options: BridgeOptions,
): Promise<{ projector: RunReport; bridge: RunReport & { landed: number; duplicates: number } }> {
  const run = await writeRun(world, history);
  const [p, b] = await Promise.all([
    deliverProjector(world, run, schedule, buggyReduce),
    deliverBridge(world, run, { ...schedule, seed: schedule.seed ^ 0x7f4a7c15 }, options),
  ]);
  await checkProjector(world, run, p.stats, buggyReduce);
  const landed = await checkBridge(world, run, b.stats, options);
  return { projector: { ...p, records: run.written.length, kpl: kplCounts(run) }, bridge: { ...b, records: run.written.length, ...landed } };
}
