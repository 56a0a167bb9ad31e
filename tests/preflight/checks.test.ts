/**
 * The preflight's message for each misconfiguration, on the pure checks: the
 * producer's config against the components' ranges and against the
 * consumer's outputs, and the consumer's config. Each bad key gets its own
 * line; a good pair of stacks gets none.
 */
import { expect } from "chai";
import { ConsumerView, OPAQUE, StackConfig, Target } from "../../preflight/inputs";
import { producerProblems } from "../../preflight/producer";
import { consumerProblems } from "../../preflight/consumer";

const PRODUCER = "111111111111";
const CONSUMER = "222222222222";
const REGION = "eu-west-1";
const STREAM = `arn:aws:kinesis:${REGION}:${CONSUMER}:stream/analytics-stream-0a1b2c3`;
const KEY = `arn:aws:kms:${REGION}:${CONSUMER}:key/11111111-2222-3333-4444-555555555555`;
const WRITER = `arn:aws:iam::${CONSUMER}:role/analytics-writer-4d5e6f7`;
const BRIDGE = `arn:aws:iam::${PRODUCER}:role/event-pipeline-bridge`;

const producerTarget: Target = { stack: "producer", project: "event-sourced-pipeline", accountId: PRODUCER, region: REGION };
const consumerTarget: Target = { stack: "consumer", project: "event-sourced-pipeline", accountId: CONSUMER, region: REGION };

/** A deployed consumer in assumeRole mode that agrees with the default producer. */
function deployed(over: ConsumerView["outputs"] = {}): ConsumerView {
  return {
    source: "consumer stack acme/event-sourced-pipeline/consumer",
    deployed: true,
    outputs: {
      analyticsStreamArn: STREAM,
      analyticsKeyArn: KEY,
      writerRoleArn: WRITER,
      externalId: "ext-7f3a9c",
      accessMode: "assumeRole",
      bridgeRoleArn: BRIDGE,
      producerAccountId: PRODUCER,
      region: REGION,
      ...over,
    },
  };
}

const producer = (config: StackConfig, view = deployed(), target = producerTarget) => producerProblems(config, view, target);

