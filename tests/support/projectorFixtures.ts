/**
 * Fixtures for the projector tests: a stream and two tables per test, events
 * written to the real stream and read back (real sequence numbers), a reducer
 * that exposes double application and reordering, and table snapshots.
 */
import { isClaimItem } from "../../handlers/claims/eventClaims";
import { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { dynamoClient } from "../../handlers/shared/clients";
import { ENVELOPE_SCHEMA_VERSION, EventEnvelope, parseEnvelope } from "../../handlers/shared/envelope";
import { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from "../../handlers/shared/kinesisEvent";
import { decodeParkedItem, ParkedEvent } from "../../handlers/shared/parkedTable";
import { createProjector, ProjectorConfig } from "../../handlers/projector";
import { decodeReadModelItem, ReadModelView } from "../../handlers/shared/readModelItem";
import { RetryClock } from "../../handlers/shared/retry";
import { compareSequence } from "../../handlers/shared/sequence";
import { createStream, createTable, readStream, scanAll, testDynamo, testKinesis, uniqueName } from "./aws";
import { Mapper, Reducer } from "../../handlers/shared/domain";
import { map as domainMap, reduce as domainReduce } from "../../domain";

/** The test reducer's state: every applied event id in order, and a count. */
export interface ListState {
  ids: string[];
  count: number;
}

/**
 * Appends the event id, mutating the state in place as careless reducers do;
 * `Delete` returns a tombstone, `Boom` throws after mutating.
 */
export const listReducer: Reducer<ListState> = (state, event) => {
  const s = state ?? { ids: [], count: 0 };
  s.ids.push(event.eventId);
  s.count += 1;
  if (event.type === "Boom") throw new Error(`boom in ${event.eventId}`);
  if (event.type === "Delete") return null;
  return s;
};

/** A valid envelope; its data carries a marker that must never reach the logs. */
export function envelope(aggregateId: string, eventId: string, type = "Added"): EventEnvelope {
  return { eventId, aggregateId, type, occurredAt: "2025-01-01T00:00:00.000Z", schemaVersion: ENVELOPE_SCHEMA_VERSION, data: { note: "SECRET-PAYLOAD" } };
}

/** A record whose bytes are given as-is, under a partition key. */
export interface RawRecord {
  partitionKey: string;
  bytes: Buffer;
}

/** One test's stream, read-model table and parked table. */
export interface Rig {
  kinesis: KinesisClient;
  dynamo: DynamoDBClient;
  stream: string;
  table: string;
  parked: string;
}

/** Creates a single-shard stream and the two tables with the component's schemas. */
export async function setupRig(): Promise<Rig> {
  const kinesis = testKinesis();
  const dynamo = testDynamo();
  const stream = uniqueName("projector-src");
  await createStream(kinesis, stream, 1);
  const rig: Rig = { kinesis, dynamo, stream, table: uniqueName("readmodel"), parked: uniqueName("parked") };
  await createTables(rig);
  return rig;
}

/** Creates a fresh pair of tables on the rig (for comparing deliveries). */
export async function createTables(rig: Rig): Promise<void> {
  await createTable(rig.dynamo, rig.table);
  await createTable(rig.dynamo, rig.parked, "sk");
}

/**
 * Writes envelopes (or raw records) in order, 500 per PutRecords call, and
 * returns the whole stream as Lambda would deliver it (tests take their
 * expectations from that order, not from the order written).
 */
export async function append(rig: Rig, items: (EventEnvelope | RawRecord)[]): Promise<KinesisStreamRecord[]> {
  const raws = items.map((item) => ("bytes" in item ? item : { partitionKey: item.aggregateId, bytes: Buffer.from(JSON.stringify(item)) }));
  for (let i = 0; i < raws.length; i += 500) {
    const out = await rig.kinesis.send(
      new PutRecordsCommand({
        StreamName: rig.stream,
        Records: raws.slice(i, i + 500).map((r) => ({ PartitionKey: r.partitionKey, Data: r.bytes })),
      }),
    );
    if (out.FailedRecordCount) throw new Error(`${out.FailedRecordCount} test records were not written`);
  }
  return readStream(rig.kinesis, rig.stream);
}

/** A clock that never waits and records the delays asked for. */
export function fastClock(): RetryClock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
  };
}

/** A projector over its own DynamoDB client (so middleware stays per test), with captured logs. */
export function newProjector(rig: Pick<Rig, "table" | "parked">, overrides: Partial<ProjectorConfig> & { reduce?: Reducer<ListState> } = {}) {
  const dynamodb = dynamoClient();
  const logs: Record<string, unknown>[] = [];
  const clock = fastClock();
  const config: ProjectorConfig = {
    tableName: rig.table,
    parkedTableName: rig.parked,
    dedupWindow: 64,
    retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 100 },
    maxFoldAttempts: 5,
    ...overrides,
  };
  const project = createProjector<ListState>({ dynamodb, reduce: overrides.reduce ?? listReducer, config, clock, log: (e) => logs.push(e) });
  return { project, dynamodb, logs, clock, config };
}

