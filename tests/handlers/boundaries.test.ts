/**
 * Boundaries no end-to-end test pins (found by a mutation audit: each mutant survived the suites around it):
 * which errors are worth another attempt, which reused-key refusals a poller can still learn of, how sequence
 * numbers of different lengths compare, the API's body limits at their edge, and a retry against a window entry
 * written before the data hash, and when the projector must claim a keyed id its window holds now but will have
 * evicted by the time the fold reaches it.
 */
import { expect } from "chai";
import { isTransient } from "../../handlers/shared/retry";
import { emptyAggregate, encodeReadModelItem, REJECTED_WINDOW, rejectedAt, withRejected } from "../../handlers/shared/readModelItem";
import { idempotencyConflict } from "../../handlers/producer/command";
import type { EventEnvelope } from "../../handlers/shared/envelope";
import { claimRequests } from "../../handlers/projector/claims";
import type { AggregateBatch } from "../../handlers/projector/records";
import { compareSequence } from "../../handlers/shared/sequence";
import { checkContentLength, decodeBody } from "../../handlers/api/validation";

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

  it("answers a keyed retry 202, not 422, when the window's entry predates the data hash (a bare id); another digest is 422", () => {
    const envelope = { eventId: "idem-abc", aggregateId: "o-1" } as EventEnvelope;
    const item = (recent: string) => encodeReadModelItem({ ...emptyAggregate("o-1"), position: "1", version: 1, recent, updatedAt: "t" });
    expect(idempotencyConflict(item("e0#00000000 idem-abc"), { envelope, dataHash: "12345678" })).to.equal(undefined);
    expect(idempotencyConflict(item("idem-abc#12345678"), { envelope, dataHash: "12345678" })).to.equal(undefined);
    expect(idempotencyConflict(item("idem-abc#87654321"), { envelope, dataHash: "12345678" })).to.include({ status: 422, code: "IdempotencyKeyReused" });
  });

  it("claims a keyed id the window holds when the records before it in the batch push it out, not before", () => {
    const stored = { ...emptyAggregate("o-1"), position: "10", version: 3, recent: "idem-x#00000001 idem-y#00000002 idem-z#00000003", updatedAt: "t" };
    const rec = (eventId: string, padded: string) =>
      ({ padded, source: { partitionKey: "o-1" }, parsed: { ok: true, event: { eventId, aggregateId: "o-1", type: "T", data: {} } } }) as never;
    const batch = (...ids: string[]): AggregateBatch => ({ aggregateId: "o-1", records: ids.map((id, i) => rec(id, String(11 + i))) });
    const claimed = (b: AggregateBatch) => claimRequests(b, stored, 3).map((r) => r.eventId);
    // First in the batch, the oldest entry is still in the window when the fold reaches it: no claim.
    expect(claimed(batch("idem-x"))).to.deep.equal([]);
    // One new event before it pushes it out of a window of 3: claimed. The newest entry survives two.
    expect(claimed(batch("idem-new", "idem-x"))).to.deep.equal(["idem-new", "idem-x"]);
    expect(claimed(batch("idem-new", "idem-new2", "idem-z"))).to.deep.equal(["idem-new", "idem-new2"]);
  });
});
