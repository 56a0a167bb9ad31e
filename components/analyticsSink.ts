/**
 * AnalyticsSink: the consumer account's side of the cross-account path. An
 * encrypted analytics stream the producer's bridge writes into, and its
 * landing in S3 through Firehose.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AccessMode } from "../handlers/bridge/contract";
import { policyJson } from "./parts/iam";
import { kinesisStream } from "./parts/kinesisStream";
import { COMPONENT_TYPES } from "./parts/typeTokens";
import { keyStatements, writerAccess } from "./analyticsSink/access";
import { sinkAlarmSpecs, sinkThroughput } from "./analyticsSink/alarms";
import { createAlarms } from "./parts/alarms";
import type { Monitoring } from "./parts/dashboard";
import { deliveryRole, deliveryStream, landingBucket } from "./analyticsSink/landing";
import { AnalyticsSinkArgs, resolveSinkSettings, sinkPrincipals } from "./analyticsSink/settings";

export { AnalyticsSinkArgs, AnalyticsSinkLandingArgs } from "./analyticsSink/settings";

/**
 * The analytics stream, its customer-managed key, the bridge's write access
 * and the Firehose landing in S3.
 *
 * | Resource | Secure default |
 * |---|---|
 * | `aws.kms.Key` + `Alias` + `KeyPolicy` | rotation on, 30-day deletion window; consumer root administers, the writer may `GenerateDataKey`, Firehose may `Decrypt`/`GenerateDataKey` via Kinesis for the stream and via S3 for the landing bucket only |
 * | `aws.kinesis.Stream` | SSE-KMS with that key, 168 h retention, ON_DEMAND |
 * | Access | `assumeRole` (a writer role and ExternalId) unless `accessMode` says `resourcePolicy`; the bridge role named after `producerStack` (`event-pipeline-bridge` for "producer") unless `bridgeRoleName` says otherwise |
 * | `aws.iam.Role` (writer, assumeRole mode) | trusts the producer root only for `aws:PrincipalArn` = the bridge role and `sts:ExternalId`; `PutRecords` on the stream, `GenerateDataKey` on the key via Kinesis only |
 * | `aws.kinesis.ResourcePolicy` (resourcePolicy mode) | the bridge role may `PutRecords` |
 * | `aws.s3.Bucket` + configuration | SSE-KMS with bucket key, versioned, public access blocked, BucketOwnerEnforced, TLS-only; STANDARD_IA at 30 d, expiry at 400 d, errors at 30 d, noncurrent at 30 d, multipart aborted at 7 d |
 * | `aws.kinesis.FirehoseDeliveryStream` | from the stream, GZIP, newline-delimited, `events/year=/month=/day=/` and `errors/<type>/…` prefixes, 300 s / 64 MiB buffering, errors to its own log group (30 d) |
 * | `aws.cloudwatch.MetricAlarm` ×4 | landing freshness, landing failures, Firehose lag, write throttling |
 *
 * Outputs: `streamArn`, `streamName`, `keyArn`, `writerRoleArn` (undefined in
 * resourcePolicy mode), `bucketName`, `deliveryStreamArn`, and what the
 * producer's preflight compares with its own config: `accessMode`,
 * `bridgeRoleArn`, `region`.
 */
export class AnalyticsSink extends pulumi.ComponentResource {
  /** The analytics stream's ARN: what the bridge writes to. */
  public readonly streamArn: pulumi.Output<string>;
  /** The analytics stream's name. */
  public readonly streamName: pulumi.Output<string>;
  /** The stream's customer-managed key: writers need kms:GenerateDataKey on it. */
  public readonly keyArn: pulumi.Output<string>;
  /** The role the bridge assumes; undefined in resourcePolicy mode. */
  public readonly writerRoleArn: pulumi.Output<string | undefined>;
  /** The landing bucket's name. */
  public readonly bucketName: pulumi.Output<string>;
  /** The Firehose delivery stream's ARN. */
  public readonly deliveryStreamArn: pulumi.Output<string>;
  /** The access mode as applied: the producer's bridge must use the same. */
  public readonly accessMode: AccessMode;
  /** The bridge role ARN this sink lets write: the producer's bridge role must be exactly this. */
  public readonly bridgeRoleArn: pulumi.Output<string>;
  /** This stack's region: the analytics stream's, where the bridge must call. */
  public readonly region: pulumi.Output<string>;
  /** Its alarms. */
  public readonly alarms: aws.cloudwatch.MetricAlarm[];
  /** What the stack's dashboard shows of it (OperationsDashboard). */
  public readonly monitoring: Monitoring;

