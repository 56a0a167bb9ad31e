/**
 * The cross-account bridge: maps source events (KPL aggregates deaggregated
 * into their user records) to the versioned analytics contract (decode.ts)
 * and writes them with PutRecords (putRecords.ts), KPL
 * packed when configured (kplEntries.ts), to a stream in the consumer
 * account. Poison events are parked with their data and never block others;
 * once the retry budget is spent, Lambda is told to resume from the lowest
 * source sequence number that still has unacknowledged output (the Kinesis
 * record's: Lambda knows no user records; the consumer dedups on `id`, so
 * re-sending acknowledged records, an aggregate's earlier ones too, is harmless).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import type { STSClient } from "@aws-sdk/client-sts";
import { regionOfArn } from "../shared/arn";
import { kinesisClient, stsClient } from "../shared/clients";
import type { Mapper } from "../shared/domain";
import { ENV, intEnv, requireEnv } from "../shared/env";
import { sourceRecords, SourceRecord } from "../kpl/sourceRecords";
import { KinesisStreamBatchResponse, KinesisStreamEvent, resumeFrom } from "../shared/kinesisEvent";
import { parkedTable } from "../shared/parkedTable";
import { DEFAULT_RETRY_BUDGET, realClock, RetryBudget, RetryClock } from "../shared/retry";
import { compareSequence } from "../shared/sequence";
import { defaultMetricsSink } from "../observability/emf";
import { BRIDGE_METRICS, countingClock, METRIC, MetricsRecorder, metricsRecorder } from "../observability/metrics";
import { assumeRoleCredentials } from "./assumeRole";
import { AGGREGATE_MODES, AggregateMode } from "./contract";
import { errorText, mapSources } from "./decode";
import { aggregateEntries } from "./kplEntries";
import { claimKeyedEvents, forwardedIds } from "./forwardedIds";
import { putAll, PutOutcome } from "./putRecords";
import { PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_RECORDS } from "./putRecordsChunks";

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
  /** The forwarded-ids table (forwardedIds.ts): without it a reused Idempotency-Key's later body is forwarded too. */
  forwardedTableName?: string;
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
  /** BRIDGE_METRICS, published once per batch; default EMF on stdout in Lambda (defaultMetricsSink). Pass the same recorder to bridgeKinesisClient to count STS calls. */
  metrics?: MetricsRecorder;
}

