/**
 * The API's time budget: every SDK attempt and its timeouts fit inside the
 * handler's deadline, which leaves room for the 503 inside the function's
 * timeout, which the HTTP API integration outwaits (init included), so the
 * designed 503 + Retry-After reaches the client instead of the gateway's own
 * error.
 */
import { expect } from "chai";
import { apiTimeBudget, API_TIME } from "../../../handlers/api/timeBudget";

describe("API time budget", () => {
  for (let timeout = 1; timeout <= API_TIME.maxFunctionTimeoutSeconds; timeout++) {
    it(`fits every attempt inside a ${timeout} s function`, () => {
      const b = apiTimeBudget(timeout);
      expect(b.maxAttempts).to.be.within(1, 3);
      expect(b.maxAttempts * (b.connectionTimeoutMs + b.requestTimeoutMs), "attempts inside the deadline").to.be.at.most(b.deadlineMs);
      expect(b.deadlineMs + API_TIME.responseReserveMs, "the 503 inside the function's timeout").to.be.at.most(timeout * 1000);
      expect(timeout * 1000 + API_TIME.initAllowanceMs, "the function inside the integration's wait").to.be.at.most(API_TIME.integrationTimeoutMs);
      expect(b.requestTimeoutMs).to.be.greaterThan(0);
    });
  }

  it("waits at most what an HTTP API allows (30 s)", () => {
    expect(API_TIME.integrationTimeoutMs).to.equal(30_000);
  });
});