  constructor(name: string, args: AnalyticsSinkArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before registering anything: a bad arg fails with no half-built component.
    const settings = resolveSinkSettings(name, args);
    super(COMPONENT_TYPES.AnalyticsSink, name, {}, opts);
    const parent = { parent: this };
    const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
    const region = aws.getRegionOutput({}, parent).region;
    const partition = aws.getPartitionOutput({}, parent).partition;
    const principals = sinkPrincipals(settings, partition);

    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `Analytics stream and landing of ${name}`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
      },
      { ...parent, protect: settings.protect },
    );
    new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${pulumi.getProject()}/${pulumi.getStack()}/${name}`, targetKeyId: key.keyId }, parent);

    const stream = kinesisStream(`${name}-stream`, settings.stream, key.arn, { ...parent, protect: settings.protect });

    const writer = writerAccess(name, settings, principals, stream, key, this);
    // The bucket policy names the delivery role, whose policy names the bucket: the role's ARN is resolved once it exists.
    const [deliveryRoleArn, resolveDeliveryRoleArn] = pulumi.deferredOutput<string>();
    const bucket = landingBucket(name, key, settings.landing, settings.protect, deliveryRoleArn, this);
    const delivery = { stream, key, bucket, accountId, region, landing: settings.landing };
    const firehoseRole = deliveryRole(name, delivery, this);
    resolveDeliveryRoleArn(firehoseRole.role.arn);

    // A separate KeyPolicy: the roles' policies name the key and the key's policy
    // names the roles, so one of them has to come after both exist.
    const keyPolicy = new aws.kms.KeyPolicy(
      `${name}-key-policy`,
      {
        keyId: key.keyId,
        policy: policyJson(
          keyStatements({
            accountId,
            partition,
            region,
            writer: writer.keyStatement,
            firehoseRoleArn: firehoseRole.role.arn,
            streamArn: stream.arn,
            bucketArn: bucket.arn,
          }),
        ),
      },
      parent,
    );
    const firehose = deliveryStream(name, { ...delivery, ...firehoseRole }, this, [keyPolicy]);

    const watched = {
      streamName: stream.name,
      deliveryStreamName: firehose.name,
      bufferingIntervalSeconds: settings.landing.bufferingIntervalSeconds,
      silenceAlarmHours: settings.landing.silenceAlarmHours,
    };
    const alarms = createAlarms(sinkAlarmSpecs(name, watched), args.alarmActions, parent);
    this.alarms = alarms.map((a) => a.alarm);
    this.monitoring = { title: `${name} landing`, throughput: sinkThroughput(watched), alarms };

    this.accessMode = settings.accessMode;
    this.bridgeRoleArn = principals.bridgeRoleArn;
    this.region = region;
    this.streamArn = stream.arn;
    this.streamName = stream.name;
    this.keyArn = key.arn;
    this.writerRoleArn = writer.role ? writer.role.arn : pulumi.output(undefined);
    this.bucketName = bucket.bucket;
    this.deliveryStreamArn = firehose.arn;
    this.registerOutputs({
      streamArn: this.streamArn,
      streamName: this.streamName,
      keyArn: this.keyArn,
      writerRoleArn: this.writerRoleArn,
      bucketName: this.bucketName,
      deliveryStreamArn: this.deliveryStreamArn,
    });
  }
}
