/**
 * The local IAM enforcer: the program's real manifests (both stacks run under
 * the local provider into this file's own emulators, in each access mode),
 * real SDK clients carrying a role's session token through the enforcing
 * proxies, and what AWS would answer: the call goes through when the role's
 * policies allow it, AccessDenied (with AWS's message) when they don't. Also
 * the request derivation and the evaluator on their own, and the evaluator
 * checked against @cloud-copilot/iam-simulate on the emitted policies.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DescribeStreamSummaryCommand, PutRecordCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { AssumeRoleCommand, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { startDynalite, startKinesisLocal } from "../../support/emulators";
import { startS3 } from "../../../local/emulators/s3";
import { LocalEndpoints, StackManifest } from "../../../local/shared/manifest";
import { runStackInChild } from "../../../local/deploy/runStack";
import { startLocalSts } from "../../../local/sts/sts";
import { EnforcerDecision, IamEnforcers, PolicySet, policiesFromManifests, startIamEnforcers } from "../../../local/iam/enforcer";
import { evaluate, SessionPrincipal } from "../../../local/iam/policy";
import { dynamodbAdapter, kinesisAdapter, stsAdapter } from "../../../local/iam/request";
import { emulatorDynamo, emulatorKinesis, emulatorSts } from "../../../local/emulators/clients";

const PRODUCER = "111111111111";
const CONSUMER = "222222222222";
const REGION = "us-east-1";
const EXTERNAL_ID = "enforcer-external-id";
type Mode = "assumeRole" | "resourcePolicy";

interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
const roleSession = (roleArn: string): Session => ({ accessKeyId: roleArn.split(":")[4], secretAccessKey: "local", sessionToken: `role:${roleArn}` });

/** Expects an AWS AccessDenied error and returns its message. */
async function denied(call: Promise<unknown>, name = "AccessDeniedException"): Promise<string> {
  try {
    await call;
  } catch (err: any) {
    expect(err.name, err.message).to.equal(name);
    expect(err.$metadata?.httpStatusCode).to.equal(name === "AccessDenied" ? 403 : 400);
    return err.message;
  }
  throw new Error("expected AccessDenied, the call succeeded");
}

