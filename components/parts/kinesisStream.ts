/**
 * The Kinesis streams the components create (EventSourcedTable's event
 * stream, AnalyticsSink's analytics stream): their defaults as one object
 * (as AWS Solutions Constructs' `kinesis-streams-defaults.ts`), their checks,
 * and the one builder, so both are encrypted, kept and sized the same way.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ArgCheck } from "./validation";

/** A stream's capacity mode. */
export type StreamMode = "ON_DEMAND" | "PROVISIONED";
/** The accepted capacity modes. */
export const STREAM_MODES: readonly StreamMode[] = ["ON_DEMAND", "PROVISIONED"];

/** The settings of a stream, resolved. */
export interface StreamSettings {
  retentionHours: number;
  mode: StreamMode;
  /** Only with PROVISIONED. */
  shardCount?: number;
}

/** Stream defaults: 168 h, a week to notice a fault and replay; ON_DEMAND, which scales itself and needs no shard planning. */
export const KINESIS_STREAM_DEFAULTS: Required<Omit<StreamSettings, "shardCount">> = { retentionHours: 168, mode: "ON_DEMAND" };

/** Kinesis's own range of retention, in hours (1 to 365 days). */
export const RETENTION_HOURS = { min: 24, max: 8760 } as const;
/** Shards a PROVISIONED stream may have here (the API's per-stream limit is far above any account quota). */
export const SHARD_COUNT = { min: 1, max: 10_000 } as const;

/** The AWS-managed key: encryption at rest with nothing to administer, for a stream no other account reads. */
export const AWS_MANAGED_KINESIS_KEY = "alias/aws/kinesis";

/** How the component spells the three fields, for its messages. */
export interface StreamFieldNames {
  retentionHours: string;
  mode: string;
  shardCount: string;
}

/** Defaults applied and checked: retention in Kinesis's range, a known mode, shards exactly when PROVISIONED. */
export function resolveStream(check: ArgCheck, fields: StreamFieldNames, args: Partial<StreamSettings>): StreamSettings {
  const retentionHours = check.integer(
    fields.retentionHours,
    args.retentionHours ?? KINESIS_STREAM_DEFAULTS.retentionHours,
    RETENTION_HOURS.min,
    RETENTION_HOURS.max,
    " h",
  );
  const mode = check.oneOf(fields.mode, args.mode ?? KINESIS_STREAM_DEFAULTS.mode, STREAM_MODES);
  if (mode !== "PROVISIONED") {
    check.that(args.shardCount === undefined, `${fields.shardCount} applies only when ${fields.mode} is PROVISIONED, got ${args.shardCount} with ${mode}`);
    return { retentionHours, mode };
  }
  const shards = check.present(fields.shardCount, args.shardCount, `when ${fields.mode} is PROVISIONED (${SHARD_COUNT.min}–${SHARD_COUNT.max} shards)`);
  return { retentionHours, mode, shardCount: check.integer(fields.shardCount, shards, SHARD_COUNT.min, SHARD_COUNT.max) };
}

/**
 * Pulumi's `protect` on what holds events themselves (streams, archive and landing buckets, their keys): a
 * `pulumi destroy`, or an update that would delete or replace one, fails instead (unset it and deploy first). Tables
 * have DynamoDB's own deletion protection. Default true: a deleted stream takes every record within its retention.
 */
export const DATA_PROTECTION_DEFAULT = true;

/** The stream, encrypted at rest with `kmsKeyId` (an ARN or an alias). */
export function kinesisStream(name: string, s: StreamSettings, kmsKeyId: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): aws.kinesis.Stream {
  return new aws.kinesis.Stream(
    name,
    {
      encryptionType: "KMS",
      kmsKeyId,
      retentionPeriod: s.retentionHours,
      streamModeDetails: { streamMode: s.mode },
      shardCount: s.shardCount,
    },
    opts,
  );
}
