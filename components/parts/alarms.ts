/**
 * Alarms as data: what each one watches (namespace, metric, dimensions,
 * statistic), when it fires, and what to do then. One spec builds the
 * MetricAlarm and the dashboard's graph of the same metric (parts/dashboard.ts),
 * so the two cannot watch different things. Here too: the alarms every
 * stream-fed function gets, on the failures that matter — records waiting
 * (against the mapping's record age), batches reported failed, events
 * parked, crashes, throttled invocations, and batches given up.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { FUNCTION_DIMENSION, METRIC, METRICS_NAMESPACE, MetricName } from "../../handlers/observability/metrics";

/** The dashboard row a metric belongs to. */
export type Concern = "throughput" | "lag" | "parked" | "errors" | "freshness";

/** A metric as CloudWatch names it. */
export interface MetricSpec {
  namespace: string;
  metricName: string;
  dimensions: Record<string, pulumi.Input<string>>;
  statistic: "Sum" | "Maximum" | "Minimum" | "Average";
  /** Seconds per datapoint. */
  period: number;
  /** How the dashboard labels it. */
  label: string;
}

/** An alarm on a metric, and what an operator does when it fires. */
export interface AlarmSpec extends MetricSpec {
  /** The alarm's logical name (part of its URN: never change it for a deployed alarm). */
  name: string;
  concern: Concern;
  threshold: number;
  comparisonOperator: "GreaterThanOrEqualToThreshold" | "GreaterThanThreshold" | "LessThanThreshold";
  evaluationPeriods: number;
  /** Datapoints of `evaluationPeriods` that must breach; default all of them. */
  datapointsToAlarm?: number;
  /** Default "notBreaching" (an idle function); "breaching" where silence is the failure watched for. */
  treatMissingData?: "breaching" | "notBreaching";
  /** What is wrong and what to do: the first thing whoever is paged reads. */
  description: pulumi.Input<string>;
}

/** An alarm built, with its spec (what the dashboard draws). */
export interface WatchedAlarm {
  spec: AlarmSpec;
  alarm: aws.cloudwatch.MetricAlarm;
}

/** Creates one MetricAlarm per spec; missing data (an idle function) never breaches unless the spec says so. */
export function createAlarms(specs: AlarmSpec[], alarmActions: pulumi.Input<string>[] | undefined, opts: pulumi.CustomResourceOptions): WatchedAlarm[] {
  const actions = alarmActions ?? [];
  return specs.map((spec) => ({
    spec,
    alarm: new aws.cloudwatch.MetricAlarm(
      spec.name,
      {
        alarmDescription: spec.description,
        namespace: spec.namespace,
        metricName: spec.metricName,
        dimensions: spec.dimensions,
        statistic: spec.statistic,
        period: spec.period,
        threshold: spec.threshold,
        comparisonOperator: spec.comparisonOperator,
        evaluationPeriods: spec.evaluationPeriods,
        datapointsToAlarm: spec.datapointsToAlarm,
        treatMissingData: spec.treatMissingData ?? "notBreaching",
        actionsEnabled: true,
        alarmActions: actions,
        okActions: actions,
      },
      opts,
    ),
  }));
}

/** A function's own metric (EMF, handlers/observability/metrics.ts), per minute. */
export function functionMetric(fn: aws.lambda.Function, metricName: MetricName, statistic: MetricSpec["statistic"], label: string): MetricSpec {
  return { namespace: METRICS_NAMESPACE, metricName, dimensions: { [FUNCTION_DIMENSION]: fn.name }, statistic, period: 60, label };
}

/** Several of a function's own metrics, each summed per minute, with their labels. */
export function functionSums(fn: aws.lambda.Function, metrics: [MetricName, string][]): MetricSpec[] {
  return metrics.map(([name, label]) => functionMetric(fn, name, "Sum", label));
}

/** One of Lambda's own metrics of a function, per minute. */
export function lambdaMetric(fn: aws.lambda.Function, metricName: string, statistic: MetricSpec["statistic"], label: string): MetricSpec {
  return { namespace: "AWS/Lambda", metricName, dimensions: { FunctionName: fn.name }, statistic, period: 60, label };
}

/** Iterator age fires at a quarter of the record age limit, at most 5 minutes: well before Lambda gives records up. */
export function iteratorAgeThresholdMs(recordAgeLimitSeconds: number): number {
  return Math.min(300_000, Math.floor((recordAgeLimitSeconds * 1000) / 4));
}

