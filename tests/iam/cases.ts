/**
 * The IAM case table: (principal, action, resource, context) → allowed or
 * denied, evaluated against the policies the program emits (see
 * tests/support/iamSimulation.ts for who and what each key stands for).
 *
 * Every case runs in each access mode it lists (both by default). A
 * cross-account denial may say which side refuses it (`deniedBy`): the
 * caller's identity policy, the consumer's resource/trust/key policy, or both.
 */
import type { AccessMode } from "../../handlers/bridge/contract";
import { CONSUMER, EXTERNAL_ID, IamRequest, PRODUCER, REGION, STRANGER, VIA } from "../support/iamSimulation";

export interface IamCase extends IamRequest {
  title: string;
  expect: "allow" | "deny";
  /** Access modes the case applies to; both when absent. */
  modes?: AccessMode[];
  /** For a cross-account denial: which side refuses. */
  deniedBy?: "identity" | "resource" | "both";
}

const BOTH: AccessMode[] = ["assumeRole", "resourcePolicy"];
const AR: AccessMode[] = ["assumeRole"];
const RP: AccessMode[] = ["resourcePolicy"];

const allow = (title: string, r: IamRequest, modes = BOTH): IamCase => ({ title, expect: "allow", modes, ...r });
const deny = (title: string, r: IamRequest, modes = BOTH, deniedBy?: IamCase["deniedBy"]): IamCase => ({ title, expect: "deny", modes, deniedBy, ...r });

/** A KMS call Kinesis makes for the analytics stream: its encryption context is the stream's ARN. */
const viaKinesis = { "kms:ViaService": VIA.kinesis, "kms:EncryptionContext:aws:kinesis:arn": "{analyticsStreamArn}" };
/** The same call for another stream of the consumer account encrypted with the same key. */
const viaOtherStream = {
  "kms:ViaService": VIA.kinesis,
  "kms:EncryptionContext:aws:kinesis:arn": `arn:aws:kinesis:${REGION}:${CONSUMER}:stream/another-stream`,
};
/** A KMS call S3 makes for an object of the landing bucket: with bucket keys its encryption context is the bucket's ARN. */
const viaS3 = { "kms:ViaService": VIA.s3, "kms:EncryptionContext:aws:s3:arn": "{landingBucketArn}" };
/** The same for an object written without a bucket key: the context is the object's ARN. */
const viaS3Object = { "kms:ViaService": VIA.s3, "kms:EncryptionContext:aws:s3:arn": "{landingBucketArn}/events/year=2025/month=01/day=01/x.gz" };
/** The same call for a bucket of the archive, and for another bucket encrypted with the same key. */
const viaArchive = { "kms:ViaService": VIA.s3, "kms:EncryptionContext:aws:s3:arn": "{archiveBucketArn}" };
const viaOtherBucket = { "kms:ViaService": VIA.s3, "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::acme-payroll" };
const rightId = { "sts:ExternalId": EXTERNAL_ID };
const callerInvokes = (resource: IamRequest["resource"]): IamRequest => ({ principal: "apiCaller", action: "execute-api:Invoke", resource });
const STREAM_READ = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"];

