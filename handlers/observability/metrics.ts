/**
 * The functions' own metrics, named once: what each function emits, in which
 * unit, under which namespace and dimension. The handlers emit them, the
 * components alarm on them and draw them, the local cloud reads them back, so
 * none of the three can drift from the others.
 *
 * The handlers count into a {@link MetricsRecorder} and publish once per
 * invocation through an injected sink (default: CloudWatch Embedded Metric
 * Format on stdout, emf.ts), so they stay plain functions and tests read the
 * values they published.
 */
import type { RetryClock } from "../shared/retry";

/** The CloudWatch namespace of every metric the functions emit. */
export const METRICS_NAMESPACE = "EventSourcedPipeline";

/**
 * The one dimension: the function's physical name (`AWS_LAMBDA_FUNCTION_NAME`), unique in its
 * account and region. One dimension set keeps it at one billed custom metric per name and function.
 */
export const FUNCTION_DIMENSION = "Function";

/** Every metric name, by what it counts. */
export const METRIC = {
  /** Records a stream function was given. */
  recordsReceived: "RecordsReceived",
  /** Events the projector folded into the read model (durably written). */
  eventsApplied: "EventsApplied",
  /** Records the projector skipped as already applied: redeliveries, replays and producer retries. */
  duplicatesSkipped: "DuplicatesSkipped",
  /** Events parked with their data (poison, what waits behind it, rejected duplicates). */
  eventsParked: "EventsParked",
  /** Invocations that reported batch item failures: Lambda retries the batch from there. */
  batchFailures: "BatchFailures",
  /** Backoff waits before another attempt of a throttled or failed call, within the retry budget. */
  retries: "Retries",
  /** Milliseconds one batch took. */
  batchDuration: "BatchDuration",
  /** Wire records the analytics stream acknowledged. */
  recordsForwarded: "RecordsForwarded",
  /** PutRecords entries the analytics stream answered with an error code (each attempt counted). */
  putRecordsFailedEntries: "PutRecordsFailedEntries",
  /** STS AssumeRole calls for the writer role's credentials. */
  stsRefreshes: "StsRefreshes",
  /** API answers by status class. */
  requests2xx: "Requests2xx",
  requests4xx: "Requests4xx",
  requests5xx: "Requests5xx",
  /** API requests answered 503 because the stream was throttled. */
  throttles: "Throttles",
  /** Events the API appended to the stream (202). */
  eventsAccepted: "EventsAccepted",
} as const;

/** A metric the functions emit. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** What the projector publishes per batch. */
export const PROJECTOR_METRICS: readonly MetricName[] = [
  METRIC.recordsReceived,
  METRIC.eventsApplied,
  METRIC.duplicatesSkipped,
  METRIC.eventsParked,
  METRIC.batchFailures,
  METRIC.retries,
  METRIC.batchDuration,
];

/** What the bridge publishes per batch. */
export const BRIDGE_METRICS: readonly MetricName[] = [
  METRIC.recordsReceived,
  METRIC.recordsForwarded,
  METRIC.eventsParked,
  METRIC.batchFailures,
  METRIC.retries,
  METRIC.putRecordsFailedEntries,
  METRIC.stsRefreshes,
  METRIC.batchDuration,
];

/** What the API publishes per request. */
/** What the archiver publishes (handlers/archive/archiver.ts). */
export const ARCHIVER_METRICS: readonly MetricName[] = [METRIC.recordsReceived, METRIC.batchFailures, METRIC.retries, METRIC.batchDuration];

export const API_METRICS: readonly MetricName[] = [METRIC.requests2xx, METRIC.requests4xx, METRIC.requests5xx, METRIC.throttles, METRIC.eventsAccepted];

/** CloudWatch's unit of a metric: Milliseconds for the duration, Count for the rest. */
export function metricUnit(name: string): "Milliseconds" | "Count" {
  return name === METRIC.batchDuration ? "Milliseconds" : "Count";
}

/** One invocation's values. */
export type MetricValues = Partial<Record<MetricName, number>>;

/** Where a function's values go, once per invocation. */
export type MetricsSink = (values: MetricValues) => void;

/** Counts for one function, published once per invocation. */
export interface MetricsRecorder {
  /** Adds `value` (default 1) to `name`. */
  add(name: MetricName, value?: number): void;
  /** Sends every name of the function's set (zeros included) with what was added since the last publish, and starts again. */
  publish(): void;
}

/**
 * A recorder for the metrics `names`, publishing to `sink`. State lives in the closure, never at module
 * level (closure serialisation); counts added between invocations (an STS refresh) go out with the next.
 */
export function metricsRecorder(names: readonly MetricName[], sink: MetricsSink): MetricsRecorder {
  let pending: MetricValues = {};
  return {
    add: (name, value = 1) => {
      pending[name] = (pending[name] ?? 0) + value;
    },
    publish: () => {
      const values: MetricValues = {};
      for (const name of names) values[name] = pending[name] ?? 0;
      pending = {};
      sink(values);
    },
  };
}

/** The clock the retries sleep on, counting each sleep as one retry: withRetry and drainBatch sleep once before every further attempt. */
export function countingClock(clock: RetryClock, onRetry: () => void): RetryClock {
  return {
    sleep: (ms) => {
      onRetry();
      return clock.sleep(ms);
    },
    random: () => clock.random(),
  };
}
