/**
 * AnalyticsSink's landing: the analytics stream delivered by Firehose into an
 * encrypted, TLS-only, private S3 bucket with date-partitioned prefixes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { firehoseTrust, roleWithPolicy, viaKinesis, viaS3 } from "../parts/iam";
import { secureBucket } from "../buckets/secureBucket";
import { AnalyticsSinkLandingArgs } from "./settings";

/** Where landed events go: Hive-style date partitions Athena and Glue read as they are. */
export const EVENTS_PREFIX = "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/";
/** Records Firehose's processing (the newline delimiter) refused, by error type; an S3 put that fails is retried instead. */
export const ERRORS_PREFIX = "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/";
/** The log stream Firehose writes delivery errors to. */
export const DELIVERY_LOG_STREAM = "DestinationDelivery";

/** The landing bucket (components/buckets/secureBucket.ts) with the sink's key and the landing's lifecycle rules; only `writer` (Firehose's role) puts objects. */
export function landingBucket(
  name: string,
  key: aws.kms.Key,
  landing: Required<AnalyticsSinkLandingArgs>,
  protect: boolean,
  writer: pulumi.Input<string>,
  parent: pulumi.Resource,
): aws.s3.Bucket {
  return secureBucket(
    `${name}-landing`,
    {
      keyArn: key.arn,
      protect,
      writer,
      lifecycleRules: [
        {
          id: "landed-events",
          status: "Enabled",
          filter: { prefix: "events/" },
          transitions: [{ days: landing.transitionToInfrequentAccessDays, storageClass: "STANDARD_IA" }],
          expiration: { days: landing.expirationDays },
        },
        { id: "delivery-errors", status: "Enabled", filter: { prefix: "errors/" }, expiration: { days: landing.errorExpirationDays } },
        {
          id: "housekeeping",
          status: "Enabled",
          filter: {},
          abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
          noncurrentVersionExpiration: { noncurrentDays: landing.noncurrentVersionExpirationDays },
          // Expiring a current version leaves a delete marker; remove it once alone.
          expiration: { expiredObjectDeleteMarker: true },
        },
      ],
    },
    parent,
  );
}

/** What the Firehose delivery needs. */
export interface DeliveryArgs {
  stream: aws.kinesis.Stream;
  key: aws.kms.Key;
  bucket: aws.s3.Bucket;
  accountId: pulumi.Input<string>;
  region: pulumi.Input<string>;
  landing: Required<AnalyticsSinkLandingArgs>;
}

/** The Firehose role and its log group, created before the key policy that names the role. */
export interface DeliveryRole {
  role: aws.iam.Role;
  logGroup: aws.cloudwatch.LogGroup;
  logStream: aws.cloudwatch.LogStream;
}

/** Firehose's role: read the stream, write the bucket, use the key, log errors; nothing else. */
export function deliveryRole(name: string, args: DeliveryArgs, parent: pulumi.Resource): DeliveryRole {
  const logGroup = new aws.cloudwatch.LogGroup(`${name}-delivery-logs`, { retentionInDays: 30 }, { parent });
  const logStream = new aws.cloudwatch.LogStream(`${name}-delivery-log-stream`, { logGroupName: logGroup.name, name: DELIVERY_LOG_STREAM }, { parent });
  const role = roleWithPolicy(
    `${name}-delivery`,
    {
      description: "Firehose: analytics stream to the landing bucket",
      assumeRolePolicy: firehoseTrust(args.accountId),
      statements: [
        {
          Sid: "ReadAnalyticsStream",
          Action: ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"],
          Resource: args.stream.arn,
        },
        {
          Sid: "WriteLanding",
          Action: ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"],
          Resource: [args.bucket.arn, pulumi.interpolate`${args.bucket.arn}/*`],
        },
        // Decrypt records read from the stream; encrypt (and read back) objects written to S3. Nothing else.
        {
          Sid: "DecryptStreamRecords",
          Action: "kms:Decrypt",
          Resource: args.key.arn,
          Condition: viaKinesis(args.stream.arn),
        },
        {
          Sid: "EncryptLandedObjects",
          Action: ["kms:Decrypt", "kms:GenerateDataKey"],
          Resource: args.key.arn,
          Condition: viaS3(args.region, args.bucket.arn),
        },
        { Sid: "WriteDeliveryLogs", Action: "logs:PutLogEvents", Resource: pulumi.interpolate`${logGroup.arn}:log-stream:${logStream.name}` },
      ],
    },
    { parent },
  );
  return { role, logGroup, logStream };
}

/**
 * The delivery stream. `dependsOn` should hold the key policy: Firehose starts
 * reading as soon as it exists and needs kms:Decrypt from the first record.
 */
export function deliveryStream(
  name: string,
  args: DeliveryArgs & DeliveryRole,
  parent: pulumi.Resource,
  dependsOn: pulumi.Resource[],
): aws.kinesis.FirehoseDeliveryStream {
  return new aws.kinesis.FirehoseDeliveryStream(
    `${name}-delivery`,
    {
      destination: "extended_s3",
      kinesisSourceConfiguration: { kinesisStreamArn: args.stream.arn, roleArn: args.role.arn },
      extendedS3Configuration: {
        roleArn: args.role.arn,
        bucketArn: args.bucket.arn,
        prefix: EVENTS_PREFIX,
        errorOutputPrefix: ERRORS_PREFIX,
        bufferingInterval: args.landing.bufferingIntervalSeconds,
        bufferingSize: args.landing.bufferingSizeMb,
        compressionFormat: "GZIP",
        // Objects get SSE-KMS with the sink's key even if the bucket default changes.
        kmsKeyArn: args.key.arn,
        // Firehose concatenates records; a newline after each keeps objects JSON Lines.
        processingConfiguration: {
          enabled: true,
          processors: [{ type: "AppendDelimiterToRecord", parameters: [{ parameterName: "Delimiter", parameterValue: "\\n" }] }],
        },
        cloudwatchLoggingOptions: { enabled: true, logGroupName: args.logGroup.name, logStreamName: args.logStream.name },
      },
    },
    { parent, dependsOn },
  );
}
