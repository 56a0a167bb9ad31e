/**
 * Alarms an operator of the analytics sink needs: landing late, landing
 * failing, Firehose falling behind the stream, and the bridge being throttled.
 *
 * Written as plain MetricAlarms: awsx's classic metric helpers cover no
 * Kinesis or Firehose namespace, so they would not save any dimension typing.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** Args of {@link sinkAlarms}. */
export interface SinkAlarmArgs {
  streamName: pulumi.Input<string>;
  deliveryStreamName: pulumi.Input<string>;
  /** Firehose's buffering interval: freshness below it is normal. */
  bufferingIntervalSeconds: number;
  alarmActions?: pulumi.Input<string>[];
}

/** Freshness alarm threshold: three buffering intervals, at least 15 minutes. */
export function freshnessThresholdSeconds(bufferingIntervalSeconds: number): number {
  return Math.max(900, 3 * bufferingIntervalSeconds);
}

/** Firehose lag behind the stream that warrants a look: 1 hour, far below any retention. */
export const MILLIS_BEHIND_THRESHOLD = 3_600_000;

/** The sink's four alarms. */
export function sinkAlarms(name: string, args: SinkAlarmArgs, opts: pulumi.CustomResourceOptions): aws.cloudwatch.MetricAlarm[] {
  const actions = args.alarmActions ?? [];
  const common = { alarmActions: actions, okActions: actions, period: 300, treatMissingData: "notBreaching" };
  const firehose = { namespace: "AWS/Firehose", dimensions: { DeliveryStreamName: args.deliveryStreamName } };
  return [
    new aws.cloudwatch.MetricAlarm(
      `${name}-landing-freshness`,
      {
        ...common,
        ...firehose,
        alarmDescription: "The oldest record in Firehose is older than expected: landing in S3 is late or failing.",
        metricName: "DeliveryToS3.DataFreshness",
        statistic: "Maximum",
        comparisonOperator: "GreaterThanThreshold",
        threshold: freshnessThresholdSeconds(args.bufferingIntervalSeconds),
        evaluationPeriods: 1,
      },
      opts,
    ),
    new aws.cloudwatch.MetricAlarm(
      `${name}-landing-failures`,
      {
        ...common,
        ...firehose,
        alarmDescription: "Some S3 puts failed (KMS, bucket policy or permissions): see the delivery log group and errors/ prefix.",
        metricName: "DeliveryToS3.Success",
        statistic: "Minimum",
        comparisonOperator: "LessThanThreshold",
        threshold: 1,
        evaluationPeriods: 1,
      },
      opts,
    ),
    new aws.cloudwatch.MetricAlarm(
      `${name}-landing-lag`,
      {
        ...common,
        ...firehose,
        alarmDescription: "Firehose is falling behind the analytics stream: records expire unlanded once retention passes.",
        metricName: "KinesisMillisBehindLatest",
        statistic: "Maximum",
        comparisonOperator: "GreaterThanThreshold",
        threshold: MILLIS_BEHIND_THRESHOLD,
        evaluationPeriods: 1,
      },
      opts,
    ),
    new aws.cloudwatch.MetricAlarm(
      `${name}-write-throttled`,
      {
        ...common,
        namespace: "AWS/Kinesis",
        dimensions: { StreamName: args.streamName },
        alarmDescription: "The bridge's writes to the analytics stream are throttled: it retries, then reports failures; consider capacity.",
        metricName: "WriteProvisionedThroughputExceeded",
        statistic: "Sum",
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        evaluationPeriods: 1,
      },
      opts,
    ),
  ];
}
