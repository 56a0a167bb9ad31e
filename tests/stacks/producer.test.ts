/**
 * The producer stack's resource graph under Pulumi mocks: every setting the
 * design relies on, every policy statement, and the wiring to the consumer.
 */
import { expect } from "chai";
import { ProgramRun } from "../support/pulumiMocks";
import { CONSUMER_OUTPUTS, CONSUMER_STACK, grants, PRODUCER, REGION, roleStatements, runProducer } from "../support/producerRun";

describe("producer stack (mocks)", function () {
  this.timeout(120_000);
  let run: ProgramRun;
  before(async () => {
    run = await runProducer();
  });

  const arn = (type: string, suffix: string) => run.one(type, suffix).state.arn as string;
  const name = (type: string, suffix: string) => run.one(type, suffix).state.name as string;

  it("builds the four components and the dashboard at the top and parents every resource to one of them", () => {
    const components = run.resources
      .filter((r) => !r.custom)
      .map((r) => `${r.type} ${r.name}`)
      .sort();
    expect(components).to.deep.equal([
      "eventsourced:api:CommandApi commands",
      "eventsourced:archive:EventArchive events-archive",
      "eventsourced:bridge:CrossAccountBridge analytics-bridge",
      "eventsourced:observability:OperationsDashboard operations",
      "eventsourced:projection:EventSourcedTable orders",
    ]);
    for (const r of run.resources.filter((x) => !x.custom)) expect(r.parentType, r.name).to.equal(undefined);
    for (const r of run.resources.filter((x) => x.custom)) expect(r.parentType, `${r.type} ${r.name}`).to.match(/^eventsourced:/);
  });

  it("encrypts the source stream, keeps it a week and scales it on demand", () => {
    const stream = run.one("aws:kinesis/stream:Stream").inputs;
    expect(stream).to.include({ encryptionType: "KMS", kmsKeyId: "alias/aws/kinesis", retentionPeriod: 168 });
    expect(stream.streamModeDetails).to.deep.equal({ streamMode: "ON_DEMAND" });
  });

  it("gives both tables on-demand billing, point-in-time recovery, encryption and deletion protection", () => {
    for (const suffix of ["read-model", "orders-parked", "bridge-parked"]) {
      const t = run.one("aws:dynamodb/table:Table", suffix).inputs;
      expect(t, suffix).to.include({ billingMode: "PAY_PER_REQUEST", hashKey: "pk", deletionProtectionEnabled: true });
      expect(t.pointInTimeRecovery, suffix).to.deep.equal({ enabled: true });
      expect(t.serverSideEncryption, suffix).to.deep.equal({ enabled: true });
    }
    expect(run.one("aws:dynamodb/table:Table", "read-model").inputs.rangeKey).to.equal(undefined);
    expect(run.one("aws:dynamodb/table:Table", "orders-parked").inputs.rangeKey).to.equal("sk");
  });

  it("encrypts the three on-failure queues (projector, bridge, archiver) and keeps their messages 14 days", () => {
    const queues = run.ofType("aws:sqs/queue:Queue");
    expect(queues).to.have.length(3);
    for (const q of queues) expect(q.inputs).to.include({ sqsManagedSseEnabled: true, messageRetentionSeconds: 1_209_600 });
  });

  // Batch 500 from the bench's latency model (README, Performance); one batch per shard, the only order-safe factor for KPL producers.
  for (const [fn, queue, parallelizationFactor] of [
    ["orders-projector-mapping", "orders-projector-failures", 1],
    ["analytics-bridge-mapping", "analytics-bridge-failures", 1],
  ] as const) {
    it(`sets the design's defaults on ${fn}`, () => {
      const m = run.one("aws:lambda/eventSourceMapping:EventSourceMapping", fn).inputs;
      expect(m).to.include({
        eventSourceArn: arn("aws:kinesis/stream:Stream", "events"),
        startingPosition: "TRIM_HORIZON",
        batchSize: 500,
        maximumBatchingWindowInSeconds: 1,
        parallelizationFactor,
        maximumRetryAttempts: 10_000,
        maximumRecordAgeInSeconds: 302_400,
        bisectBatchOnFunctionError: true,
      });
      expect(m.functionResponseTypes).to.deep.equal(["ReportBatchItemFailures"]);
      expect(m.destinationConfig.onFailure.destinationArn).to.equal(arn("aws:sqs/queue:Queue", queue));
    });
  }

  it("sets nodejs22.x on arm64, JSON logs into the function's own log group, for every function", () => {
    const fns = run.ofType("aws:lambda/function:Function");
    expect(fns).to.have.length(4);
    for (const f of fns) {
      expect(f.inputs, f.name).to.include({ runtime: "nodejs22.x", handler: "__index.handler" });
      expect(f.inputs.architectures).to.deep.equal(["arm64"]);
      expect(f.inputs.loggingConfig.logGroup).to.equal(name("aws:cloudwatch/logGroup:LogGroup", `${f.name}-logs`));
      expect(f.inputs.loggingConfig.logFormat).to.equal("JSON");
    }
  });

  it("configures each function with real resource names, and nothing else", () => {
    const env = (suffix: string) => run.one("aws:lambda/function:Function", suffix).inputs.environment.variables;
    expect(env("orders-projector")).to.deep.equal({
      TABLE_NAME: name("aws:dynamodb/table:Table", "read-model"),
      PARKED_TABLE_NAME: name("aws:dynamodb/table:Table", "orders-parked"),
      DEDUP_WINDOW: "16",
    });
    expect(env("commands-handler")).to.deep.equal({
      STREAM_NAME: name("aws:kinesis/stream:Stream", "events"),
      TABLE_NAME: name("aws:dynamodb/table:Table", "read-model"),
      MAX_BODY_BYTES: "65536",
      API_AUTH: "iam",
    });
    expect(env("bridge-forwarder")).to.deep.equal({
      TARGET_STREAM_ARN: CONSUMER_OUTPUTS.analyticsStreamArn,
      PARKED_TABLE_NAME: name("aws:dynamodb/table:Table", "bridge-parked"),
      FORWARDED_TABLE_NAME: name("aws:dynamodb/table:Table", "bridge-forwarded"),
      AGGREGATE_RECORDS: "off",
      ACCESS_MODE: "assumeRole",
      WRITER_ROLE_ARN: CONSUMER_OUTPUTS.writerRoleArn,
      EXTERNAL_ID: CONSUMER_OUTPUTS.externalId,
    });
    // The ExternalId arrives as a secret output and stays one in state.
    expect(run.one("aws:lambda/function:Function", "bridge-forwarder").secretInputs).to.deep.equal(["environment"]);
    expect(run.one("aws:lambda/function:Function", "orders-projector").secretInputs).to.deep.equal([]);
  });

  it("lets the projector read its stream, write its tables and report failures, and nothing more", () => {
    const stream = arn("aws:kinesis/stream:Stream", "events");
    expect(grants(roleStatements(run, "orders-projector-role"))).to.deep.equal([
      `dynamodb:BatchGetItem ${arn("aws:dynamodb/table:Table", "read-model")}`,
      `dynamodb:BatchWriteItem ${arn("aws:dynamodb/table:Table", "orders-parked")}`,
      `dynamodb:GetItem ${arn("aws:dynamodb/table:Table", "read-model")}`,
      `dynamodb:PutItem ${arn("aws:dynamodb/table:Table", "read-model")}`,
      `kinesis:DescribeStream ${stream}`,
      `kinesis:DescribeStreamSummary ${stream}`,
      `kinesis:GetRecords ${stream}`,
      `kinesis:GetShardIterator ${stream}`,
      `kinesis:ListShards ${stream}`,
      `logs:CreateLogStream ${arn("aws:cloudwatch/logGroup:LogGroup", "orders-projector-logs")}:*`,
      `logs:PutLogEvents ${arn("aws:cloudwatch/logGroup:LogGroup", "orders-projector-logs")}:*`,
      `sqs:SendMessage ${arn("aws:sqs/queue:Queue", "orders-projector-failures")}`,
    ]);
  });

  it("lets the API append to the stream and read the table, and nothing more", () => {
    expect(grants(roleStatements(run, "commands-handler-role"))).to.deep.equal([
      `dynamodb:GetItem ${arn("aws:dynamodb/table:Table", "read-model")}`,
      `kinesis:PutRecord ${arn("aws:kinesis/stream:Stream", "events")}`,
      `logs:CreateLogStream ${arn("aws:cloudwatch/logGroup:LogGroup", "commands-handler-logs")}:*`,
      `logs:PutLogEvents ${arn("aws:cloudwatch/logGroup:LogGroup", "commands-handler-logs")}:*`,
    ]);
  });

  it("names the bridge role as the consumer's trust expects and lets it assume only the writer role", () => {
    const role = run.one("aws:iam/role:Role", "bridge-forwarder-role");
    expect(role.inputs.name).to.equal("event-pipeline-bridge");
    expect(role.state.arn).to.equal(`arn:aws:iam::${PRODUCER}:role/event-pipeline-bridge`);
    const g = grants(roleStatements(run, "bridge-forwarder-role"));
    expect(g).to.include(`sts:AssumeRole ${CONSUMER_OUTPUTS.writerRoleArn}`);
    expect(g.filter((x) => x.startsWith("kinesis:Put") || x.startsWith("kms:"))).to.deep.equal([]);
    expect(g.filter((x) => x.startsWith("dynamodb:"))).to.deep.equal([
      `dynamodb:BatchWriteItem ${arn("aws:dynamodb/table:Table", "bridge-parked")}`,
      `dynamodb:PutItem ${arn("aws:dynamodb/table:Table", "bridge-forwarded")}`,
    ]);
  });

  it("trusts only the Lambda service in every function role and grants no wildcard anywhere", () => {
    for (const role of run.ofType("aws:iam/role:Role")) {
      const trust = JSON.parse(role.inputs.assumeRolePolicy);
      expect(trust.Statement, role.name).to.deep.equal([{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }]);
      for (const g of grants(roleStatements(run, role.name))) {
        const [action, resource] = g.split(" ");
        expect(action, g).to.not.include("*");
        expect(resource, g).to.not.equal("*");
        expect(resource, g).to.match(/^arn:aws:/);
      }
    }
  });

  it("declares exactly the handler's routes plus $default on one Lambda-proxy integration (payload 2.0)", () => {
    const routes = run
      .ofType("aws:apigatewayv2/route:Route")
      .map((r) => r.inputs.routeKey)
      .sort();
    expect(routes).to.deep.equal(["$default", "GET /aggregates/{id}", "POST /aggregates/{id}/events"]);
    const integration = run.one("aws:apigatewayv2/integration:Integration").inputs;
    expect(integration).to.include({
      integrationType: "AWS_PROXY",
      payloadFormatVersion: "2.0",
      integrationUri: arn("aws:lambda/function:Function", "commands-handler"),
    });
    const stage = run.one("aws:apigatewayv2/stage:Stage").inputs;
    expect(stage).to.include({ name: "$default", autoDeploy: true });
    expect(stage.defaultRouteSettings).to.include({ throttlingRateLimit: 100, throttlingBurstLimit: 200 });
    // Access logs say who asked (the AWS-reviewer audit found them naming only the route and status), one JSON line of $context variables.
    const format = JSON.parse(stage.accessLogSettings.format);
    expect(format).to.include({
      sourceIp: "$context.identity.sourceIp",
      userAgent: "$context.identity.userAgent",
      callerArn: "$context.identity.userArn",
      subject: "$context.authorizer.claims.sub",
      authorizerError: "$context.authorizer.error",
      method: "$context.httpMethod",
      path: "$context.path",
      status: "$context.status",
    });
    // Each one a variable of AWS's table for HTTP APIs ("Customize HTTP API access logs"): an unknown one fails the Stage update.
    const HTTP_API_VARIABLES = [
      "requestId",
      "requestTime",
      "httpMethod",
      "path",
      "routeKey",
      "status",
      "integrationStatus",
      "responseLatency",
      "identity.sourceIp",
      "identity.userAgent",
      "identity.userArn",
      "authorizer.claims.sub",
      "authorizer.error",
      "error.message",
      "integrationErrorMessage",
    ].map((v) => `$context.${v}`);
    expect(Object.values(format).filter((v) => !HTTP_API_VARIABLES.includes(v as string))).to.deep.equal([]);
    const permission = run.one("aws:lambda/permission:Permission").inputs;
    expect(permission).to.include({ principal: "apigateway.amazonaws.com", action: "lambda:InvokeFunction" });
    expect(permission.sourceArn).to.equal(`${run.one("aws:apigatewayv2/api:Api").state.executionArn}/*/*`);
  });

  it("lets the integration outwait the API function (init included), so the function's own 503 reaches the client", () => {
    const fn = run.one("aws:lambda/function:Function", "commands-handler").inputs;
    const integration = run.one("aws:apigatewayv2/integration:Integration").inputs;
    expect(fn.timeout).to.equal(10);
    // HTTP APIs wait 50–30,000 ms for an integration (CloudFormation AWS::ApiGatewayV2::Integration TimeoutInMillis).
    expect(integration.timeoutMilliseconds).to.be.at.most(30_000);
    expect(integration.timeoutMilliseconds - fn.timeout * 1000, "room for a cold start").to.be.at.least(5_000);
  });

  it("alarms on iterator age, errors, throttles and on-failure depth for every stream function, and on API errors", () => {
    const alarms = run.ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
    const by = (n: string) => alarms.find((a) => a.name === n)!.inputs;
    for (const prefix of ["orders-projector", "analytics-bridge-forwarder", "events-archive-archiver"]) {
      const fnName = name("aws:lambda/function:Function", prefix);
      expect(by(`${prefix}-iterator-age`)).to.include({ metricName: "IteratorAge", namespace: "AWS/Lambda", statistic: "Maximum" });
      expect(by(`${prefix}-iterator-age`).dimensions).to.deep.equal({ FunctionName: fnName });
      expect(by(`${prefix}-errors`)).to.include({ metricName: "Errors", namespace: "AWS/Lambda" });
      expect(by(`${prefix}-on-failure`)).to.include({ metricName: "ApproximateNumberOfMessagesVisible", namespace: "AWS/SQS" });
      // A throttled function reports no iterator age, error or failure: only Lambda's Throttles says its shards wait.
      expect(by(`${prefix}-throttles`)).to.include({
        metricName: "Throttles",
        namespace: "AWS/Lambda",
        statistic: "Sum",
        threshold: 1,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
      });
      expect(by(`${prefix}-throttles`).dimensions).to.deep.equal({ FunctionName: fnName });
    }
    expect(by("commands-errors")).to.include({ metricName: "Errors" });
    // Besides these: parked events (not the archiver's: it parks nothing) and batch failures per stream function, and the API's 5xx (tests/stacks/observability.test.ts).
    expect(alarms).to.have.length(19);
  });

  it("exports what operators and the local cloud need", () => {
    expect(run.outputs).to.include({
      eventStreamName: name("aws:kinesis/stream:Stream", "events"),
      readModelTableName: name("aws:dynamodb/table:Table", "read-model"),
      bridgeRoleArn: `arn:aws:iam::${PRODUCER}:role/event-pipeline-bridge`,
      accessMode: "assumeRole",
    });
    expect(run.outputs.apiUrl).to.match(new RegExp(`^https://\\w+\\.execute-api\\.${REGION}\\.amazonaws\\.com/$`));
  });

  describe("resourcePolicy access mode", () => {
    let rp: ProgramRun;
    before(async () => {
      rp = await runProducer({ accessMode: "resourcePolicy" });
    });

    it("writes the analytics stream directly, with no STS and no ExternalId", () => {
      const g = grants(roleStatements(rp, "bridge-forwarder-role"));
      expect(
        g.filter(
          (x) =>
            !x.startsWith("dynamodb:") &&
            !x.startsWith("logs:") &&
            !x.startsWith("sqs:") &&
            !x.startsWith("kinesis:Describe") &&
            !x.startsWith("kinesis:Get") &&
            !x.startsWith("kinesis:List"),
        ),
      ).to.deep.equal([`kinesis:PutRecords ${CONSUMER_OUTPUTS.analyticsStreamArn}`, `kms:GenerateDataKey ${CONSUMER_OUTPUTS.analyticsKeyArn}`]);
      const env = rp.one("aws:lambda/function:Function", "bridge-forwarder").inputs.environment.variables;
      expect(env.ACCESS_MODE).to.equal("resourcePolicy");
      expect(env).to.not.have.any.keys("WRITER_ROLE_ARN", "EXTERNAL_ID");
    });
  });

  describe("aggregateRecords config", () => {
    it("is off unless set, and reaches the bridge's AGGREGATE_RECORDS when set", async () => {
      expect(run.one("aws:lambda/function:Function", "bridge-forwarder").inputs.environment.variables.AGGREGATE_RECORDS).to.equal("off");
      for (const mode of ["sourceShard", "partitionKey", "off"]) {
        const agg = await runProducer({ aggregateRecords: mode });
        const env = agg.one("aws:lambda/function:Function", "bridge-forwarder").inputs.environment.variables;
        expect(env.AGGREGATE_RECORDS, mode).to.equal(mode);
      }
    });

    it("refuses an unknown value, naming the key and the accepted values", async () => {
      let error: Error | undefined;
      try {
        await runProducer({ aggregateRecords: "shard" });
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).to.match(/aggregateRecords must be one of off, sourceShard, partitionKey, got "shard"/);
    });
  });

  describe("without a StackReference (stacks in different backends)", () => {
    it("reads the consumer's outputs from explicit config", async () => {
      const explicit = await runProducer(
        {
          consumerStack: "",
          analyticsStreamArn: CONSUMER_OUTPUTS.analyticsStreamArn,
          analyticsKeyArn: CONSUMER_OUTPUTS.analyticsKeyArn,
          writerRoleArn: "arn:aws:iam::222222222222:role/explicit-writer",
          externalId: "explicit-ext",
        },
        {},
      );
      const env = explicit.one("aws:lambda/function:Function", "bridge-forwarder").inputs.environment.variables;
      expect(env).to.include({
        WRITER_ROLE_ARN: "arn:aws:iam::222222222222:role/explicit-writer",
        EXTERNAL_ID: "explicit-ext",
        TARGET_STREAM_ARN: CONSUMER_OUTPUTS.analyticsStreamArn,
      });
    });

    it("refuses to build without the consumer's outputs", async () => {
      let error: Error | undefined;
      try {
        await runProducer({ consumerStack: "" }, {});
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).to.match(/analyticsStreamArn/);
    });

    it("reads them by StackReference from the configured stack name", () => {
      // The mock answers only for CONSUMER_STACK: had the program referenced another name, runProducer would have thrown.
      expect(run.one("aws:iam/role:Role", "bridge-forwarder-role")).to.exist;
      expect(CONSUMER_STACK).to.equal("acme/event-sourced-pipeline/consumer");
    });
  });
});

