/**
 * EventArchive: every record of the source stream kept in S3 for as long as
 * the bucket's rules say, not the stream's retention. An archiver Lambda
 * reads the stream through its own enhanced fan-out consumer (a dedicated
 * 2 MiB/s per shard, so the projector and the bridge keep the shared 2 MiB/s
 * between the two of them) and writes one object per shard per batch, keyed
 * by the positions it holds (handlers/archive/format.ts). The bucket is
 * KMS-encrypted with the archive's own key, versioned, private, TLS-only,
 * moves objects to a colder class, and can carry S3 Object Lock.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { archiverConfigFromEnv, createArchiver } from "../handlers/archive/archiver";
import { ARCHIVE_PREFIX } from "../handlers/archive/format";
import { s3Client } from "../handlers/shared/clients";
import { ENV } from "../handlers/shared/env";
import { METRIC } from "../handlers/observability/metrics";
import { ObjectLockSettings, secureBucket } from "./buckets/secureBucket";
import { functionSums } from "./parts/alarms";
import type { Monitoring } from "./parts/dashboard";
import { viaS3 } from "./parts/iam";
import { resolveFunction } from "./parts/lambdaDefaults";
import { streamConsumer } from "./parts/streamConsumer";
import { resolveMappingSettings } from "./parts/streamMapping";
import { COMPONENT_TYPES } from "./parts/typeTokens";
import { ArgCheck, withDefaults } from "./parts/validation";
import { DATA_PROTECTION_DEFAULT } from "./parts/kinesisStream";

/** The lifecycle classes an archive may move to: the ones GetObject reads without a restore, so a rebuild can always read them. */
export const ARCHIVE_STORAGE_CLASSES = ["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"] as const;
export type ArchiveStorageClass = (typeof ARCHIVE_STORAGE_CLASSES)[number];

/** Args of {@link EventArchive}. */
export interface EventArchiveArgs {
  /** The source stream, its retention (hours) and its customer-managed key, if any. */
  sourceStreamArn: pulumi.Input<string>;
  sourceRetentionHours: number;
  sourceKeyArn?: pulumi.Input<string> | pulumi.Input<string>[];
  /** Pulumi `protect` on the bucket and its key (DATA_PROTECTION_DEFAULT): beyond the stream's retention they are the only copy. Default true. */
  protect?: boolean;
  /** Colder class objects move to. Default GLACIER_IR: a quarter of STANDARD_IA's storage price, still read in milliseconds. */
  storageClass?: ArchiveStorageClass;
  /** Days before the move, 30–36500 (S3's minimum for the IA classes). Default 30. */
  transitionDays?: number;
  /**
   * S3 Object Lock default retention: no version can be deleted or overwritten away until it expires, by anyone (the
   * archiver's role included). Default none. On a new or an existing bucket alike (secureBucket); S3 never turns it off.
   */
  objectLock?: ObjectLockSettings;
  /** Days a replaced version (a redelivered batch's rewrite) is kept, 1–3650. Default 30. */
  noncurrentVersionDays?: number;
  /** Where alarms notify. */
  alarmActions?: pulumi.Input<string>[];
}

/** EventArchive's own defaults. */
export const EVENT_ARCHIVE_DEFAULTS = { storageClass: "GLACIER_IR" as ArchiveStorageClass, transitionDays: 30, noncurrentVersionDays: 30 };

/**
 * The archiver's mapping: large batches (fewer, bigger objects: S3 bills per PUT) and a minute's window. A batch given up
 * is a gap in the archive, so it retries 10,000 times for up to half the retention (the policy pack refuses unbounded
 * retries); one given up leaves an alarmed pointer, and `npm run rebuild -- --check-archive` names the gap while the
 * stream still holds it for the other half.
 */
export const ARCHIVER_MAPPING = {
  batchSize: 10_000,
  maximumBatchingWindowInSeconds: 60,
  maximumRetryAttempts: 10_000,
  parallelizationFactor: 1,
} as const;

/** Checks every arg; throws `EventArchive <name>: …` on the first bad one. */
export function resolveArchiveSettings(name: string, args: EventArchiveArgs) {
  const check = new ArgCheck("EventArchive", name);
  const s = withDefaults(EVENT_ARCHIVE_DEFAULTS, {
    storageClass: args.storageClass,
    transitionDays: args.transitionDays,
    noncurrentVersionDays: args.noncurrentVersionDays,
  });
  check.oneOf("storageClass", s.storageClass, ARCHIVE_STORAGE_CLASSES);
  check.integer("transitionDays", s.transitionDays, 30, 36_500, " days");
  check.integer("noncurrentVersionDays", s.noncurrentVersionDays, 1, 3650, " days");
  if (args.objectLock) {
    check.oneOf("objectLock.mode", args.objectLock.mode, ["GOVERNANCE", "COMPLIANCE"]);
    check.integer("objectLock.days", args.objectLock.days, 1, 36_500, " days");
  }
  const mapping = resolveMappingSettings(check, "mapping", ARCHIVER_MAPPING, args.sourceRetentionHours);
  const protect = check.flag("protect", args.protect, DATA_PROTECTION_DEFAULT);
  return { ...s, objectLock: args.objectLock, protect, mapping, sizing: resolveFunction(check, {}) };
}

