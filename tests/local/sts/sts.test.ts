/**
 * The local STS and its trust-policy evaluator: the writer role's real trust
 * policy from the consumer stack, decided for the callers that matter, then
 * AssumeRole and GetCallerIdentity through a real STSClient.
 */
import { expect } from "chai";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mayAssume } from "../../../local/iam/trustPolicy";
import { LocalSts, startLocalSts } from "../../../local/sts/sts";
import { runProgram } from "../../support/pulumiMocks";
import { accountCredentials, emulatorSts } from "../../../local/emulators/clients";

const PRODUCER = "111111111111";
const CONSUMER = "222222222222";
const BRIDGE = `arn:aws:iam::${PRODUCER}:role/event-pipeline-bridge`;
const OTHER_ROLE = `arn:aws:iam::${PRODUCER}:role/commands-handler-role`;
const STRANGER = "arn:aws:iam::333333333333:role/event-pipeline-bridge";

/** The consumer stack's writer role, as the program declares it. */
async function writerRole(externalId: string): Promise<{ arn: string; assumeRolePolicy: string }> {
  const run = await runProgram({
    stack: "consumer",
    account: CONSUMER,
    region: "us-east-1",
    config: { role: "consumer", producerAccountId: PRODUCER, externalId },
  });
  const writer = run.ofType("aws:iam/role:Role").filter((r) => r.name.endsWith("-writer"));
  expect(writer, "one writer role").to.have.length(1);
  return { arn: writer[0].state.arn, assumeRolePolicy: writer[0].inputs.assumeRolePolicy };
}

function sts(endpoint: string, callerRoleArn?: string): STSClient {
  const account = callerRoleArn?.split(":")[4] ?? PRODUCER;
  return emulatorSts({ endpoint, credentials: accountCredentials(account, callerRoleArn), maxAttempts: 1 });
}

