/**
 * The enforcer's pure parts on their own, without a proxy or an emulator:
 * the condition keys of a request, and the decision for a wire request
 * (unchecked, forwarded with its reason, or refused with the error AWS gives).
 */
import { expect } from "chai";
import { decideRequest, requestContext } from "../../../local/iam/authorize";
import { PolicySet } from "../../../local/iam/policySet";

const PRODUCER = "111111111111";
const ROLE = `arn:aws:iam::${PRODUCER}:role/projector`;
const TABLE = `arn:aws:dynamodb:us-east-1:${PRODUCER}:table/orders`;
const set: PolicySet = {
  roles: [
    {
      arn: ROLE,
      policies: [{ name: "write", document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "dynamodb:PutItem", Resource: TABLE }] } }],
    },
  ],
  resourcePolicies: [],
};
const signed = (token: string | undefined, keyId = PRODUCER, target = "DynamoDB_20120810.PutItem") => ({
  "x-amz-target": target,
  authorization: `AWS4-HMAC-SHA256 Credential=${keyId}/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00`,
  ...(token ? { "x-amz-security-token": token } : {}),
});
const body = (o: unknown) => Buffer.from(JSON.stringify(o));
/** The decision on a request to `service` carrying `headers` and `payload`, with {@link set}. */
const decide = (service: "dynamodb" | "sts", headers: Record<string, string>, payload: Buffer, sessionName?: () => string) =>
  decideRequest({ service, headers, body: payload, region: "us-east-1", policies: () => set, sessionName });

describe("IAM enforcer decisions (decideRequest, requestContext)", () => {
  it("sets the session's global keys, the region and resource account, and the request's own keys", () => {
    const principal = { roleArn: ROLE, account: PRODUCER, sessionArn: `arn:aws:sts::${PRODUCER}:assumed-role/projector/fn` };
    const context = requestContext(
      principal,
      { action: "sts:AssumeRole", resource: "arn:aws:iam::222222222222:role/w", context: { "sts:ExternalId": "e" } },
      "eu-west-1",
    );
    expect(context).to.include({
      "aws:PrincipalArn": ROLE,
      "aws:PrincipalAccount": PRODUCER,
      "aws:PrincipalType": "AssumedRole",
      "aws:SecureTransport": "true",
      "aws:RequestedRegion": "eu-west-1",
      "aws:ResourceAccount": "222222222222",
      "sts:ExternalId": "e",
    });
    expect(context).to.have.property("aws:PrincipalOrgID", undefined);
    expect(requestContext(principal, { action: "kinesis:ListStreams", resource: "*" }, "us-east-1")["aws:ResourceAccount"]).to.equal(PRODUCER);
  });

  it("forwards a request without a role token unchecked, without reading the policies", () => {
    const outcome = decideRequest({
      service: "dynamodb",
      headers: signed(undefined),
      body: body({}),
      region: "us-east-1",
      policies: () => {
        throw new Error("not to be read");
      },
    });
    expect(outcome).to.deep.equal({ kind: "unchecked" });
  });

  it("forwards an allowed request with the statement that allowed it", () => {
    const outcome = decide("dynamodb", signed(`role:${ROLE}`), body({ TableName: "orders" }), () => "fn");
    expect(outcome.kind).to.equal("forward");
    expect(outcome).to.have.nested.property("decision.caller", `arn:aws:sts::${PRODUCER}:assumed-role/projector/fn`);
    expect(outcome).to.have.nested.property("decision.reason").that.contains('identity policy "write" statement #0');
  });

  it("refuses a denied request with AWS's message, an invalid token as the service does, and an unreadable request", () => {
    const denied = decide("dynamodb", signed(`role:${ROLE}`), body({ TableName: "other" }));
    expect(denied).to.deep.include({ kind: "refuse" });
    expect(denied).to.have.nested.property("refusal.code", "AccessDeniedException");
    expect(denied)
      .to.have.nested.property("refusal.message")
      .that.matches(/^User: arn:aws:sts::111111111111:assumed-role\/projector\/local is not authorized/);

    const wrongKey = decide("sts", signed(`role:${ROLE}`, "222222222222"), Buffer.from("Action=GetCallerIdentity"));
    expect(wrongKey).to.have.nested.property("refusal.code", "InvalidClientTokenId");
    expect(wrongKey).to.have.nested.property("refusal.status", 403);
    expect(wrongKey).to.have.nested.property("decision.reason", "access key 222222222222 signed a session of account 111111111111");

    const unreadable = decide("dynamodb", signed(`role:${ROLE}`, PRODUCER, "Kinesis_20131202.PutRecord"), body({}));
    expect(unreadable).to.have.nested.property("refusal.code", "AccessDeniedException");
    expect(unreadable).to.have.nested.property("decision.reason").that.contains("fail closed");
  });

  it("decides a repeated request once per policy set, and a new set (a redeploy) afresh", () => {
    const put = () => decide("dynamodb", signed(`role:${ROLE}`), body({ TableName: "orders" }));
    const first = put();
    expect(first.kind).to.equal("forward");
    // The same decision, not evaluated again.
    expect(put()).to.equal(first);
    const revoked: PolicySet = { ...set, roles: [{ arn: ROLE, policies: [] }] };
    const after = decideRequest({
      service: "dynamodb",
      headers: signed(`role:${ROLE}`),
      body: body({ TableName: "orders" }),
      region: "us-east-1",
      policies: () => revoked,
    });
    expect(after.kind).to.equal("refuse");
    expect(put()).to.equal(first);
  });

  it("keeps apart decisions that differ only in the caller, the region or a condition key", () => {
    const WRITER = "arn:aws:iam::222222222222:role/writer";
    const statement = { Effect: "Allow", Action: "sts:AssumeRole", Resource: WRITER, Condition: { StringEquals: { "sts:ExternalId": "e" } } };
    const withCondition: PolicySet = {
      roles: [{ arn: ROLE, policies: [{ name: "assume", document: { Version: "2012-10-17", Statement: [statement] } }] }],
      resourcePolicies: [],
    };
    const assume = (params: string, sessionName?: () => string) =>
      decideRequest({
        service: "sts",
        headers: signed(`role:${ROLE}`),
        body: Buffer.from(`Action=AssumeRole&RoleArn=${WRITER}&RoleSessionName=s${params}`),
        region: "us-east-1",
        policies: () => withCondition,
        sessionName,
      });
    expect(assume("&ExternalId=e").kind).to.equal("forward");
    expect(assume("").kind).to.equal("refuse");
    expect(assume("&ExternalId=f").kind).to.equal("refuse");
    expect(assume("&ExternalId=e").kind).to.equal("forward");
    expect(assume("&ExternalId=e", () => "other")).to.have.nested.property("decision.caller", `arn:aws:sts::${PRODUCER}:assumed-role/projector/other`);
    const scoped = (region: string) => ({
      ...signed(`role:${ROLE}`),
      authorization: `AWS4-HMAC-SHA256 Credential=${PRODUCER}/20240101/${region}/dynamodb/aws4_request, SignedHeaders=host, Signature=00`,
    });
    const inRegion = (region: string) =>
      decideRequest({ service: "dynamodb", headers: scoped(region), body: body({ TableName: "orders" }), region, policies: () => set });
    expect(inRegion("us-east-1").kind).to.equal("forward");
    // The table named in eu-west-1 is another ARN, which the role may not write.
    expect(inRegion("eu-west-1").kind).to.equal("refuse");
  });
});