describe("bridge role name (two producer stacks in one account)", function () {
  this.timeout(120_000);

  it("a producer stack not named 'producer' gets its own default role name, and a consumer told that stack's name trusts it", async () => {
    const { runProgram } = await import("../support/pulumiMocks");
    const eu = await runProgram({
      stack: "producer-eu",
      account: PRODUCER,
      region: REGION,
      config: { role: "producer", consumerStack: CONSUMER_STACK },
      stackReferences: { [CONSUMER_STACK]: { ...CONSUMER_OUTPUTS, bridgeRoleArn: `arn:aws:iam::${PRODUCER}:role/event-pipeline-bridge-producer-eu` } },
    });
    expect(eu.one("aws:iam/role:Role", "bridge-forwarder-role").inputs.name).to.equal("event-pipeline-bridge-producer-eu");
    const consumer = await runProgram({
      stack: "consumer-eu",
      account: "222222222222",
      region: REGION,
      config: { role: "consumer", producerAccountId: PRODUCER, producerStack: "producer-eu", externalId: "test-external-id" },
    });
    const trust = JSON.parse(consumer.one("aws:iam/role:Role", "-writer").inputs.assumeRolePolicy).Statement[0];
    expect(trust.Condition.ArnEquals["aws:PrincipalArn"]).to.equal(`arn:aws:iam::${PRODUCER}:role/event-pipeline-bridge-producer-eu`);
    expect(consumer.outputs.bridgeRoleArn).to.equal(`arn:aws:iam::${PRODUCER}:role/event-pipeline-bridge-producer-eu`);
  });

  it("the stack named 'producer' keeps event-pipeline-bridge, so no deployed role is replaced", async () => {
    const run = await runProducer();
    expect(run.one("aws:iam/role:Role", "bridge-forwarder-role").inputs.name).to.equal("event-pipeline-bridge");
  });
});