/**
 * The event archive.
 *
 * | Resource | Secure default |
 * |---|---|
 * | KMS key | customer-managed, rotation on; the archiver encrypts through S3 only |
 * | Bucket | SSE-KMS (bucket key), versioned, public access blocked, owner-enforced, TLS-only; GLACIER_IR after 30 days; optional Object Lock |
 * | Stream consumer | enhanced fan-out: its own 2 MiB/s per shard |
 * | Archiver function + mapping | batch 10,000, window 60 s, 10,000 retries within half the retention, bisect, ReportBatchItemFailures; may only PutObject under `records/` |
 * | Alarms | iterator age, crashes, batch failures reported, on-failure queue depth |
 */
export class EventArchive extends pulumi.ComponentResource {
  public readonly bucket: aws.s3.Bucket;
  public readonly key: aws.kms.Key;
  public readonly consumer: aws.kinesis.StreamConsumer;
  public readonly archiver: aws.lambda.Function;
  public readonly archiverRole: aws.iam.Role;
  public readonly mapping: aws.lambda.EventSourceMapping;
  public readonly alarms: aws.cloudwatch.MetricAlarm[];
  /** The key prefix of the archive's objects. */
  public readonly prefix = ARCHIVE_PREFIX;
  public readonly monitoring: Monitoring;

  constructor(name: string, args: EventArchiveArgs, opts?: pulumi.ComponentResourceOptions) {
    const s = resolveArchiveSettings(name, args);
    super(COMPONENT_TYPES.EventArchive, name, {}, opts);
    const child = { parent: this };
    const data = { ...child, protect: s.protect };
    this.key = new aws.kms.Key(`${name}-key`, { description: "Event archive objects", enableKeyRotation: true, deletionWindowInDays: 30 }, data);
    // Only the archiver writes the archive; its role is made after the bucket, which its policy names.
    const [archiverRoleArn, resolveArchiverRoleArn] = pulumi.deferredOutput<string>();
    this.bucket = secureBucket(
      `${name}-bucket`,
      {
        keyArn: this.key.arn,
        writer: archiverRoleArn,
        objectLock: s.objectLock,
        protect: s.protect,
        lifecycleRules: [
          {
            id: "archived-records",
            status: "Enabled",
            filter: { prefix: ARCHIVE_PREFIX },
            transitions: [{ days: s.transitionDays, storageClass: s.storageClass }],
            // Never expires: the archive is the events' only copy once the stream has let them go.
            noncurrentVersionExpiration: { noncurrentDays: s.noncurrentVersionDays },
          },
          { id: "housekeeping", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
        ],
      },
      this,
    );
    this.consumer = new aws.kinesis.StreamConsumer(`${name}-consumer`, { name: `${name}-archiver`, streamArn: args.sourceStreamArn }, child);

    const archiver = streamConsumer(
      `${name}-archiver`,
      {
        description: "Archives every record of the source stream to S3",
        callbackFactory: () => createArchiver({ s3: s3Client(), config: archiverConfigFromEnv(process.env) }),
        sizing: s.sizing,
        environment: { [ENV.ARCHIVE_BUCKET]: this.bucket.bucket, [ENV.ARCHIVE_PREFIX]: ARCHIVE_PREFIX },
        statements: [
          { Sid: "WriteArchive", Action: "s3:PutObject", Resource: pulumi.interpolate`${this.bucket.arn}/${ARCHIVE_PREFIX}*` },
          {
            Sid: "EncryptArchive",
            Action: "kms:GenerateDataKey",
            Resource: this.key.arn,
            Condition: viaS3(aws.getRegionOutput({}, child).region, this.bucket.arn),
          },
        ],
        streamArn: args.sourceStreamArn,
        consumerArn: this.consumer.arn,
        streamKeyArn: args.sourceKeyArn,
        mapping: s.mapping,
        queueName: `${name}-archiver-failures`,
        mappingName: `${name}-archiver-mapping`,
        alarmActions: args.alarmActions,
        retentionHours: args.sourceRetentionHours,
      },
      child,
    );
    this.archiver = archiver.fn;
    this.archiverRole = archiver.role;
    resolveArchiverRoleArn(archiver.role.arn);
    this.mapping = archiver.mapping;
    this.alarms = archiver.alarms;
    this.monitoring = {
      title: `${name} archiver`,
      throughput: functionSums(archiver.fn, [
        [METRIC.recordsReceived, "records archived"],
        [METRIC.retries, "retries"],
      ]),
      alarms: archiver.watched,
    };
    this.registerOutputs({ bucketName: this.bucket.bucket, archiverName: this.archiver.name, consumerArn: this.consumer.arn });
  }
}
