/**
 * The inputs AWS knows a resource by: a change to one is a replacement
 * ("forces new resource" in terraform-provider-aws's schemas, which
 * @pulumi/aws bridges), or, for a name, what the other account's trust and
 * every link to it see. Read by the replacement test (config changes) and the
 * URN test (changes between commits).
 */
import type { ProgramRun } from "./pulumiMocks";

/** Resources that hold data: replacing one loses it (a stream's events, a table's items, a bucket's objects, a key's ciphertexts). */
export const STATEFUL_FORCE_NEW: Record<string, string[]> = {
  "aws:kinesis/stream:Stream": ["name"],
  "aws:dynamodb/table:Table": ["name", "hashKey", "rangeKey", "localSecondaryIndexes"],
  "aws:s3/bucket:Bucket": ["bucket", "bucketPrefix", "objectLockEnabled"],
  "aws:kms/key:Key": ["keyUsage", "customerMasterKeySpec", "keySpec", "multiRegion", "customKeyStoreId", "xksKeyId"],
  "aws:sqs/queue:Queue": ["name", "namePrefix", "fifoQueue"],
  "aws:kinesis/streamConsumer:StreamConsumer": ["name", "streamArn"],
  "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": ["name", "destination"],
  "aws:lambda/eventSourceMapping:EventSourceMapping": ["eventSourceArn", "startingPosition", "startingPositionTimestamp"],
};

/**
 * Resources whose name others hold: a role the consumer account trusts by
 * name, a function a mapping names, a key alias, a log group's history, the
 * topic and alarms an on-call rota subscribes to, and the settings a bucket
 * keeps (replacing its versioning suspends it for a moment).
 */
export const IDENTITY_FORCE_NEW: Record<string, string[]> = {
  ...STATEFUL_FORCE_NEW,
  "aws:iam/role:Role": ["name", "namePrefix", "path"],
  "aws:iam/policy:Policy": ["name", "namePrefix", "path"],
  "aws:lambda/function:Function": ["name", "packageType"],
  "aws:kms/alias:Alias": ["name", "namePrefix"],
  "aws:cloudwatch/logGroup:LogGroup": ["name", "namePrefix"],
  "aws:cloudwatch/logStream:LogStream": ["name", "logGroupName"],
  "aws:cloudwatch/metricAlarm:MetricAlarm": ["name"],
  "aws:cloudwatch/dashboard:Dashboard": ["dashboardName"],
  "aws:sns/topic:Topic": ["name", "namePrefix", "fifoTopic"],
  "aws:apigatewayv2/api:Api": ["protocolType"],
  "aws:apigatewayv2/stage:Stage": ["apiId", "name"],
  ...Object.fromEntries(
    [
      "bucketVersioning:BucketVersioning",
      "bucketPolicy:BucketPolicy",
      "bucketPublicAccessBlock:BucketPublicAccessBlock",
      "bucketOwnershipControls:BucketOwnershipControls",
      "bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    ].map((t) => [`aws:s3/${t}`, ["bucket"]]),
  ),
};

/** The replacement-forcing inputs of every resource `keys` lists a type for, by URN, less those its `ignoreChanges` keeps from creation. */
export function forceNewInputs(run: ProgramRun, keys: Record<string, string[]>): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const r of run.resources) {
    const names = keys[r.type]?.filter((k) => !r.ignoreChanges.includes(k));
    if (names) out.set(r.urn, Object.fromEntries(names.map((k) => [k, r.inputs[k] ?? null])));
  }
  return out;
}
