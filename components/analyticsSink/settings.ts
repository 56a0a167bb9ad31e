/**
 * AnalyticsSink's args, defaults and validation, in one place so the
 * component fails fast, before any resource is registered, with a message
 * naming it. The stream's defaults are KINESIS_STREAM_DEFAULTS and the
 * cross-account ones CROSS_ACCOUNT_DEFAULTS, shared with the producer side.
 */
import * as pulumi from "@pulumi/pulumi";
import { ACCESS_MODES, AccessMode } from "../../handlers/bridge/contract";
import { CROSS_ACCOUNT_DEFAULTS, DEFAULT_PRODUCER_STACK, defaultBridgeRoleName } from "../parts/crossAccount";
import { DATA_PROTECTION_DEFAULT, resolveStream, StreamMode, StreamSettings } from "../parts/kinesisStream";
import { ACCOUNT_ID_PATTERN, ArgCheck, withDefaults } from "../parts/validation";

/** Landing (Firehose to S3) settings; every field has a default. */
export interface AnalyticsSinkLandingArgs {
  /** Firehose buffering interval, 0–900 s. Default 300: an object every five minutes, fresh enough for analytics, few small objects. */
  bufferingIntervalSeconds?: number;
  /** Firehose buffering size, 1–128 MiB. Default 64: large objects for cheap scans, well below the cap. */
  bufferingSizeMb?: number;
  /** Days before landed event objects expire, after the IA transition. Default 400: over a year, so year-on-year queries still find last year. */
  expirationDays?: number;
  /** Days before landed event objects move to STANDARD_IA, at least 30 (S3's minimum). Default 30: recent data is what gets queried. */
  transitionToInfrequentAccessDays?: number;
  /** Days before objects under `errors/` expire, 1–36500. Default 30: a month to notice, inspect and re-land. */
  errorExpirationDays?: number;
  /** Days before a noncurrent (overwritten or deleted) version expires, 1–36500. Default 30: a month to undo a mistake. */
  noncurrentVersionExpirationDays?: number;
  /**
   * Hours without a record into the analytics stream before `<name>-landing-silence` fires, 1–24; 0, the default, for
   * no such alarm. The other alarms watch what arrives, so a bridge that stopped (trust broken, key disabled) leaves
   * them quiet: set it to the longest quiet spell your traffic has.
   */
  silenceAlarmHours?: number;
}

/** Args of {@link AnalyticsSink}. */
export interface AnalyticsSinkArgs {
  /** The producer (service) account's 12-digit id. Required: it is who may write. */
  producerAccountId: pulumi.Input<string>;
  /** The producer's bridge role name, an IAM role name; fixed, so this stack can name it before it exists. Default `defaultBridgeRoleName(producerStack)`: CrossAccountBridge's default in that stack. */
  bridgeRoleName?: string;
  /** The producer stack's name, which its bridge role's default name derives from. Default "producer" (DEFAULT_PRODUCER_STACK): the stack name the README uses. */
  producerStack?: string;
  /** The bridge role's IAM path, starting and ending with "/". Default "/": the path IAM gives a role unless told otherwise. */
  bridgeRolePath?: string;
  /**
   * `assumeRole`: a writer role here, assumed by the bridge with an ExternalId.
   * `resourcePolicy`: the stream's resource policy grants the bridge role directly.
   * Default assumeRole (CROSS_ACCOUNT_DEFAULTS): CrossAccountBridge's default.
   */
  accessMode?: AccessMode;
  /** The ExternalId the writer role's trust requires, 2–1224 characters. Required for assumeRole; ignored otherwise. */
  externalId?: pulumi.Input<string>;
  /** Analytics stream retention, 24–8760 h. Default 168 (KINESIS_STREAM_DEFAULTS): a week to notice a stalled landing and replay. */
  retentionHours?: number;
  /** Analytics stream capacity mode. Default ON_DEMAND (KINESIS_STREAM_DEFAULTS): scales with the producer, no shard planning. */
  streamMode?: StreamMode;
  /** Shards, 1–10000; required for, and only allowed with, PROVISIONED. No default: capacity is the caller's choice. */
  shardCount?: number;
  /** Firehose buffering and S3 lifecycle. Default: see {@link AnalyticsSinkLandingArgs}. */
  landing?: AnalyticsSinkLandingArgs;
  /** Actions (SNS topic ARNs) for the alarms' ALARM and OK transitions. Default none: alarms still show in the console. */
  alarmActions?: pulumi.Input<string>[];
  /** Pulumi `protect` on the stream, its key and the landing bucket (DATA_PROTECTION_DEFAULT). Default true. */
  protect?: boolean;
}

/** Every setting resolved, defaults applied. */
export interface SinkSettings {
  accessMode: AccessMode;
  /** Only in assumeRole mode. */
  externalId?: pulumi.Input<string>;
  producerAccountId: pulumi.Input<string>;
  /** The bridge role's path and name (its ARN: {@link sinkPrincipals}). */
  bridgeRolePath: string;
  bridgeRoleName: string;
  stream: StreamSettings;
  landing: Required<AnalyticsSinkLandingArgs>;
  protect: boolean;
}

