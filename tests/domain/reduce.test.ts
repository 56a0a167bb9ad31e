/**
 * The example domain's ownership rule in `reduce`: an order keeps its first
 * customer, so another customer's OrderPlaced that raced past `authorize`
 * (which sees the read model, about a second behind the stream) takes
 * nothing over; the owner's own OrderPlaced still replaces the order.
 */
import { expect } from "chai";
import { ENVELOPE_SCHEMA_VERSION, EventEnvelope } from "../../handlers/shared/envelope";
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
