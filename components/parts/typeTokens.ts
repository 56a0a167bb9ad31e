/**
 * Pulumi type tokens: the project's own components, and every AWS resource
 * type the program, the local cloud, the policy pack and the tests name. One
 * table, so a token is never spelled twice; a component's token is part of
 * every child's URN, so changing one needs an `aliases` entry (see
 * tests/stacks/urns.test.ts).
 */

/** The components' type tokens (`<package>:<module>:<type>`). */
export const COMPONENT_TYPES = {
  EventSourcedTable: "eventsourced:projection:EventSourcedTable",
  CommandApi: "eventsourced:api:CommandApi",
  CrossAccountBridge: "eventsourced:bridge:CrossAccountBridge",
  AnalyticsSink: "eventsourced:analytics:AnalyticsSink",
  OperationsDashboard: "eventsourced:observability:OperationsDashboard",
  EventArchive: "eventsourced:archive:EventArchive",
  ReadModelVersion: "eventsourced:projection:ReadModelVersion",
} as const;

/** AWS resource and Pulumi built-in type tokens, by a short name. */
export const TYPES = {
  stackReference: "pulumi:pulumi:StackReference",
  stream: "aws:kinesis/stream:Stream",
  streamConsumer: "aws:kinesis/streamConsumer:StreamConsumer",
  streamResourcePolicy: "aws:kinesis/resourcePolicy:ResourcePolicy",
  firehose: "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
  table: "aws:dynamodb/table:Table",
  tableResourcePolicy: "aws:dynamodb/resourcePolicy:ResourcePolicy",
  function: "aws:lambda/function:Function",
  mapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
  permission: "aws:lambda/permission:Permission",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  policy: "aws:iam/policy:Policy",
  userPolicy: "aws:iam/userPolicy:UserPolicy",
  groupPolicy: "aws:iam/groupPolicy:GroupPolicy",
  key: "aws:kms/key:Key",
  keyAlias: "aws:kms/alias:Alias",
  keyPolicy: "aws:kms/keyPolicy:KeyPolicy",
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  topic: "aws:sns/topic:Topic",
  topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
  bucket: "aws:s3/bucket:Bucket",
  bucketV2: "aws:s3/bucketV2:BucketV2",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  bucketSse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  bucketSseV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  httpApi: "aws:apigatewayv2/api:Api",
  integration: "aws:apigatewayv2/integration:Integration",
  route: "aws:apigatewayv2/route:Route",
  authorizer: "aws:apigatewayv2/authorizer:Authorizer",
  stage: "aws:apigatewayv2/stage:Stage",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
} as const;

/** Provider functions the program calls (answered by the mocks). */
export const FUNCTION_TOKENS = {
  getCallerIdentity: "aws:index/getCallerIdentity:getCallerIdentity",
  getRegion: "aws:index/getRegion:getRegion",
  getPartition: "aws:index/getPartition:getPartition",
} as const;