export const CASES: IamCase[] = [
  // ── Archiver: reads the stream through its consumer, only adds objects under records/ ──
  ...STREAM_READ.map((action) => allow(`archiver may ${action} on the source stream`, { principal: "archiver", action, resource: "sourceStream" })),
  allow("archiver may SubscribeToShard as its consumer", { principal: "archiver", action: "kinesis:SubscribeToShard", resource: "archiveConsumer" }),
  allow("archiver may DescribeStreamConsumer its consumer", { principal: "archiver", action: "kinesis:DescribeStreamConsumer", resource: "archiveConsumer" }),
  allow("archiver may send failure pointers to its on-failure queue", { principal: "archiver", action: "sqs:SendMessage", resource: "archiverQueue" }),
  allow("archiver may create a log stream in its log group", { principal: "archiver", action: "logs:CreateLogStream", resource: "archiverLogStream" }),
  allow("archiver may write its logs", { principal: "archiver", action: "logs:PutLogEvents", resource: "archiverLogStream" }),
  deny("archiver may not send to the projector's on-failure queue", { principal: "archiver", action: "sqs:SendMessage", resource: "projectorQueue" }),
  allow("archiver may PutObject under records/", { principal: "archiver", action: "s3:PutObject", resource: "archiveObject" }),
  allow("archiver may GenerateDataKey on the archive key through S3", {
    principal: "archiver",
    action: "kms:GenerateDataKey",
    resource: "archiveKey",
    context: viaArchive,
  }),
  deny("archiver may not GenerateDataKey on the archive key for another bucket", {
    principal: "archiver",
    action: "kms:GenerateDataKey",
    resource: "archiveKey",
    context: viaOtherBucket,
  }),
  deny("archiver may not GenerateDataKey on the archive key outside S3", { principal: "archiver", action: "kms:GenerateDataKey", resource: "archiveKey" }),
  deny("archiver may not Decrypt with the archive key", { principal: "archiver", action: "kms:Decrypt", resource: "archiveKey", context: viaArchive }),
  deny("archiver may not GetObject from the archive", { principal: "archiver", action: "s3:GetObject", resource: "archiveObject" }),
  deny("archiver may not DeleteObject in the archive", { principal: "archiver", action: "s3:DeleteObject", resource: "archiveObject" }),
  deny("archiver may not PutObject outside records/", { principal: "archiver", action: "s3:PutObject", resource: "archiveOtherObject" }),
  deny("archiver may not PutObject in another bucket", { principal: "archiver", action: "s3:PutObject", resource: "otherBucketObject" }),
  deny("archiver may not PutRecord on the source stream", { principal: "archiver", action: "kinesis:PutRecord", resource: "sourceStream" }),
  deny("archiver may not PutItem on the read model", { principal: "archiver", action: "dynamodb:PutItem", resource: "readModelTable" }),
  deny("archiver may not read another stream", { principal: "archiver", action: "kinesis:GetRecords", resource: "otherStream" }),
  deny("projector may not PutObject in the archive", { principal: "projector", action: "s3:PutObject", resource: "archiveObject" }),
  // The archive's bucket policy: only the archiver's role puts objects, whatever another principal's own policy allows.
  deny("a producer administrator may not PutObject in the archive", { principal: "producerAdmin", action: "s3:PutObject", resource: "archiveObject" }),
  allow("a producer administrator may still read the archive", { principal: "producerAdmin", action: "s3:GetObject", resource: "archiveObject" }),
  deny("bridge may not GetObject from the archive", { principal: "bridge", action: "s3:GetObject", resource: "archiveObject" }),
  deny("the API may not DeleteObject in the archive", { principal: "api", action: "s3:DeleteObject", resource: "archiveObject" }),
  // ── Projector: reads its stream, writes its read model and parked table ──
  ...STREAM_READ.map((action) => allow(`projector may ${action} on the source stream`, { principal: "projector", action, resource: "sourceStream" })),
  ...["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem"].map((action) =>
    allow(`projector may ${action} on the read-model table`, { principal: "projector", action, resource: "readModelTable" }),
  ),
  allow("projector may BatchWriteItem on its parked table", { principal: "projector", action: "dynamodb:BatchWriteItem", resource: "parkedTable" }),
  deny("projector may not PutItem on its parked table (parking is batched)", { principal: "projector", action: "dynamodb:PutItem", resource: "parkedTable" }),
  allow("projector may send failure pointers to its on-failure queue", { principal: "projector", action: "sqs:SendMessage", resource: "projectorQueue" }),
  allow("projector may create a log stream in its log group", { principal: "projector", action: "logs:CreateLogStream", resource: "projectorLogStream" }),
  allow("projector may write its logs", { principal: "projector", action: "logs:PutLogEvents", resource: "projectorLogStream" }),

  deny("projector may not PutItem on another table of the account", { principal: "projector", action: "dynamodb:PutItem", resource: "otherTable" }),
  deny("projector may not PutItem on the bridge's parked table", { principal: "projector", action: "dynamodb:PutItem", resource: "bridgeParkedTable" }),
  ...[
    "dynamodb:DeleteItem",
    "dynamodb:Scan",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
  ].map((action) => deny(`projector may not ${action} on the read-model table`, { principal: "projector", action, resource: "readModelTable" })),
  ...["dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:GetItem"].map((action) =>
    deny(`projector may not ${action} on its parked table`, { principal: "projector", action, resource: "parkedTable" }),
  ),
  deny("projector may not PutRecord on the source stream", { principal: "projector", action: "kinesis:PutRecord", resource: "sourceStream" }),
  deny("projector may not PutRecords on the source stream", { principal: "projector", action: "kinesis:PutRecords", resource: "sourceStream" }),
  deny("projector may not DeleteStream on the source stream", { principal: "projector", action: "kinesis:DeleteStream", resource: "sourceStream" }),
  deny("projector may not read another stream", { principal: "projector", action: "kinesis:GetRecords", resource: "otherStream" }),
  deny("projector may not send to the bridge's on-failure queue", { principal: "projector", action: "sqs:SendMessage", resource: "bridgeQueue" }),
  deny("projector may not receive from its own on-failure queue", { principal: "projector", action: "sqs:ReceiveMessage", resource: "projectorQueue" }),
  deny("projector may not send to another queue", { principal: "projector", action: "sqs:SendMessage", resource: "otherQueue" }),
  deny("projector may not write the API's logs", { principal: "projector", action: "logs:PutLogEvents", resource: "apiLogStream" }),
  deny("projector may not read an S3 object", { principal: "projector", action: "s3:GetObject", resource: "otherBucketObject" }),
  deny("projector may not decrypt with a KMS key", { principal: "projector", action: "kms:Decrypt", resource: "otherKey" }),
  deny("projector may not change its own role's policy", { principal: "projector", action: "iam:PutRolePolicy", resource: "projectorRole" }),
  deny("projector may not pass the bridge role", { principal: "projector", action: "iam:PassRole", resource: "bridgeRole" }),
  deny(
    "projector may not PutRecords on the analytics stream",
    { principal: "projector", action: "kinesis:PutRecords", resource: "analyticsStream" },
    BOTH,
    "both",
  ),
  deny(
    "projector may not assume the writer role, even with the ExternalId",
    { principal: "projector", action: "sts:AssumeRole", resource: "writerRole", context: rightId },
    AR,
    "both",
  ),

  // ── Command API: appends to the stream, reads the read model ──
  allow("API may PutRecord on the source stream", { principal: "api", action: "kinesis:PutRecord", resource: "sourceStream" }),
  allow("API may GetItem on the read-model table", { principal: "api", action: "dynamodb:GetItem", resource: "readModelTable" }),
  allow("API may create a log stream in its log group", { principal: "api", action: "logs:CreateLogStream", resource: "apiLogStream" }),
  allow("API may write its logs", { principal: "api", action: "logs:PutLogEvents", resource: "apiLogStream" }),

  deny("API may not PutRecords (batch) on the source stream", { principal: "api", action: "kinesis:PutRecords", resource: "sourceStream" }),
  ...STREAM_READ.map((action) => deny(`API may not ${action} on the source stream`, { principal: "api", action, resource: "sourceStream" })),
  deny("API may not PutRecord on another stream", { principal: "api", action: "kinesis:PutRecord", resource: "otherStream" }),
  ...["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem"].map((action) =>
    deny(`API may not ${action} on the read-model table`, { principal: "api", action, resource: "readModelTable" }),
  ),
  deny("API may not read the parked table", { principal: "api", action: "dynamodb:GetItem", resource: "parkedTable" }),
  deny("API may not scan the parked table", { principal: "api", action: "dynamodb:Scan", resource: "parkedTable" }),
  deny("API may not read the bridge's parked table", { principal: "api", action: "dynamodb:GetItem", resource: "bridgeParkedTable" }),
  deny("API may not read another table", { principal: "api", action: "dynamodb:GetItem", resource: "otherTable" }),
  deny("API may not send to an on-failure queue", { principal: "api", action: "sqs:SendMessage", resource: "projectorQueue" }),
  deny("API may not write the projector's logs", { principal: "api", action: "logs:PutLogEvents", resource: "projectorLogStream" }),
  deny("API may not read an S3 object", { principal: "api", action: "s3:GetObject", resource: "otherBucketObject" }),
  deny("API may not change its own role's policy", { principal: "api", action: "iam:PutRolePolicy", resource: "apiRole" }),
  deny("API may not PutRecords on the analytics stream", { principal: "api", action: "kinesis:PutRecords", resource: "analyticsStream" }, BOTH, "both"),
  deny(
    "API may not generate data keys with the analytics key",
    { principal: "api", action: "kms:GenerateDataKey", resource: "analyticsKey", context: viaKinesis },
    BOTH,
    "both",
  ),
  deny(
    "API may not assume the writer role, even with the ExternalId",
    { principal: "api", action: "sts:AssumeRole", resource: "writerRole", context: rightId },
    AR,
    "both",
  ),

  // ── Bridge: reads the source, parks poison, reaches the analytics stream ──
  ...STREAM_READ.map((action) => allow(`bridge may ${action} on the source stream`, { principal: "bridge", action, resource: "sourceStream" })),
  allow("bridge may BatchWriteItem on its parked table", { principal: "bridge", action: "dynamodb:BatchWriteItem", resource: "bridgeParkedTable" }),
  deny("bridge may not PutItem on its parked table (parking is batched)", { principal: "bridge", action: "dynamodb:PutItem", resource: "bridgeParkedTable" }),
  allow("bridge may PutItem on its forwarded-ids table (claims of key-derived ids)", {
    principal: "bridge",
    action: "dynamodb:PutItem",
    resource: "bridgeForwardedTable",
  }),
  deny("bridge may not read its forwarded-ids table", { principal: "bridge", action: "dynamodb:GetItem", resource: "bridgeForwardedTable" }),
  deny("API may not write the bridge's forwarded-ids table", { principal: "api", action: "dynamodb:PutItem", resource: "bridgeForwardedTable" }),
  allow("bridge may send failure pointers to its on-failure queue", { principal: "bridge", action: "sqs:SendMessage", resource: "bridgeQueue" }),
  allow("bridge may create a log stream in its log group", { principal: "bridge", action: "logs:CreateLogStream", resource: "bridgeLogStream" }),
  allow("bridge may write its logs", { principal: "bridge", action: "logs:PutLogEvents", resource: "bridgeLogStream" }),
  allow(
    "bridge may assume the writer role with the right ExternalId",
    { principal: "bridge", action: "sts:AssumeRole", resource: "writerRole", context: rightId },
    AR,
  ),
  allow(
    "bridge may PutRecords on the analytics stream (stream resource policy)",
    { principal: "bridge", action: "kinesis:PutRecords", resource: "analyticsStream" },
    RP,
  ),
  deny(
    "bridge may not PutRecord (singular) on the analytics stream: it only sends PutRecords",
    { principal: "bridge", action: "kinesis:PutRecord", resource: "analyticsStream" },
    RP,
  ),
  allow(
    "bridge may generate data keys with the analytics key via Kinesis",
    { principal: "bridge", action: "kms:GenerateDataKey", resource: "analyticsKey", context: viaKinesis },
    RP,
  ),

  deny(
    "bridge may not assume the writer role with a wrong ExternalId",
    { principal: "bridge", action: "sts:AssumeRole", resource: "writerRole", context: { "sts:ExternalId": "guessed" } },
    AR,
    "resource",
  ),
  deny(
    "bridge may not assume the writer role without an ExternalId",
    { principal: "bridge", action: "sts:AssumeRole", resource: "writerRole" },
    AR,
    "resource",
  ),
  deny(
    "bridge may not assume the writer role with the ExternalId in another case",
    { principal: "bridge", action: "sts:AssumeRole", resource: "writerRole", context: { "sts:ExternalId": EXTERNAL_ID.toUpperCase() } },
    AR,
    "resource",
  ),
  deny(
    "bridge may not assume another role of the consumer account",
    { principal: "bridge", action: "sts:AssumeRole", resource: "otherRole", context: rightId },
    BOTH,
    "both",
  ),
  deny("bridge may not assume the Firehose role", { principal: "bridge", action: "sts:AssumeRole", resource: "firehoseRole", context: rightId }, BOTH, "both"),
  deny(
    "bridge may not PutRecords on the analytics stream itself (only as the writer)",
    { principal: "bridge", action: "kinesis:PutRecords", resource: "analyticsStream" },
    AR,
    "both",
  ),
  deny(
    "bridge may not generate data keys itself (only as the writer)",
    { principal: "bridge", action: "kms:GenerateDataKey", resource: "analyticsKey", context: viaKinesis },
    AR,
    "both",
  ),
  deny("bridge may not generate data keys outside Kinesis", { principal: "bridge", action: "kms:GenerateDataKey", resource: "analyticsKey" }, RP, "both"),
  deny(
    "bridge may not generate data keys via S3",
    { principal: "bridge", action: "kms:GenerateDataKey", resource: "analyticsKey", context: viaS3 },
    RP,
    "both",
  ),
  deny(
    "bridge may not generate data keys for another stream through Kinesis",
    { principal: "bridge", action: "kms:GenerateDataKey", resource: "analyticsKey", context: viaOtherStream },
    RP,
    "both",
  ),
  deny(
    "bridge may not decrypt with the analytics key",
    { principal: "bridge", action: "kms:Decrypt", resource: "analyticsKey", context: viaKinesis },
    BOTH,
    "both",
  ),
  deny("bridge may not read the analytics stream", { principal: "bridge", action: "kinesis:GetRecords", resource: "analyticsStream" }, BOTH, "both"),
  deny(
    "bridge may not describe the analytics stream",
    { principal: "bridge", action: "kinesis:DescribeStreamSummary", resource: "analyticsStream" },
    BOTH,
    "both",
  ),
  deny("bridge may not write the landing bucket", { principal: "bridge", action: "s3:PutObject", resource: "landingObject" }, BOTH, "both"),
  deny("bridge may not PutRecord on the source stream", { principal: "bridge", action: "kinesis:PutRecord", resource: "sourceStream" }),
  deny("bridge may not PutItem on the read-model table", { principal: "bridge", action: "dynamodb:PutItem", resource: "readModelTable" }),
  deny("bridge may not GetItem on the read-model table", { principal: "bridge", action: "dynamodb:GetItem", resource: "readModelTable" }),
  deny("bridge may not PutItem on the projector's parked table", { principal: "bridge", action: "dynamodb:PutItem", resource: "parkedTable" }),
  deny("bridge may not Scan its parked table", { principal: "bridge", action: "dynamodb:Scan", resource: "bridgeParkedTable" }),
  deny("bridge may not DeleteItem on its parked table", { principal: "bridge", action: "dynamodb:DeleteItem", resource: "bridgeParkedTable" }),
  deny("bridge may not send to the projector's on-failure queue", { principal: "bridge", action: "sqs:SendMessage", resource: "projectorQueue" }),
  deny("bridge may not change its own role's policy", { principal: "bridge", action: "iam:PutRolePolicy", resource: "bridgeRole" }),
  deny("bridge may not decrypt with another KMS key", { principal: "bridge", action: "kms:Decrypt", resource: "otherKey" }),

  // ── Writer role (assumeRole mode): writes the analytics stream, nothing else ──
  allow("writer may PutRecords on the analytics stream", { principal: "writer", action: "kinesis:PutRecords", resource: "analyticsStream" }, AR),
  deny(
    "writer may not PutRecord (singular): the bridge only sends PutRecords",
    { principal: "writer", action: "kinesis:PutRecord", resource: "analyticsStream" },
    AR,
  ),
  deny("writer may not generate data keys outside Kinesis", { principal: "writer", action: "kms:GenerateDataKey", resource: "analyticsKey" }, AR),
  deny(
    "writer may not generate data keys for another stream through Kinesis",
    { principal: "writer", action: "kms:GenerateDataKey", resource: "analyticsKey", context: viaOtherStream },
    AR,
  ),
  deny("writer may not generate data keys via S3", { principal: "writer", action: "kms:GenerateDataKey", resource: "analyticsKey", context: viaS3 }, AR),
  allow(
    "writer may generate data keys with the analytics key via Kinesis",
    { principal: "writer", action: "kms:GenerateDataKey", resource: "analyticsKey", context: viaKinesis },
    AR,
  ),
  deny(
    "writer may not decrypt with the analytics key via Kinesis",
    { principal: "writer", action: "kms:Decrypt", resource: "analyticsKey", context: viaKinesis },
    AR,
  ),
  deny("writer may not decrypt with the analytics key via S3", { principal: "writer", action: "kms:Decrypt", resource: "analyticsKey", context: viaS3 }, AR),
  deny(
    "writer may not re-encrypt with the analytics key",
    { principal: "writer", action: "kms:ReEncryptFrom", resource: "analyticsKey", context: viaKinesis },
    AR,
  ),
  deny("writer may not change the analytics key's policy", { principal: "writer", action: "kms:PutKeyPolicy", resource: "analyticsKey" }, AR),
  ...STREAM_READ.map((action) => deny(`writer may not ${action} on the analytics stream`, { principal: "writer", action, resource: "analyticsStream" }, AR)),
  deny("writer may not delete the analytics stream", { principal: "writer", action: "kinesis:DeleteStream", resource: "analyticsStream" }, AR),
  deny("writer may not read the landing bucket", { principal: "writer", action: "s3:GetObject", resource: "landingObject" }, AR),
  deny("writer may not write the landing bucket", { principal: "writer", action: "s3:PutObject", resource: "landingObject" }, AR),
  // The landing's bucket policy: only Firehose's role puts objects, whatever another principal's own policy allows.
  deny("a consumer administrator may not PutObject in the landing", { principal: "consumerAdmin", action: "s3:PutObject", resource: "landingObject" }, BOTH),
  allow("a consumer administrator may still read the landing", { principal: "consumerAdmin", action: "s3:GetObject", resource: "landingObject" }, BOTH),
  deny("writer may not write the Firehose log stream", { principal: "writer", action: "logs:PutLogEvents", resource: "deliveryLogStream" }, AR),
  deny("writer may not assume the Firehose role", { principal: "writer", action: "sts:AssumeRole", resource: "firehoseRole" }, AR),
  deny("writer may not change its own role's policy", { principal: "writer", action: "iam:PutRolePolicy", resource: "writerRole" }, AR),
  deny(
    "writer may not PutRecords on the producer's source stream",
    { principal: "writer", action: "kinesis:PutRecords", resource: "sourceStream" },
    AR,
    "both",
  ),

  // ── Writer role's trust: the bridge role with the ExternalId, nobody else ──
  deny(
    "an administrator role of the producer account may not assume the writer role, even with the ExternalId",
    { principal: "producerAdmin", action: "sts:AssumeRole", resource: "writerRole", context: rightId },
    AR,
    "resource",
  ),
  deny(
    `a role named like the bridge in another account (${STRANGER}) may not assume the writer role`,
    { principal: "stranger", action: "sts:AssumeRole", resource: "writerRole", context: rightId },
    AR,
    "resource",
  ),
  deny(
    "an administrator role of the consumer account may not assume the writer role",
    { principal: "consumerAdmin", action: "sts:AssumeRole", resource: "writerRole", context: rightId },
    AR,
  ),
  deny(
    "the Lambda service may not assume the writer role",
    { principal: "lambdaService", action: "sts:AssumeRole", resource: "writerRole", context: rightId },
    AR,
  ),

  // ── Functions' execution roles: assumable by Lambda only ──
  allow("Lambda may assume the projector role", { principal: "lambdaService", action: "sts:AssumeRole", resource: "projectorRole" }),
  allow("Lambda may assume the API role", { principal: "lambdaService", action: "sts:AssumeRole", resource: "apiRole" }),
  allow("Lambda may assume the bridge role", { principal: "lambdaService", action: "sts:AssumeRole", resource: "bridgeRole" }),
  deny("Firehose may not assume the bridge role", { principal: "firehoseService", action: "sts:AssumeRole", resource: "bridgeRole" }),
  deny("an administrator role of the producer account may not assume the bridge role", {
    principal: "producerAdmin",
    action: "sts:AssumeRole",
    resource: "bridgeRole",
  }),
  deny(
    "a role of another account may not assume the bridge role",
    { principal: "stranger", action: "sts:AssumeRole", resource: "bridgeRole" },
    BOTH,
    "resource",
  ),
  deny("an administrator role of the producer account may not assume the projector role", {
    principal: "producerAdmin",
    action: "sts:AssumeRole",
    resource: "projectorRole",
  }),

  // ── Firehose: reads the analytics stream, lands into S3, through the key ──
  allow("Firehose may assume its role on behalf of the consumer account", {
    principal: "firehoseService",
    action: "sts:AssumeRole",
    resource: "firehoseRole",
    context: { "sts:ExternalId": CONSUMER },
  }),
  deny("Firehose may not assume its role on behalf of another account (confused deputy)", {
    principal: "firehoseService",
    action: "sts:AssumeRole",
    resource: "firehoseRole",
    context: { "sts:ExternalId": STRANGER },
  }),
  deny("Lambda may not assume the Firehose role", {
    principal: "lambdaService",
    action: "sts:AssumeRole",
    resource: "firehoseRole",
    context: { "sts:ExternalId": CONSUMER },
  }),
  ...STREAM_READ.map((action) => allow(`Firehose role may ${action} on the analytics stream`, { principal: "firehose", action, resource: "analyticsStream" })),
  allow("Firehose role may decrypt stream records via Kinesis", {
    principal: "firehose",
    action: "kms:Decrypt",
    resource: "analyticsKey",
    context: viaKinesis,
  }),
  allow("Firehose role may generate data keys via S3", { principal: "firehose", action: "kms:GenerateDataKey", resource: "analyticsKey", context: viaS3 }),
  allow("Firehose role may decrypt via S3 (multipart uploads)", { principal: "firehose", action: "kms:Decrypt", resource: "analyticsKey", context: viaS3 }),
  allow("Firehose role may generate data keys for a landing object without a bucket key", {
    principal: "firehose",
    action: "kms:GenerateDataKey",
    resource: "analyticsKey",
    context: viaS3Object,
  }),
  ...["kms:GenerateDataKey", "kms:Decrypt"].map((action) =>
    deny(`Firehose role may not ${action} via S3 for another bucket`, { principal: "firehose", action, resource: "analyticsKey", context: viaOtherBucket }),
  ),
  ...["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"].map((action) =>
    allow(`Firehose role may ${action} in the landing bucket over TLS`, { principal: "firehose", action, resource: "landingObject" }),
  ),
  ...["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"].map((action) =>
    allow(`Firehose role may ${action} on the landing bucket`, { principal: "firehose", action, resource: "landingBucket" }),
  ),
  allow("Firehose role may write its delivery log stream", { principal: "firehose", action: "logs:PutLogEvents", resource: "deliveryLogStream" }),
  deny("Firehose role may not put objects over plain HTTP (TLS-only bucket policy)", {
    principal: "firehose",
    action: "s3:PutObject",
    resource: "landingObject",
    context: { "aws:SecureTransport": "false" },
  }),
  deny("Firehose role may not generate data keys via Kinesis", {
    principal: "firehose",
    action: "kms:GenerateDataKey",
    resource: "analyticsKey",
    context: viaKinesis,
  }),
  deny("Firehose role may not decrypt another stream's records through Kinesis", {
    principal: "firehose",
    action: "kms:Decrypt",
    resource: "analyticsKey",
    context: viaOtherStream,
  }),
  deny("Firehose role may not decrypt outside Kinesis and S3", { principal: "firehose", action: "kms:Decrypt", resource: "analyticsKey" }),
  deny("Firehose role may not decrypt via SQS", {
    principal: "firehose",
    action: "kms:Decrypt",
    resource: "analyticsKey",
    context: { "kms:ViaService": VIA.sqs },
  }),
  deny("Firehose role may not schedule the key's deletion", { principal: "firehose", action: "kms:ScheduleKeyDeletion", resource: "analyticsKey" }),
  deny("Firehose role may not delete landed objects", { principal: "firehose", action: "s3:DeleteObject", resource: "landingObject" }),
  deny("Firehose role may not change the bucket policy", { principal: "firehose", action: "s3:PutBucketPolicy", resource: "landingBucket" }),
  deny("Firehose role may not write the analytics stream", { principal: "firehose", action: "kinesis:PutRecords", resource: "analyticsStream" }),
  deny("Firehose role may not read another S3 object", { principal: "firehose", action: "s3:GetObject", resource: "otherBucketObject" }, BOTH, "both"),

  // ── The analytics key: outsiders get nothing ──
  deny(
    "a role of another account may not decrypt with the analytics key",
    { principal: "stranger", action: "kms:Decrypt", resource: "analyticsKey", context: viaKinesis },
    BOTH,
    "resource",
  ),
  deny(
    "a role of another account may not generate data keys with the analytics key",
    { principal: "stranger", action: "kms:GenerateDataKey", resource: "analyticsKey", context: viaKinesis },
    BOTH,
    "resource",
  ),
  deny(
    "an administrator role of the producer account may not generate data keys with the analytics key",
    { principal: "producerAdmin", action: "kms:GenerateDataKey", resource: "analyticsKey", context: viaKinesis },
    BOTH,
    "resource",
  ),
  deny(
    "an administrator role of the producer account may not decrypt with the analytics key",
    { principal: "producerAdmin", action: "kms:Decrypt", resource: "analyticsKey", context: viaKinesis },
    BOTH,
    "resource",
  ),
  deny(
    "an administrator role of the producer account may not describe the analytics key",
    { principal: "producerAdmin", action: "kms:DescribeKey", resource: "analyticsKey" },
    BOTH,
    "resource",
  ),
  allow("the consumer account's own administrators keep control of the key (root statement)", {
    principal: "consumerAdmin",
    action: "kms:PutKeyPolicy",
    resource: "analyticsKey",
  }),

  // ── The analytics stream's resource policy: the bridge role and nobody else ──
  deny(
    "an administrator role of the producer account may not PutRecords on the analytics stream",
    { principal: "producerAdmin", action: "kinesis:PutRecords", resource: "analyticsStream" },
    BOTH,
    "resource",
  ),
  deny(
    "an administrator role of the producer account may not PutRecord on the analytics stream",
    { principal: "producerAdmin", action: "kinesis:PutRecord", resource: "analyticsStream" },
    BOTH,
    "resource",
  ),
  deny(
    "a role named like the bridge in another account may not PutRecords on the analytics stream",
    { principal: "stranger", action: "kinesis:PutRecords", resource: "analyticsStream" },
    BOTH,
    "resource",
  ),
  deny(
    "an administrator role of the producer account may not read the analytics stream",
    { principal: "producerAdmin", action: "kinesis:GetRecords", resource: "analyticsStream" },
    BOTH,
    "resource",
  ),
  deny(
    "an administrator role of the producer account may not read the landing bucket",
    { principal: "producerAdmin", action: "s3:GetObject", resource: "landingObject" },
    BOTH,
    "resource",
  ),

  // ── Callers of the command API (apiAuth iam): the README's caller policy over the exported route ARNs ──
  allow("a granted caller may invoke POST /aggregates/{id}/events", callerInvokes("apiPostRoute")),
  allow("a granted caller may invoke GET /aggregates/{id}", callerInvokes("apiGetRoute")),
  deny("a granted caller may not invoke a method the API does not declare (DELETE)", callerInvokes("apiDeleteRoute")),
  deny("a granted caller may not invoke another stage of the API", callerInvokes("apiOtherStageRoute")),
  deny("a granted caller may not invoke paths only $default answers", callerInvokes("apiDefaultRoute")),
  deny("a granted caller may not invoke another API of the account", callerInvokes("otherApiRoute")),
  deny("a granted caller may not manage the API's invocations otherwise (InvalidateCache)", {
    ...callerInvokes("apiPostRoute"),
    action: "execute-api:InvalidateCache",
  }),
  ...(["projector", "api", "bridge"] as const).map((principal) =>
    deny(`the ${principal} function's role may not invoke the command API`, { principal, action: "execute-api:Invoke", resource: "apiPostRoute" }),
  ),
  deny(
    "a role in another account may not invoke the API, even with * in its own policy (HTTP APIs take no resource policy)",
    { principal: "stranger", action: "execute-api:Invoke", resource: "apiPostRoute" },
    BOTH,
    "resource",
  ),

  // ── The API function's invoke permission ──
  allow("API Gateway may invoke the function from this API", {
    principal: "apigatewayService",
    action: "lambda:InvokeFunction",
    resource: "apiFunction",
    context: { "aws:SourceArn": "{apiExecutionArn}/$default/POST/aggregates/o-1/events", "aws:SourceAccount": PRODUCER },
  }),
  deny("API Gateway may not invoke the function from another API", {
    principal: "apigatewayService",
    action: "lambda:InvokeFunction",
    resource: "apiFunction",
    context: { "aws:SourceArn": `arn:aws:execute-api:${REGION}:${STRANGER}:0000000000/$default/POST/aggregates/o-1/events`, "aws:SourceAccount": STRANGER },
  }),
  deny("Firehose may not invoke the API function", { principal: "firehoseService", action: "lambda:InvokeFunction", resource: "apiFunction" }),
];

/** The cases of one access mode. */
export function casesFor(mode: AccessMode): IamCase[] {
  return CASES.filter((c) => (c.modes ?? BOTH).includes(mode));
}
