/**
 * The analytics contract `order-lifecycle.v1` as the consumer account reads it, pinned byte for byte: every event
 * type's record through the example domain's `map` and the bridge's wire encoding (handlers/bridge/decode.ts). A
 * field renamed, dropped or added in `map` or in the wire record fails here; change it as a new contract version
 * published beside this one (README, "For the analytics consumer").
 */
import { expect } from "chai";
import { map } from "../../domain";
import { mapRecord } from "../../handlers/bridge/decode";
import { sourceRecords } from "../../handlers/kpl/sourceRecords";
import { ENVELOPE_SCHEMA_VERSION, EventEnvelope } from "../../handlers/shared/envelope";
import { parkedToRecord } from "../../handlers/ops/parkedRows";

const at = "2026-12-03T10:00:00.000Z";
const line = { sku: "SKU-1", quantity: 2, unitPriceCents: 450 };
const events: [string, unknown][] = [
  ["OrderPlaced", { customerId: "c-1", lines: [line, { sku: "SKU-2", quantity: 1, unitPriceCents: 100 }] }],
  ["LineAdded", line],
  ["OrderPaid", { amountCents: 1000 }],
  ["OrderShipped", {}],
  ["OrderCancelled", {}],
  ["OrderErased", {}],
  ["SomethingNew", { any: 1 }],
];

/** The wire JSON the bridge puts on the analytics stream for one event (none: "map forwards nothing"). */
function wire(type: string, data: unknown, i: number): string[] {
  const envelope: EventEnvelope = { eventId: `01JEVENT${i}`, aggregateId: "o-1", type, occurredAt: at, schemaVersion: ENVELOPE_SCHEMA_VERSION, data };
  const record = parkedToRecord({
    aggregateId: "o-1",
    sequenceNumber: String(100 + i),
    reason: "",
    data: Buffer.from(JSON.stringify(envelope)).toString("base64"),
    arrivedAt: at,
    shardEventId: `shardId-000000000000:${100 + i}`,
  });
  const out = mapRecord(sourceRecords([record])[0], 0, map);
  if (!out.ok) throw new Error(`${type}: ${out.reason}`);
  return out.entries.map((e) => Buffer.from(e.data).toString("utf8"));
}

describe("example domain: the analytics contract order-lifecycle.v1 on the wire", () => {
  it("is exactly these records, one per event type that reaches analytics", () => {
    const head = (i: number) => `{"id":"01JEVENT${i}","eventId":"01JEVENT${i}","aggregateId":"o-1","occurredAt":"${at}","contract":"order-lifecycle.v1"`;
    const body = (stage: string, amountCents: number, lineCount: number) =>
      `"data":{"orderId":"o-1","occurredAt":"${at}","stage":"${stage}","amountCents":${amountCents},"lineCount":${lineCount}}}`;
    expect(events.map(([type, data], i) => wire(type, data, i))).to.deep.equal([
      [`${head(0)},${body("placed", 1000, 2)}`],
      [`${head(1)},${body("line-added", 900, 1)}`],
      [`${head(2)},${body("paid", 1000, 0)}`],
      [`${head(3)},${body("shipped", 0, 0)}`],
      [`${head(4)},${body("cancelled", 0, 0)}`],
      // Erasure and types without a schema forward nothing.
      [],
      [],
    ]);
  });

  it("carries no personal data: the customer id and the lines' SKUs stay in the producer account", () => {
    const all = events.flatMap(([type, data], i) => wire(type, data, i)).join("\n");
    expect(all).to.not.include("c-1");
    expect(all).to.not.include("SKU-");
  });
});
