/**
 * The consumer (analytics) account's stack: the analytics stream, the writer
 * role the producer's bridge assumes, and the landing in S3.
 */
import * as pulumi from "@pulumi/pulumi";
import { AnalyticsSink } from "../components/analyticsSink";
import { OperationsDashboard } from "../components/operationsDashboard";
import { ConsumerConfig } from "./config";

/** The component's name: part of every URN (never change it), and how the preflight names it. */
export const CONSUMER_COMPONENTS = { sink: "analytics" } as const;

/** Builds the consumer stack and returns the outputs the producer stack reads. */
export function consumerStack(config: ConsumerConfig) {
  const sink = new AnalyticsSink(CONSUMER_COMPONENTS.sink, {
    producerAccountId: config.producerAccountId,
    bridgeRoleName: config.bridgeRoleName,
    producerStack: config.producerStack,
    accessMode: config.accessMode,
    externalId: config.externalId,
    retentionHours: config.retentionHours,
    landing: { expirationDays: config.landingExpirationDays, silenceAlarmHours: config.landingSilenceHours },
    alarmActions: config.alarmTopicArn ? [config.alarmTopicArn] : [],
    protect: config.protectData,
  });
  const dashboard = new OperationsDashboard("operations", { parts: [sink.monitoring] });
  return {
    dashboardUrl: dashboard.url,
    analyticsStreamArn: sink.streamArn,
    analyticsStreamName: sink.streamName,
    analyticsKeyArn: sink.keyArn,
    writerRoleArn: sink.writerRoleArn,
    landingBucketName: sink.bucketName,
    deliveryStreamArn: sink.deliveryStreamArn,
    accessMode: sink.accessMode,
    // What the producer's preflight checks its own config against (stacks/preflight.ts).
    bridgeRoleArn: sink.bridgeRoleArn,
    producerAccountId: config.producerAccountId,
    region: sink.region,
    // Secret: the producer reads it through the StackReference.
    externalId: config.externalId ? pulumi.secret(config.externalId) : undefined,
  };
}
