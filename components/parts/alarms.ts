/**
 * Alarms operators need on a stream-fed function, built with awsx's classic
 * metric helpers: they know each metric's namespace and dimensions, which is
 * where hand-written alarms usually go wrong.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";

/** Args of {@link streamConsumerAlarms}. */
export interface StreamConsumerAlarmArgs {
  fn: aws.lambda.Function;
  onFailureQueue: aws.sqs.Queue;
  /** Alarm when the oldest unprocessed record is older than this. Default 5 minutes. */
  iteratorAgeThresholdMs?: number;
  /** SNS topics (or other actions) to notify. */
  alarmActions?: pulumi.Input<string>[];
}

/** Iterator age, function errors and on-failure queue depth. */
export function streamConsumerAlarms(name: string, args: StreamConsumerAlarmArgs, opts: pulumi.CustomResourceOptions): aws.cloudwatch.MetricAlarm[] {
  const actions = { alarmActions: args.alarmActions ?? [], okActions: args.alarmActions ?? [] };
  const lambda = awsx.classic.lambda.metrics;
  return [
    lambda.iteratorAge({ function: args.fn, statistic: "Maximum", period: 60 }).createAlarm(
      `${name}-iterator-age`,
      {
        threshold: args.iteratorAgeThresholdMs ?? 300_000,
        evaluationPeriods: 5,
        alarmDescription: "Records wait too long: the function is failing or too slow for the stream.",
        treatMissingData: "notBreaching",
        ...actions,
      },
      opts,
    ),
    lambda.errors({ function: args.fn, statistic: "Sum", period: 60 }).createAlarm(
      `${name}-errors`,
      {
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        evaluationPeriods: 1,
        alarmDescription: "The function threw: its batch is retried until it succeeds or ages out.",
        treatMissingData: "notBreaching",
        ...actions,
      },
      opts,
    ),
    awsx.classic.sqs.metrics.approximateNumberOfMessagesVisible({ queue: args.onFailureQueue, statistic: "Maximum", period: 60 }).createAlarm(
      `${name}-on-failure`,
      {
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        evaluationPeriods: 1,
        alarmDescription: "Batches were given up after retries or record age: replay them from the pointers in this queue.",
        treatMissingData: "notBreaching",
        ...actions,
      },
      opts,
    ),
  ];
}
