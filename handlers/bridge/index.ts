/**
 * The cross-account bridge: maps source events to the versioned analytics
 * contract and writes them with PutRecords to a stream in the consumer
 * account. Poison events are parked with their data and never block others;
 * once the retry budget is spent, Lambda is told to resume from the lowest
 * source sequence number that still has unacknowledged output (the consumer
 * dedups on `id`, so re-sending acknowledged records is harmless).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import type { STSClient } from "@aws-sdk/client-sts";
import { assumeRoleCredentials } from "./assumeRole";
import { kinesisClient, stsClient } from "../shared/clients";
import { ENV, intEnv, requireEnv } from "../shared/env";
import { encodeAggregated, packAggregates } from "../kpl/aggregate";
import { parseEnvelope } from "../shared/envelope";
import { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord, recordBytes, resumeFrom } from "../shared/kinesisEvent";
import { ParkedEvent, parkEvents } from "../shared/parkedTable";
import { chunkBySize, KINESIS_MAX_RECORD_BYTES, PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_RECORDS } from "./putRecordsChunks";
import { backoffDelay, DEFAULT_RETRY_BUDGET, isTransient, realClock, RetryBudget, RetryClock } from "../shared/retry";
import { compareSequence } from "../shared/sequence";
import { AGGREGATE_MODES, AggregateMode, AnalyticsWireRecord } from "./contract";
import type { AnalyticsRecord, Mapper } from "../shared/domain";

/** Where and how the bridge writes. */
export interface BridgeConfig {
  /** Analytics stream ARN (cross-account PutRecords needs the ARN, not the name). */
  targetStreamArn: string;
  parkedTableName: string;
  retry: RetryBudget;
  /** At most 500 (Kinesis limit). */
  maxRecordsPerCall: number;
  /** At most 5 MiB, data plus partition keys (Kinesis limit). */
  maxBytesPerCall: number;
  /** KPL aggregation; default "off". */
  aggregate?: AggregateMode;
}

/** Everything the bridge needs, injected. */
export interface BridgeDeps {
  /** Already holds the credentials that may write to the target stream. */
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  map: Mapper;
  config: BridgeConfig;
  clock?: RetryClock;
  /** One JSON line per call; never given event data. Default: console.log. */
  log?: (e: Record<string, unknown>) => void;
}

/** One PutRecords entry and the index of the (first) source record it came from. */
export interface OutputEntry {
  source: number;
  partitionKey: string;
  data: Uint8Array;
  bytes: number;
}

type Decoded = { ok: true; entries: OutputEntry[] } | { ok: false; kind: string; reason: string; eventId?: string };

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Decodes and maps one source record; any failure makes the whole record poison. */
function decodeRecord(record: KinesisStreamRecord, source: number, map: Mapper): Decoded {
  const parsed = parseEnvelope(recordBytes(record));
  if (!parsed.ok) return { ok: false, kind: "undecodable", reason: parsed.reason };
  const event = parsed.event;
  // As in the projector: an event filed under another aggregate's key has no order to keep, and the read model rejects it.
  if (event.aggregateId !== record.kinesis.partitionKey) {
    return { ok: false, kind: "aggregateMismatch", reason: "envelope aggregateId does not match the partition key", eventId: event.eventId };
  }
  let mapped: AnalyticsRecord | AnalyticsRecord[] | undefined;
  try {
    mapped = map(event);
  } catch (err) {
    return { ok: false, kind: "mapThrew", reason: `map threw ${errorText(err)}`, eventId: event.eventId };
  }
  const list = mapped === undefined ? [] : Array.isArray(mapped) ? mapped : [mapped];
  const entries: OutputEntry[] = [];
  const pkBytes = Buffer.byteLength(event.aggregateId, "utf8");
  for (let i = 0; i < list.length; i++) {
    const out = list[i];
    if (typeof out !== "object" || out === null || typeof out.contract !== "string" || out.contract === "") {
      return { ok: false, kind: "badMapOutput", reason: `map returned a record without a contract at index ${i}`, eventId: event.eventId };
    }
    const wire: AnalyticsWireRecord = {
      id: list.length > 1 ? `${event.eventId}#${i}` : event.eventId,
      eventId: event.eventId,
      aggregateId: event.aggregateId,
      occurredAt: event.occurredAt,
      contract: out.contract,
      data: out.data,
    };
    let json: string;
    try {
      json = JSON.stringify(wire);
    } catch (err) {
      return { ok: false, kind: "unserialisable", reason: `map output is not JSON: ${errorText(err)}`, eventId: event.eventId };
    }
    const data = Buffer.from(json, "utf8");
    const bytes = data.length + pkBytes;
    if (bytes > KINESIS_MAX_RECORD_BYTES) {
      return { ok: false, kind: "tooLarge", reason: `mapped record ${i} is ${bytes} bytes, over Kinesis's 1 MiB`, eventId: event.eventId };
    }
    entries.push({ source, partitionKey: event.aggregateId, data, bytes });
  }
  return { ok: true, entries };
}

