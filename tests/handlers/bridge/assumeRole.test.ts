import { expect } from "chai";
import { assumeRoleCredentials } from "../../../handlers/bridge/assumeRole";
import { startStsStub, StsStub } from "../../../local/sts/stub";

const ROLE = "arn:aws:iam::222222222222:role/analytics-writer";

describe("assumeRoleCredentials", () => {
  let stub: StsStub;
  beforeEach(async () => {
    stub = await startStsStub({ expectedExternalId: "ext-1" });
  });
  afterEach(async () => {
    await stub.stop();
  });

  it("calls STS once for many uses and passes RoleArn, ExternalId and session name", async () => {
    const provider = assumeRoleCredentials(stub.client(), { roleArn: ROLE, externalId: "ext-1", sessionName: "event-bridge" });
    const first = await provider();
    for (let i = 0; i < 20; i++) expect(await provider()).to.equal(first);
    expect(stub.calls).to.have.length(1);
    expect(stub.calls[0]).to.include({ RoleArn: ROLE, ExternalId: "ext-1", RoleSessionName: "event-bridge" });
    expect(first.accessKeyId).to.equal("222222222222");
    expect(first.sessionToken).to.equal("stub-session-1");
    expect(first.expiration).to.be.instanceOf(Date);
  });

  it("refreshes only within refreshBeforeMs of expiry", async () => {
    const t0 = Date.UTC(2030, 0, 1);
    let now = t0;
    stub.expiration = () => new Date(now + 3600_000);
    const provider = assumeRoleCredentials(stub.client(), { roleArn: ROLE, externalId: "ext-1", sessionName: "s", refreshBeforeMs: 300_000 }, () => now);
    await provider();
    now = t0 + 3600_000 - 300_001; // just outside the margin
    await provider();
    expect(stub.calls).to.have.length(1);
    now = t0 + 3600_000 - 299_999; // inside it
    const refreshed = await provider();
    expect(stub.calls).to.have.length(2);
    expect(refreshed.sessionToken).to.equal("stub-session-2");
    await provider();
    expect(stub.calls).to.have.length(2);
  });

  it("shares one in-flight call among concurrent callers", async () => {
    const provider = assumeRoleCredentials(stub.client(), { roleArn: ROLE, externalId: "ext-1", sessionName: "s" });
    const all = await Promise.all(Array.from({ length: 10 }, () => provider()));
    expect(stub.calls).to.have.length(1);
    expect(new Set(all.map((c) => c.sessionToken)).size).to.equal(1);
  });

  it("does not cache a failed call", async () => {
    stub.failNext = { count: 1, code: "AccessDenied", status: 403 };
    const provider = assumeRoleCredentials(stub.client(), { roleArn: ROLE, externalId: "ext-1", sessionName: "s" });
    let error: unknown;
    try {
      await provider();
    } catch (err) {
      error = err;
    }
    expect((error as Error)?.name).to.equal("AccessDenied");
    const creds = await provider();
    expect(creds.accessKeyId).to.equal("222222222222");
    expect(stub.calls).to.have.length(2);
  });

  it("shares a failure among concurrent callers, then retries on the next use", async () => {
    stub.failNext = { count: 1, code: "ServiceUnavailable", status: 503 };
    const provider = assumeRoleCredentials(stub.client(), { roleArn: ROLE, externalId: "ext-1", sessionName: "s" });
    const settled = await Promise.allSettled([provider(), provider(), provider()]);
    expect(settled.map((s) => s.status)).to.deep.equal(["rejected", "rejected", "rejected"]);
    expect(stub.calls).to.have.length(1);
    await provider();
    expect(stub.calls).to.have.length(2);
  });

  it("serves still-valid credentials when a refresh inside the margin fails", async () => {
    const t0 = Date.UTC(2030, 0, 1);
    let now = t0;
    stub.expiration = () => new Date(now + 3600_000);
    const provider = assumeRoleCredentials(stub.client(), { roleArn: ROLE, externalId: "ext-1", sessionName: "s" }, () => now);
    const first = await provider();
    now = t0 + 3600_000 - 60_000;
    stub.failNext = { count: 1, code: "ServiceUnavailable", status: 503 };
    expect(await provider()).to.equal(first);
    now = t0 + 3600_000 + 1;
    stub.failNext = { count: 1, code: "ServiceUnavailable", status: 503 };
    let error: unknown;
    try {
      await provider();
    } catch (err) {
      error = err;
    }
    expect((error as Error)?.name).to.equal("ServiceUnavailable");
    expect(stub.calls).to.have.length(3);
  });

  it("reports a wrong ExternalId as AccessDenied", async () => {
    const provider = assumeRoleCredentials(stub.client(), { roleArn: ROLE, externalId: "wrong", sessionName: "s" });
    let error: unknown;
    try {
      await provider();
    } catch (err) {
      error = err;
    }
    expect((error as Error)?.name).to.equal("AccessDenied");
    expect(stub.calls[0].ExternalId).to.equal("wrong");
  });
});
