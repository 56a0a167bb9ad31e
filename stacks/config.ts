/**
 * Stack configuration, read and validated in one place. Keys are documented
 * with worked examples in Pulumi.producer.yaml and Pulumi.consumer.yaml.
 */
import * as pulumi from "@pulumi/pulumi";
import { AGGREGATE_MODES, AggregateMode } from "../handlers/bridge/contract";

/** How the bridge reaches the analytics stream. */
export type AccessMode = "assumeRole" | "resourcePolicy";
export const ACCESS_MODES: readonly AccessMode[] = ["assumeRole", "resourcePolicy"];

/** The bridge role's fixed name: the consumer's trust policy names it before it exists. */
export const DEFAULT_BRIDGE_ROLE_NAME = "event-pipeline-bridge";

export interface ConsumerConfig {
  producerAccountId: string;
  bridgeRoleName: string;
  accessMode: AccessMode;
  externalId?: pulumi.Output<string>;
  retentionHours: number;
  landingExpirationDays: number;
  alarmTopicArn?: string;
}

export interface ProducerConfig {
  bridgeRoleName: string;
  accessMode: AccessMode;
  streamRetentionHours: number;
  streamMode: "ON_DEMAND" | "PROVISIONED";
  shardCount?: number;
  maxBodyBytes: number;
  parallelizationFactor: number;
  alarmTopicArn?: string;
  /**
   * KPL aggregation of what the bridge writes to the analytics stream
   * (CrossAccountBridge `aggregateRecords`). Default "off": every consumer of
   * the analytics stream then reads plain JSON records.
   */
  aggregateRecords: AggregateMode;
  /** The consumer stack's outputs, from a StackReference or explicit config. */
  consumer: ConsumerOutputs;
}

/** What the producer needs from the consumer stack. */
export interface ConsumerOutputs {
  analyticsStreamArn: pulumi.Output<string>;
  analyticsKeyArn: pulumi.Output<string>;
  writerRoleArn: pulumi.Output<string | undefined>;
  externalId: pulumi.Output<string | undefined>;
}

/** STS accepts ExternalIds of 2–1224 characters from this set; anything else fails only at AssumeRole time. */
const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]{2,1224}$/;

/** The secret ExternalId, checked when the program starts rather than on the bridge's first call. */
function externalIdSecret(config: pulumi.Config): pulumi.Output<string> {
  const secret = config.requireSecret("externalId");
  // The raw value, read without unwrapping the secret output, so a bad one fails before anything is registered.
  const raw = pulumi.runtime.getConfig(`${config.name}:externalId`);
  if (raw !== undefined && !EXTERNAL_ID_PATTERN.test(raw)) {
    throw new Error("externalId must be 2-1224 characters of letters, digits and +=,.@:/-_ (as STS requires)");
  }
  return secret;
}

function accessMode(config: pulumi.Config): AccessMode {
  const mode = config.get("accessMode") ?? "assumeRole";
  if (!(ACCESS_MODES as readonly string[]).includes(mode)) throw new Error(`accessMode must be one of ${ACCESS_MODES.join(", ")}, got ${mode}`);
  return mode as AccessMode;
}

function aggregateRecords(config: pulumi.Config): AggregateMode {
  const value = config.get("aggregateRecords") ?? "off";
  if (!(AGGREGATE_MODES as readonly string[]).includes(value)) {
    throw new Error(`aggregateRecords must be one of ${AGGREGATE_MODES.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value as AggregateMode;
}

/** Reads the consumer (analytics account) stack's config. */
export function readConsumerConfig(config = new pulumi.Config()): ConsumerConfig {
  const producerAccountId = config.require("producerAccountId");
  if (!/^\d{12}$/.test(producerAccountId)) throw new Error(`producerAccountId must be a 12-digit account id, got ${producerAccountId}`);
  const mode = accessMode(config);
  return {
    producerAccountId,
    bridgeRoleName: config.get("bridgeRoleName") ?? DEFAULT_BRIDGE_ROLE_NAME,
    accessMode: mode,
    externalId: mode === "assumeRole" ? externalIdSecret(config) : undefined,
    retentionHours: config.getNumber("retentionHours") ?? 168,
    landingExpirationDays: config.getNumber("landingExpirationDays") ?? 400,
    alarmTopicArn: config.get("alarmTopicArn"),
  };
}

/**
 * The consumer's outputs: through a StackReference when `consumerStack` is
 * set (same backend), otherwise from explicit config (different backends).
 */
function consumerOutputs(config: pulumi.Config, mode: AccessMode): ConsumerOutputs {
  const stackName = config.get("consumerStack");
  if (stackName) {
    const ref = new pulumi.StackReference(stackName);
    return {
      analyticsStreamArn: ref.requireOutput("analyticsStreamArn") as pulumi.Output<string>,
      analyticsKeyArn: ref.requireOutput("analyticsKeyArn") as pulumi.Output<string>,
      writerRoleArn: ref.getOutput("writerRoleArn") as pulumi.Output<string | undefined>,
      externalId: pulumi.secret(ref.getOutput("externalId")) as pulumi.Output<string | undefined>,
    };
  }
  return {
    analyticsStreamArn: pulumi.output(config.require("analyticsStreamArn")),
    analyticsKeyArn: pulumi.output(config.require("analyticsKeyArn")),
    writerRoleArn: pulumi.output(mode === "assumeRole" ? config.require("writerRoleArn") : undefined),
    externalId: mode === "assumeRole" ? externalIdSecret(config) : pulumi.output(undefined),
  };
}

/** Reads the producer (service account) stack's config. */
export function readProducerConfig(config = new pulumi.Config()): ProducerConfig {
  const mode = accessMode(config);
  const streamMode = config.get("streamMode") ?? "ON_DEMAND";
  if (streamMode !== "ON_DEMAND" && streamMode !== "PROVISIONED") throw new Error(`streamMode must be ON_DEMAND or PROVISIONED, got ${streamMode}`);
  return {
    bridgeRoleName: config.get("bridgeRoleName") ?? DEFAULT_BRIDGE_ROLE_NAME,
    accessMode: mode,
    streamRetentionHours: config.getNumber("streamRetentionHours") ?? 168,
    streamMode,
    shardCount: config.getNumber("shardCount"),
    maxBodyBytes: config.getNumber("maxBodyBytes") ?? 65_536,
    parallelizationFactor: config.getNumber("parallelizationFactor") ?? 1,
    alarmTopicArn: config.get("alarmTopicArn"),
    aggregateRecords: aggregateRecords(config),
    consumer: consumerOutputs(config, mode),
  };
}
