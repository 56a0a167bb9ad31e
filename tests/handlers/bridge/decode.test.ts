import { expect } from "chai";
import { mapBatch, mapRecord } from "../../../handlers/bridge/decode";
import type { Mapper } from "../../../handlers/shared/domain";
import { ENVELOPE_SCHEMA_VERSION, EventEnvelope } from "../../../handlers/shared/envelope";
import type { KinesisStreamRecord } from "../../../handlers/shared/kinesisEvent";
import { parkedToRecord } from "../../../handlers/ops/parkedRows";
import { sourceRecords } from "../../../handlers/kpl/sourceRecords";

/** The one user record of a plain record, as mapRecord takes it. */
const user = (r: KinesisStreamRecord) => sourceRecords([r])[0];

/** A record as Lambda delivers it, filed under `partitionKey` (built as the re-drive rebuilds one from its parts). */
function record(partitionKey: string, body: EventEnvelope | string, sequenceNumber: string): KinesisStreamRecord {
  return parkedToRecord({
    aggregateId: partitionKey,
    sequenceNumber,
    reason: "",
    data: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)).toString("base64"),
    arrivedAt: "2025-01-01T00:00:00.123Z",
    shardEventId: `shardId-000000000000:${sequenceNumber}`,
  });
}

function envelope(aggregateId: string, eventId: string): EventEnvelope {
  return { eventId, aggregateId, type: "OrderPlaced", occurredAt: "2025-01-01T00:00:00.000Z", schemaVersion: ENVELOPE_SCHEMA_VERSION, data: { n: 1 } };
}

describe("bridge decode: mapRecord and mapBatch", () => {
  const mapped: EventEnvelope[] = [];
  const map: Mapper = (e) => {
    mapped.push(e);
    return { contract: "order-lifecycle.v1", data: e.data };
  };
  beforeEach(() => (mapped.length = 0));

  it("makes an envelope filed under another aggregate's key poison (aggregateMismatch) without calling map", () => {
    const out = mapRecord(user(record("a", envelope("b", "e1"), "10")), 0, map);
    expect(out).to.deep.equal({ ok: false, kind: "aggregateMismatch", reason: "envelope aggregateId does not match the partition key", eventId: "e1" });
    expect(mapped).to.deep.equal([]);
  });

  it("maps an envelope filed under its own key to entries keyed by the aggregate", () => {
    const out = mapRecord(user(record("a", envelope("a", "e1"), "10")), 7, map);
    expect(out.ok).to.equal(true);
    if (!out.ok) return;
    expect(out.entries.map((e) => [e.source, e.partitionKey, JSON.parse(Buffer.from(e.data).toString("utf8")).id])).to.deep.equal([[7, "a", "e1"]]);
    expect(out.entries[0].bytes).to.equal(out.entries[0].data.length + 1);
  });

  it("parks a mismatched record under its partition key with its data, and keeps the others' entries in source order", () => {
    const records = [record("a", envelope("a", "e1"), "10"), record("a", envelope("b", "e2"), "11"), record("b", envelope("b", "e3"), "12")];
    const { entries, poison } = mapBatch(records, map);
    expect(entries.map((e) => [e.source, e.partitionKey])).to.deep.equal([
      [0, "a"],
      [2, "b"],
    ]);
    expect(poison).to.deep.equal([
      {
        source: 1,
        kind: "aggregateMismatch",
        row: {
          aggregateId: "a",
          sequenceNumber: "11",
          eventId: "e2",
          reason: "envelope aggregateId does not match the partition key",
          data: records[1].kinesis.data,
          arrivedAt: "2025-01-01T00:00:00.123Z",
          shardEventId: "shardId-000000000000:11",
        },
      },
    ]);
    expect(mapped.map((e) => e.eventId)).to.deep.equal(["e1", "e3"]);
  });

  it("keeps a contract's wire ids when another contract is published beside it, counting several records per contract", () => {
    const idsUnder = (contracts: string[]) => {
      const out = mapRecord(user(record("a", envelope("a", "e1"), "10")), 0, () => contracts.map((contract, i) => ({ contract, data: i })));
      if (!out.ok) throw new Error(out.reason);
      return out.entries.map((e) => {
        const wire = JSON.parse(Buffer.from(e.data).toString("utf8"));
        return `${wire.contract} ${wire.id}`;
      });
    };
    expect(idsUnder(["v1"])).to.deep.equal(["v1 e1"]);
    // Dual-publishing v2 (in either order) leaves v1's id as it was: a replay across that deploy dedups on (contract, id).
    expect(idsUnder(["v1", "v2"])).to.deep.equal(["v1 e1", "v2 e1"]);
    expect(idsUnder(["v2", "v1"])).to.deep.equal(["v2 e1", "v1 e1"]);
    expect(idsUnder(["v1", "v1", "v2"])).to.deep.equal(["v1 e1#0", "v1 e1#1", "v2 e1"]);
    expect(idsUnder(["v1", "v2", "v1"])).to.deep.equal(["v1 e1#0", "v2 e1", "v1 e1#1"]);
  });

  it("makes a record poison when map's output has no contract or does not fit a Kinesis record", () => {
    const noContract: Mapper = () => [{ contract: "c.v1", data: 1 }, { data: 2 } as never];
    expect(mapRecord(user(record("a", envelope("a", "e1"), "10")), 0, noContract)).to.include({ ok: false, kind: "badMapOutput" });
    const huge: Mapper = () => ({ contract: "c.v1", data: "x".repeat(1024 * 1024) });
    expect(mapRecord(user(record("a", envelope("a", "e1"), "10")), 0, huge)).to.include({ ok: false, kind: "tooLarge" });
    expect(mapRecord(user(record("a", "not json", "10")), 0, map)).to.include({ ok: false, kind: "undecodable" });
  });
});
