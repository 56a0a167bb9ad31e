/**
 * The CrossGuard rules of policy/rules/, called as the CLI calls them but
 * without it: every resource of both stacks (both access modes) captured
 * under mocks passes, every rule applies to something there, and hand-made
 * bad resources make each rule fire.
 */
import { expect } from "chai";
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import * as rules from "../../policy/rules";
import { policies } from "../../policy/rules";
import { TYPES } from "../../components/parts/typeTokens";
import { ProgramRun, RecordedResource, runProgram } from "../support/pulumiMocks";
import { CONSUMER, CONSUMER_STACK, PRODUCER, REGION, runProducer } from "../support/producerRun";

const resourcePolicies = policies.filter((p): p is ResourceValidationPolicy => "validateResource" in p);
const stackPolicies = policies.filter((p): p is StackValidationPolicy => "validateStack" in p);

class NotApplicable extends Error {}

interface Finding {
  policy: string;
  message: string;
  urn?: string;
}

/** A resource as a resource policy sees it: its inputs. */
function resourceArgs(r: { type: string; name: string; urn?: string; props: Record<string, any> }, config: object = {}): ResourceValidationArgs {
  return {
    type: r.type,
    name: r.name,
    urn: r.urn ?? `urn:pulumi:test::event-sourced-pipeline::${r.type}::${r.name}`,
    props: r.props,
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
    },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <C extends object>() => config as C,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
}

/** Runs every resource policy on one resource: the findings, and which policies applied. */
async function validateResource(
  r: { type: string; name: string; urn?: string; props: Record<string, any> },
  only?: string,
): Promise<{ findings: Finding[]; applied: string[] }> {
  const findings: Finding[] = [];
  const applied: string[] = [];
  for (const p of resourcePolicies.filter((x) => !only || x.name === only)) {
    const validations = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource!];
    try {
      for (const v of validations) await v(resourceArgs(r), (message, urn) => findings.push({ policy: p.name, message, urn }));
      applied.push(p.name);
    } catch (e) {
      if (!(e instanceof NotApplicable)) throw e;
    }
  }
  return { findings, applied };
}

/** A resource as a stack policy sees it: its state (outputs), with the id the mock answered. */
function policyResource(r: RecordedResource): PolicyResource {
  return {
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: { ...r.state, id: `${r.name}-id` },
    opts: resourceArgs({ type: r.type, name: r.name, props: {} }).opts,
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  };
}

async function validateStack(resources: PolicyResource[], only?: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const p of stackPolicies.filter((x) => !only || x.name === only)) {
    const args: StackValidationArgs = {
      resources,
      stackTags: new Map(),
      getConfig: <C extends object>() => ({}) as C,
      notApplicable: (reason?: string): never => {
        throw new NotApplicable(reason);
      },
    };
    await p.validateStack(args, (message, urn) => findings.push({ policy: p.name, message, urn }));
  }
  return findings;
}

const fromRecorded = (r: RecordedResource) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs });
const clone = <V>(v: V): V => JSON.parse(JSON.stringify(v));