function arrivedAt(record: KinesisStreamRecord): string {
  const ms = record.kinesis.approximateArrivalTimestamp * 1000;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : new Date().toISOString();
}

/** The source shard of a record as Lambda delivers it (`shardId-…:sequence`); the partition key when absent. */
function sourceShardKey(record: KinesisStreamRecord): string {
  const id = record.eventID ?? "";
  const colon = id.indexOf(":");
  return colon > 0 ? id.slice(0, colon) : record.kinesis.partitionKey;
}

/**
 * Packs entries into KPL aggregated records, grouped by the outer key (the
 * source shard, or the aggregate), each group in source order. Deaggregated
 * records carry that key as their partition key. A pack of one
 * is sent as it is (deaggregators pass plain records through), keyed by the
 * group's key so it lands where its neighbours do. An aggregated entry's
 * `source` is its first (lowest) source record.
 */
export function aggregateEntries(entries: OutputEntry[], records: KinesisStreamRecord[], mode: AggregateMode): OutputEntry[] {
  if (mode === "off" || entries.length === 0) return entries;
  const groups: { key: string; entries: OutputEntry[] }[] = [];
  const byKey: Record<string, number> = Object.create(null);
  for (const e of entries) {
    const key = mode === "sourceShard" ? sourceShardKey(records[e.source]) : e.partitionKey;
    let g = byKey[key];
    if (g === undefined) {
      g = groups.length;
      byKey[key] = g;
      groups.push({ key, entries: [] });
    }
    groups[g].entries.push(e);
  }
  const out: OutputEntry[] = [];
  for (const group of groups) {
    const keyBytes = Buffer.byteLength(group.key, "utf8");
    const keyed = group.entries.map((e) => ({ entry: e, partitionKey: group.key, data: e.data }));
    for (const pack of packAggregates(keyed, keyBytes, KINESIS_MAX_RECORD_BYTES)) {
      const first = pack.items[0].entry;
      if (pack.aggregate && pack.items.length > 1) {
        // Inner records carry the group's key too: one key table entry, ~14 bytes less per record
        // than a key per aggregate (the wire record names its aggregate in aggregateId).
        const data = encodeAggregated(pack.items.map((e) => ({ partitionKey: group.key, data: e.data })));
        out.push({ source: first.source, partitionKey: group.key, data, bytes: data.length + keyBytes });
      } else if (first.data.length + keyBytes <= KINESIS_MAX_RECORD_BYTES) {
        out.push({ source: first.source, partitionKey: group.key, data: first.data, bytes: first.data.length + keyBytes });
      } else {
        out.push(first); // within 1 MiB only under its own key
      }
    }
  }
  return out;
}