describe("preflight: the producer stack", () => {
  it("finds nothing in a default producer beside a deployed consumer that agrees", () => {
    expect(producer({})).to.deep.equal([]);
    expect(
      producer({ accessMode: "resourcePolicy" }, deployed({ accessMode: "resourcePolicy", writerRoleArn: undefined, externalId: undefined })),
    ).to.deep.equal([]);
  });

  const CONFIG_CASES: [string, StackConfig, string][] = [
    ["streamRetentionHours below Kinesis's range", { streamRetentionHours: "12" }, "EventSourcedTable orders: stream.retentionHours must be 24–8760 h, got 12"],
    ["streamRetentionHours that is not a number", { streamRetentionHours: "a week" }, 'config streamRetentionHours must be a number, got "a week"'],
    ["PROVISIONED without shardCount", { streamMode: "PROVISIONED" }, "stream.shardCount is required when stream.mode is PROVISIONED"],
    ["an unknown streamMode", { streamMode: "FAST" }, 'stream.mode must be one of ON_DEMAND, PROVISIONED, got "FAST"'],
    [
      "parallelizationFactor above Lambda's range",
      { parallelizationFactor: "11" },
      "EventSourcedTable orders: mapping.parallelizationFactor must be 1–10, got 11",
    ],
    [
      "parallelizationFactor above 1 while producers may pack several keys into one KPL record",
      { parallelizationFactor: "6" },
      "config parallelizationFactor: EventSourcedTable orders: mapping.parallelizationFactor 6 needs kplMixedKeys: false",
    ],
    ["kplMixedKeys that is not true or false", { kplMixedKeys: "no" }, 'kplMixedKeys must be true or false, got "no"'],
    ["maxBodyBytes of 0", { maxBodyBytes: "0" }, "config maxBodyBytes: CommandApi commands: maxBodyBytes must be 1–921600, got 0"],
    ["maxBodyBytes above a Kinesis record", { maxBodyBytes: "2000000" }, "CommandApi commands: maxBodyBytes must be 1–921600, got 2000000"],
    [
      "a bridge role name over IAM's 64 characters",
      { bridgeRoleName: "r".repeat(65) },
      "CrossAccountBridge analytics-bridge: roleName must be an IAM role name",
    ],
    ["an unknown accessMode", { accessMode: "both" }, 'config accessMode must be one of assumeRole, resourcePolicy, got "both"'],
    ["an unknown aggregateRecords", { aggregateRecords: "shard" }, 'aggregateRecords must be one of off, sourceShard, partitionKey, got "shard"'],
    [
      "a stream key given as an alias",
      { streamKmsKeyArn: "alias/orders" },
      'config streamKmsKeyArn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got "alias/orders"',
    ],
    [
      "a stream key in another region",
      { streamKmsKeyArn: KEY.replace(CONSUMER, PRODUCER).replace(REGION, "us-east-1") },
      "config streamKmsKeyArn is in 111111111111 us-east-1 but the stream in 111111111111 eu-west-1",
    ],
    [
      "a misspelled key, naming the key meant",
      { acessMode: "resourcePolicy" },
      "config acessMode is not a key the producer stack reads, and would be ignored: did you mean accessMode?",
    ],
    [
      "a consumer stack's key",
      { retentionHours: "48" },
      "config retentionHours is not a key the producer stack reads, and would be ignored: it is a consumer stack key",
    ],
    [
      "an explicit consumer output beside consumerStack",
      { consumerStack: "acme/event-sourced-pipeline/consumer", analyticsStreamArn: `arn:aws:kinesis:${REGION}:${CONSUMER}:stream/s` },
      "config analyticsStreamArn is ignored while consumerStack is set",
    ],
    ["jwt without an issuer", { apiAuth: "jwt", jwtAudiences: "app" }, "config apiAuth/jwt*: CommandApi commands: auth.issuer is required"],
    [
      "a JSON list that does not parse",
      { apiAuth: "jwt", jwtIssuer: "https://id.example.com", jwtAudiences: '["a",' },
      "jwtAudiences must be a JSON list of strings",
    ],
    ["a CORS max age that is not a number", { corsMaxAge: "abc" }, 'config corsMaxAge must be a number, got "abc"'],
    [
      "archive transition days below S3's 30",
      { archiveTransitionDays: "-1" },
      "config archive*: EventArchive events-archive: transitionDays must be 30–36500 days, got -1",
    ],
    [
      "an Object Lock mode without its days",
      { archiveObjectLockMode: "GOVERNANCE" },
      "config archive*: archiveObjectLockMode and archiveObjectLockDays go together",
    ],
    [
      "a read-model version the domain has no reduce for",
      { readModelVersions: '[{"version":3}]' },
      "config readModelVersions/readModelActiveVersion: readModelVersions lists version 3, but the domain has no readModels[3] reduce",
    ],
    ["readModelVersions that is not JSON", { readModelVersions: "v2" }, 'readModelVersions must be a JSON list like [{"version":2}], got v2'],
    [
      "an alarm topic that is not an SNS ARN",
      { alarmTopicArn: "ops" },
      'config alarmTopicArn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>), got "ops"',
    ],
    [
      "an alarm topic in another region",
      { alarmTopicArn: `arn:aws:sns:us-east-1:${PRODUCER}:ops` },
      "config alarmTopicArn is in us-east-1 but the stack deploys to eu-west-1",
    ],
  ];
  // A consumer that exports no accessMode or bridge role ARN, so a bad value is not reported a second time as a disagreement.
  const neutral = deployed({ accessMode: undefined, bridgeRoleArn: undefined });
  for (const [what, config, message] of CONFIG_CASES) {
    it(`refuses ${what}`, () => {
      const problems = producer(config, neutral);
      expect(problems, JSON.stringify(problems)).to.have.length(1);
      expect(problems[0]).to.include(message);
    });
  }

  it("refuses an aws:region that is no region name (pulumi-aws would try it at the first API call)", () => {
    expect(producer({}, deployed(), { ...producerTarget, region: "eu-westt-1" })).to.include(
      'config aws:region must be an AWS region name like eu-west-1, got "eu-westt-1"',
    );
    expect(producer({}, deployed(), { ...producerTarget, region: "us-gov-west-1" }).filter((p) => p.includes("aws:region"))).to.deep.equal([]);
  });

  it("lists every bad key on its own line, not only the first", () => {
    const problems = producer({ streamRetentionHours: "12", parallelizationFactor: "0", maxBodyBytes: "0", accessMode: "resourcePolicy" });
    expect(problems.map((p) => p.split(":")[0])).to.deep.equal([
      "config streamRetentionHours/streamMode/shardCount",
      "config parallelizationFactor",
      "config maxBodyBytes",
      'accessMode is "resourcePolicy" here but "assumeRole" in consumer stack acme/event-sourced-pipeline/consumer',
    ]);
  });

  it("refuses a default bridge role name over 64 characters (a long stack name), naming the fix", () => {
    const stack = "producer-for-the-eu-central-region-of-the-orders-service";
    const problems = producer({}, deployed({ bridgeRoleArn: undefined }), { ...producerTarget, stack });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(
      /^the default bridge role name of stack producer-for-.*: aws:iam\/role:Role name "event-pipeline-bridge-producer-for-.*" is 78 characters; AWS allows at most 64: set bridgeRoleName/,
    );
  });

  const CONSUMER_CASES: [string, ConsumerView, string][] = [
    [
      "a consumer stack that is initialised but not deployed",
      { source: "consumer stack acme/event-sourced-pipeline/consumer", deployed: true, outputs: {} },
      "consumer stack acme/event-sourced-pipeline/consumer has no outputs: deploy the consumer stack (pulumi up --stack consumer) before previewing or deploying the producer",
    ],
    [
      "another accessMode in the consumer",
      deployed({ accessMode: "resourcePolicy" }),
      'accessMode is "assumeRole" here but "resourcePolicy" in consumer stack',
    ],
    [
      "a consumer that trusts another bridge role",
      deployed({ bridgeRoleArn: `arn:aws:iam::${PRODUCER}:role/orders-bridge` }),
      `this stack's bridge role is ${BRIDGE} but consumer stack acme/event-sourced-pipeline/consumer lets arn:aws:iam::${PRODUCER}:role/orders-bridge write`,
    ],
    [
      "a consumer that lets another account write",
      deployed({ producerAccountId: "333333333333" }),
      "lets account 333333333333 write, but this stack deploys to 111111111111",
    ],
    [
      "a stream ARN that is not one",
      deployed({ analyticsStreamArn: "analytics-stream" }),
      'analyticsStreamArn from consumer stack acme/event-sourced-pipeline/consumer must be a kinesis stream ARN, got "analytics-stream"',
    ],
    [
      "a key ARN given as an alias",
      deployed({ analyticsKeyArn: `arn:aws:kms:${REGION}:${CONSUMER}:alias/analytics` }),
      "analyticsKeyArn from consumer stack acme/event-sourced-pipeline/consumer must be a kms key ARN",
    ],
    [
      "a key in another region than the stream",
      deployed({ analyticsKeyArn: KEY.replace(REGION, "us-east-1") }),
      "analyticsKeyArn (account 222222222222, us-east-1) must be in the analytics stream's account and region (222222222222, eu-west-1)",
    ],
    [
      "a stream ARN of another region than the consumer's",
      deployed({ region: "us-east-1" }),
      "analyticsStreamArn is in eu-west-1 but consumer stack acme/event-sourced-pipeline/consumer deploys to us-east-1",
    ],
    [
      "an analytics stream in the producer's own account",
      deployed({
        analyticsStreamArn: STREAM.replace(CONSUMER, PRODUCER),
        analyticsKeyArn: KEY.replace(CONSUMER, PRODUCER),
        writerRoleArn: WRITER.replace(CONSUMER, PRODUCER),
      }),
      "analyticsStreamArn is in this stack's own account 111111111111",
    ],
    [
      "no writer role in assumeRole mode",
      deployed({ writerRoleArn: undefined }),
      'writerRoleArn is missing from consumer stack acme/event-sourced-pipeline/consumer, and accessMode "assumeRole" needs it',
    ],
    [
      "a writer role in another account",
      deployed({ writerRoleArn: WRITER.replace(CONSUMER, "333333333333") }),
      "writerRoleArn is in account 333333333333 but the analytics stream in 222222222222",
    ],
    [
      "no ExternalId in assumeRole mode",
      deployed({ externalId: undefined }),
      'externalId is missing from consumer stack acme/event-sourced-pipeline/consumer, and accessMode "assumeRole" needs it',
    ],
    [
      "an ExternalId STS would refuse",
      deployed({ externalId: "x" }),
      "externalId from consumer stack acme/event-sourced-pipeline/consumer must be 2-1224 characters",
    ],
  ];
  for (const [what, view, message] of CONSUMER_CASES) {
    it(`refuses ${what}`, () => {
      const problems = producer({}, view);
      expect(problems, JSON.stringify(problems)).to.have.length(1);
      expect(problems[0]).to.include(message);
    });
  }

  it("checks explicit config (stacks in different backends) the same way, without the outputs only a deployed consumer has", () => {
    const view: ConsumerView = {
      source: "the producer's config (consumerStack unset)",
      deployed: false,
      outputs: { analyticsStreamArn: STREAM, analyticsKeyArn: KEY, writerRoleArn: WRITER, externalId: OPAQUE },
    };
    expect(producer({}, view)).to.deep.equal([]);
    expect(producer({}, { ...view, outputs: {} })).to.deep.equal([
      "analyticsStreamArn is missing from the producer's config (consumerStack unset): set consumerStack to the deployed consumer, or analyticsStreamArn in the producer's config",
      "analyticsKeyArn is missing from the producer's config (consumerStack unset): set consumerStack to the deployed consumer, or analyticsKeyArn in the producer's config",
      'writerRoleArn is missing from the producer\'s config (consumerStack unset), and accessMode "assumeRole" needs it',
      'externalId is missing from the producer\'s config (consumerStack unset), and accessMode "assumeRole" needs it',
    ]);
  });
});

