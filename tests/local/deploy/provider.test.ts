/**
 * The local provider and the per-stack runs of `npm start`: both stacks run
 * in child processes under the provider against emulators of this file's own
 * (names are deterministic, so sharing the root hooks' emulators would collide
 * with other test files), and what they created is read back with real SDK
 * clients: streams per account, tables with their keys, the landing bucket,
 * the manifest's functions and artifacts, the not-emulated list, idempotent
 * re-runs, and the refusal of properties the local cloud can't honour.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DescribeStreamSummaryCommand, ListStreamsCommand } from "@aws-sdk/client-kinesis";
import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { HeadBucketCommand, ListBucketsCommand } from "@aws-sdk/client-s3";
import { startDynalite, startKinesisLocal } from "../../support/emulators";
import { startS3 } from "../../../local/emulators/s3";
import { putJson, readStream } from "../../support/aws";
import { LocalEndpoints, StackManifest } from "../../../local/shared/manifest";
import { localProvider } from "../../../local/deploy/provider";
import { programMocks } from "../../../local/deploy/program";
import { runStackInChild, StackJob } from "../../../local/deploy/runStack";
import { emulatorDynamo, emulatorKinesis, emulatorS3 } from "../../../local/emulators/clients";

const PRODUCER = "111111111111";
const CONSUMER = "222222222222";
const REGION = "us-east-1";

describe("local provider: both stacks run into the emulators", function () {
  this.timeout(300_000);
  const closers: (() => Promise<unknown>)[] = [];
  const tempDirs: string[] = [];
  let endpoints: LocalEndpoints;
  let outputDir: string;
  let consumer: StackManifest;
  let producer: StackManifest;

  const kinesisOf = (account: string) => emulatorKinesis({ endpoint: endpoints.kinesis, account });
  const dynamo = () => emulatorDynamo({ endpoint: endpoints.dynamodb, account: PRODUCER });
  const s3 = () => emulatorS3({ endpoint: endpoints.s3 });
  const streamsOf = async (account: string) => (await kinesisOf(account).send(new ListStreamsCommand({}))).StreamNames ?? [];
  const tempDir = (prefix: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    tempDirs.push(d);
    return d;
  };

  const consumerJob = (): StackJob => ({
    stack: "consumer",
    account: CONSUMER,
    region: REGION,
    endpoints,
    outputDir,
    config: { role: "consumer", producerAccountId: PRODUCER, externalId: "local-external-id" },
  });
  const producerJob = (consumerOutputs: Record<string, unknown>): StackJob => ({
    stack: "producer",
    account: PRODUCER,
    region: REGION,
    endpoints,
    outputDir,
    config: { role: "producer", consumerStack: "consumer" },
    stackReferences: { consumer: consumerOutputs },
  });

  before(async () => {
    const [dynalite, kinesisLocal] = await Promise.all([startDynalite(), startKinesisLocal()]);
    closers.push(
      () => dynalite.close(),
      () => kinesisLocal.close(),
    );
    // As the local cloud starts it: s3rver with the local accounts' access keys registered.
    const s3 = await startS3({ directory: tempDir("provider-s3-") });
    closers.push(() => s3.stop());
    endpoints = { kinesis: kinesisLocal.endpoint, dynamodb: dynalite.endpoint, s3: s3.endpoint, sts: "http://127.0.0.1:9" };
    outputDir = tempDir("provider-out-");
    consumer = await runStackInChild(consumerJob());
    producer = await runStackInChild(producerJob(consumer.outputs));
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it("creates the analytics stream in the consumer account only, with a week's retention and its customer-managed key", async () => {
    const name = consumer.outputs.analyticsStreamName as string;
    expect(name).to.match(/^analytics-stream-[0-9a-f]{7}$/);
    expect(await streamsOf(CONSUMER)).to.include(name);
    expect(await streamsOf(PRODUCER)).not.to.include(name);
    const s = (await kinesisOf(CONSUMER).send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!;
    expect(s).to.include({
      StreamStatus: "ACTIVE",
      StreamARN: consumer.outputs.analyticsStreamArn,
      OpenShardCount: 1,
      RetentionPeriodHours: 168,
      EncryptionType: "KMS",
      KeyId: consumer.outputs.analyticsKeyArn,
    });
  });

  it("creates the orders stream in the producer account only", async () => {
    const name = producer.outputs.eventStreamName as string;
    expect(await streamsOf(PRODUCER)).to.deep.equal([name]);
    expect(await streamsOf(CONSUMER)).not.to.include(name);
    const s = (await kinesisOf(PRODUCER).send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!;
    expect(s).to.include({
      StreamStatus: "ACTIVE",
      StreamARN: producer.outputs.eventStreamArn,
      OpenShardCount: 1,
      EncryptionType: "KMS",
      KeyId: "alias/aws/kinesis",
    });
  });

  it("creates the read-model and both parked tables in dynalite with the declared keys", async () => {
    const keysOf = async (table: string) => {
      const t = (await dynamo().send(new DescribeTableCommand({ TableName: table }))).Table!;
      return { keys: t.KeySchema, attributes: t.AttributeDefinitions, status: t.TableStatus };
    };
    expect(await keysOf(producer.outputs.readModelTableName)).to.deep.equal({
      keys: [{ AttributeName: "pk", KeyType: "HASH" }],
      attributes: [{ AttributeName: "pk", AttributeType: "S" }],
      status: "ACTIVE",
    });
    for (const table of [producer.outputs.parkedTableName, producer.outputs.bridgeParkedTableName]) {
      expect(await keysOf(table), table).to.deep.equal({
        keys: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        attributes: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        status: "ACTIVE",
      });
    }
  });

  it("creates the landing bucket and the producer's event archive in s3rver", async () => {
    const bucket = consumer.outputs.landingBucketName as string;
    expect(bucket).to.match(/^analytics-landing-[0-9a-f]{7}$/);
    await s3().send(new HeadBucketCommand({ Bucket: bucket }));
    const archive = producer.outputs.archiveBucketName as string;
    expect(archive).to.match(/^events-archive-bucket-[0-9a-f]{7}$/);
    const buckets = (await s3().send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name);
    expect(buckets?.sort()).to.deep.equal([bucket, archive].sort());
  });

  it("lists each function with its archive on disk, its role, and its environment resolved to real names", () => {
    expect(consumer.functions).to.deep.equal([]);
    const fns = Object.fromEntries(producer.functions.map((f) => [f.name, f]));
    expect(Object.keys(fns).sort()).to.deep.equal(["analytics-bridge-forwarder", "commands-handler", "events-archive-archiver", "orders-projector"]);
    for (const f of producer.functions) {
      expect(f.dir, f.name).to.equal(path.join(outputDir, "producer", "functions", f.name));
      expect(fs.readFileSync(path.join(f.dir, "__index.js"), "utf8"), f.name).to.match(/exports\.handler/);
      expect(f.arn).to.equal(`arn:aws:lambda:${REGION}:${PRODUCER}:function:${f.functionName}`);
      const role = producer.resources.find((r) => r.type === "aws:iam/role:Role" && r.state.arn === f.roleArn);
      expect(role, f.name).to.not.equal(undefined);
      expect(f.zipBytes).to.be.above(0);
    }
    const o = producer.outputs;
    expect(fns["orders-projector"]).to.include({ functionName: o.projectorFunctionName, timeout: 60, memorySize: 1769 }); // the projector's own default (PROJECTOR_DEFAULTS)
    // `include`, not equality: the components may add settings; these are the names that must be real.
    expect(fns["orders-projector"].environment).to.include({ TABLE_NAME: o.readModelTableName, PARKED_TABLE_NAME: o.parkedTableName, DEDUP_WINDOW: "16" });
    expect(fns["commands-handler"].environment).to.include({ STREAM_NAME: o.eventStreamName, TABLE_NAME: o.readModelTableName, MAX_BODY_BYTES: "65536" });
    // The StackReference was answered with the consumer's outputs, secret revealed.
    expect(fns["analytics-bridge-forwarder"].environment).to.include({
      ACCESS_MODE: "assumeRole",
      TARGET_STREAM_ARN: consumer.outputs.analyticsStreamArn,
      WRITER_ROLE_ARN: consumer.outputs.writerRoleArn,
      EXTERNAL_ID: "local-external-id",
      PARKED_TABLE_NAME: o.bridgeParkedTableName,
    });
    expect(fns["analytics-bridge-forwarder"].roleArn).to.equal(`arn:aws:iam::${PRODUCER}:role/event-pipeline-bridge`);
  });

  it("records every resource with realistic state and its parent component", () => {
    const stream = producer.resources.find((r) => r.type === "aws:kinesis/stream:Stream")!;
    expect(stream).to.include({ parentType: "eventsourced:projection:EventSourcedTable" });
    expect(stream.state.arn).to.equal(producer.outputs.eventStreamArn);
    const fn = producer.resources.find((r) => r.type === "aws:lambda/function:Function")!;
    expect(fn.inputs.code).to.deep.equal({ kind: "AssetArchive" });
    // The stack's dashboard has a component of its own.
    for (const r of consumer.resources.filter((x) => x.type.startsWith("aws:") && x.type !== "aws:cloudwatch/dashboard:Dashboard"))
      expect(r.parentType, r.name).to.equal("eventsourced:analytics:AnalyticsSink");
  });

  it("answers physical ids as AWS does, so the API's routes, integration and stage link up", () => {
    const withId = producer.resources;
    const one = (type: string) => {
      const all = withId.filter((r) => r.type === type);
      expect(all, type).to.have.length(1);
      return all[0];
    };
    const api = one("aws:apigatewayv2/api:Api");
    const integration = one("aws:apigatewayv2/integration:Integration");
    expect(api.state.apiEndpoint).to.equal(`https://${api.id}.execute-api.${REGION}.amazonaws.com`);
    expect(integration.inputs).to.include({ apiId: api.id, integrationUri: producer.functions.find((f) => f.name === "commands-handler")!.arn });
    expect(one("aws:apigatewayv2/stage:Stage").inputs.apiId).to.equal(api.id);
    const routes = withId.filter((r) => r.type === "aws:apigatewayv2/route:Route");
    expect(routes.length).to.be.above(1);
    for (const r of routes) expect(r.inputs, r.name).to.include({ apiId: api.id, target: `integrations/${integration.id}` });
    const bucket = consumer.resources.find((r) => r.type === "aws:s3/bucket:Bucket")!;
    expect(bucket.id).to.equal(consumer.outputs.landingBucketName);
    for (const r of consumer.resources.filter((x) => x.type.startsWith("aws:s3/bucket") && x.type !== "aws:s3/bucket:Bucket"))
      expect(r.inputs.bucket, r.type).to.equal(bucket.id);
  });

  it("lists log groups, alarms and S3 configuration as not emulated, with counts, and nothing it emulates or drives", () => {
    const count = (m: StackManifest, type: string) => m.resources.filter((r) => r.type === type).length;
    // The event archive's bucket settings (encryption, versioning, public access, ownership, TLS-only, lifecycle) are recorded only, as the landing's are.
    expect(producer.notEmulated).to.deep.equal({
      "aws:cloudwatch/logGroup:LogGroup": count(producer, "aws:cloudwatch/logGroup:LogGroup"),
      "aws:cloudwatch/metricAlarm:MetricAlarm": count(producer, "aws:cloudwatch/metricAlarm:MetricAlarm"),
      "aws:cloudwatch/dashboard:Dashboard": 1,
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
      "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
      "aws:s3/bucketPolicy:BucketPolicy": 1,
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
      "aws:s3/bucketVersioning:BucketVersioning": 1,
    });
    expect(producer.notEmulated["aws:cloudwatch/logGroup:LogGroup"]).to.equal(5);
    expect(producer.notEmulated["aws:cloudwatch/metricAlarm:MetricAlarm"]).to.equal(19);
    expect(consumer.notEmulated).to.include({
      "aws:cloudwatch/logGroup:LogGroup": 1,
      "aws:cloudwatch/metricAlarm:MetricAlarm": 4,
      "aws:s3/bucketPolicy:BucketPolicy": 1,
    });
    for (const m of [consumer, producer]) {
      for (const type of [
        "aws:kinesis/stream:Stream",
        "aws:dynamodb/table:Table",
        "aws:s3/bucket:Bucket",
        "aws:lambda/function:Function",
        "aws:iam/role:Role",
      ]) {
        expect(m.notEmulated, type).not.to.have.property(type);
      }
    }
  });

  it("runs both stacks again against the same emulators, reusing what exists (records stay)", async () => {
    const stream = producer.outputs.eventStreamName as string;
    const sequence = await putJson(kinesisOf(PRODUCER), stream, "order-1", { hello: "again" });
    const consumer2 = await runStackInChild(consumerJob());
    const producer2 = await runStackInChild(producerJob(consumer2.outputs));
    expect(consumer2.outputs).to.deep.equal(consumer.outputs);
    expect(producer2.outputs).to.deep.equal(producer.outputs);
    expect(producer2.functions.map((f) => f.dir)).to.deep.equal(producer.functions.map((f) => f.dir));
    const records = await readStream(kinesisOf(PRODUCER), stream, PRODUCER);
    expect(records.map((r) => r.kinesis.sequenceNumber)).to.deep.equal([sequence]);
    expect(await streamsOf(PRODUCER)).to.deep.equal([stream]);
  });

  describe("what it cannot honour", () => {
    // The provider behind the harness's mocks, as a stack run installs them (no StackReference outputs given).
    const provider = () => {
      const local = localProvider({ account: PRODUCER, region: REGION, endpoints });
      return { ...programMocks(local), close: () => local.close() };
    };
    const rejection = async (p: Promise<unknown> | unknown): Promise<Error> => {
      try {
        await p;
      } catch (err) {
        return err as Error;
      }
      throw new Error("expected a rejection");
    };

    it("rejects an unknown property of a driven type, naming the type and the property", async () => {
      const p = provider();
      try {
        const err = await rejection(
          p.mocks.newResource({
            type: "aws:lambda/function:Function",
            name: "fn",
            custom: true,
            inputs: { handler: "__index.handler", runtime: "nodejs22.x", role: "arn:aws:iam::111111111111:role/r", vpcConfig: { subnetIds: ["subnet-1"] } },
          }),
        );
        expect(err.message).to.contain("aws:lambda/function:Function").and.to.contain('"vpcConfig"');
        expect(p.recorded).to.deep.equal([]);
      } finally {
        p.close();
      }
    });

    it("rejects an unknown nested property and a value it can't honour, and creates nothing", async () => {
      const p = provider();
      try {
        const nested = await rejection(
          p.mocks.newResource({
            type: "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
            name: "delivery",
            custom: true,
            inputs: {
              destination: "extended_s3",
              extendedS3Configuration: { bucketArn: "arn:aws:s3:::b", dynamicPartitioningConfiguration: { enabled: true } },
            },
          }),
        );
        expect(nested.message).to.contain('"extendedS3Configuration.dynamicPartitioningConfiguration"');
        const value = await rejection(
          p.mocks.newResource({
            type: "aws:dynamodb/table:Table",
            name: "provisioned",
            custom: true,
            inputs: { billingMode: "PROVISIONED", hashKey: "pk", attributes: [{ name: "pk", type: "S" }] },
          }),
        );
        expect(value.message).to.contain("aws:dynamodb/table:Table").and.to.contain('"billingMode"').and.to.contain("PROVISIONED");
        expect(
          await dynamo()
            .send(new DescribeTableCommand({ TableName: "provisioned" }))
            .catch((e) => e.name),
        ).to.equal("ResourceNotFoundException");
      } finally {
        p.close();
      }
    });

    it("refuses a StackReference it has no outputs for", async () => {
      const p = provider();
      try {
        const err = await rejection(p.mocks.newResource({ type: "pulumi:pulumi:StackReference", name: "ref", custom: true, inputs: { name: "org/other" } }));
        expect(err.message).to.contain('StackReference "org/other"');
      } finally {
        p.close();
      }
    });

    it("fails the stack run (non-zero, the error printed) when a program declares an unsupported property, before creating it", async () => {
      const program = path.join(tempDir("provider-program-"), "bad.js");
      fs.writeFileSync(
        program,
        [
          `const aws = require(${JSON.stringify(require.resolve("@pulumi/aws"))});`,
          `module.exports = async () => ({ name: new aws.kinesis.Stream("tagged", { shardCount: 1, tags: { team: "data" } }).name });`,
        ].join("\n"),
      );
      const err = await rejection(runStackInChild({ ...consumerJob(), outputDir: tempDir("provider-bad-out-"), program }));
      expect(err.message).to.contain("stack run failed (exit 1)").and.to.contain("aws:kinesis/stream:Stream").and.to.contain('"tags"');
      expect((await streamsOf(CONSUMER)).filter((s) => s.startsWith("tagged"))).to.deep.equal([]);
    });
  });
});
