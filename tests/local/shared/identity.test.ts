/**
 * The local caller identity, read once for the STS and the IAM enforcer:
 * role and assumed-role ARNs, `role:<ARN>` session tokens, the access key id
 * that must name the session's account, and the role unique id the deploy
 * step and the STS share.
 */
import { expect } from "chai";
import {
  credentialScope,
  isRoleToken,
  parseAssumedRoleArn,
  parseRoleArn,
  resolveCaller,
  roleUniqueId,
  sessionArnOf,
  sessionToken,
} from "../../../local/shared/identity";
import { realisticState } from "../../../local/deploy/resourceState";

const ROLE = "arn:aws:iam::111111111111:role/service/event-pipeline-bridge";

describe("local caller identity", () => {
  it("parses role ARNs with paths and assumed-role ARNs, and nothing else", () => {
    expect(parseRoleArn(ROLE)).to.deep.equal({ account: "111111111111", path: "/service/", name: "event-pipeline-bridge" });
    expect(parseRoleArn("arn:aws:iam::111111111111:user/alice")).to.equal(undefined);
    expect(parseAssumedRoleArn("arn:aws:sts::222222222222:assumed-role/writer/bridge")).to.deep.equal({
      account: "222222222222",
      roleName: "writer",
      sessionName: "bridge",
    });
    expect(parseAssumedRoleArn(ROLE)).to.equal(undefined);
    expect(sessionArnOf("111111111111", "r", "s")).to.equal("arn:aws:sts::111111111111:assumed-role/r/s");
  });

  it("builds and recognises session tokens", () => {
    expect(sessionToken(ROLE)).to.equal(`role:${ROLE}`);
    expect(isRoleToken(sessionToken(ROLE))).to.equal(true);
    expect(isRoleToken("stub-session-1")).to.equal(false);
    expect(isRoleToken(undefined)).to.equal(false);
  });

  it("reads the access key id and region of a SigV4 Authorization header", () => {
    const authorization = "AWS4-HMAC-SHA256 Credential=111111111111/20240101/eu-west-1/kinesis/aws4_request, SignedHeaders=host, Signature=00";
    expect(credentialScope(authorization)).to.deep.equal({ keyId: "111111111111", region: "eu-west-1" });
    expect(credentialScope(undefined)).to.deep.equal({});
  });

  it("resolves a role token to its session, an assumed-role token to its known role, and says why a token names no one", () => {
    expect(resolveCaller(sessionToken(ROLE), "111111111111", [], () => "fn-1")).to.deep.equal({
      roleArn: ROLE,
      account: "111111111111",
      roleName: "event-pipeline-bridge",
      sessionArn: "arn:aws:sts::111111111111:assumed-role/event-pipeline-bridge/fn-1",
    });
    expect(resolveCaller(sessionToken(ROLE), undefined, [])).to.include({ sessionArn: "arn:aws:sts::111111111111:assumed-role/event-pipeline-bridge/local" });
    const assumed = "arn:aws:sts::111111111111:assumed-role/event-pipeline-bridge/s1";
    expect(resolveCaller(`role:${assumed}`, undefined, [ROLE])).to.include({ roleArn: ROLE, sessionArn: assumed });
    expect(resolveCaller(`role:${assumed}`, undefined, [])).to.include({ roleArn: "arn:aws:iam::111111111111:role/event-pipeline-bridge" });
    expect(resolveCaller("role:not-an-arn", undefined, [])).to.deep.equal({ error: 'expected role:<role ARN>, got "role:not-an-arn"' });
    expect(resolveCaller("stub-session-1", undefined, []))
      .to.have.property("error")
      .that.contains("expected role:<role ARN>");
    expect(resolveCaller(sessionToken(ROLE), "222222222222", [])).to.deep.equal({ error: "access key 222222222222 signed a session of account 111111111111" });
  });

  it("gives a role the same unique id in the deployed state as the STS gives its sessions", () => {
    const state = realisticState("aws:iam/role:Role", "writer", { name: "writer-role" }, { account: "222222222222", region: "us-east-1" });
    expect(state.uniqueId).to.equal(roleUniqueId("writer-role"));
    expect(roleUniqueId("writer-role")).to.match(/^AROA[0-9A-F]{17}$/);
  });
});
