/**
 * Alarms an operator of the analytics sink needs: landing late (freshness
 * against Firehose's buffering), landing failing, Firehose falling behind the
 * stream, the bridge being throttled, and (opt-in) nothing arriving at all;
 * and what the dashboard graphs of it.
 *
 * Written as specs (parts/alarms.ts), so the dashboard draws what they watch.
 */
import * as pulumi from "@pulumi/pulumi";
import { AlarmSpec, MetricSpec } from "../parts/alarms";

/** Args of {@link sinkAlarmSpecs}. */
export interface SinkAlarmArgs {
  streamName: pulumi.Input<string>;
  deliveryStreamName: pulumi.Input<string>;
  /** Firehose's buffering interval: freshness below it is normal. */
  bufferingIntervalSeconds: number;
  /** Hours without an incoming record before the silence alarm fires; 0 for none. */
  silenceAlarmHours: number;
}

/** Freshness alarm threshold: three buffering intervals, at least 15 minutes. */
export function freshnessThresholdSeconds(bufferingIntervalSeconds: number): number {
  return Math.max(900, 3 * bufferingIntervalSeconds);
}

/** Firehose lag behind the stream that warrants a look: 1 hour, far below any retention. */
export const MILLIS_BEHIND_THRESHOLD = 3_600_000;

/** A Firehose metric of the delivery stream, per 5 minutes (Firehose reports at that grain). */
function firehoseMetric(args: SinkAlarmArgs, metricName: string, statistic: MetricSpec["statistic"], label: string): MetricSpec {
  return { namespace: "AWS/Firehose", metricName, dimensions: { DeliveryStreamName: args.deliveryStreamName }, statistic, period: 300, label };
}

/** A Kinesis metric of the analytics stream. */
function streamMetric(args: SinkAlarmArgs, metricName: string, period: number, label: string): MetricSpec {
  return { namespace: "AWS/Kinesis", metricName, dimensions: { StreamName: args.streamName }, statistic: "Sum", period, label };
}

/** What the landing gets done: records into the analytics stream, records delivered to S3. */
export function sinkThroughput(args: SinkAlarmArgs): MetricSpec[] {
  return [streamMetric(args, "IncomingRecords", 60, "records into the stream"), firehoseMetric(args, "DeliveryToS3.Records", "Sum", "records landed in S3")];
}

/** Nothing into the analytics stream for `hours`: what no other alarm sees (they watch what arrives). */
function silenceAlarm(name: string, args: SinkAlarmArgs): AlarmSpec {
  return {
    ...streamMetric(args, "IncomingRecords", 3600, "records into the stream per hour"),
    name: `${name}-landing-silence`,
    concern: "freshness",
    comparisonOperator: "LessThanThreshold",
    threshold: 1,
    evaluationPeriods: args.silenceAlarmHours,
    // No datapoint at all is the silence itself.
    treatMissingData: "breaching",
    description: `No record reached the analytics stream for ${args.silenceAlarmHours} h: check the producer's bridge (its errors and iterator-age alarms, the writer role's trust, the key) before the source stream's retention runs out; if the traffic was simply quiet, raise the window (the consumer stack's landingSilenceHours config, or the component's landing.silenceAlarmHours).`,
  };
}

/** The sink's four alarms, and the silence alarm when asked for. */
export function sinkAlarmSpecs(name: string, args: SinkAlarmArgs): AlarmSpec[] {
  const freshness = freshnessThresholdSeconds(args.bufferingIntervalSeconds);
  return [
    {
      ...firehoseMetric(args, "DeliveryToS3.DataFreshness", "Maximum", "age of the oldest record not landed (s)"),
      name: `${name}-landing-freshness`,
      concern: "freshness",
      comparisonOperator: "GreaterThanThreshold",
      threshold: freshness,
      evaluationPeriods: 1,
      description:
        `The oldest record in Firehose is over ${freshness} s old (three buffering intervals of ${args.bufferingIntervalSeconds} s): landing in S3 is late or failing. ` +
        "Check the landing-failures alarm and the delivery log group; records wait in the stream meanwhile.",
    },
    {
      ...firehoseMetric(args, "DeliveryToS3.Success", "Minimum", "S3 puts succeeded (1 = all)"),
      name: `${name}-landing-failures`,
      concern: "errors",
      comparisonOperator: "LessThanThreshold",
      threshold: 1,
      evaluationPeriods: 1,
      description:
        "Some S3 puts failed (KMS, bucket policy or permissions): see the delivery log group, fix the grant; Firehose retries meanwhile (errors/ holds only records its processing refused).",
    },
    {
      ...firehoseMetric(args, "KinesisMillisBehindLatest", "Maximum", "Firehose behind the stream (ms)"),
      name: `${name}-landing-lag`,
      concern: "lag",
      comparisonOperator: "GreaterThanThreshold",
      threshold: MILLIS_BEHIND_THRESHOLD,
      evaluationPeriods: 1,
      description:
        "Firehose is over an hour behind the analytics stream: records expire unlanded once the stream's retention passes. Check delivery failures and the stream's read throttling.",
    },
    {
      ...streamMetric(args, "WriteProvisionedThroughputExceeded", 300, "writes throttled"),
      name: `${name}-write-throttled`,
      concern: "errors",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      evaluationPeriods: 1,
      description:
        "The bridge's writes to the analytics stream are throttled: it retries, then reports batch failures. Give the stream capacity (more shards, or ON_DEMAND).",
    },
    ...(args.silenceAlarmHours > 0 ? [silenceAlarm(name, args)] : []),
  ];
}
