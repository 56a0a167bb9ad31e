/**
 * AnalyticsSink: the consumer account's side of the cross-account path. An
 * encrypted analytics stream the producer's bridge writes into, and its
 * landing in S3 through Firehose.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { policyJson, roleWithPolicy, Statement } from "./parts/iam";
import { sinkAlarms } from "./analyticsSink/alarms";
import { deliveryRole, deliveryStream, landingBucket } from "./analyticsSink/landing";
import { AnalyticsSinkArgs, resolveSinkSettings, SinkSettings } from "./analyticsSink/settings";
import { COMPONENT_TYPES } from "./parts/typeTokens";

export { AnalyticsSinkArgs, AnalyticsSinkLandingArgs } from "./analyticsSink/settings";

/**
 * The analytics stream, its customer-managed key, the bridge's write access
 * and the Firehose landing in S3.
 *
 * | Resource | Defaults |
 * |---|---|
 * | `aws.kms.Key` + `Alias` + `KeyPolicy` | rotation on, 30-day deletion window; consumer root administers, the writer may `GenerateDataKey`, Firehose may `Decrypt`/`GenerateDataKey` via Kinesis and S3 only |
 * | `aws.kinesis.Stream` | SSE-KMS with that key, 168 h retention, ON_DEMAND |
 * | `aws.iam.Role` (writer, assumeRole mode) | trusts the producer root only for `aws:PrincipalArn` = the bridge role and `sts:ExternalId`; `PutRecords` on the stream, `GenerateDataKey` on the key via Kinesis only |
 * | `aws.kinesis.ResourcePolicy` (resourcePolicy mode) | the bridge role may `PutRecords` |
 * | `aws.s3.Bucket` + configuration | SSE-KMS with bucket key, versioned, public access blocked, BucketOwnerEnforced, TLS-only; STANDARD_IA at 30 d, expiry at 400 d, errors at 30 d, noncurrent at 30 d, multipart aborted at 7 d |
 * | `aws.kinesis.FirehoseDeliveryStream` | from the stream, GZIP, newline-delimited, `events/year=/month=/day=/` and `errors/<type>/…` prefixes, 300 s / 64 MiB buffering, errors to its own log group (30 d) |
 * | `aws.cloudwatch.MetricAlarm` ×4 | landing freshness, landing failures, Firehose lag, write throttling |
 *
 * Outputs: `streamArn`, `streamName`, `keyArn`, `writerRoleArn` (undefined in
 * resourcePolicy mode), `bucketName`, `deliveryStreamArn`.
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

  constructor(name: string, args: AnalyticsSinkArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before registering anything: a bad arg fails with no half-built component.
    const settings = resolveSinkSettings(name, args);
    super(COMPONENT_TYPES.AnalyticsSink, name, {}, opts);
    const parent = { parent: this };
    const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
    const region = aws.getRegionOutput({}, parent).region;

    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `Analytics stream and landing of ${name}`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
      },
      parent,
    );
    new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${pulumi.getProject()}/${pulumi.getStack()}/${name}`, targetKeyId: key.keyId }, parent);

    const stream = new aws.kinesis.Stream(
      `${name}-stream`,
      {
        encryptionType: "KMS",
        kmsKeyId: key.arn,
        retentionPeriod: settings.retentionHours,
        streamModeDetails: { streamMode: settings.streamMode },
        shardCount: settings.shardCount,
      },
      parent,
    );

    const writer = writerAccess(name, settings, stream, key, region, this);
    const bucket = landingBucket(name, key, settings.landing, this);
    const delivery = { stream, key, bucket, accountId, region, landing: settings.landing };
    const firehoseRole = deliveryRole(name, delivery, this);

    // A separate KeyPolicy: the roles' policies name the key and the key's policy
    // names the roles, so one of them has to come after both exist.
    const keyPolicy = new aws.kms.KeyPolicy(
      `${name}-key-policy`,
      {
        keyId: key.keyId,
        policy: policyJson(keyStatements({ accountId, region, writer: writer.keyStatement, firehoseRoleArn: firehoseRole.role.arn })),
      },
      parent,
    );
    const firehose = deliveryStream(name, { ...delivery, ...firehoseRole }, this, [keyPolicy]);

    sinkAlarms(
      name,
      {
        streamName: stream.name,
        deliveryStreamName: firehose.name,
        bufferingIntervalSeconds: settings.landing.bufferingIntervalSeconds,
        alarmActions: args.alarmActions,
      },
      parent,
    );

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

/** The writing principal, as it appears in the key policy. */
interface WriterKeyStatement {
  Principal: { AWS: pulumi.Input<string> };
  Condition?: Record<string, Record<string, pulumi.Input<string>>>;
}

