/**
 * The one policy evaluator, on semantics each of the two it replaced knew
 * alone: Bool and Null conditions, refused policy variables and session
 * principals now hold in trust policies too; an ARN operator no longer falls
 * back to equality for a value that is not an ARN in identity policies; and
 * the same fail-closed rules (an unreadable Allow grants nothing, an
 * unreadable Deny applies) for every kind of policy.
 */
import { expect } from "chai";
import { evaluate, SessionPrincipal } from "../../../local/iam/policy";
import { mayAssume, TrustCaller } from "../../../local/iam/trustPolicy";

const PRODUCER = "111111111111";
const CONSUMER = "222222222222";
const BRIDGE = `arn:aws:iam::${PRODUCER}:role/event-pipeline-bridge`;
const SESSION = `arn:aws:sts::${PRODUCER}:assumed-role/event-pipeline-bridge/forwarder`;
const bridge: TrustCaller = { arn: BRIDGE, account: PRODUCER, sessionArn: SESSION };
const trust = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const allowProducer = (Condition?: object) => ({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${PRODUCER}:root` }, Action: "sts:AssumeRole", Condition });

describe("the one policy evaluator: trust policies", () => {
  it("tests Bool keys of the session (aws:SecureTransport), as identity policies did", () => {
    expect(mayAssume(trust(allowProducer({ Bool: { "aws:SecureTransport": "true" } })), bridge, {}).allowed).to.equal(true);
    const insecure = mayAssume(trust(allowProducer({ Bool: { "aws:SecureTransport": "false" } })), bridge, {});
    expect(insecure.allowed).to.equal(false);
    expect(insecure.reason).to.contain("aws:SecureTransport");
    const denyInsecure = trust(allowProducer(), { Effect: "Deny", Principal: "*", Action: "sts:*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    expect(mayAssume(denyInsecure, bridge, {}).allowed).to.equal(true);
  });

  it("tests Null on sts:ExternalId: present or absent", () => {
    const needsId = trust(allowProducer({ Null: { "sts:ExternalId": "false" } }));
    expect(mayAssume(needsId, bridge, { externalId: "ext-1" }).allowed).to.equal(true);
    expect(mayAssume(needsId, bridge, {}).allowed).to.equal(false);
    const forbidsId = trust(allowProducer({ Null: { "sts:ExternalId": "true" } }));
    expect(mayAssume(forbidsId, bridge, {}).allowed).to.equal(true);
    expect(mayAssume(forbidsId, bridge, { externalId: "ext-1" }).allowed).to.equal(false);
  });

  it("refuses a policy variable: an Allow using one grants nothing, a Deny using one applies", () => {
    const variable = `arn:aws:iam::\${aws:PrincipalAccount}:role/event-pipeline-bridge`;
    const allow = mayAssume(trust(allowProducer({ ArnEquals: { "aws:PrincipalArn": variable } })), bridge, {});
    expect(allow.allowed).to.equal(false);
    expect(allow.reason).to.contain("policy variable");
    const deny = mayAssume(
      trust(allowProducer(), {
        Effect: "Deny",
        Principal: "*",
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:RoleSessionName": "${aws:username}" } },
      }),
      bridge,
      {
        roleSessionName: "s1",
      },
    );
    expect(deny.allowed).to.equal(false);
    expect(deny.reason).to.contain("explicitly denied").and.contain("policy variable");
  });

  it("lets a Principal name the caller's session ARN, as resource policies did", () => {
    const doc = trust({ Effect: "Allow", Principal: { AWS: SESSION }, Action: "sts:AssumeRole" });
    expect(mayAssume(doc, bridge, {}).allowed).to.equal(true);
    expect(mayAssume(doc, { arn: BRIDGE, account: PRODUCER, sessionArn: `${SESSION}-other` }, {}).allowed).to.equal(false);
  });

  it("reads past an Allow it cannot read (another Allow still grants), and refuses a Resource element, which IAM prohibits in a trust policy", () => {
    const unreadable = {
      Effect: "Allow",
      Principal: "*",
      Action: "sts:AssumeRole",
      Condition: { DateGreaterThan: { "aws:CurrentTime": "2020-01-01T00:00:00Z" } },
    };
    const both = mayAssume(trust(unreadable, allowProducer({ StringEquals: { "sts:ExternalId": "ext-1" } })), bridge, { externalId: "ext-1" });
    expect(both.allowed, both.reason).to.equal(true);
    const withResource = mayAssume(trust({ ...allowProducer(), Resource: "*" }), bridge, {});
    expect(withResource.allowed).to.equal(false);
    expect(withResource.reason).to.contain("element Resource");
  });

  it("fails closed on a principal it cannot tell apart (a role's unique id) and on NotPrincipal", () => {
    const uniqueId = mayAssume(trust(allowProducer(), { Effect: "Deny", Principal: { AWS: "AROAEXAMPLEID" }, Action: "sts:AssumeRole" }), bridge, {});
    expect(uniqueId.allowed).to.equal(false);
    expect(uniqueId.reason).to.contain("AROAEXAMPLEID");
    expect(mayAssume(trust({ Effect: "Allow", NotPrincipal: { AWS: CONSUMER }, Action: "sts:AssumeRole" }), bridge, {}).allowed).to.equal(false);
  });
});

describe("the one policy evaluator: identity and resource policies", () => {
  const principal: SessionPrincipal = { roleArn: BRIDGE, sessionArn: SESSION, account: PRODUCER };
  const table = `arn:aws:dynamodb:us-east-1:${PRODUCER}:table/t`;
  const run = (statement: object, context: Record<string, string | undefined> = {}) =>
    evaluate({
      principal,
      action: "dynamodb:PutItem",
      resource: table,
      resourceAccount: PRODUCER,
      identityPolicies: [{ name: "p", document: { Version: "2012-10-17", Statement: [statement] } }],
      context: { "aws:PrincipalArn": BRIDGE, ...context },
    });

  it("matches ARN operators part by part only: a value or pattern that is not an ARN never matches (no equality fallback)", () => {
    const arnCondition = (pattern: string) => ({
      Effect: "Allow",
      Action: "dynamodb:PutItem",
      Resource: table,
      Condition: { ArnEquals: { "aws:SourceArn": pattern } },
    });
    expect(run(arnCondition("not-an-arn"), { "aws:SourceArn": "not-an-arn" }).allowed).to.equal(false);
    expect(run(arnCondition("arn:aws:*:*:*:*"), { "aws:SourceArn": "not-an-arn" }).allowed).to.equal(false);
    expect(run(arnCondition("arn:aws:*:*:*:*"), { "aws:SourceArn": table }).allowed).to.equal(true);
    const notArn = run({ Effect: "Allow", Action: "dynamodb:PutItem", Resource: "table/t" });
    expect(notArn.allowed).to.equal(false);
    expect(notArn.reason).to.contain("neither");
  });

  it("refuses a policy variable in a condition value as well as in a Resource", () => {
    const inCondition = run({
      Effect: "Allow",
      Action: "dynamodb:PutItem",
      Resource: table,
      Condition: { StringLike: { "aws:PrincipalArn": "${aws:PrincipalArn}" } },
    });
    expect(inCondition.allowed).to.equal(false);
    expect(inCondition.reason).to.contain("policy variable");
    expect(run({ Effect: "Allow", Action: "dynamodb:PutItem", Resource: `arn:aws:dynamodb:*:\${aws:PrincipalAccount}:table/t` }).allowed).to.equal(false);
  });

  it("refuses Principal in an identity policy and treats the unreadable Deny as applying", () => {
    const decision = evaluate({
      principal,
      action: "dynamodb:PutItem",
      resource: table,
      resourceAccount: PRODUCER,
      identityPolicies: [
        {
          name: "p",
          document: {
            Statement: [
              { Effect: "Allow", Action: "dynamodb:PutItem", Resource: table },
              { Effect: "Deny", Principal: "*", Action: "dynamodb:PutItem", Resource: table },
            ],
          },
        },
      ],
      context: {},
    });
    expect(decision).to.include({ allowed: false, basis: "explicitDenyIdentity" });
    expect(decision.reason).to.contain("element Principal");
  });
});