/** Builds the Lambda handler logic for the bridge. */
export function createBridge(deps: BridgeDeps): (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse> {
  const { kinesis, dynamodb, map, config } = deps;
  const clock = deps.clock ?? realClock;
  const log = deps.log ?? ((e: Record<string, unknown>) => console.log(JSON.stringify(e)));

  /** Sends entries, retrying only failed ones; returns those never acknowledged. */
  async function putAll(entries: OutputEntry[]): Promise<{ unacknowledged: OutputEntry[]; lastError?: string; attempts: number }> {
    let pending = entries;
    const gaveUp: OutputEntry[] = [];
    let lastError: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const failed: OutputEntry[] = [];
      let fatal = false;
      const chunks = chunkBySize(pending, (e) => e.bytes, config.maxRecordsPerCall, config.maxBytesPerCall);
      for (let c = 0; c < chunks.length; c++) {
        const chunk = chunks[c];
        try {
          const out = await kinesis.send(
            new PutRecordsCommand({
              StreamARN: config.targetStreamArn,
              Records: chunk.map((e) => ({ Data: e.data, PartitionKey: e.partitionKey })),
            }),
          );
          const results = out.Records ?? [];
          for (let k = 0; k < chunk.length; k++) {
            const code = results[k]?.ErrorCode;
            // A missing result entry is treated as a failure: never assume an acknowledgement.
            if (results[k] === undefined || code) {
              lastError = code ? `${code}: ${results[k]?.ErrorMessage ?? ""}` : "missing PutRecords result entry";
              (code && !isTransient({ name: code }) ? gaveUp : failed).push(chunk[k]);
            }
          }
        } catch (err) {
          lastError = errorText(err);
          // Stop this round: the later chunks would meet the same throttle or denial.
          for (let rest = c; rest < chunks.length; rest++) failed.push(...chunks[rest]);
          fatal = !isTransient(err);
          break;
        }
      }
      if (failed.length === 0 || fatal || attempt >= config.retry.maxAttempts) {
        return { unacknowledged: gaveUp.concat(failed), lastError, attempts: attempt };
      }
      await clock.sleep(backoffDelay(attempt, config.retry, clock.random));
      pending = failed;
    }
  }

  return async (event) => {
    const records = event.Records ?? [];
    const entries: OutputEntry[] = [];
    const poison: ParkedEvent[] = [];
    const poisonSources: number[] = [];
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      const decoded = decodeRecord(record, i, map);
      if (decoded.ok) {
        for (const e of decoded.entries) entries.push(e);
        continue;
      }
      poisonSources.push(i);
      poison.push({
        aggregateId: record.kinesis.partitionKey,
        sequenceNumber: record.kinesis.sequenceNumber,
        eventId: decoded.eventId,
        reason: decoded.reason,
        data: record.kinesis.data,
        arrivedAt: arrivedAt(record),
        shardEventId: record.eventID,
      });
      // The kind, not the reason: a JSON parse message can quote the event's bytes.
      log({
        level: "warn",
        msg: "bridge parked poison event",
        kind: decoded.kind,
        sequenceNumber: record.kinesis.sequenceNumber,
        aggregateId: record.kinesis.partitionKey,
        eventId: decoded.eventId,
        shardEventId: record.eventID,
      });
    }

    const parking =
      poison.length === 0
        ? Promise.resolve(true)
        : parkEvents(dynamodb, config.parkedTableName, poison, config.retry, clock).then(
            () => true,
            (err) => {
              log({ level: "error", msg: "bridge could not park poison events", count: poison.length, error: errorText(err) });
              return false;
            },
          );
    const outgoing = aggregateEntries(entries, records, config.aggregate ?? "off");
    const [parked, sent] = await Promise.all([
      parking,
      outgoing.length ? putAll(outgoing) : Promise.resolve({ unacknowledged: [] as OutputEntry[], attempts: 0, lastError: undefined }),
    ]);

    const unacknowledged = sent.unacknowledged.map((e) => e.source);
    if (!parked) unacknowledged.push(...poisonSources);
    if (unacknowledged.length === 0) return resumeFrom(undefined);

    let lowest = records[unacknowledged[0]].kinesis.sequenceNumber;
    for (const i of unacknowledged) {
      const seq = records[i].kinesis.sequenceNumber;
      if (compareSequence(seq, lowest) < 0) lowest = seq;
    }
    log({
      level: "error",
      msg: "bridge gave up",
      resumeFrom: lowest,
      unacknowledgedRecords: sent.unacknowledged.length,
      parked,
      attempts: sent.attempts,
      error: sent.lastError,
    });
    return resumeFrom(lowest);
  };
}

/** The bridge's configuration from the function's environment. */
export function bridgeConfigFromEnv(env: NodeJS.ProcessEnv): BridgeConfig {
  return {
    targetStreamArn: requireEnv(env, ENV.TARGET_STREAM_ARN),
    parkedTableName: requireEnv(env, ENV.PARKED_TABLE_NAME),
    retry: { ...DEFAULT_RETRY_BUDGET, maxAttempts: intEnv(env, ENV.RETRY_MAX_ATTEMPTS, DEFAULT_RETRY_BUDGET.maxAttempts) },
    maxRecordsPerCall: PUT_RECORDS_MAX_RECORDS,
    maxBytesPerCall: PUT_RECORDS_MAX_BYTES,
    aggregate: aggregateModeFromEnv(env),
  };
}

/** ENV.AGGREGATE_RECORDS: "off" (default when unset), "sourceShard" or "partitionKey". */
export function aggregateModeFromEnv(env: NodeJS.ProcessEnv): AggregateMode {
  const value = env[ENV.AGGREGATE_RECORDS];
  if (value === undefined || value === "") return "off";
  if (!AGGREGATE_MODES.includes(value as AggregateMode)) {
    throw new Error(`environment variable ${ENV.AGGREGATE_RECORDS} must be one of ${AGGREGATE_MODES.join(", ")}, got ${value}`);
  }
  return value as AggregateMode;
}

/** The target Kinesis client for ENV.ACCESS_MODE: "assumeRole" → credentials from assumeRoleCredentials(ENV.WRITER_ROLE_ARN, ENV.EXTERNAL_ID, session name "event-bridge"); "resourcePolicy" → the function's own credentials. Throws on any other mode. */
export function bridgeKinesisClient(env: NodeJS.ProcessEnv, sts?: STSClient): KinesisClient {
  const mode = env[ENV.ACCESS_MODE];
  if (mode === "resourcePolicy") return kinesisClient();
  if (mode === "assumeRole") {
    const credentials = assumeRoleCredentials(sts ?? stsClient(), {
      roleArn: requireEnv(env, ENV.WRITER_ROLE_ARN),
      externalId: env[ENV.EXTERNAL_ID] || undefined,
      sessionName: "event-bridge",
    });
    return kinesisClient({ credentials });
  }
  throw new Error(`${ENV.ACCESS_MODE} must be "assumeRole" or "resourcePolicy", got ${JSON.stringify(mode)}`);
}