/** Builds the Lambda handler logic for the bridge. */
export function createBridge(deps: BridgeDeps): (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse> {
  const forward = createForwarder(deps);
  return (event) => forward(sourceRecords(event.Records ?? []));
}

/** The bridge over user records already split (the re-drive hands it parked user records as they were). */
export function createForwarder(deps: BridgeDeps): (sources: SourceRecord[]) => Promise<KinesisStreamBatchResponse> {
  const { kinesis, dynamodb, map, config } = deps;
  const metrics = deps.metrics ?? metricsRecorder(BRIDGE_METRICS, defaultMetricsSink(process.env));
  const clock = countingClock(deps.clock ?? realClock, () => metrics.add(METRIC.retries));
  const log = deps.log ?? ((e: Record<string, unknown>) => console.log(JSON.stringify(e)));
  const parked = parkedTable({ dynamodb, tableName: config.parkedTableName, retry: config.retry, clock });
  const target = { streamArn: config.targetStreamArn, maxRecordsPerCall: config.maxRecordsPerCall, maxBytesPerCall: config.maxBytesPerCall };

  const done = (started: number, response: KinesisStreamBatchResponse): KinesisStreamBatchResponse => {
    metrics.add(METRIC.batchFailures, response.batchItemFailures.length > 0 ? 1 : 0);
    metrics.add(METRIC.batchDuration, Date.now() - started);
    metrics.publish();
    return response;
  };

  return async (sources) => {
    const started = Date.now();
    metrics.add(METRIC.recordsReceived, sources.length);
    if (sources.length === 0) {
      // Only a manual invoke has no records (a mapping never sends none): `npm run smoke` uses it to resolve
      // the credentials the bridge writes with, which in assumeRole mode is the AssumeRole call itself, so a
      // broken trust or ExternalId shows in the first minute instead of as retried batches.
      await kinesis.config.credentials();
      return done(started, resumeFrom(undefined));
    }
    const mapped = mapSources(sources, map);
    // The first body in stream order owns a key-derived id, as in the read model: a later other body is parked, not forwarded.
    const { entries, poison } = config.forwardedTableName
      ? await claimKeyedEvents(forwardedIds({ dynamodb, tableName: config.forwardedTableName, retry: config.retry, clock }), sources, mapped)
      : mapped;
    for (const { kind, row } of poison) {
      // The kind, not the reason: a JSON parse message can quote the event's bytes.
      log({
        level: "warn",
        msg: "bridge parked poison event",
        kind,
        sequenceNumber: row.sequenceNumber,
        ...(row.subSequenceNumber === undefined ? {} : { subSequenceNumber: row.subSequenceNumber }),
        aggregateId: row.aggregateId,
        eventId: row.eventId,
        shardEventId: row.shardEventId,
      });
    }

    const parking =
      poison.length === 0
        ? Promise.resolve(true)
        : parked.park(poison.map((p) => p.row)).then(
            () => true,
            (err) => {
              log({ level: "error", msg: "bridge could not park poison events", count: poison.length, error: errorText(err) });
              return false;
            },
          );
    const outgoing = aggregateEntries(
      entries,
      sources.map((s) => s.record),
      config.aggregate ?? "off",
    );
    const nothingSent: PutOutcome = { unacknowledged: [], attempts: 0, lastError: undefined, failedEntries: 0 };
    const [isParked, sent] = await Promise.all([parking, outgoing.length ? putAll(kinesis, target, outgoing, config.retry, clock) : nothingSent]);
    metrics.add(METRIC.putRecordsFailedEntries, sent.failedEntries);
    metrics.add(METRIC.eventsParked, isParked ? poison.length : 0);

    const unacknowledged = sent.unacknowledged.map((e) => e.source);
    if (!isParked) unacknowledged.push(...poison.map((p) => p.source));
    if (unacknowledged.length === 0) {
      metrics.add(METRIC.recordsForwarded, entries.length);
      return done(started, resumeFrom(undefined));
    }
    const lowest = lowestSequence(sources, unacknowledged);
    // Forwarded for good: the wire records of the source records below the resume point (the rest come again, and count then).
    metrics.add(METRIC.recordsForwarded, entries.filter((e) => compareSequence(sources[e.source].sequenceNumber, lowest) < 0).length);
    log({
      level: "error",
      msg: "bridge gave up",
      resumeFrom: lowest,
      unacknowledgedRecords: sent.unacknowledged.length,
      parked: isParked,
      attempts: sent.attempts,
      error: sent.lastError,
    });
    return done(started, resumeFrom(lowest));
  };
}

/** The lowest sequence number of the Kinesis records holding the user records at `indices` (not empty). */
function lowestSequence(sources: SourceRecord[], indices: number[]): string {
  let lowest = sources[indices[0]].sequenceNumber;
  for (const i of indices) {
    const seq = sources[i].sequenceNumber;
    if (compareSequence(seq, lowest) < 0) lowest = seq;
  }
  return lowest;
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
    ...(env[ENV.FORWARDED_TABLE_NAME] ? { forwardedTableName: env[ENV.FORWARDED_TABLE_NAME] } : {}),
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

/**
 * The target Kinesis client for ENV.ACCESS_MODE: "assumeRole" → credentials
 * from assumeRoleCredentials(ENV.WRITER_ROLE_ARN, ENV.EXTERNAL_ID, session
 * name "event-bridge"), each STS call counted in `metrics`; "resourcePolicy" → the function's own credentials.
 * Either way it calls the region of ENV.TARGET_STREAM_ARN, not the
 * function's: a stream is only found in its own region. Throws on any other mode.
 */
export function bridgeKinesisClient(env: NodeJS.ProcessEnv, sts?: STSClient, metrics?: MetricsRecorder): KinesisClient {
  const mode = env[ENV.ACCESS_MODE];
  const target = env[ENV.TARGET_STREAM_ARN];
  // Unset only in tests: bridgeConfigFromEnv, in the same factory, requires it.
  const region = target ? regionOfArn(target, ENV.TARGET_STREAM_ARN) : undefined;
  if (mode === "resourcePolicy") return kinesisClient({ region });
  if (mode === "assumeRole") {
    const credentials = assumeRoleCredentials(
      sts ?? stsClient(),
      {
        roleArn: requireEnv(env, ENV.WRITER_ROLE_ARN),
        externalId: env[ENV.EXTERNAL_ID] || undefined,
        sessionName: "event-bridge",
      },
      Date.now,
      () => metrics?.add(METRIC.stsRefreshes),
    );
    return kinesisClient({ credentials, region });
  }
  throw new Error(`${ENV.ACCESS_MODE} must be "assumeRole" or "resourcePolicy", got ${JSON.stringify(mode)}`);
}
