/**
 * Data at rest: streams, tables, queues, buckets and Firehose deliveries are
 * encrypted, and tables can be recovered to a point in time.
 */
import type { ReportViolation, StackValidationArgs } from "@pulumi/policy";
import { TYPES } from "../../components/parts/typeTokens";
import { list, ofType, only, resourcePolicy, stackPolicy } from "./shared";

export const encryptedStreams = resourcePolicy({
  name: "kinesis-stream-encrypted",
  description: "Kinesis streams are encrypted at rest with KMS.",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.stream);
    if (args.props.encryptionType !== "KMS") report(`encryptionType is ${JSON.stringify(args.props.encryptionType ?? "NONE")}; set "KMS"`);
    else if (!args.props.kmsKeyId) report("encryptionType is KMS but no kmsKeyId is set");
  },
});

export const encryptedTables = resourcePolicy({
  name: "dynamodb-table-encrypted",
  description: "DynamoDB tables use KMS server-side encryption (serverSideEncryption.enabled).",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.table);
    if (args.props.serverSideEncryption?.enabled !== true) report("serverSideEncryption.enabled is not true");
  },
});

export const tablePitr = resourcePolicy({
  name: "dynamodb-point-in-time-recovery",
  description: "DynamoDB tables have point-in-time recovery on.",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.table);
    if (args.props.pointInTimeRecovery?.enabled !== true) report("pointInTimeRecovery.enabled is not true");
  },
});

export const encryptedQueues = resourcePolicy({
  name: "sqs-queue-encrypted",
  description: "SQS queues are encrypted at rest (SQS-managed SSE or a KMS key).",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.queue);
    if (args.props.sqsManagedSseEnabled !== true && !args.props.kmsMasterKeyId) report("neither sqsManagedSseEnabled nor kmsMasterKeyId is set");
  },
});

const KMS_SSE = ["aws:kms", "aws:kms:dsse"];

export const bucketSseKms = resourcePolicy({
  name: "s3-bucket-sse-kms",
  description: "S3 default encryption uses KMS (aws:kms or aws:kms:dsse), in the configuration resource or inline on the bucket.",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.bucketSse, TYPES.bucketSseV2, TYPES.bucket, TYPES.bucketV2);
    const rules =
      args.type === TYPES.bucketSse || args.type === TYPES.bucketSseV2
        ? list<any>(args.props.rules)
        : list<any>(args.props.serverSideEncryptionConfiguration?.rule ?? args.props.serverSideEncryptionConfigurations?.[0]?.rules);
    if ((args.type === TYPES.bucket || args.type === TYPES.bucketV2) && rules.length === 0) return; // checked by s3-bucket-encrypted (stack)
    if (rules.length === 0) report("no encryption rule");
    for (const r of rules) {
      const algorithm = r?.applyServerSideEncryptionByDefault?.sseAlgorithm;
      if (!KMS_SSE.includes(algorithm)) report(`sseAlgorithm is ${JSON.stringify(algorithm)}; use aws:kms with a customer-managed key`);
    }
  },
});

export const firehoseEncrypted = resourcePolicy({
  name: "firehose-s3-encrypted",
  description: "Firehose deliveries to S3 encrypt objects with a KMS key; Direct PUT streams also encrypt at rest.",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.firehose);
    const s3 = args.props.extendedS3Configuration;
    if (args.props.destination === "extended_s3" && !s3?.kmsKeyArn) report("extendedS3Configuration.kmsKeyArn is not set");
    // A stream fed by Kinesis is encrypted by its source; server-side encryption applies to Direct PUT only.
    if (!args.props.kinesisSourceConfiguration && !args.props.mskSourceConfiguration && args.props.serverSideEncryption?.enabled !== true) {
      report("a Direct PUT delivery stream needs serverSideEncryption.enabled");
    }
  },
});

export const bucketEncrypted = stackPolicy({
  name: "s3-bucket-encrypted",
  description: "Every S3 bucket has a KMS default-encryption configuration (a configuration resource naming it, or inline).",
  severity: "high",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const configs = ofType(args.resources, TYPES.bucketSse, TYPES.bucketSseV2);
    for (const bucket of ofType(args.resources, TYPES.bucket, TYPES.bucketV2)) {
      const ids = [bucket.props.bucket, bucket.props.id].filter(Boolean);
      const inline = bucket.props.serverSideEncryptionConfiguration?.rule ?? bucket.props.serverSideEncryptionConfigurations?.[0]?.rules;
      const configured = configs.some((c) => ids.includes(c.props.bucket) || (c.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn));
      if (!configured && !inline) report(`bucket ${bucket.name} has no server-side encryption configuration`, bucket.urn);
    }
  },
});