describe("preflight: the consumer stack", () => {
  const base = { producerAccountId: PRODUCER, externalId: "ext-7f3a9c" };
  const consumer = (over: StackConfig, target = consumerTarget) => consumerProblems({ ...base, ...over }, target);

  it("finds nothing in the default consumer, a secret it cannot read included", () => {
    expect(consumer({})).to.deep.equal([]);
    expect(consumer({ externalId: OPAQUE })).to.deep.equal([]);
    expect(consumer({ accessMode: "resourcePolicy", externalId: undefined })).to.deep.equal([]);
  });

  const CASES: [string, StackConfig, string][] = [
    ["no producerAccountId", { producerAccountId: undefined }, "config producerAccountId is required"],
    ["a producerAccountId that is not an account id", { producerAccountId: "1234" }, 'config producerAccountId must be a 12-digit account id, got "1234"'],
    ["its own account as the producer", { producerAccountId: CONSUMER }, "config producerAccountId is this stack's own account 222222222222"],
    ["no externalId in assumeRole mode", { externalId: undefined }, "Missing required configuration variable 'event-sourced-pipeline:externalId'"],
    ["an externalId STS would refuse", { externalId: "x" }, "config externalId must be 2-1224 characters"],
    ["an unknown accessMode", { accessMode: "both" }, 'config accessMode must be one of assumeRole, resourcePolicy, got "both"'],
    [
      "retentionHours above Kinesis's range",
      { retentionHours: "9000" },
      "config retentionHours: AnalyticsSink analytics: retentionHours must be 24–8760 h, got 9000",
    ],
    [
      "landingExpirationDays before the IA transition",
      { landingExpirationDays: "20" },
      "AnalyticsSink analytics: landing.expirationDays must be 31–36500 days (after transitionToInfrequentAccessDays), got 20",
    ],
    ["landingSilenceHours beyond a day", { landingSilenceHours: "25" }, "AnalyticsSink analytics: landing.silenceAlarmHours must be 0–24 h, got 25"],
    ["landingSilenceHours not a number", { landingSilenceHours: "six" }, 'config landingSilenceHours must be a number, got "six"'],
    [
      "a bridge role name IAM refuses",
      { bridgeRoleName: "no spaces" },
      'AnalyticsSink analytics: bridgeRoleName must be an IAM role name (1–64 characters of letters, digits and +=,.@_-), got "no spaces"',
    ],
    [
      "a producer stack whose default role name is over 64 characters",
      { producerStack: "p".repeat(50) },
      "is 72 characters; AWS allows at most 64: set bridgeRoleName in both stacks",
    ],
  ];
  for (const [what, config, message] of CASES) {
    it(`refuses ${what}`, () => {
      const problems = consumer(config);
      expect(problems, JSON.stringify(problems)).to.have.length(1);
      expect(problems[0]).to.include(message);
    });
  }

  it("refuses a stack name KMS can't put in the key alias", () => {
    const problems = consumer({}, { ...consumerTarget, stack: "consumer.eu" });
    expect(problems).to.deep.equal([
      'the key alias of stack consumer.eu: aws:kms/alias:Alias name "alias/event-sourced-pipeline/consumer.eu/analytics" may hold only letters, digits, / _ and -, starting with "alias/"',
    ]);
  });
});