describe("parallelizationFactor above 1 (kplMixedKeys)", function () {
  this.timeout(120_000);

  it("is refused while a producer may pack several aggregates into one KPL record, and set on both mappings once kplMixedKeys is false", async () => {
    const refused = await runProducer({ parallelizationFactor: "4" }).then(
      () => "deployed",
      (err: Error) => err.message,
    );
    expect(refused).to.include("mapping.parallelizationFactor 4 needs kplMixedKeys: false");
    const run = await runProducer({ parallelizationFactor: "4", kplMixedKeys: "false" });
    const factor = (name: string) => run.one("aws:lambda/eventSourceMapping:EventSourceMapping", name).inputs.parallelizationFactor;
    expect([factor("orders-projector-mapping"), factor("analytics-bridge-mapping")]).to.deep.equal([4, 4]);
  });
});

describe("customer-managed key on the event stream (streamKmsKeyArn)", function () {
  this.timeout(120_000);
  const KEY = `arn:aws:kms:${REGION}:${PRODUCER}:key/99999999-8888-7777-6666-555555555555`;
  let run: ProgramRun;
  before(async () => {
    run = await runProducer({ streamKmsKeyArn: KEY });
  });
  // Through Kinesis, and for the event stream alone (Kinesis passes the stream's ARN as the encryption context): a key shared with other streams reads none of theirs.
  const via = () => ({
    StringEquals: {
      "kms:ViaService": `kinesis.${REGION}.amazonaws.com`,
      "kms:EncryptionContext:aws:kinesis:arn": run.one("aws:kinesis/stream:Stream").state.arn,
    },
  });
  const keyGrants = (role: string) =>
    roleStatements(run, role)
      .filter((s) => String(s.Action).startsWith("kms:"))
      .map((s) => [s.Action, s.Resource, s.Condition]);

  it("encrypts the stream with it", () => {
    expect(run.one("aws:kinesis/stream:Stream").inputs).to.include({ encryptionType: "KMS", kmsKeyId: KEY });
  });

  it("lets the API generate data keys with it (a PutRecord needs them), through Kinesis only", () => {
    expect(keyGrants("commands-handler-role")).to.deep.equal([["kms:GenerateDataKey", KEY, via()]]);
  });

  it("lets the projector, the bridge and the archiver decrypt with it, through Kinesis only", () => {
    expect(keyGrants("orders-projector-role")).to.deep.equal([["kms:Decrypt", KEY, via()]]);
    expect(keyGrants("bridge-forwarder-role")).to.deep.equal([["kms:Decrypt", KEY, via()]]);
    // The archiver's other key grant is its own bucket key's, through S3.
    expect(keyGrants("events-archive-archiver-role").filter(([, resource]) => resource === KEY)).to.deep.equal([["kms:Decrypt", KEY, via()]]);
  });

  it("exports the roles a key policy that does not delegate to IAM must name: every role granted the key, the archiver's too", () => {
    const granted = run.resources
      .filter((r) => r.type === "aws:iam/role:Role")
      .filter((r) => (r.inputs.inlinePolicies ?? []).some((p: { policy: string }) => p.policy.includes(KEY)))
      .map((r) => r.name);
    expect(granted.sort()).to.deep.equal(["analytics-bridge-forwarder-role", "commands-handler-role", "events-archive-archiver-role", "orders-projector-role"]);
    const arns = granted.map((r) => run.one("aws:iam/role:Role", r).state.arn).sort();
    expect([...run.outputs.streamKeyUserRoleArns].sort()).to.deep.equal(arns);
  });

  it("after a change of key, every reader keeps kms:Decrypt on the previous keys (records written before stay encrypted with them); the API encrypts with the current one only", async () => {
    const OLD = `arn:aws:kms:${REGION}:${PRODUCER}:key/11111111-2222-3333-4444-555555555555`;
    const changed = await runProducer({
      streamKmsKeyArn: KEY,
      streamPreviousKmsKeyArns: JSON.stringify([OLD]),
      readModelVersions: '[{"version":2,"liveFrom":"2026-12-01T10:00:00Z"}]',
    });
    const grants = (role: string) =>
      roleStatements(changed, role)
        .filter((s) => s.Action === "kms:Decrypt" && s.Sid === "DecryptSourceStream")
        .map((s) => s.Resource);
    for (const role of ["orders-projector-role", "orders-v2-projector-role", "bridge-forwarder-role", "events-archive-archiver-role"])
      expect(grants(role), role).to.deep.equal([[KEY, OLD]]);
    expect(
      roleStatements(changed, "commands-handler-role")
        .filter((s) => String(s.Action).startsWith("kms:"))
        .map((s) => s.Resource),
    ).to.deep.equal([KEY]);
    const refused = await runProducer({ streamKmsKeyArn: KEY, streamPreviousKmsKeyArns: '["alias/old"]' }).then(
      () => "ran",
      (e: Error) => e.message,
    );
    expect(refused).to.include('config streamPreviousKmsKeyArns[0] must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got "alias/old"');
  });

  it("grants no key use with the default AWS-managed key", async () => {
    const plainRun = await runProducer();
    for (const role of ["commands-handler-role", "orders-projector-role", "bridge-forwarder-role"]) {
      expect(roleStatements(plainRun, role).filter((s) => String(s.Action).startsWith("kms:Decrypt") || s.Sid === "EncryptEvents")).to.deep.equal([]);
    }
    expect(plainRun.outputs.streamKeyUserRoleArns).to.deep.equal([]);
  });
});
