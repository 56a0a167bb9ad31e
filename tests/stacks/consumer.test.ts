/**
 * The consumer (analytics) stack's resource graph under Pulumi mocks: the
 * AnalyticsSink's encryption, cross-account access in both modes, landing,
 * alarms, least privilege in every policy, and the stack outputs.
 */
import { expect } from "chai";
import { AnalyticsSink } from "../../components/analyticsSink";
import { policyDocument, ProgramRun, RecordedResource, runProgram } from "../support/pulumiMocks";

const ACCOUNT = "222222222222";
const PRODUCER = "111111111111";
const REGION = "us-east-1";
const SINK = "eventsourced:analytics:AnalyticsSink";
const BRIDGE_ROLE_ARN = `arn:aws:iam::${PRODUCER}:role/event-pipeline-bridge`;
const PRODUCER_ROOT = `arn:aws:iam::${PRODUCER}:root`;
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:ops`;
const BASE_CONFIG = { role: "consumer", producerAccountId: PRODUCER, externalId: "test-external-id" };

const T = {
  key: "aws:kms/key:Key",
  keyPolicy: "aws:kms/keyPolicy:KeyPolicy",
  stream: "aws:kinesis/stream:Stream",
  role: "aws:iam/role:Role",
  resourcePolicy: "aws:kinesis/resourcePolicy:ResourcePolicy",
  bucket: "aws:s3/bucket:Bucket",
  firehose: "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
};

/** Runs the consumer stack; a key set to undefined is left out of the config. */
function consumerRun(overrides: Record<string, string | undefined> = {}): Promise<ProgramRun> {
  const config = Object.fromEntries(Object.entries({ ...BASE_CONFIG, ...overrides }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return runProgram({ stack: "consumer", account: ACCOUNT, region: REGION, config });
}

/** The statements of a role's one inline policy. */
function inlineStatements(role: RecordedResource): any[] {
  const policies = role.inputs.inlinePolicies as { policy: string }[];
  expect(policies).to.have.length(1);
  return policyDocument(policies[0].policy).Statement;
}

/** A bucket-scoped resource of `type` (several share the bucket). */
function bucketConfig(run: ProgramRun, type: string): RecordedResource {
  const bucket = run.one(T.bucket);
  const matches = run.ofType(type).filter((r) => r.inputs.bucket === bucket.state.bucket || r.inputs.bucket === `${bucket.name}-id`);
  expect(matches, type).to.have.length(1);
  return matches[0];
}

/** Every policy document in the stack, with where it came from. */
function allPolicies(run: ProgramRun): { where: string; doc: { Statement: any[] } }[] {
  const docs: { where: string; doc: { Statement: any[] } }[] = [];
  for (const r of run.resources) {
    for (const field of ["policy", "assumeRolePolicy"]) {
      if (typeof r.inputs[field] === "string") docs.push({ where: `${r.name}.${field}`, doc: policyDocument(r.inputs[field]) });
    }
    for (const inline of (r.inputs.inlinePolicies ?? []) as { name: string; policy: string }[]) {
      docs.push({ where: `${r.name}.${inline.name}`, doc: policyDocument(inline.policy) });
    }
  }
  return docs;
}

const asList = (v: unknown) => (Array.isArray(v) ? v : [v]);

describe("consumer stack (assumeRole)", function () {
  let run: ProgramRun;
  before(async () => {
    run = await consumerRun();
  });

  it("parents every AWS resource to the AnalyticsSink component, the stack's dashboard aside", () => {
    const custom = run.resources.filter((r) => r.custom && r.type !== "aws:cloudwatch/dashboard:Dashboard");
    expect(custom.length).to.be.greaterThan(15);
    for (const r of custom) expect(r.parentType, r.name).to.equal(SINK);
    expect(run.resources.filter((r) => r.type === SINK).map((r) => r.parentType)).to.deep.equal([undefined]);
  });

  it("encrypts the stream with the customer-managed key, rotated", () => {
    const key = run.one(T.key);
    expect(key.inputs.enableKeyRotation).to.equal(true);
    expect(key.inputs.deletionWindowInDays).to.equal(30);
    const stream = run.one(T.stream);
    expect(stream.inputs.encryptionType).to.equal("KMS");
    expect(stream.inputs.kmsKeyId)
      .to.equal(key.state.arn)
      .and.to.match(new RegExp(`^arn:aws:kms:${REGION}:${ACCOUNT}:key/`));
    expect(stream.inputs.retentionPeriod).to.equal(168);
    expect(stream.inputs.streamModeDetails).to.deep.equal({ streamMode: "ON_DEMAND" });
    expect(run.ofType("aws:kms/alias:Alias")).to.have.length(1);
  });

  it("key policy: consumer root administers, writer and Firehose get exactly what they use", () => {
    const writer = run.one(T.role, "-writer");
    const delivery = run.one(T.role, "-delivery");
    const policy = run.one(T.keyPolicy);
    expect(policy.inputs.keyId).to.equal(run.one(T.key).state.keyId);
    const statements = policyDocument(policy.inputs.policy).Statement;
    expect(statements.map((s) => [s.Principal, s.Action])).to.deep.equal([
      [{ AWS: `arn:aws:iam::${ACCOUNT}:root` }, "kms:*"],
      [{ AWS: writer.state.arn }, "kms:GenerateDataKey"],
      [{ AWS: delivery.state.arn }, "kms:Decrypt"],
      [{ AWS: delivery.state.arn }, ["kms:GenerateDataKey", "kms:Decrypt"]],
    ]);
    for (const s of statements) {
      expect(s.Effect).to.equal("Allow");
      expect(s.Resource, "a key policy's * is the key itself").to.equal("*");
    }
    expect(statements.slice(1).map((s) => s.Condition.StringEquals["kms:ViaService"])).to.deep.equal([
      `kinesis.${REGION}.amazonaws.com`,
      `kinesis.${REGION}.amazonaws.com`,
      `s3.${REGION}.amazonaws.com`,
    ]);
  });

  it("writer role trusts only the bridge role in the producer account, with the ExternalId", () => {
    const trust = policyDocument(run.one(T.role, "-writer").inputs.assumeRolePolicy).Statement;
    expect(trust).to.deep.equal([
      {
        Effect: "Allow",
        Principal: { AWS: PRODUCER_ROOT },
        Action: "sts:AssumeRole",
        Condition: { ArnEquals: { "aws:PrincipalArn": BRIDGE_ROLE_ARN }, StringEquals: { "sts:ExternalId": "test-external-id" } },
      },
    ]);
  });

  it("writer role may only put records on the stream and generate data keys with the key through Kinesis", () => {
    const statements = inlineStatements(run.one(T.role, "-writer"));
    expect(statements.map((s) => [s.Action, s.Resource, s.Condition])).to.deep.equal([
      ["kinesis:PutRecords", run.one(T.stream).state.arn, undefined],
      [
        "kms:GenerateDataKey",
        run.one(T.key).state.arn,
        { StringEquals: { "kms:ViaService": `kinesis.${REGION}.amazonaws.com`, "kms:EncryptionContext:aws:kinesis:arn": run.one(T.stream).state.arn } },
      ],
    ]);
    expect(run.ofType(T.resourcePolicy)).to.be.empty;
  });

  it("Firehose reads the stream and lands GZIP objects in date partitions", () => {
    const firehose = run.one(T.firehose);
    const delivery = run.one(T.role, "-delivery");
    const bucket = run.one(T.bucket);
    expect(firehose.inputs.destination).to.equal("extended_s3");
    expect(firehose.inputs.kinesisSourceConfiguration).to.deep.equal({ kinesisStreamArn: run.one(T.stream).state.arn, roleArn: delivery.state.arn });
    const s3 = firehose.inputs.extendedS3Configuration;
    expect(s3.processingConfiguration).to.deep.equal({
      enabled: true,
      processors: [{ type: "AppendDelimiterToRecord", parameters: [{ parameterName: "Delimiter", parameterValue: "\\n" }] }],
    });
    expect(s3).to.include({
      roleArn: delivery.state.arn,
      bucketArn: bucket.state.arn,
      compressionFormat: "GZIP",
      prefix: "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/",
      errorOutputPrefix: "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/",
      bufferingInterval: 300,
      bufferingSize: 64,
      kmsKeyArn: run.one(T.key).state.arn,
    });
    const logGroup = run.one("aws:cloudwatch/logGroup:LogGroup");
    expect(logGroup.inputs.retentionInDays).to.equal(30);
    expect(s3.cloudwatchLoggingOptions).to.deep.equal({ enabled: true, logGroupName: logGroup.state.name, logStreamName: "DestinationDelivery" });
  });

  it("Firehose role: service trust for this account, exact least-privilege statements", () => {
    const delivery = run.one(T.role, "-delivery");
    // Firehose passes the account id as the ExternalId (AWS's own Firehose trust examples); it is not documented to send aws:SourceAccount.
    expect(policyDocument(delivery.inputs.assumeRolePolicy).Statement).to.deep.equal([
      {
        Effect: "Allow",
        Principal: { Service: "firehose.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:ExternalId": ACCOUNT } },
      },
    ]);
    const bucketArn = run.one(T.bucket).state.arn;
    const logGroup = run.one("aws:cloudwatch/logGroup:LogGroup");
    expect(inlineStatements(delivery).map((s) => [s.Action, s.Resource])).to.deep.equal([
      [
        ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"],
        run.one(T.stream).state.arn,
      ],
      [
        ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"],
        [bucketArn, `${bucketArn}/*`],
      ],
      ["kms:Decrypt", run.one(T.key).state.arn],
      [["kms:Decrypt", "kms:GenerateDataKey"], run.one(T.key).state.arn],
      ["logs:PutLogEvents", `${logGroup.state.arn}:log-stream:DestinationDelivery`],
    ]);
  });

  it("landing bucket: SSE-KMS with bucket key, versioned, private, owner-enforced, TLS-only, written by Firehose's role only", () => {
    const keyArn = run.one(T.key).state.arn;
    expect(bucketConfig(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules).to.deep.equal([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn }, bucketKeyEnabled: true },
    ]);
    expect(bucketConfig(run, "aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration).to.deep.equal({ status: "Enabled" });
    expect(bucketConfig(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs).to.include({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(bucketConfig(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs.rule).to.deep.equal({ objectOwnership: "BucketOwnerEnforced" });
    const bucketArn = run.one(T.bucket).state.arn;
    expect(policyDocument(bucketConfig(run, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy).Statement).to.deep.equal([
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
      {
        Sid: "DenyOtherWriters",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:PutObject",
        Resource: `${bucketArn}/*`,
        Condition: { ArnNotEquals: { "aws:PrincipalArn": run.one(T.role, "-delivery").state.arn } },
      },
    ]);
  });

  it("landing lifecycle: IA transition, expiry, shorter for errors, multipart and noncurrent cleanup", () => {
    const rules = bucketConfig(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules as any[];
    const byId = Object.fromEntries(rules.map((r) => [r.id, r]));
    expect(rules.every((r) => r.status === "Enabled")).to.equal(true);
    expect(byId["landed-events"]).to.deep.include({
      filter: { prefix: "events/" },
      transitions: [{ days: 30, storageClass: "STANDARD_IA" }],
      expiration: { days: 400 },
    });
    expect(byId["delivery-errors"]).to.deep.include({ filter: { prefix: "errors/" }, expiration: { days: 30 } });
    expect(byId.housekeeping).to.deep.include({
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
      noncurrentVersionExpiration: { noncurrentDays: 30 },
    });
  });

  it("alarms on landing freshness and failures, Firehose lag and write throttling", () => {
    // Registration order is not deterministic: compare by metric.
    const alarms = run.ofType(T.alarm).sort((a, b) => a.inputs.metricName.localeCompare(b.inputs.metricName));
    const firehoseName = run.one(T.firehose).state.name;
    const streamName = run.one(T.stream).state.name;
    expect(alarms.map((a) => [a.inputs.namespace, a.inputs.metricName, a.inputs.comparisonOperator, a.inputs.threshold, a.inputs.dimensions])).to.deep.equal([
      ["AWS/Firehose", "DeliveryToS3.DataFreshness", "GreaterThanThreshold", 900, { DeliveryStreamName: firehoseName }],
      ["AWS/Firehose", "DeliveryToS3.Success", "LessThanThreshold", 1, { DeliveryStreamName: firehoseName }],
      ["AWS/Firehose", "KinesisMillisBehindLatest", "GreaterThanThreshold", 3_600_000, { DeliveryStreamName: firehoseName }],
      ["AWS/Kinesis", "WriteProvisionedThroughputExceeded", "GreaterThanThreshold", 0, { StreamName: streamName }],
    ]);
    expect(alarms.map((a) => [a.inputs.alarmActions, a.inputs.okActions])).to.deep.equal([
      [[], []],
      [[], []],
      [[], []],
      [[], []],
    ]);
  });

  it("no policy in the stack allows a * action or a * resource (a key policy's own-key * aside)", () => {
    const docs = allPolicies(run);
    expect(docs.map((d) => d.where).length).to.be.at.least(6);
    for (const { where, doc } of docs) {
      const isKeyPolicy = where.startsWith(run.one(T.keyPolicy).name);
      for (const s of doc.Statement) {
        expect(asList(s.Action), where).not.to.include("*");
        if (!isKeyPolicy) expect(asList(s.Resource ?? []), where).not.to.include("*");
        if (s.Effect !== "Deny") expect(s.Principal, `${where}: an Allow for everyone`).not.to.equal("*");
      }
    }
  });

  it("exports what the producer stack reads", () => {
    expect(run.outputs).to.include({
      analyticsStreamArn: run.one(T.stream).state.arn,
      analyticsKeyArn: run.one(T.key).state.arn,
      writerRoleArn: run.one(T.role, "-writer").state.arn,
      landingBucketName: run.one(T.bucket).state.bucket,
      deliveryStreamArn: run.one(T.firehose).state.arn,
      externalId: "test-external-id",
      accessMode: "assumeRole",
    });
  });
});

describe("consumer stack (resourcePolicy)", function () {
  let run: ProgramRun;
  before(async () => {
    run = await consumerRun({ accessMode: "resourcePolicy", externalId: undefined, alarmTopicArn: TOPIC });
  });

  it("has no writer role and grants the bridge role PutRecords on the stream", () => {
    expect(run.resources.filter((r) => r.type === T.role && r.name.endsWith("-writer"))).to.be.empty;
    const policy = run.one(T.resourcePolicy);
    const streamArn = run.one(T.stream).state.arn;
    expect(policy.parentType).to.equal(SINK);
    expect(policy.inputs.resourceArn).to.equal(streamArn);
    expect(policyDocument(policy.inputs.policy).Statement).to.deep.equal([
      {
        Sid: "BridgePutsRecords",
        Effect: "Allow",
        Principal: { AWS: PRODUCER_ROOT },
        Action: "kinesis:PutRecords",
        Resource: streamArn,
        Condition: { ArnEquals: { "aws:PrincipalArn": BRIDGE_ROLE_ARN } },
      },
    ]);
  });

  it("lets the bridge role, and only it, generate data keys through Kinesis", () => {
    const writer = policyDocument(run.one(T.keyPolicy).inputs.policy).Statement.find((s) => s.Sid === "WriterEncryptsRecords");
    expect(writer).to.deep.equal({
      Sid: "WriterEncryptsRecords",
      Effect: "Allow",
      Principal: { AWS: PRODUCER_ROOT },
      Action: "kms:GenerateDataKey",
      Resource: "*",
      Condition: {
        ArnEquals: { "aws:PrincipalArn": BRIDGE_ROLE_ARN },
        StringEquals: { "kms:ViaService": `kinesis.${REGION}.amazonaws.com`, "kms:EncryptionContext:aws:kinesis:arn": run.one(T.stream).state.arn },
      },
    });
  });

  it("sends every alarm's ALARM and OK to the configured topic", () => {
    const alarms = run.ofType(T.alarm);
    expect(alarms).to.have.length(4);
    for (const a of alarms) expect([a.inputs.alarmActions, a.inputs.okActions], a.name).to.deep.equal([[TOPIC], [TOPIC]]);
  });
  it("exports no writer role ARN or ExternalId", () => {
    expect(run.outputs.writerRoleArn).to.equal(undefined);
    expect(run.outputs.externalId).to.equal(undefined);
    expect(run.outputs.accessMode).to.equal("resourcePolicy");
    expect(run.outputs.analyticsStreamArn).to.equal(run.one(T.stream).state.arn);
  });
});

describe("consumer stack (landingSilenceHours)", function () {
  it("alarms when no record reaches the analytics stream for that many hours, missing data counting as silence", async () => {
    const run = await consumerRun({ landingSilenceHours: "6" });
    const silence = run.ofType(T.alarm).filter((a) => a.name.endsWith("-landing-silence"));
    expect(silence).to.have.length(1);
    expect(silence[0].inputs).to.deep.include({
      namespace: "AWS/Kinesis",
      metricName: "IncomingRecords",
      statistic: "Sum",
      period: 3600,
      evaluationPeriods: 6,
      comparisonOperator: "LessThanThreshold",
      threshold: 1,
      treatMissingData: "breaching",
    });
    expect(silence[0].inputs.dimensions).to.deep.equal({ StreamName: run.one(T.stream).state.name });
    expect(silence[0].inputs.alarmDescription, "names the key an operator sets").to.include("landingSilenceHours").and.include("6 h");
    // The other alarms still treat missing data as fine (an idle pipeline).
    expect(
      run
        .ofType(T.alarm)
        .filter((a) => a !== silence[0])
        .map((a) => a.inputs.treatMissingData),
    ).to.deep.equal(Array(4).fill("notBreaching"));
  });
});

describe("consumer stack (bad config)", function () {
  it("fails on a missing externalId in assumeRole mode", async () => {
    const error = await consumerRun({ externalId: undefined }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).to.match(/Missing required configuration variable 'event-sourced-pipeline:externalId'/);
  });

  it("fails on an externalId STS would refuse", async () => {
    const error = await consumerRun({ externalId: "x" }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).to.match(/externalId must be 2-1224 characters/);
  });

  it("AnalyticsSink itself refuses assumeRole without an externalId, naming the argument", () => {
    // Validation runs before anything is registered, so no mocks are needed.
    expect(() => new AnalyticsSink("sink", { producerAccountId: PRODUCER, bridgeRoleName: "event-pipeline-bridge", accessMode: "assumeRole" })).to.throw(
      /AnalyticsSink sink: externalId is required when accessMode is "assumeRole"/,
    );
    expect(
      () => new AnalyticsSink("sink2", { producerAccountId: PRODUCER, bridgeRoleName: "b", accessMode: "resourcePolicy", streamMode: "PROVISIONED" }),
    ).to.throw(/shardCount/);
  });
});