/** The bridge's write access for the mode, and how the key policy names the writer. */
function writerAccess(
  name: string,
  settings: SinkSettings,
  stream: aws.kinesis.Stream,
  key: aws.kms.Key,
  region: pulumi.Input<string>,
  parent: pulumi.Resource,
): { role?: aws.iam.Role; keyStatement: WriterKeyStatement } {
  const kinesisVia = pulumi.interpolate`kinesis.${region}.amazonaws.com`;
  // The producer root, narrowed to the bridge role by aws:PrincipalArn: an ARN
  // compared at request time, so it survives the role's replacement, and valid
  // before the bridge role exists (the consumer deploys first; a role ARN as
  // principal is rejected until the role exists, then pinned to its unique id).
  const bridgeOnly = { ArnEquals: { "aws:PrincipalArn": settings.bridgeRoleArn } };
  if (settings.accessMode === "assumeRole") {
    const role = roleWithPolicy(
      `${name}-writer`,
      {
        description: "Assumed by the producer's bridge to write the analytics stream",
        assumeRolePolicy: policyJson([
          {
            Principal: { AWS: settings.producerRoot },
            Action: "sts:AssumeRole",
            Condition: { ...bridgeOnly, StringEquals: { "sts:ExternalId": settings.externalId! } },
          },
        ]),
        statements: [
          // The bridge sends only PutRecords.
          { Sid: "PutAnalyticsRecords", Action: "kinesis:PutRecords", Resource: stream.arn },
          // Only through Kinesis: the writer cannot mint data keys for anything else.
          { Sid: "EncryptAnalyticsRecords", Action: "kms:GenerateDataKey", Resource: key.arn, Condition: { StringEquals: { "kms:ViaService": kinesisVia } } },
        ],
      },
      { parent },
    );
    return { role, keyStatement: { Principal: { AWS: role.arn } } };
  }
  new aws.kinesis.ResourcePolicy(
    `${name}-stream-policy`,
    {
      resourceArn: stream.arn,
      policy: policyJson([
        {
          Sid: "BridgePutsRecords",
          Principal: { AWS: settings.producerRoot },
          // PutRecords takes the stream ARN and needs no describe or list call, so
          // DescribeStreamSummary and ListShards are not granted; the bridge never sends PutRecord.
          Action: "kinesis:PutRecords",
          Resource: stream.arn,
          Condition: bridgeOnly,
        },
      ]),
    },
    { parent },
  );
  return { keyStatement: { Principal: { AWS: settings.producerRoot }, Condition: bridgeOnly } };
}

/** Inputs of {@link keyStatements}. */
interface KeyPolicyInputs {
  accountId: pulumi.Input<string>;
  region: pulumi.Input<string>;
  writer: WriterKeyStatement;
  firehoseRoleArn: pulumi.Input<string>;
}

/**
 * The key policy. `Resource: "*"` in a key policy means this key itself. The
 * root statement is the standard admin grant that keeps the key manageable
 * (and lets IAM policies in this account apply); the rest name each principal.
 */
function keyStatements(k: KeyPolicyInputs): Statement[] {
  const via = (service: string) => pulumi.interpolate`${service}.${k.region}.amazonaws.com`;
  return [
    { Sid: "ConsumerAccountAdministers", Principal: { AWS: pulumi.interpolate`arn:aws:iam::${k.accountId}:root` }, Action: "kms:*", Resource: "*" },
    {
      Sid: "WriterEncryptsRecords",
      Principal: k.writer.Principal,
      Action: "kms:GenerateDataKey",
      Resource: "*",
      Condition: { ...k.writer.Condition, StringEquals: { "kms:ViaService": via("kinesis") } },
    },
    {
      Sid: "FirehoseReadsStream",
      Principal: { AWS: k.firehoseRoleArn },
      Action: "kms:Decrypt",
      Resource: "*",
      Condition: { StringEquals: { "kms:ViaService": via("kinesis") } },
    },
    {
      Sid: "FirehoseWritesObjects",
      Principal: { AWS: k.firehoseRoleArn },
      Action: ["kms:GenerateDataKey", "kms:Decrypt"],
      Resource: "*",
      Condition: { StringEquals: { "kms:ViaService": via("s3") } },
    },
  ];
}