async function rejection(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("local trust policy (mayAssume)", () => {
  let writer: { arn: string; assumeRolePolicy: string };
  before(async () => {
    writer = await writerRole("ext-x");
  });

  const cases: [string, string, string | undefined, boolean][] = [
    ["the bridge role with the right ExternalId", BRIDGE, "ext-x", true],
    ["the bridge role with a wrong ExternalId", BRIDGE, "ext-y", false],
    ["the bridge role without ExternalId", BRIDGE, undefined, false],
    ["another role of the producer account", OTHER_ROLE, "ext-x", false],
    ["a role of the same name in another account", STRANGER, "ext-x", false],
  ];
  for (const [title, arn, externalId, allowed] of cases) {
    it(`${allowed ? "allows" : "denies"} ${title}`, () => {
      const verdict = mayAssume(writer.assumeRolePolicy, { arn, account: arn.split(":")[4] }, { externalId });
      expect(verdict.allowed, verdict.reason).to.equal(allowed);
      expect(verdict.reason).to.be.a("string").and.not.empty;
    });
  }

  const policy = (statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
  const bridge = { arn: BRIDGE, account: PRODUCER };

  it("lets an explicit Deny win over an Allow", () => {
    const doc = policy([
      { Effect: "Allow", Principal: { AWS: PRODUCER }, Action: "sts:AssumeRole" },
      { Effect: "Deny", Principal: "*", Action: "sts:*", Condition: { StringLike: { "aws:PrincipalArn": "*bridge" } } },
    ]);
    expect(mayAssume(doc, bridge, {})).to.include({ allowed: false });
    expect(mayAssume(doc, { arn: OTHER_ROLE, account: PRODUCER }, {}).allowed).to.equal(true);
  });

  it("matches principals given as a role ARN, an array, or *", () => {
    expect(mayAssume(policy([{ Effect: "Allow", Principal: { AWS: BRIDGE }, Action: ["sts:AssumeRole"] }]), bridge, {}).allowed).to.equal(true);
    expect(mayAssume(policy([{ Effect: "Allow", Principal: { AWS: [OTHER_ROLE, STRANGER] }, Action: "sts:AssumeRole" }]), bridge, {}).allowed).to.equal(false);
    expect(mayAssume(policy([{ Effect: "Allow", Principal: "*", Action: "sts:Assume*" }]), bridge, {}).allowed).to.equal(true);
    expect(mayAssume(policy([{ Effect: "Allow", Principal: { Service: "firehose.amazonaws.com" }, Action: "sts:AssumeRole" }]), bridge, {}).allowed).to.equal(
      false,
    );
  });

  it("ORs a key's values and ANDs keys (ArnLike, aws:PrincipalAccount)", () => {
    const doc = policy([
      {
        Effect: "Allow",
        Principal: "*",
        Action: "sts:AssumeRole",
        Condition: {
          ArnLike: { "aws:PrincipalArn": ["arn:aws:iam::*:role/nope", "arn:aws:iam::*:role/event-*"] },
          StringEquals: { "aws:PrincipalAccount": PRODUCER },
        },
      },
    ]);
    expect(mayAssume(doc, bridge, {}).allowed).to.equal(true);
    expect(mayAssume(doc, { arn: STRANGER, account: "333333333333" }, {}).allowed).to.equal(false);
  });

  it("fails closed on an unknown operator or key, and on bad JSON", () => {
    const op = mayAssume(
      policy([{ Effect: "Allow", Principal: "*", Action: "sts:AssumeRole", Condition: { DateGreaterThan: { "aws:CurrentTime": "2020-01-01T00:00:00Z" } } }]),
      bridge,
      {},
    );
    expect(op.allowed).to.equal(false);
    expect(op.reason).to.contain("DateGreaterThan");
    const key = mayAssume(
      policy([{ Effect: "Allow", Principal: "*", Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceIp": "1.2.3.4" } } }]),
      bridge,
      {},
    );
    expect(key.allowed).to.equal(false);
    expect(key.reason).to.contain("aws:SourceIp");
    expect(mayAssume("{", bridge, {}).allowed).to.equal(false);
  });
});

// STS, like AWS, refuses an ExternalId under 2 characters, so these use a longer one.
const EXT = "ext-x";

describe("local STS (startLocalSts)", () => {
  let server: LocalSts;
  let writer: { arn: string; assumeRolePolicy: string };
  before(async () => {
    writer = await writerRole(EXT);
    server = await startLocalSts({ roles: () => [writer] });
  });
  after(async () => {
    await server?.stop();
  });

  it("assumes the writer role for the bridge role with the ExternalId, with identity-convention credentials", async () => {
    const before = Date.now();
    const out = await sts(server.endpoint, BRIDGE).send(
      new AssumeRoleCommand({ RoleArn: writer.arn, RoleSessionName: "event-bridge", ExternalId: EXT, DurationSeconds: 900 }),
    );
    expect(out.Credentials).to.include({ AccessKeyId: CONSUMER, SecretAccessKey: "local", SessionToken: `role:${writer.arn}` });
    const expiresIn = out.Credentials!.Expiration!.getTime() - before;
    expect(expiresIn).to.be.within(899_000, 901_000 + (Date.now() - before));
    const name = writer.arn.split("/").pop();
    expect(out.AssumedRoleUser?.Arn).to.equal(`arn:aws:sts::${CONSUMER}:assumed-role/${name}/event-bridge`);
    expect(server.calls.at(-1)).to.include({ caller: BRIDGE, roleArn: writer.arn, externalId: EXT, allowed: true });
  });

  it("answers GetCallerIdentity from the session token, including one it issued", async () => {
    const id = await sts(server.endpoint, BRIDGE).send(new GetCallerIdentityCommand({}));
    expect(id.Account).to.equal(PRODUCER);
    expect(id.Arn).to.match(/^arn:aws:sts::111111111111:assumed-role\/event-pipeline-bridge\//);
    const assumed = await sts(server.endpoint, BRIDGE).send(new AssumeRoleCommand({ RoleArn: writer.arn, RoleSessionName: "s1", ExternalId: EXT }));
    const asWriter = emulatorSts({
      endpoint: server.endpoint,
      maxAttempts: 1,
      credentials: { accessKeyId: assumed.Credentials!.AccessKeyId!, secretAccessKey: "local", sessionToken: assumed.Credentials!.SessionToken! },
    });
    expect((await asWriter.send(new GetCallerIdentityCommand({}))).Account).to.equal(CONSUMER);
  });

  const denials: [string, string | undefined, Partial<{ RoleArn: string; ExternalId: string }>, string][] = [
    ["a wrong ExternalId", BRIDGE, { ExternalId: "ext-y" }, "sts:ExternalId"],
    ["another role of the producer account", OTHER_ROLE, { ExternalId: EXT }, "aws:PrincipalArn"],
    ["an unknown target role", BRIDGE, { ExternalId: EXT, RoleArn: `arn:aws:iam::${CONSUMER}:role/nope` }, "no such role"],
    ["a request without a session token", undefined, { ExternalId: EXT }, "session token"],
  ];
  for (const [title, caller, params, reason] of denials) {
    it(`answers 403 AccessDenied to ${title}`, async () => {
      const n = server.calls.length;
      const err = await rejection(
        sts(server.endpoint, caller).send(new AssumeRoleCommand({ RoleArn: writer.arn, RoleSessionName: "event-bridge", ...params })),
      );
      expect(err.name).to.equal("AccessDenied");
      expect(err.$metadata?.httpStatusCode).to.equal(403);
      if (caller)
        expect(err.message).to.match(/^User: arn:aws:sts::\d{12}:assumed-role\/.+ is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::/);
      expect(server.calls).to.have.length(n + 1);
      expect(server.calls[n].allowed).to.equal(false);
      expect(server.calls[n].reason).to.contain(reason);
    });
  }

  it("refuses, as AWS does, an ExternalId under 2 characters", async () => {
    const err = await rejection(sts(server.endpoint, BRIDGE).send(new AssumeRoleCommand({ RoleArn: writer.arn, RoleSessionName: "s", ExternalId: "x" })));
    expect(err.name).to.equal("ValidationError");
  });

  it("refuses a session longer than role chaining allows", async () => {
    const err = await rejection(
      sts(server.endpoint, BRIDGE).send(new AssumeRoleCommand({ RoleArn: writer.arn, RoleSessionName: "s", ExternalId: EXT, DurationSeconds: 7200 })),
    );
    expect(err.name).to.equal("ValidationError");
  });
});