/** AnalyticsSink's own defaults (the cross-account ones shared with CrossAccountBridge); each field's JSDoc says why. */
export const ANALYTICS_SINK_DEFAULTS = { accessMode: CROSS_ACCOUNT_DEFAULTS.accessMode, producerStack: DEFAULT_PRODUCER_STACK, bridgeRolePath: "/" };

/** Landing defaults, as data; each field's JSDoc above says why. */
export const LANDING_DEFAULTS: Required<AnalyticsSinkLandingArgs> = {
  bufferingIntervalSeconds: 300,
  bufferingSizeMb: 64,
  expirationDays: 400,
  transitionToInfrequentAccessDays: 30,
  errorExpirationDays: 30,
  noncurrentVersionExpirationDays: 30,
  silenceAlarmHours: 0,
};

/** The longest lifecycle S3 takes here: a hundred years. */
const MAX_DAYS = 36_500;

/** Landing defaults applied and checked against Firehose's and S3's ranges. */
function resolveLanding(check: ArgCheck, args: AnalyticsSinkLandingArgs | undefined): Required<AnalyticsSinkLandingArgs> {
  const landing = withDefaults(LANDING_DEFAULTS, args);
  check.integer("landing.bufferingIntervalSeconds", landing.bufferingIntervalSeconds, 0, 900, " s");
  check.integer("landing.bufferingSizeMb", landing.bufferingSizeMb, 1, 128, " MiB");
  // S3 refuses STANDARD_IA before 30 days and an expiration not after the transition.
  check.integer("landing.transitionToInfrequentAccessDays", landing.transitionToInfrequentAccessDays, 30, MAX_DAYS, " days");
  check.integer(
    "landing.expirationDays",
    landing.expirationDays,
    landing.transitionToInfrequentAccessDays + 1,
    MAX_DAYS,
    " days (after transitionToInfrequentAccessDays)",
  );
  check.integer("landing.errorExpirationDays", landing.errorExpirationDays, 1, MAX_DAYS, " days");
  check.integer("landing.noncurrentVersionExpirationDays", landing.noncurrentVersionExpirationDays, 1, MAX_DAYS, " days");
  // Hourly datapoints over at most a day (CloudWatch takes up to 7 days for an hourly period, 604,800 s): a silence longer
  // than a day is better found by the producer's alarms, long before the source stream's retention runs out.
  check.integer("landing.silenceAlarmHours", landing.silenceAlarmHours, 0, 24, " h");
  return landing;
}

/** Validates the args and applies defaults; throws `AnalyticsSink <name>: …` on the first bad one. */
export function resolveSinkSettings(name: string, args: AnalyticsSinkArgs): SinkSettings {
  const check = new ArgCheck("AnalyticsSink", name);
  const own = withDefaults(ANALYTICS_SINK_DEFAULTS, {
    accessMode: args.accessMode,
    producerStack: args.producerStack,
    bridgeRolePath: args.bridgeRolePath,
  });
  const { accessMode, bridgeRolePath: path } = own;
  const bridgeRoleName = args.bridgeRoleName ?? defaultBridgeRoleName(own.producerStack);
  check.oneOf("accessMode", accessMode, ACCESS_MODES);
  if (accessMode === "assumeRole") {
    check.present("externalId", args.externalId, 'when accessMode is "assumeRole": the writer role\'s trust policy requires sts:ExternalId');
    check.externalId("externalId", args.externalId);
  }
  check.matches("producerAccountId", args.producerAccountId, ACCOUNT_ID_PATTERN, "a 12-digit account id");
  check.roleName("bridgeRoleName", bridgeRoleName);
  check.that(path.startsWith("/") && path.endsWith("/"), `bridgeRolePath must start and end with "/", got ${JSON.stringify(path)}`);
  const stream = resolveStream(
    check,
    { retentionHours: "retentionHours", mode: "streamMode", shardCount: "shardCount" },
    {
      retentionHours: args.retentionHours,
      mode: args.streamMode,
      shardCount: args.shardCount,
    },
  );
  const landing = resolveLanding(check, args.landing);

  return {
    accessMode,
    externalId: accessMode === "assumeRole" ? args.externalId : undefined,
    producerAccountId: args.producerAccountId,
    bridgeRolePath: path,
    bridgeRoleName,
    stream,
    landing,
    protect: check.flag("protect", args.protect, DATA_PROTECTION_DEFAULT),
  };
}

/** The producer's principals as the sink's policies name them. */
export interface SinkPrincipals {
  /** `arn:<partition>:iam::<producer>:root`: the account the bridge runs in. */
  producerRoot: pulumi.Output<string>;
  /** The bridge role's ARN, built from its fixed name: it may not exist yet. */
  bridgeRoleArn: pulumi.Output<string>;
}

/** The producer's principals in `partition` (the consumer's: an account trusts only accounts of its own partition). */
export function sinkPrincipals(settings: SinkSettings, partition: pulumi.Input<string>): SinkPrincipals {
  const producer = pulumi.output(settings.producerAccountId);
  return {
    producerRoot: pulumi.interpolate`arn:${partition}:iam::${producer}:root`,
    bridgeRoleArn: pulumi.interpolate`arn:${partition}:iam::${producer}:role${settings.bridgeRolePath}${settings.bridgeRoleName}`,
  };
}
