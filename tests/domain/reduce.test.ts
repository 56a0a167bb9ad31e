/**
 * The example domain's ownership rule in `reduce`: an order keeps its first
 * customer, so another customer's OrderPlaced that raced past `authorize`
 * (which sees the read model, about a second behind the stream) takes
 * nothing over; the owner's own OrderPlaced still replaces the order. And
 * every other event a customer wrote (its `actor`, recorded by the API) is
 * folded only into that customer's own order: another's cancel, erase, line or
 * payment that raced past `authorize` changes nothing, and a customer's event
 * before any OrderPlaced leaves the id unplaced instead of parking and blocking it.
 */
import { expect } from "chai";
import { Actor, ENVELOPE_SCHEMA_VERSION, EventEnvelope } from "../../handlers/shared/envelope";
import { reduce } from "../../domain";

const placed = (customerId: string, sku: string): EventEnvelope => ({
  eventId: `e-${customerId}-${sku}`,
  aggregateId: "o-1",
  type: "OrderPlaced",
  occurredAt: "2026-12-02T00:00:00.000Z",
  schemaVersion: ENVELOPE_SCHEMA_VERSION,
  data: { customerId, lines: [{ sku, quantity: 1, unitPriceCents: 100 }] },
});

describe("example domain: an order keeps its first customer", () => {
  it("ignores another customer's OrderPlaced on an existing order", () => {
    const first = reduce(undefined, placed("c-1", "A"));
    expect(reduce(first!, placed("c-2", "B"))).to.deep.equal(first);
  });

  it("lets the owner place it again", () => {
    const first = reduce(undefined, placed("c-1", "A"));
    expect((reduce(first!, placed("c-1", "B")) as any).lines.map((l: any) => l.sku)).to.deep.equal(["B"]);
  });
});

const by = (type: string, data: unknown, actor?: Actor): EventEnvelope => ({
  eventId: `e-${type}`,
  aggregateId: "o-1",
  type,
  occurredAt: "2026-12-02T00:00:01.000Z",
  schemaVersion: ENVELOPE_SCHEMA_VERSION,
  data,
  ...(actor ? { actor } : {}),
});
const customer = (subject: string): Actor => ({ kind: "jwt", subject });
const LATER = [
  ["OrderCancelled", {}],
  ["OrderErased", {}],
  ["LineAdded", { sku: "X", quantity: 1, unitPriceCents: 1 }],
  ["OrderPaid", { amountCents: 100 }],
  ["OrderShipped", {}],
] as const;

describe("example domain: a customer's event folds only into their own order (the envelope's actor)", () => {
  const order = reduce(undefined, { ...placed("c-1", "A"), actor: customer("c-1") })!;

  for (const [type, data] of LATER) {
    it(`ignores another customer's ${type}, and applies the owner's`, () => {
      expect(reduce(order, by(type, data, customer("c-2")))).to.deep.equal(order);
      expect(reduce(order, by(type, data, customer("c-1")))).to.not.deep.equal(order);
    });
  }

  it("leaves an id unplaced (null, nothing parked) when a customer writes to it before any OrderPlaced", () => {
    for (const [type, data] of LATER) expect(reduce(undefined, by(type, data, customer("c-2"))), type).to.equal(null);
  });

  it("trusts a service (IAM actor) or an event without an actor as before: it may write to any order, and parks before OrderPlaced", () => {
    const service: Actor = { kind: "iam", arn: "arn:aws:sts::111111111111:assumed-role/svc/s" };
    expect((reduce(order, by("OrderCancelled", {}, service)) as any).status).to.equal("cancelled");
    expect((reduce(order, by("OrderCancelled", {})) as any).status).to.equal("cancelled");
    expect(() => reduce(undefined, by("LineAdded", LATER[2][1], service))).to.throw("LineAdded before OrderPlaced");
  });
});
