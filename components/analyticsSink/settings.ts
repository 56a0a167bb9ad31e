/**
 * AnalyticsSink's defaults and validation, in one place so the component
 * fails fast, before any resource is registered, with a message naming it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AccessMode } from "../../handlers/bridge/contract";

/** Landing (Firehose to S3) settings; every field has a default. */
export interface AnalyticsSinkLandingArgs {
  /** Firehose buffering interval, 0–900 s. Default 300. */
  bufferingIntervalSeconds?: number;
  /** Firehose buffering size, 1–128 MiB. Default 64. */
  bufferingSizeMb?: number;
  /** Days before landed event objects expire. Default 400. */
  expirationDays?: number;
  /** Days before landed event objects move to STANDARD_IA (S3 minimum 30). Default 30. */
  transitionToInfrequentAccessDays?: number;
  /** Days before objects under `errors/` expire. Default 30. */
  errorExpirationDays?: number;
  /** Days before a noncurrent (overwritten or deleted) version expires. Default 30. */
  noncurrentVersionExpirationDays?: number;
}

/** Args of {@link AnalyticsSink}. */
export interface AnalyticsSinkArgs {
  /** The producer (service) account's 12-digit id. */
  producerAccountId: pulumi.Input<string>;
  /** The producer's bridge role name; fixed, so this stack can name it before it exists. */
  bridgeRoleName: string;
  /** The bridge role's IAM path. Default "/". */
  bridgeRolePath?: string;
  /**
   * `assumeRole`: a writer role here, assumed by the bridge with an ExternalId.
   * `resourcePolicy`: the stream's resource policy grants the bridge role directly.
   */
  accessMode: AccessMode;
  /** The ExternalId the writer role's trust requires. Required for assumeRole; ignored otherwise. */
  externalId?: pulumi.Input<string>;
  /** Analytics stream retention in hours, 24–8760. Default 168. */
  retentionHours?: number;
  /** Analytics stream capacity mode. Default ON_DEMAND. */
  streamMode?: "ON_DEMAND" | "PROVISIONED";
  /** Shard count; required for, and only allowed with, PROVISIONED. */
  shardCount?: number;
  /** Firehose buffering and S3 lifecycle; see {@link AnalyticsSinkLandingArgs} for defaults. */
  landing?: AnalyticsSinkLandingArgs;
  /** Actions (SNS topic ARNs) for the alarms' ALARM and OK transitions. Default none. */
  alarmActions?: pulumi.Input<string>[];
}

/** Every setting resolved, defaults applied. */
export interface SinkSettings {
  accessMode: AccessMode;
  /** Only in assumeRole mode. */
  externalId?: pulumi.Input<string>;
  /** `arn:aws:iam::<producer>:root`: the account the bridge runs in. */
  producerRoot: pulumi.Output<string>;
  /** The bridge role's ARN, built from its fixed name: it may not exist yet. */
  bridgeRoleArn: pulumi.Output<string>;
  retentionHours: number;
  streamMode: "ON_DEMAND" | "PROVISIONED";
  shardCount?: number;
  landing: Required<AnalyticsSinkLandingArgs>;
}

/** Landing defaults. */
export const LANDING_DEFAULTS: Required<AnalyticsSinkLandingArgs> = {
  bufferingIntervalSeconds: 300,
  bufferingSizeMb: 64,
  expirationDays: 400,
  transitionToInfrequentAccessDays: 30,
  errorExpirationDays: 30,
  noncurrentVersionExpirationDays: 30,
};

/** Kinesis retention default: 7 days. */
export const DEFAULT_RETENTION_HOURS = 168;

function check(condition: boolean, component: string, message: string): void {
  if (!condition) throw new Error(`AnalyticsSink ${component}: ${message}`);
}

