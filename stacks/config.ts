/**
 * Stack configuration, read and validated in one place. Keys are documented
 * with worked examples in Pulumi.producer.yaml and Pulumi.consumer.yaml.
 */
import * as pulumi from "@pulumi/pulumi";
import { ACCESS_MODES, AccessMode, AGGREGATE_MODES, AggregateMode } from "../handlers/bridge/contract";
import { CROSS_ACCOUNT_DEFAULTS } from "../components/parts/crossAccount";
import { STREAM_MODES, StreamMode } from "../components/parts/kinesisStream";
import { ACCOUNT_ID_PATTERN, EXTERNAL_ID_PATTERN, EXTERNAL_ID_RULE } from "../components/parts/validation";
import { AUTH_MODES } from "../handlers/api/access";
import type { CommandApiAuth, CommandApiCors } from "../components/commandApi";
import { ARCHIVE_STORAGE_CLASSES, ArchiveStorageClass } from "../components/eventArchive";
import type { ObjectLockSettings } from "../components/buckets/secureBucket";
import { checkReadModelLifecycle, parseReadModelVersions, ReadModelVersionConfig } from "../components/readModelVersion";

export { CONFIG_KEYS } from "./configKeys";

/**
 * The consumer stack's config. A key left unset is undefined here and takes
 * the component's default: the components own every default, this file
 * restates none.
 */
export interface ConsumerConfig {
  producerAccountId: string;
  bridgeRoleName?: string;
  /** The producer stack's name, which the bridge role's default name derives from. */
  producerStack?: string;
  /** Resolved here (the default is CROSS_ACCOUNT_DEFAULTS'), since it decides which keys are required. */
  accessMode: AccessMode;
  externalId?: pulumi.Output<string>;
  retentionHours?: number;
  landingExpirationDays?: number;
  /** AnalyticsSink landing.silenceAlarmHours. */
  landingSilenceHours?: number;
  alarmTopicArn?: string;
  /** Pulumi `protect` on the analytics stream, its key and the landing bucket (AnalyticsSink `protect`; default true). */
  protectData?: boolean;
}