/** Minutes the iterator age must stay high: 5, fewer when the limit is short, so the alarm still fires within half of it. */
export function iteratorAgeEvaluationPeriods(recordAgeLimitSeconds: number): number {
  return Math.max(1, Math.min(5, Math.floor(recordAgeLimitSeconds / 240)));
}

/** The age at which a mapping gives records up: its maximum record age, or the stream's retention when that is -1. */
export function recordAgeLimitSeconds(maximumRecordAgeInSeconds: number, retentionHours: number): number {
  return maximumRecordAgeInSeconds === -1 ? retentionHours * 3600 : maximumRecordAgeInSeconds;
}

/** Args of {@link streamConsumerAlarms}. */
export interface StreamConsumerAlarmArgs {
  fn: aws.lambda.Function;
  onFailureQueue: aws.sqs.Queue;
  /** When the mapping gives records up (see recordAgeLimitSeconds). */
  recordAgeLimitSeconds: number;
  /** How an operator re-drives this function's parked events (the redrive command's flags). */
  redrive: pulumi.Input<string>;
}

/** A duration for people: seconds, minutes or hours. */
export function duration(ms: number): string {
  const s = ms / 1000;
  return s < 120 ? `${Math.round(s)} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

/** Iterator age against the record age, crashes, throttled invocations, batch failures reported, parked events, batches given up. */
export function streamConsumerAlarmSpecs(name: string, args: StreamConsumerAlarmArgs): AlarmSpec[] {
  const limitMs = args.recordAgeLimitSeconds * 1000;
  const ageMs = iteratorAgeThresholdMs(args.recordAgeLimitSeconds);
  const once = { comparisonOperator: "GreaterThanOrEqualToThreshold" as const, threshold: 1, evaluationPeriods: 1 };
  return [
    {
      ...lambdaMetric(args.fn, "IteratorAge", "Maximum", "oldest record waiting (ms)"),
      name: `${name}-iterator-age`,
      concern: "lag",
      comparisonOperator: "GreaterThanThreshold",
      threshold: ageMs,
      evaluationPeriods: iteratorAgeEvaluationPeriods(args.recordAgeLimitSeconds),
      description:
        `Records wait over ${duration(ageMs)}; at ${duration(limitMs)} (the mapping's maximum record age) Lambda gives them up and only a pointer ` +
        "reaches the on-failure queue. Look at BatchFailures and Errors first (a failing batch blocks its shard); if none, the function is too slow: raise parallelizationFactor or memory.",
    },
    {
      ...lambdaMetric(args.fn, "Errors", "Sum", "invocation errors"),
      ...once,
      name: `${name}-errors`,
      concern: "errors",
      description:
        "The function crashed or timed out (it reports ordinary failures as batch item failures): its whole batch is retried. Read the function's log group for the error and the invocation's duration.",
    },
    {
      ...lambdaMetric(args.fn, "Throttles", "Sum", "invocations throttled"),
      ...once,
      // 3 of 5: Lambda's backoff between retries of a throttled batch may leave a minute without one.
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      name: `${name}-throttles`,
      concern: "errors",
      description:
        "In 3 of 5 minutes Lambda could not invoke the function (the account's or its own concurrency is used up): its shards wait, and the other alarms see nothing, " +
        "since a batch never invoked reports no iterator age, error or failure. Raise the account's concurrency quota or the reserved concurrency of whatever takes it.",
    },
    {
      ...functionMetric(args.fn, METRIC.batchFailures, "Sum", "batches reported failed"),
      ...once,
      evaluationPeriods: 3,
      name: `${name}-batch-failures`,
      concern: "errors",
      description:
        "For 3 minutes the function has reported batch item failures (DynamoDB or Kinesis throttled or refused past the retry budget): Lambda retries from the reported record, so the shard stalls. " +
        "Search its log for 'gave up' to see the stage and the error; fix throttling (capacity) or permissions.",
    },
    {
      ...functionMetric(args.fn, METRIC.eventsParked, "Sum", "events parked"),
      ...once,
      name: `${name}-parked`,
      concern: "parked",
      description: pulumi.interpolate`Events were parked with their data (poison, or waiting behind it on the same aggregate). List them with \`npm run redrive -- ${args.redrive}\`, fix the cause, deploy, then run it again with --apply.`,
    },
    {
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: args.onFailureQueue.name },
      statistic: "Maximum",
      period: 60,
      label: "batches given up",
      ...once,
      name: `${name}-on-failure`,
      concern: "errors",
      description:
        "Lambda gave up on batches after their retries or record age: each message points at the shard and sequence range. The records stay in the stream for its retention: replay them from the pointers, then delete the messages.",
    },
  ];
}