describe("local IAM enforcer", function () {
  this.timeout(300_000);
  const closers: (() => Promise<unknown>)[] = [];
  const tempDirs: string[] = [];
  let endpoints: LocalEndpoints;
  const manifests = {} as Record<Mode, { consumer: StackManifest; producer: StackManifest }>;
  const enforcers = {} as Record<Mode, IamEnforcers>;
  const decisions: EnforcerDecision[] = [];
  /** Allowed requests whose answer ended (what tells the stream's local readers a put landed). */
  const answered: { action: string; resource: string; status: number }[] = [];
  /** Lets a test drop the analytics stream's resource policy to show what it contributes. */
  let withoutResourcePolicies = false;

  const kinesis = (mode: Mode, s: Session) => emulatorKinesis({ endpoint: enforcers[mode].endpoints.kinesis, credentials: s, maxAttempts: 1 });
  const dynamo = (mode: Mode, s: Session) => emulatorDynamo({ endpoint: enforcers[mode].endpoints.dynamodb, credentials: s, maxAttempts: 1 });
  const sts = (mode: Mode, s: Session) => emulatorSts({ endpoint: enforcers[mode].endpoints.sts, credentials: s, maxAttempts: 1 });
  const direct = () => emulatorDynamo({ endpoint: endpoints.dynamodb, account: PRODUCER });
  const roleArn = (m: StackManifest, suffix: string) => {
    const role = m.resources.find((r) => r.type === "aws:iam/role:Role" && r.name.endsWith(suffix));
    if (!role) throw new Error(`no role *${suffix} in the ${m.stack} manifest`);
    return role.state.arn as string;
  };
  const tableArn = (name: string) => `arn:aws:dynamodb:${REGION}:${PRODUCER}:table/${name}`;
  const tempDir = (prefix: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    tempDirs.push(d);
    return d;
  };

  before(async () => {
    const [dynalite, kinesisLocal] = await Promise.all([startDynalite(), startKinesisLocal()]);
    closers.push(
      () => dynalite.close(),
      () => kinesisLocal.close(),
    );
    // The consumer stack creates its landing bucket (startS3 registers the accounts' access keys, whatever ran before).
    const s3 = await startS3();
    closers.push(() => s3.stop());
    const stsServer = await startLocalSts({
      roles: () =>
        Object.values(manifests)
          .flatMap((m) => [m.consumer, m.producer])
          .flatMap((m) => m.resources)
          .filter((r) => r.type === "aws:iam/role:Role")
          .map((r) => ({ arn: r.state.arn, assumeRolePolicy: r.inputs.assumeRolePolicy })),
    });
    closers.push(() => stsServer.stop());
    endpoints = { kinesis: kinesisLocal.endpoint, dynamodb: dynalite.endpoint, s3: s3.endpoint, sts: stsServer.endpoint };
    for (const mode of ["assumeRole", "resourcePolicy"] as Mode[]) {
      const outputDir = tempDir(`enforcer-${mode}-`);
      const consumer = await runStackInChild({
        stack: "consumer",
        account: CONSUMER,
        region: REGION,
        endpoints,
        outputDir,
        config: { role: "consumer", producerAccountId: PRODUCER, accessMode: mode, ...(mode === "assumeRole" ? { externalId: EXTERNAL_ID } : {}) },
      });
      const producer = await runStackInChild({
        stack: "producer",
        account: PRODUCER,
        region: REGION,
        endpoints,
        outputDir,
        config: { role: "producer", consumerStack: "consumer", accessMode: mode },
        stackReferences: { consumer: consumer.outputs },
      });
      manifests[mode] = { consumer, producer };
      enforcers[mode] = await startIamEnforcers(
        { kinesis: endpoints.kinesis, dynamodb: endpoints.dynamodb, sts: endpoints.sts },
        {
          region: REGION,
          policies: (): PolicySet => {
            const set = policiesFromManifests([consumer, producer]);
            return withoutResourcePolicies ? { ...set, resourcePolicies: [] } : set;
          },
          sessionName: (arn) => producer.functions.find((f) => f.roleArn === arn)?.functionName,
          onDecision: (d) => decisions.push(d),
          onAnswered: (d, status) => answered.push({ action: d.action, resource: d.resource, status }),
        },
      );
      closers.push(() => enforcers[mode].stop());
    }
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
  });

  describe("with the program's roles (assumeRole mode)", () => {
    const m = () => manifests.assumeRole.producer;
    const projector = () => roleSession(roleArn(m(), "orders-projector-role"));
    const api = () => roleSession(roleArn(m(), "commands-handler-role"));
    const bridge = () => roleSession(roleArn(m(), "analytics-bridge-forwarder-role"));

    it("lets the projector PutItem on its read-model table, and the item is written", async () => {
      const table = m().outputs.readModelTableName as string;
      await dynamo("assumeRole", projector()).send(new PutItemCommand({ TableName: table, Item: { pk: { S: "enforcer-1" }, v: { N: "1" } } }));
      const item = await direct().send(new GetItemCommand({ TableName: table, Key: { pk: { S: "enforcer-1" } } }));
      expect(item.Item?.v).to.deep.equal({ N: "1" });
    });

    it("refuses the projector PutItem on another table, with AWS's message, and writes nothing", async () => {
      const table = m().outputs.bridgeParkedTableName as string;
      const message = await denied(dynamo("assumeRole", projector()).send(new PutItemCommand({ TableName: table, Item: { pk: { S: "x" }, sk: { S: "y" } } })));
      const role = roleArn(m(), "orders-projector-role").split("/").pop();
      const fn = m().functions.find((f) => f.name === "orders-projector")!.functionName;
      expect(message).to.equal(
        `User: arn:aws:sts::${PRODUCER}:assumed-role/${role}/${fn} is not authorized to perform: dynamodb:PutItem on resource: ${tableArn(table)} because no identity-based policy allows the dynamodb:PutItem action`,
      );
      expect((await direct().send(new GetItemCommand({ TableName: table, Key: { pk: { S: "x" }, sk: { S: "y" } } }))).Item).to.equal(undefined);
    });

    it("refuses the projector kinesis:PutRecord on the source stream", async () => {
      answered.length = 0;
      const message = await denied(
        kinesis("assumeRole", projector()).send(new PutRecordCommand({ StreamName: m().outputs.eventStreamName, Data: Buffer.from("{}"), PartitionKey: "a" })),
      );
      expect(message).to.contain(`kinesis:PutRecord on resource: ${m().outputs.eventStreamArn} because no identity-based policy allows`);
      // A refused put never reaches the emulator, so no reader hears of it.
      expect(answered).to.deep.equal([]);
    });

    it("lets the API PutRecord on the stream by name (resolved in its own account)", async () => {
      answered.length = 0;
      const out = await kinesis("assumeRole", api()).send(
        new PutRecordCommand({ StreamName: m().outputs.eventStreamName, Data: Buffer.from("{}"), PartitionKey: "a" }),
      );
      expect(out.SequenceNumber).to.match(/^\d+$/);
      // Heard by the answer's end, by the stream's ARN (what its mappings subscribe to).
      expect(answered).to.deep.equal([{ action: "kinesis:PutRecord", resource: m().outputs.eventStreamArn, status: 200 }]);
    });

    it("refuses the API GetItem on the parked table but not on the read model", async () => {
      const parked = m().outputs.parkedTableName as string;
      const message = await denied(dynamo("assumeRole", api()).send(new GetItemCommand({ TableName: parked, Key: { pk: { S: "a" }, sk: { S: "b" } } })));
      expect(message).to.contain(`dynamodb:GetItem on resource: ${tableArn(parked)}`);
      await dynamo("assumeRole", api()).send(new GetItemCommand({ TableName: m().outputs.readModelTableName, Key: { pk: { S: "enforcer-1" } } }));
    });

    it("lets the bridge assume the writer role through STS, and the writer session PutRecords on the analytics stream", async () => {
      const writerArn = manifests.assumeRole.consumer.outputs.writerRoleArn as string;
      const out = await sts("assumeRole", bridge()).send(new AssumeRoleCommand({ RoleArn: writerArn, ExternalId: EXTERNAL_ID, RoleSessionName: "bridge" }));
      const c = out.Credentials!;
      expect(c.SessionToken).to.equal(`role:${writerArn}`);
      const writer = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
      const streamArn = manifests.assumeRole.consumer.outputs.analyticsStreamArn as string;
      const put = await kinesis("assumeRole", writer).send(
        new PutRecordsCommand({ StreamARN: streamArn, Records: [{ Data: Buffer.from("{}"), PartitionKey: "a" }] }),
      );
      expect(put.FailedRecordCount).to.equal(0);
      // PutRecords only: the writer may not even describe the stream.
      await denied(kinesis("assumeRole", writer).send(new DescribeStreamSummaryCommand({ StreamARN: streamArn })));
    });

    it("refuses the bridge's own session PutRecords on the analytics stream (it must assume the writer role)", async () => {
      const streamArn = manifests.assumeRole.consumer.outputs.analyticsStreamArn as string;
      const message = await denied(
        kinesis("assumeRole", bridge()).send(new PutRecordsCommand({ StreamARN: streamArn, Records: [{ Data: Buffer.from("{}"), PartitionKey: "a" }] })),
      );
      expect(message).to.contain(`kinesis:PutRecords on resource: ${streamArn} because no identity-based policy allows`);
    });

    it("refuses sts:AssumeRole of a role the caller's identity policy does not name (before the trust policy is even asked)", async () => {
      const writerArn = manifests.assumeRole.consumer.outputs.writerRoleArn as string;
      const message = await denied(
        sts("assumeRole", projector()).send(new AssumeRoleCommand({ RoleArn: writerArn, ExternalId: EXTERNAL_ID, RoleSessionName: "x" })),
        "AccessDenied",
      );
      expect(message).to.contain(`sts:AssumeRole on resource: ${writerArn} because no identity-based policy allows the sts:AssumeRole action`);
      // GetCallerIdentity needs no permission.
      expect((await sts("assumeRole", projector()).send(new GetCallerIdentityCommand({}))).Account).to.equal(PRODUCER);
    });

    it("forwards requests without a role token unchecked, and refuses an invalid token", async () => {
      const before = enforcers.assumeRole.stats();
      const anonymous = { accessKeyId: PRODUCER, secretAccessKey: "local" };
      await dynamo("assumeRole", anonymous).send(new PutItemCommand({ TableName: m().outputs.parkedTableName, Item: { pk: { S: "admin" }, sk: { S: "1" } } }));
      expect(enforcers.assumeRole.stats().unchecked).to.equal(before.unchecked + 1);
      await denied(
        dynamo("assumeRole", { ...anonymous, sessionToken: "role:not-an-arn" }).send(new GetItemCommand({ TableName: "t", Key: { pk: { S: "a" } } })),
        "UnrecognizedClientException",
      );
      // The access key id must be the session's account (kinesis-local picks the account by it).
      await denied(
        dynamo("assumeRole", { ...projector(), accessKeyId: CONSUMER }).send(new GetItemCommand({ TableName: "t", Key: { pk: { S: "a" } } })),
        "UnrecognizedClientException",
      );
    });

    it("counts decisions and remembers the last denial", () => {
      const s = enforcers.assumeRole.stats();
      expect(s.allowed).to.be.greaterThan(3);
      expect(s.denied).to.be.greaterThan(5);
      expect(s.lastDenied?.message).to.equal("The security token included in the request is invalid.");
      expect(decisions.filter((d) => !d.allowed && d.action === "dynamodb:PutItem").map((d) => d.resource)).to.include(
        tableArn(m().outputs.bridgeParkedTableName),
      );
    });
  });

  describe("resourcePolicy mode: the analytics stream's policy admits the bridge across accounts", () => {
    const bridge = () => roleSession(roleArn(manifests.resourcePolicy.producer, "analytics-bridge-forwarder-role"));
    const put = (s: Session) =>
      kinesis("resourcePolicy", s).send(
        new PutRecordsCommand({
          StreamARN: manifests.resourcePolicy.consumer.outputs.analyticsStreamArn,
          Records: [{ Data: Buffer.from("{}"), PartitionKey: "a" }],
        }),
      );
    afterEach(() => {
      withoutResourcePolicies = false;
    });

    it("lets the bridge role PutRecords on the consumer's stream", async () => {
      expect((await put(bridge())).FailedRecordCount).to.equal(0);
    });

    it("refuses the same call once the stream policy is gone: the identity policy alone does not reach across accounts", async () => {
      withoutResourcePolicies = true;
      const message = await denied(put(bridge()));
      expect(message).to.contain("because no resource-based policy allows the kinesis:PutRecords action");
    });

    it("refuses another role of the producer account, which the stream policy's aws:PrincipalArn condition leaves out", async () => {
      await denied(put(roleSession(roleArn(manifests.resourcePolicy.producer, "commands-handler-role"))));
    });
  });

  describe("deriving the action and resources of a request", () => {
    const scope = { account: PRODUCER, region: REGION };
    const target = (t: string) => ({ "x-amz-target": t });
    const body = (o: unknown) => Buffer.from(JSON.stringify(o));

    it("Kinesis: StreamName in the caller's account, StreamARN as given, account-level operations on *", () => {
      expect(kinesisAdapter.parse(target("Kinesis_20131202.PutRecords"), body({ StreamName: "s", Records: [] }), scope)).to.deep.equal({
        kind: "authorize",
        authorizations: [{ action: "kinesis:PutRecords", resource: `arn:aws:kinesis:${REGION}:${PRODUCER}:stream/s` }],
      });
      const other = `arn:aws:kinesis:${REGION}:${CONSUMER}:stream/a`;
      expect(kinesisAdapter.parse(target("Kinesis_20131202.PutRecords"), body({ StreamARN: other }), scope)).to.deep.equal({
        kind: "authorize",
        authorizations: [{ action: "kinesis:PutRecords", resource: other }],
      });
      expect(kinesisAdapter.parse(target("Kinesis_20131202.ListStreams"), body({}), scope)).to.deep.equal({
        kind: "authorize",
        authorizations: [{ action: "kinesis:ListStreams", resource: "*" }],
      });
      expect(kinesisAdapter.parse(target("DynamoDB_20120810.GetItem"), body({}), scope).kind).to.equal("unreadable");
      expect(kinesisAdapter.parse(target("Kinesis_20131202.PutRecord"), Buffer.from("\xa1cbor"), scope).kind).to.equal("unreadable");
    });

    it("DynamoDB: TableName, every RequestItems key of a batch, indexes of Query, transaction items by their own action", () => {
      const t = (n: string) => `arn:aws:dynamodb:${REGION}:${PRODUCER}:table/${n}`;
      expect(dynamodbAdapter.parse(target("DynamoDB_20120810.BatchWriteItem"), body({ RequestItems: { a: [], b: [] } }), scope)).to.deep.equal({
        kind: "authorize",
        authorizations: [
          { action: "dynamodb:BatchWriteItem", resource: t("a") },
          { action: "dynamodb:BatchWriteItem", resource: t("b") },
        ],
      });
      expect(dynamodbAdapter.parse(target("DynamoDB_20120810.Query"), body({ TableName: "a", IndexName: "byDate" }), scope)).to.deep.equal({
        kind: "authorize",
        authorizations: [{ action: "dynamodb:Query", resource: `${t("a")}/index/byDate` }],
      });
      expect(
        dynamodbAdapter.parse(
          target("DynamoDB_20120810.TransactWriteItems"),
          body({ TransactItems: [{ Put: { TableName: "a" } }, { ConditionCheck: { TableName: "b" } }] }),
          scope,
        ),
      ).to.deep.equal({
        kind: "authorize",
        authorizations: [
          { action: "dynamodb:PutItem", resource: t("a") },
          { action: "dynamodb:ConditionCheckItem", resource: t("b") },
        ],
      });
      expect(dynamodbAdapter.parse(target("DynamoDB_20120810.ListTables"), body({}), scope)).to.deep.equal({
        kind: "authorize",
        authorizations: [{ action: "dynamodb:ListTables", resource: "*" }],
      });
    });

    it("STS: AssumeRole on the role, with sts:ExternalId in the context; GetCallerIdentity is free", () => {
      const parsed = stsAdapter.parse(
        {},
        Buffer.from("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fw&RoleSessionName=s&ExternalId=e"),
        scope,
      );
      expect(parsed).to.deep.include({ kind: "authorize" });
      expect((parsed as any).authorizations[0]).to.deep.include({ action: "sts:AssumeRole", resource: "arn:aws:iam::222222222222:role/w" });
      expect((parsed as any).authorizations[0].context["sts:ExternalId"]).to.equal("e");
      expect(stsAdapter.parse({}, Buffer.from("Action=GetCallerIdentity"), scope).kind).to.equal("free");
    });
  });

  describe("the evaluator", () => {
    const principal: SessionPrincipal = {
      roleArn: `arn:aws:iam::${PRODUCER}:role/r`,
      sessionArn: `arn:aws:sts::${PRODUCER}:assumed-role/r/s`,
      account: PRODUCER,
    };
    const context = { "aws:PrincipalArn": principal.roleArn, "aws:PrincipalAccount": PRODUCER, "aws:SecureTransport": "true" };
    const table = `arn:aws:dynamodb:${REGION}:${PRODUCER}:table/t`;
    const run = (statements: object[], extra: Partial<Parameters<typeof evaluate>[0]> = {}) =>
      evaluate({
        principal,
        action: "dynamodb:PutItem",
        resource: table,
        resourceAccount: PRODUCER,
        identityPolicies: [{ name: "p", document: { Version: "2012-10-17", Statement: statements } }],
        context,
        ...extra,
      });

    it("wildcards in actions (case-insensitive) and resources; an explicit Deny wins", () => {
      expect(run([{ Effect: "Allow", Action: "DynamoDB:*Item", Resource: `arn:aws:dynamodb:*:${PRODUCER}:table/*` }]).allowed).to.equal(true);
      expect(
        run([
          { Effect: "Allow", Action: "dynamodb:*", Resource: "*" },
          { Effect: "Deny", NotAction: "dynamodb:GetItem", Resource: table },
        ]),
      ).to.deep.include({ allowed: false, basis: "explicitDenyIdentity" });
      expect(run([{ Effect: "Allow", Action: "dynamodb:PutItem", NotResource: table }]).allowed).to.equal(false);
    });

    it("conditions on aws:PrincipalArn hold; an unknown condition key fails closed either way", () => {
      expect(
        run([
          { Effect: "Allow", Action: "dynamodb:PutItem", Resource: table, Condition: { ArnLike: { "aws:PrincipalArn": `arn:aws:iam::${PRODUCER}:role/*` } } },
        ]).allowed,
      ).to.equal(true);
      expect(
        run([{ Effect: "Allow", Action: "dynamodb:PutItem", Resource: table, Condition: { StringEquals: { "aws:SourceVpce": "vpce-1" } } }]).allowed,
      ).to.equal(false);
      expect(
        run([
          { Effect: "Allow", Action: "dynamodb:PutItem", Resource: table },
          { Effect: "Deny", Action: "*", Resource: "*", Condition: { StringEquals: { "aws:SourceVpce": "vpce-1" } } },
        ]).allowed,
      ).to.equal(false);
    });

    it("across accounts both sides must allow; a resource policy naming the account delegates, in the same account it does not grant alone", () => {
      const foreign = `arn:aws:kinesis:${REGION}:${CONSUMER}:stream/s`;
      const identity = [{ Effect: "Allow", Action: "kinesis:PutRecords", Resource: foreign }];
      const policy = (p: unknown) => ({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { AWS: p }, Action: "kinesis:PutRecords", Resource: foreign }],
      });
      const cross = { action: "kinesis:PutRecords", resource: foreign, resourceAccount: CONSUMER };
      expect(run(identity, cross)).to.deep.include({ allowed: false, basis: "noResourceAllow" });
      expect(run(identity, { ...cross, resourcePolicy: policy(`arn:aws:iam::${PRODUCER}:root`) }).allowed).to.equal(true);
      expect(run([], { ...cross, resourcePolicy: policy(`arn:aws:iam::${PRODUCER}:root`) })).to.deep.include({ allowed: false, basis: "noIdentityAllow" });
      const local = { action: "kinesis:PutRecords", resource: `arn:aws:kinesis:${REGION}:${PRODUCER}:stream/s`, resourceAccount: PRODUCER };
      const localPolicy = (p: unknown) => ({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { AWS: p }, Action: "kinesis:PutRecords", Resource: local.resource }],
      });
      expect(run([], { ...local, resourcePolicy: localPolicy(principal.roleArn) }).allowed).to.equal(true);
      expect(run([], { ...local, resourcePolicy: localPolicy(PRODUCER) }).allowed).to.equal(false);
    });

    it("agrees with @cloud-copilot/iam-simulate on every role, data-plane action and resource of the program", async () => {
      const actions = [
        "kinesis:PutRecord",
        "kinesis:PutRecords",
        "kinesis:GetRecords",
        "kinesis:DescribeStreamSummary",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:Query",
        "sts:AssumeRole",
      ];
      let compared = 0;
      for (const mode of ["assumeRole", "resourcePolicy"] as Mode[]) {
        const { consumer, producer } = manifests[mode];
        const set = policiesFromManifests([consumer, producer]);
        const resources = [consumer, producer]
          .flatMap((m) => m.resources)
          .filter((r) => ["aws:kinesis/stream:Stream", "aws:dynamodb/table:Table", "aws:iam/role:Role"].includes(r.type))
          .map((r) => r.state.arn as string);
        for (const role of set.roles) {
          const account = role.arn.split(":")[4];
          const p: SessionPrincipal = { roleArn: role.arn, account, sessionArn: `arn:aws:sts::${account}:assumed-role/${role.arn.split("/").pop()}/s` };
          for (const action of actions) {
            for (const resource of resources) {
              const service = action.split(":")[0];
              if ((service === "sts" ? "iam" : service) !== resource.split(":")[2]) continue;
              const resourceAccount = resource.split(":")[4];
              const resourcePolicy = set.resourcePolicies.find((r) => r.resourceArn === resource)?.document;
              const context = { "aws:PrincipalArn": role.arn, "aws:PrincipalAccount": account, "aws:SecureTransport": "true" };
              const mine = evaluate({
                principal: p,
                action,
                resource,
                resourceAccount,
                identityPolicies: role.policies,
                resourcePolicy,
                context,
                resourceSideUpstream: action === "sts:AssumeRole",
              });
              const sim = await runSimulation(
                {
                  request: { principal: p.sessionArn, action, resource: { resource, accountId: resourceAccount }, contextVariables: context },
                  identityPolicies: role.policies.map((x) => ({ name: x.name, policy: x.document as any })),
                  serviceControlPolicies: [],
                  resourceControlPolicies: [],
                  // AssumeRole's resource side (the trust policy) is the local STS's; compare the identity side only.
                  resourcePolicy: action === "sts:AssumeRole" ? undefined : (resourcePolicy as any),
                },
                { simulationMode: "Strict" },
              );
              if (sim.resultType !== "single") throw new Error(`simulation: ${JSON.stringify((sim as any).errors ?? sim.resultType)}`);
              const simAllowed =
                action === "sts:AssumeRole" && resourceAccount !== account
                  ? sim.result.analysis.identityAnalysis?.result === "Allowed"
                  : sim.overallResult === "Allowed";
              expect(mine.allowed, `${mode}: ${role.arn} ${action} ${resource}: ${mine.reason} / simulator ${sim.overallResult}`).to.equal(simAllowed);
              compared += 1;
            }
          }
        }
      }
      expect(compared).to.be.greaterThan(200);
    });
  });
});