describe("policy pack (rules called directly)", function () {
  this.timeout(120_000);
  const runs: Record<string, ProgramRun> = {};

  before(async () => {
    for (const mode of ["assumeRole", "resourcePolicy"] as const) {
      const consumer = await runProgram({
        stack: "consumer",
        account: CONSUMER,
        region: REGION,
        config: { role: "consumer", producerAccountId: PRODUCER, accessMode: mode, ...(mode === "assumeRole" ? { externalId: "ext-policy" } : {}) },
      });
      runs[`consumer (${mode})`] = consumer;
      runs[`producer (${mode})`] = await runProducer({ accessMode: mode }, { [CONSUMER_STACK]: consumer.outputs });
    }
  });

  it("has twelve rules with unique names, every one mandatory but the one that reports an API open by choice", () => {
    expect(policies.map((p) => p.name)).to.have.length(12);
    expect(new Set(policies.map((p) => p.name)).size).to.equal(policies.length);
    for (const p of policies) expect(p.enforcementLevel, p.name).to.equal(p.name === "api-open-by-choice" ? "advisory" : "mandatory");
  });

  it("passes every resource of both stacks, in both access modes", async () => {
    const all: Finding[] = [];
    for (const [stack, run] of Object.entries(runs)) {
      for (const r of run.resources.filter((x) => x.custom)) {
        const { findings } = await validateResource(fromRecorded(r));
        all.push(...findings.map((f) => ({ ...f, message: `${stack} ${r.name}: ${f.message}` })));
      }
    }
    expect(all).to.deep.equal([]);
  });

  it("passes both stacks as a whole, in both access modes", async () => {
    for (const [stack, run] of Object.entries(runs)) {
      expect(await validateStack(run.resources.filter((x) => x.custom).map(policyResource)), stack).to.deep.equal([]);
    }
  });

  it("applies every resource rule to at least one resource of the stacks", async () => {
    const applied = new Set<string>();
    for (const run of Object.values(runs)) {
      for (const r of run.resources.filter((x) => x.custom)) (await validateResource(fromRecorded(r))).applied.forEach((n) => applied.add(n));
    }
    expect([...applied].sort()).to.deep.equal(resourcePolicies.map((p) => p.name).sort());
  });

  it("iam-no-wildcards reads every policy document the stacks emit", async () => {
    const carriers = new Set<string>();
    for (const run of Object.values(runs)) {
      for (const r of run.resources) {
        if (typeof r.inputs.policy === "string" || r.inputs.assumeRolePolicy !== undefined || r.inputs.inlinePolicies !== undefined) carriers.add(r.type);
      }
    }
    expect([...carriers].sort()).to.deep.equal(
      [TYPES.role, "aws:kinesis/resourcePolicy:ResourcePolicy", TYPES.keyPolicy, "aws:s3/bucketPolicy:BucketPolicy"].sort(),
    );
    for (const type of carriers) expect(rules.POLICY_PROPERTIES, type).to.have.property(type);
  });

  // ── Each rule fires on a bad resource ──
  const rec = (stack: string, type: string, suffix?: string) => runs[stack].one(type, suffix);
  async function fires(policy: string, r: { type: string; name: string; props: Record<string, any> }, pattern: RegExp): Promise<void> {
    const { findings, applied } = await validateResource(r, policy);
    expect(applied, `${policy} did not apply to ${r.type}`).to.deep.equal([policy]);
    expect(findings.map((f) => f.message).join("\n"), policy).to.match(pattern);
  }
  const bad = (r: RecordedResource, edit: (props: Record<string, any>) => void) => {
    const props = clone(r.inputs);
    edit(props);
    return { type: r.type, name: `${r.name}-bad`, props };
  };

  it("kinesis-stream-encrypted fires on an unencrypted stream and on KMS without a key", async () => {
    const stream = rec("producer (assumeRole)", TYPES.stream);
    await fires(
      "kinesis-stream-encrypted",
      bad(stream, (p) => {
        delete p.encryptionType;
        delete p.kmsKeyId;
      }),
      /encryptionType is "NONE"/,
    );
    await fires(
      "kinesis-stream-encrypted",
      bad(stream, (p) => {
        delete p.kmsKeyId;
      }),
      /no kmsKeyId/,
    );
  });

  it("dynamodb-table-encrypted fires on a table without SSE", async () => {
    await fires(
      "dynamodb-table-encrypted",
      bad(rec("producer (assumeRole)", TYPES.table, "read-model"), (p) => {
        p.serverSideEncryption = { enabled: false };
      }),
      /serverSideEncryption/,
    );
    await fires("dynamodb-table-encrypted", { type: TYPES.table, name: "bare", props: { hashKey: "pk" } }, /serverSideEncryption/);
  });

  it("dynamodb-point-in-time-recovery fires on a table without PITR", async () => {
    await fires(
      "dynamodb-point-in-time-recovery",
      bad(rec("producer (assumeRole)", TYPES.table, "orders-parked"), (p) => {
        delete p.pointInTimeRecovery;
      }),
      /pointInTimeRecovery/,
    );
  });

  it("sqs-queue-encrypted fires on a queue without SSE", async () => {
    await fires(
      "sqs-queue-encrypted",
      bad(rec("producer (assumeRole)", TYPES.queue, "projector-failures"), (p) => {
        p.sqsManagedSseEnabled = false;
      }),
      /neither sqsManagedSseEnabled nor kmsMasterKeyId/,
    );
  });

  it("s3-bucket-sse-kms fires on AES256 default encryption", async () => {
    const sse = runs["consumer (assumeRole)"].ofType(TYPES.bucketSse)[0];
    await fires(
      "s3-bucket-sse-kms",
      bad(sse, (p) => {
        p.rules = [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }];
      }),
      /sseAlgorithm is "AES256"/,
    );
    await fires(
      "s3-bucket-sse-kms",
      bad(sse, (p) => {
        p.rules = [];
      }),
      /no encryption rule/,
    );
  });

  it("s3-bucket-encrypted (stack) fires on a bucket with no encryption configuration", async () => {
    const resources = runs["consumer (assumeRole)"].resources.filter((x) => x.custom && x.type !== TYPES.bucketSse).map(policyResource);
    const findings = await validateStack(resources, "s3-bucket-encrypted");
    expect(findings.map((f) => f.message)).to.deep.equal(["bucket analytics-landing has no server-side encryption configuration"]);
    expect(findings[0].urn).to.equal(rec("consumer (assumeRole)", TYPES.bucket).urn);
  });

  it("firehose-s3-encrypted fires on unencrypted S3 delivery and on an unencrypted Direct PUT stream", async () => {
    const firehose = rec("consumer (assumeRole)", TYPES.firehose);
    await fires(
      "firehose-s3-encrypted",
      bad(firehose, (p) => {
        delete p.extendedS3Configuration.kmsKeyArn;
      }),
      /kmsKeyArn is not set/,
    );
    await fires(
      "firehose-s3-encrypted",
      bad(firehose, (p) => {
        delete p.kinesisSourceConfiguration;
      }),
      /Direct PUT delivery stream needs serverSideEncryption/,
    );
  });

  it("iam-no-wildcards fires on a * action, a service:* action, a * resource, NotAction, and an Allow for everyone", async () => {
    const role = rec("producer (assumeRole)", TYPES.role, "orders-projector-role");
    const withStatement = (statement: object) =>
      bad(role, (p) => {
        const doc = JSON.parse(p.inlinePolicies[0].policy);
        doc.Statement.push(statement);
        p.inlinePolicies[0].policy = JSON.stringify(doc);
      });
    await fires(
      "iam-no-wildcards",
      withStatement({ Sid: "Everything", Effect: "Allow", Action: "*", Resource: "arn:aws:dynamodb:us-east-1:111111111111:table/t" }),
      /inlinePolicies\[least-privilege\]: statement "Everything": wildcard action "\*"/,
    );
    await fires(
      "iam-no-wildcards",
      withStatement({ Sid: "AllDynamo", Effect: "Allow", Action: "dynamodb:*", Resource: "arn:aws:dynamodb:us-east-1:111111111111:table/t" }),
      /wildcard action "dynamodb:\*"/,
    );
    await fires(
      "iam-no-wildcards",
      withStatement({ Sid: "AnyTable", Effect: "Allow", Action: "dynamodb:PutItem", Resource: "*" }),
      /Resource "\*" for dynamodb:PutItem/,
    );
    await fires("iam-no-wildcards", withStatement({ Sid: "AllBut", Effect: "Allow", NotAction: "iam:*", Resource: "arn:aws:s3:::b" }), /Allow with NotAction/);
    // A wildcard-only action may name "*", by default and through config.
    const { findings } = await validateResource(
      withStatement({ Sid: "Metrics", Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*" }),
      "iam-no-wildcards",
    );
    expect(findings).to.deep.equal([]);
    const trust = bad(role, (p) => {
      p.assumeRolePolicy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }] });
    });
    await fires("iam-no-wildcards", trust, /assumeRolePolicy: statement #0: Allow for any principal/);
  });

  it("iam-no-wildcards fires in resource and key policies, but allows a key policy's own * and its root kms:* statement", async () => {
    const streamPolicy = rec("consumer (resourcePolicy)", "aws:kinesis/resourcePolicy:ResourcePolicy");
    await fires(
      "iam-no-wildcards",
      bad(streamPolicy, (p) => {
        const doc = JSON.parse(p.policy);
        doc.Statement[0].Principal = "*";
        doc.Statement[0].Action = "kinesis:*";
        p.policy = JSON.stringify(doc);
      }),
      /Allow for any principal[\s\S]*wildcard action "kinesis:\*"/,
    );
    const keyPolicy = rec("consumer (assumeRole)", TYPES.keyPolicy);
    expect((await validateResource(fromRecorded(keyPolicy), "iam-no-wildcards")).findings).to.deep.equal([]);
    await fires(
      "iam-no-wildcards",
      bad(keyPolicy, (p) => {
        const doc = JSON.parse(p.policy);
        const writer = doc.Statement.find((s: any) => s.Sid === "WriterEncryptsRecords");
        writer.Action = "kms:*";
        p.policy = JSON.stringify(doc);
      }),
      /statement "WriterEncryptsRecords": wildcard action "kms:\*"/,
    );
    const bucketPolicy = rec("consumer (assumeRole)", "aws:s3/bucketPolicy:BucketPolicy");
    await fires(
      "iam-no-wildcards",
      bad(bucketPolicy, (p) => {
        const doc = JSON.parse(p.policy);
        doc.Statement.push({ Sid: "Public", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*" });
        p.policy = JSON.stringify(doc);
      }),
      /statement "Public": Allow for any principal[\s\S]*statement "Public": Resource "\*"/,
    );
  });

  for (const [field, value, pattern] of [
    ["maximumRetryAttempts", -1, /maximumRetryAttempts is -1/],
    ["maximumRetryAttempts", undefined, /maximumRetryAttempts is undefined/],
    ["maximumRecordAgeInSeconds", -1, /maximumRecordAgeInSeconds is -1/],
    ["bisectBatchOnFunctionError", false, /bisectBatchOnFunctionError is not true/],
    ["functionResponseTypes", [], /ReportBatchItemFailures/],
    ["destinationConfig", undefined, /no destinationConfig.onFailure.destinationArn/],
  ] as const) {
    it(`stream-mapping-failure-handling fires on ${field} = ${JSON.stringify(value)}`, async () => {
      const mapping = rec("producer (resourcePolicy)", TYPES.mapping, "projector-mapping");
      await fires(
        "stream-mapping-failure-handling",
        bad(mapping, (p) => {
          if (value === undefined) delete p[field];
          else p[field] = value;
        }),
        pattern,
      );
    });
  }

  it("stream-mapping-failure-handling still applies in a first preview, when the stream's ARN is not known yet", async () => {
    const { unknownCheckingProxy, unknownStringValue } = require("@pulumi/policy/proxy");
    const mapping = rec("producer (assumeRole)", TYPES.mapping, "projector-mapping");
    const preview = (edit: (p: Record<string, any>) => void) => {
      const props = clone(mapping.inputs);
      props.eventSourceArn = unknownStringValue;
      edit(props);
      return { type: TYPES.mapping, name: mapping.name, props: unknownCheckingProxy(props) };
    };
    const good = await validateResource(
      preview(() => undefined),
      "stream-mapping-failure-handling",
    );
    expect(good).to.deep.equal({ findings: [], applied: ["stream-mapping-failure-handling"] });
    await fires(
      "stream-mapping-failure-handling",
      preview((p) => {
        p.bisectBatchOnFunctionError = false;
      }),
      /bisectBatchOnFunctionError is not true/,
    );
  });

  it("stream-mapping-failure-handling does not apply to an SQS mapping", async () => {
    const { applied } = await validateResource(
      { type: TYPES.mapping, name: "sqs", props: { eventSourceArn: "arn:aws:sqs:us-east-1:111111111111:q", functionName: "f" } },
      "stream-mapping-failure-handling",
    );
    expect(applied).to.deep.equal([]);
  });

  it("stream-consumer-alarms (stack) fires when a stream-fed function lacks its IteratorAge or Errors alarm, or its queue a depth alarm", async () => {
    const run = runs["producer (assumeRole)"];
    const without = (suffix: string) => run.resources.filter((x) => x.custom && !(x.type === TYPES.alarm && x.name.endsWith(suffix))).map(policyResource);
    const projector = run.one(TYPES.function, "orders-projector").state.name;
    const bridge = run.one(TYPES.function, "analytics-bridge-forwarder").state.name;
    expect((await validateStack(without("orders-projector-iterator-age"), "stream-consumer-alarms")).map((f) => f.message)).to.deep.equal([
      `function ${projector} (fed by orders-projector-mapping) has no IteratorAge alarm`,
    ]);
    expect((await validateStack(without("analytics-bridge-forwarder-errors"), "stream-consumer-alarms")).map((f) => f.message)).to.deep.equal([
      `function ${bridge} (fed by analytics-bridge-mapping) has no Errors alarm`,
    ]);
    const queue = run.one(TYPES.queue, "projector-failures").state.name;
    expect((await validateStack(without("orders-projector-on-failure"), "stream-consumer-alarms")).map((f) => f.message)).to.deep.equal([
      `on-failure queue ${queue} of orders-projector-mapping has no depth alarm`,
    ]);
    // The API's Errors alarm does not count for a stream-fed function.
    const mislabelled = without("orders-projector-errors");
    expect((await validateStack(mislabelled, "stream-consumer-alarms")).map((f) => f.message)).to.deep.equal([
      `function ${projector} (fed by orders-projector-mapping) has no Errors alarm`,
    ]);
  });

  describe("the API's routes", () => {
    const auth: Record<string, ProgramRun> = {};
    before(async () => {
      auth.jwt = await runProducer({ apiAuth: "jwt", jwtIssuer: "https://login.example.com", jwtAudiences: "orders-api" });
      auth.none = await runProducer({ apiAuth: "none" });
      auth.cors = await runProducer({
        apiAuth: "jwt",
        jwtIssuer: "https://login.example.com",
        jwtAudiences: "orders-api",
        corsAllowOrigins: "https://app.example.com",
      });
    });
    const stack = (run: ProgramRun, edit: (r: RecordedResource) => RecordedResource = (r) => r) =>
      run.resources.filter((x) => x.custom).map((r) => policyResource(edit(r)));
    const messages = async (resources: PolicyResource[], policy: string) => (await validateStack(resources, policy)).map((f) => f.message);

    it("api-routes-authorized passes iam and jwt stacks, a jwt stack with CORS (its open preflight route), and a none stack (open by choice)", async () => {
      for (const run of [runs["producer (assumeRole)"], auth.jwt, auth.cors, auth.none])
        expect(await messages(stack(run), "api-routes-authorized")).to.deep.equal([]);
      // The preflight route is excused only on an API with CORS.
      const noCors = (r: RecordedResource) => (r.type === TYPES.httpApi ? { ...r, state: { ...r.state, corsConfiguration: undefined } } : r);
      expect(await messages(stack(auth.cors, noCors), "api-routes-authorized")).to.deep.equal([
        'route OPTIONS /{proxy+}: authorizationType is "NONE": anyone who finds the URL may call it; set apiAuth to iam or jwt',
      ]);
    });

    it("api-routes-authorized excuses the preflight route in a first preview too, when neither the API's id nor the route's apiId is known yet", async () => {
      const { unknownCheckingProxy, unknownStringValue } = require("@pulumi/policy/proxy");
      const firstPreview = (edit: (r: RecordedResource) => RecordedResource = (r) => r) =>
        stack(auth.cors, edit).map((p) => {
          if (p.type === TYPES.route) return { ...p, props: unknownCheckingProxy({ ...p.props, apiId: unknownStringValue }) };
          if (p.type === TYPES.httpApi) return { ...p, props: unknownCheckingProxy({ ...p.props, id: unknownStringValue }) };
          return p;
        });
      expect(await messages(firstPreview(), "api-routes-authorized")).to.deep.equal([]);
      const noCors = (r: RecordedResource) => (r.type === TYPES.httpApi ? { ...r, state: { ...r.state, corsConfiguration: undefined } } : r);
      expect(await messages(firstPreview(noCors), "api-routes-authorized")).to.have.length(1);
    });

    it("api-routes-authorized fires on a route without an authorizer, and on a JWT route that names none", async () => {
      const opened = (type: string, key: string) => (r: RecordedResource) =>
        r.type === TYPES.route && r.inputs.routeKey === key ? { ...r, state: { ...r.state, authorizationType: type, authorizerId: undefined } } : r;
      expect(await messages(stack(runs["producer (assumeRole)"], opened("NONE", "POST /aggregates/{id}/events")), "api-routes-authorized")).to.deep.equal([
        'route POST /aggregates/{id}/events: authorizationType is "NONE": anyone who finds the URL may call it; set apiAuth to iam or jwt',
      ]);
      expect(await messages(stack(auth.jwt, opened("JWT", "$default")), "api-routes-authorized")).to.deep.equal([
        "route $default: authorizationType JWT names no authorizerId; set apiAuth to iam or jwt",
      ]);
    });

    it("api-open-by-choice reports the API of a none stack, and nothing elsewhere", async () => {
      const api = auth.none.one(TYPES.httpApi).name;
      expect(await messages(stack(auth.none), "api-open-by-choice")).to.deep.equal([
        `API ${api} is open to anyone by choice (apiAuth none): 3 route(s) without an authorizer`,
      ]);
      for (const run of [runs["producer (assumeRole)"], auth.jwt]) expect(await messages(stack(run), "api-open-by-choice")).to.deep.equal([]);
    });
  });
});