/** The producer stack's config; unset keys are undefined, as in {@link ConsumerConfig}. */
export interface ProducerConfig {
  bridgeRoleName?: string;
  /** Resolved here (the default is CROSS_ACCOUNT_DEFAULTS'), since it decides which keys are required. */
  accessMode: AccessMode;
  streamRetentionHours?: number;
  streamMode?: StreamMode;
  shardCount?: number;
  /** A customer-managed key for the event stream (EventSourcedTable `stream.kmsKeyArn`). */
  streamKmsKeyArn?: string;
  streamPreviousKmsKeyArns?: string[];
  maxBodyBytes?: number;
  parallelizationFactor?: number;
  /** Whether a producer may pack several partition keys into one KPL record (EventSourcedTable `kplMixedKeys`; `"false"` allows a parallelizationFactor above 1). */
  kplMixedKeys?: boolean;
  alarmTopicArn?: string;
  /** Pulumi `protect` on the event stream, the archive bucket and its key (EventSourcedTable `stream.protect`, EventArchive `protect`; default true). */
  protectData?: boolean;
  /** KPL aggregation of what the bridge writes to the analytics stream (CrossAccountBridge `aggregateRecords`). */
  aggregateRecords?: AggregateMode;
  /** Who may call the API (CommandApi `auth`): `apiAuth`, `jwtIssuer`, `jwtAudiences`, `jwtWriteScopes`, `jwtReadScopes`. */
  apiAuth: CommandApiAuth;
  /** CORS for browsers (CommandApi `cors`): `corsAllowOrigins`, `corsAllowMethods`, `corsAllowHeaders`, `corsMaxAge`. */
  cors: CommandApiCors;
  /** The event archive (EventArchive): `archiveStorageClass`, `archiveTransitionDays`, `archiveObjectLockMode` with `archiveObjectLockDays`. */
  archive: { storageClass?: ArchiveStorageClass; transitionDays?: number; objectLock?: ObjectLockSettings };
  /** Read-model versions (`readModelVersions`, JSON: versions ≥ 2 beside version 1, and version 1's lifecycle), and which one the API serves (`readModelActiveVersion`, default 1). */
  readModelVersions: ReadModelVersionConfig[];
  readModelActiveVersion?: number;
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

/** The secret ExternalId, checked when the program starts rather than on the bridge's first call. */
function externalIdSecret(config: pulumi.Config): pulumi.Output<string> {
  const secret = config.requireSecret("externalId");
  // The raw value, read without unwrapping the secret output, so a bad one fails before anything is registered.
  const raw = pulumi.runtime.getConfig(`${config.name}:externalId`);
  if (raw !== undefined && !EXTERNAL_ID_PATTERN.test(raw)) {
    throw new Error(`externalId must be ${EXTERNAL_ID_RULE}`);
  }
  return secret;
}

/** A key that takes one of `allowed`, or undefined when unset. */
function choice<T extends string>(config: pulumi.Config, key: string, allowed: readonly T[]): T | undefined {
  const value = config.get(key);
  if (value !== undefined && !(allowed as readonly string[]).includes(value)) {
    throw new Error(`${key} must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value as T | undefined;
}

/** A true/false key; undefined when unset. */
function flag(config: pulumi.Config, key: string): boolean | undefined {
  return parseFlag(key, config.get(key));
}

/** A true/false key's value (undefined when unset); throws naming the key for anything else. */
export function parseFlag(key: string, raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (raw !== "true" && raw !== "false") throw new Error(`${key} must be true or false, got ${JSON.stringify(raw)}`);
  return raw === "true";
}

/** A list key: a JSON array (`pulumi config set --path 'k[0]' …` stores one) or comma-separated text; undefined when unset. */
function list(config: pulumi.Config, key: string): string[] | undefined {
  const raw = config.get(key);
  return raw === undefined ? undefined : parseList(key, raw);
}

/** A list key's value: a JSON array of strings, or comma-separated text; throws naming the key when it is neither. */
export function parseList(key: string, raw: string): string[] {
  if (!raw.trim().startsWith("[")) return raw.split(",").map((v) => v.trim());
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${key} must be a JSON list of strings or comma-separated text, got ${raw}`);
  }
  if (!Array.isArray(parsed) || parsed.some((v) => typeof v !== "string")) throw new Error(`${key} must be a list of strings, got ${raw}`);
  return parsed as string[];
}

function accessMode(config: pulumi.Config): AccessMode {
  return choice(config, "accessMode", ACCESS_MODES) ?? CROSS_ACCOUNT_DEFAULTS.accessMode;
}

/** Reads the consumer (analytics account) stack's config. */
export function readConsumerConfig(config = new pulumi.Config()): ConsumerConfig {
  const producerAccountId = config.require("producerAccountId");
  if (!ACCOUNT_ID_PATTERN.test(producerAccountId)) throw new Error(`producerAccountId must be a 12-digit account id, got ${producerAccountId}`);
  const mode = accessMode(config);
  return {
    producerAccountId,
    bridgeRoleName: config.get("bridgeRoleName"),
    producerStack: config.get("producerStack"),
    accessMode: mode,
    externalId: mode === "assumeRole" ? externalIdSecret(config) : undefined,
    retentionHours: config.getNumber("retentionHours"),
    landingExpirationDays: config.getNumber("landingExpirationDays"),
    landingSilenceHours: config.getNumber("landingSilenceHours"),
    alarmTopicArn: config.get("alarmTopicArn"),
    protectData: flag(config, "protectData"),
  };
}

/** The StackReference to the consumer stack when `consumerStack` is set (same backend); created once, shared by the preflight and the config. */
export function consumerReference(config = new pulumi.Config()): pulumi.StackReference | undefined {
  const stackName = config.get("consumerStack");
  return stackName ? new pulumi.StackReference(stackName) : undefined;
}

/**
 * The consumer's outputs: through the StackReference when there is one,
 * otherwise from explicit config (different backends).
 */
function consumerOutputs(config: pulumi.Config, mode: AccessMode, ref: pulumi.StackReference | undefined): ConsumerOutputs {
  if (ref) {
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
export function readProducerConfig(config = new pulumi.Config(), ref = consumerReference(config)): ProducerConfig {
  const mode = accessMode(config);
  return {
    bridgeRoleName: config.get("bridgeRoleName"),
    accessMode: mode,
    streamRetentionHours: config.getNumber("streamRetentionHours"),
    streamMode: choice(config, "streamMode", STREAM_MODES),
    shardCount: config.getNumber("shardCount"),
    streamKmsKeyArn: config.get("streamKmsKeyArn"),
    streamPreviousKmsKeyArns: list(config, "streamPreviousKmsKeyArns"),
    maxBodyBytes: config.getNumber("maxBodyBytes"),
    parallelizationFactor: config.getNumber("parallelizationFactor"),
    kplMixedKeys: flag(config, "kplMixedKeys"),
    alarmTopicArn: config.get("alarmTopicArn"),
    protectData: flag(config, "protectData"),
    aggregateRecords: choice(config, "aggregateRecords", AGGREGATE_MODES),
    apiAuth: {
      mode: choice(config, "apiAuth", AUTH_MODES),
      issuer: config.get("jwtIssuer"),
      audiences: list(config, "jwtAudiences"),
      writeScopes: list(config, "jwtWriteScopes"),
      readScopes: list(config, "jwtReadScopes"),
    },
    cors: {
      allowOrigins: list(config, "corsAllowOrigins"),
      allowMethods: list(config, "corsAllowMethods"),
      allowHeaders: list(config, "corsAllowHeaders"),
      maxAge: config.getNumber("corsMaxAge"),
    },
    archive: {
      storageClass: choice(config, "archiveStorageClass", ARCHIVE_STORAGE_CLASSES),
      transitionDays: config.getNumber("archiveTransitionDays"),
      objectLock: objectLock(config),
    },
    ...readModels(config),
    consumer: consumerOutputs(config, mode, ref),
  };
}

/** `archiveObjectLockMode` and `archiveObjectLockDays`, both or neither. */
function objectLock(config: pulumi.Config): ObjectLockSettings | undefined {
  return pairObjectLock(choice(config, "archiveObjectLockMode", ["GOVERNANCE", "COMPLIANCE"] as const), config.getNumber("archiveObjectLockDays"));
}

/** The archive's Object Lock from its two keys, both or neither (throws naming both). */
export function pairObjectLock(mode: ObjectLockSettings["mode"] | undefined, days: number | undefined): ObjectLockSettings | undefined {
  if (mode === undefined && days === undefined) return undefined;
  if (mode === undefined || days === undefined)
    throw new Error(`archiveObjectLockMode and archiveObjectLockDays go together, got mode ${mode} and days ${days}`);
  return { mode, days };
}

/** `readModelVersions` and `readModelActiveVersion`, checked together (version 1 is retired only once another serves). */
function readModels(config: pulumi.Config): Pick<ProducerConfig, "readModelVersions" | "readModelActiveVersion"> {
  return readModelSettings(config.get("readModelVersions"), config.getNumber("readModelActiveVersion"));
}

/** The two keys' values parsed and checked together (the preflight's check too). */
export function readModelSettings(
  versions: string | undefined,
  active: number | undefined,
): Pick<ProducerConfig, "readModelVersions" | "readModelActiveVersion"> {
  const readModelVersions = parseReadModelVersions(versions);
  checkReadModelLifecycle(readModelVersions, active);
  return { readModelVersions, readModelActiveVersion: active };
}