function integerIn(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

/** Validates the args and applies defaults; throws a clear error on bad input. */
export function resolveSinkSettings(component: string, args: AnalyticsSinkArgs): SinkSettings {
  check(
    args.accessMode === "assumeRole" || args.accessMode === "resourcePolicy",
    component,
    `accessMode must be "assumeRole" or "resourcePolicy", got ${String(args.accessMode)}`,
  );
  check(
    args.accessMode !== "assumeRole" || args.externalId !== undefined,
    component,
    'externalId is required when accessMode is "assumeRole": the writer role\'s trust policy requires sts:ExternalId',
  );
  if (typeof args.producerAccountId === "string")
    check(/^\d{12}$/.test(args.producerAccountId), component, `producerAccountId must be a 12-digit account id, got ${args.producerAccountId}`);
  check(/^[\w+=,.@-]{1,64}$/.test(args.bridgeRoleName), component, `bridgeRoleName is not a valid IAM role name: ${args.bridgeRoleName}`);
  const path = args.bridgeRolePath ?? "/";
  check(path.startsWith("/") && path.endsWith("/"), component, `bridgeRolePath must start and end with "/", got ${path}`);

  const retentionHours = args.retentionHours ?? DEFAULT_RETENTION_HOURS;
  check(integerIn(retentionHours, 24, 8760), component, `retentionHours must be an integer from 24 to 8760, got ${retentionHours}`);
  const streamMode = args.streamMode ?? "ON_DEMAND";
  check(streamMode === "ON_DEMAND" || streamMode === "PROVISIONED", component, `streamMode must be ON_DEMAND or PROVISIONED, got ${String(streamMode)}`);
  if (streamMode === "PROVISIONED")
    check(
      args.shardCount !== undefined && integerIn(args.shardCount, 1, 10_000),
      component,
      "shardCount (a positive integer) is required when streamMode is PROVISIONED",
    );
  else check(args.shardCount === undefined, component, "shardCount applies only when streamMode is PROVISIONED");

  const landing = { ...LANDING_DEFAULTS, ...definedOnly(args.landing ?? {}) };
  check(
    integerIn(landing.bufferingIntervalSeconds, 0, 900),
    component,
    `landing.bufferingIntervalSeconds must be 0–900, got ${landing.bufferingIntervalSeconds}`,
  );
  check(integerIn(landing.bufferingSizeMb, 1, 128), component, `landing.bufferingSizeMb must be 1–128, got ${landing.bufferingSizeMb}`);
  // S3 refuses STANDARD_IA before 30 days and an expiration not after the transition.
  check(
    integerIn(landing.transitionToInfrequentAccessDays, 30, 36_500),
    component,
    `landing.transitionToInfrequentAccessDays must be at least 30, got ${landing.transitionToInfrequentAccessDays}`,
  );
  check(
    Number.isInteger(landing.expirationDays) && landing.expirationDays > landing.transitionToInfrequentAccessDays,
    component,
    `landing.expirationDays (${landing.expirationDays}) must be an integer greater than transitionToInfrequentAccessDays (${landing.transitionToInfrequentAccessDays})`,
  );
  check(
    integerIn(landing.errorExpirationDays, 1, 36_500),
    component,
    `landing.errorExpirationDays must be a positive integer, got ${landing.errorExpirationDays}`,
  );
  check(
    integerIn(landing.noncurrentVersionExpirationDays, 1, 36_500),
    component,
    `landing.noncurrentVersionExpirationDays must be a positive integer, got ${landing.noncurrentVersionExpirationDays}`,
  );

  const producer = pulumi.output(args.producerAccountId);
  return {
    accessMode: args.accessMode,
    externalId: args.accessMode === "assumeRole" ? args.externalId : undefined,
    producerRoot: pulumi.interpolate`arn:aws:iam::${producer}:root`,
    bridgeRoleArn: pulumi.interpolate`arn:aws:iam::${producer}:role${path}${args.bridgeRoleName}`,
    retentionHours,
    streamMode,
    shardCount: streamMode === "PROVISIONED" ? args.shardCount : undefined,
    landing,
  };
}

/** Drops keys set to undefined so they don't override defaults. */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
