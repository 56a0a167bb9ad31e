/**
 * Boundaries no end-to-end test pins (found by a mutation audit: each mutant survived the suites around it):
 * which errors are worth another attempt, which reused-key refusals a poller can still learn of, how sequence
 * numbers of different lengths compare, and the API's body limits at their edge.
 */
import { expect } from "chai";
import { isTransient } from "../../../handlers/shared/retry";
import { REJECTED_WINDOW, rejectedAt, withRejected } from "../../../handlers/shared/readModelItem";
import { compareSequence } from "../../../handlers/shared/sequence";
import { checkContentLength, decodeBody } from "../../../handlers/api/validation";

describe("boundaries: retries, refusals remembered, sequence order", () => {
  it("retries any 5xx and 429 by status alone, whatever the error's name; not a 4xx", () => {
    const status = (httpStatusCode: number) => ({ name: "SomethingUnlisted", $metadata: { httpStatusCode } });
    expect([500, 503, 599, 429].map((s) => isTransient(status(s)))).to.deep.equal([true, true, true, true]);
    expect([499, 400, 404, 428].map((s) => isTransient(status(s)))).to.deep.equal([false, false, false, false]);
    expect(isTransient({ name: "ValidationException" })).to.equal(false);
    expect(isTransient(undefined)).to.equal(false);
  });

  it("remembers the newest refusals and forgets the oldest beyond the window", () => {
    let rejected: string | undefined;
    const n = REJECTED_WINDOW + 1;
    for (let i = 1; i <= n; i++) rejected = withRejected(rejected, `p${i}`, `idem-${i}`);
    expect(rejectedAt(rejected, `p${n}`)).to.equal(`idem-${n}`);
    expect(rejectedAt(rejected, "p2")).to.equal("idem-2");
    expect(rejectedAt(rejected, "p1")).to.equal(undefined);
  });

  it("orders sequence numbers numerically across lengths", () => {
    expect(compareSequence("9", "10")).to.be.below(0);
    expect(compareSequence("100", "99")).to.be.above(0);
    expect(compareSequence("49590000000000000000000000000000000000000000000000000001", "5")).to.be.above(0);
    expect(compareSequence("12", "12")).to.equal(0);
  });

  it("takes a body of exactly the limit and refuses one byte more (declared or sent); refuses base64 of a length not a multiple of 4", () => {
    const max = 10;
    expect(checkContentLength("10", max).ok).to.equal(true);
    expect(JSON.stringify(checkContentLength("11", max))).to.include("PayloadTooLarge");
    const body = (text: string, isBase64Encoded = false) => decodeBody({ body: text, isBase64Encoded } as never, max);
    expect(body("x".repeat(10))).to.deep.equal({ ok: true, value: "x".repeat(10) });
    expect(JSON.stringify(body("x".repeat(11)))).to.include("PayloadTooLarge");
    expect(body(Buffer.from("x".repeat(10)).toString("base64"), true)).to.deep.equal({ ok: true, value: "x".repeat(10) });
    const truncated = body("eyJ", true);
    expect(truncated.ok).to.equal(false);
    if (!truncated.ok) expect(JSON.stringify(truncated.rejection)).to.include("InvalidBody");
  });
});