/** Delivers batches one after another; returns every response. */
export async function deliver(project: (e: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>, batches: KinesisStreamEvent[]) {
  const responses: KinesisStreamBatchResponse[] = [];
  for (const b of batches) responses.push(await project(b));
  return responses;
}

/** Every read-model item, sorted by key; `updatedAt` dropped when comparing runs made at different times. */
export async function snapshot(dynamo: DynamoDBClient, table: string, keepUpdatedAt = false): Promise<Record<string, AttributeValue>[]> {
  const items = await scanAll(dynamo, table);
  if (!keepUpdatedAt) for (const i of items) delete i.updatedAt;
  return items.sort((a, b) => JSON.stringify(a.pk).localeCompare(JSON.stringify(b.pk)) || JSON.stringify(a.sk ?? {}).localeCompare(JSON.stringify(b.sk ?? {})));
}

/** The read model as the API sees it, by aggregate id. */
export async function views(dynamo: DynamoDBClient, table: string): Promise<Record<string, ReadModelView>> {
  const out: Record<string, ReadModelView> = {};
  for (const item of await scanAll(dynamo, table)) {
    if (isClaimItem(item)) continue; // the projector's claims of keyed eventIds, not aggregates
    const v = decodeReadModelItem(item);
    out[v.aggregateId] = v;
  }
  return out;
}

/** The parked table's events (audit rows of discarded events left out), by aggregate and sequence number. */
export async function parkedEvents(dynamo: DynamoDBClient, table: string): Promise<ParkedEvent[]> {
  return (await scanAll(dynamo, table))
    .filter((item) => item.discardedAt === undefined)
    .map(decodeParkedItem)
    .sort((a, b) => a.aggregateId.localeCompare(b.aggregateId) || compareSequence(a.sequenceNumber, b.sequenceNumber));
}

/** The reference model: event ids per aggregate in stream order, each id once (no poison, no deletes). */
export function expectedIds(records: KinesisStreamRecord[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of records) {
    const parsed = parseEnvelope(Buffer.from(r.kinesis.data, "base64"));
    if (!parsed.ok) throw new Error("expectedIds takes valid records only");
    const ids = (out[r.kinesis.partitionKey] ??= []);
    if (!ids.includes(parsed.event.eventId)) ids.push(parsed.event.eventId);
  }
  return out;
}

/** The applied ids per aggregate, from the table. */
export async function appliedIds(dynamo: DynamoDBClient, table: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [id, v] of Object.entries(await views(dynamo, table))) out[id] = (v.state as ListState | undefined)?.ids ?? [];
  return out;
}

/** Runs `hook` just before the client sends matching commands (to act as a concurrent writer). */
export function beforeSend(client: DynamoDBClient, commandName: string, hook: (input: any) => Promise<void>): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) await hook(args.input);
      return next(args);
    },
    { step: "initialize", name: `testBeforeSend${commandName}`, priority: "high" },
  );
}

/** Records of one aggregate, in stream order. */
export function recordsOf(records: KinesisStreamRecord[], aggregateId: string): KinesisStreamRecord[] {
  return records.filter((r) => r.kinesis.partitionKey === aggregateId);
}

/** The amount the re-drive tests' bug cannot handle (a valid amount: the fixed domain applies it). */
export const EXPLODE_CENTS = 4242;

/** The re-drive tests' bug: reduce and map throw on `explode`. The fix is domain/index.ts as it is. */
export const buggyReduce: Reducer<unknown> = (s, e) => {
  if ((e.data as { amountCents?: number }).amountCents === EXPLODE_CENTS) throw new Error("explode");
  return domainReduce(s as never, e);
};
export const buggyMap: Mapper = (e) => {
  if ((e.data as { amountCents?: number }).amountCents === EXPLODE_CENTS) throw new Error("explode");
  return domainMap(e);
};
export const fixedReduce = domainReduce as Reducer<unknown>;

/** Order events of the example domain with ids `<tag><pid>x<n>`; `explode` is one the bug cannot apply. */
export function orderEvents(tag: string) {
  let n = 0;
  const ev = (aggregateId: string, type: string, data: Record<string, unknown> = {}): EventEnvelope => {
    n += 1;
    return { eventId: `${tag}${process.pid}x${n}`, aggregateId, type, occurredAt: "2025-01-01T00:00:00.000Z", schemaVersion: ENVELOPE_SCHEMA_VERSION, data };
  };
  return {
    ev,
    placed: (a: string) => ev(a, "OrderPlaced", { customerId: "c1", lines: [{ sku: "A", quantity: 1, unitPriceCents: 100 }] }),
    line: (a: string, q = 2) => ev(a, "LineAdded", { sku: "B", quantity: q, unitPriceCents: 50 }),
    explode: (a: string) => ev(a, "OrderPaid", { amountCents: EXPLODE_CENTS }),
  };
}
