import { expect } from "chai";
import { createHash } from "crypto";
import { encodeAggregated } from "../../../handlers/kpl/aggregate";
import { decodeKpl, deaggregateKpl } from "../../../handlers/kpl/deaggregate";
import { sourceRecords, userRecordsOf } from "../../../handlers/kpl/sourceRecords";
import { parkedToRecord } from "../../../handlers/ops/parkedRows";
import { encodePosition } from "../../../handlers/shared/sequence";
import { kplAggregate, kplDeaggregate } from "../../support/aws";

/** A record as Lambda delivers it. */
function record(partitionKey: string, bytes: Buffer, sequenceNumber: string) {
  const data = bytes.toString("base64");
  return parkedToRecord({
    aggregateId: partitionKey,
    sequenceNumber,
    reason: "",
    data,
    arrivedAt: "2025-01-01T00:00:00.000Z",
    shardEventId: `shardId-0:${sequenceNumber}`,
  });
}

/** An aggregate whose MD5 is recomputed over `protobuf` (a valid checksum around whatever bytes). */
function framed(protobuf: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), protobuf, createHash("md5").update(protobuf).digest()]);
}

describe("KPL deaggregation where the source stream is read (handlers/kpl/sourceRecords.ts)", () => {
  const users = [
    { partitionKey: "order-a", data: '{"n":1}' },
    { partitionKey: "order-b", data: '{"n":2}' },
    { partitionKey: "order-a", data: '{"n":3}' },
    { partitionKey: "order-c", data: "" },
    { partitionKey: "order-b", data: "x".repeat(300) },
  ];

  it("numbers an aggregate's user records as the official deaggregator does: same sequence number, sub-sequence = index, own keys and data", () => {
    const agg = kplAggregate(users);
    const rec = record(agg.partitionKey, agg.bytes, "1234");
    const official = kplDeaggregate(rec);
    const ours = sourceRecords([rec]);
    expect(ours.map((u) => [u.partitionKey, u.sequenceNumber, u.subSequenceNumber, u.data.toString()])).to.deep.equal(
      official.map((u) => [u.partitionKey, u.sequenceNumber, u.subSequenceNumber, u.data.toString()]),
    );
    expect(ours.map((u) => u.aggregated)).to.deep.equal(users.map(() => true));
    expect(ours.map((u) => u.position)).to.deep.equal(users.map((_, i) => encodePosition("1234", i)));
    expect(ours.every((u) => u.record === rec && u.corrupt === undefined)).to.equal(true);
  });

  it("passes a plain record through as one user record at sub-sequence 0, as the official deaggregator does", () => {
    const rec = record("order-a", Buffer.from('{"plain":true}'), "77");
    const [u] = sourceRecords([rec]);
    expect(u).to.deep.include({ partitionKey: "order-a", sequenceNumber: "77", subSequenceNumber: 0, aggregated: false, position: encodePosition("77") });
    expect(u.data.toString()).to.equal('{"plain":true}');
    expect(kplDeaggregate(rec).map((x) => [x.partitionKey, x.data.toString()])).to.deep.equal([["order-a", '{"plain":true}']]);
  });

  it("reads our own aggregator's output and the official one's alike, and an aggregate of nothing as no user records", () => {
    const ours = encodeAggregated(users.map((u) => ({ partitionKey: u.partitionKey, data: Buffer.from(u.data) })));
    expect(userRecordsOf({ partitionKey: "order-a", sequenceNumber: "5", data: ours }).map((u) => [u.partitionKey, u.data.toString()])).to.deep.equal(
      users.map((u) => [u.partitionKey, u.data]),
    );
    expect(userRecordsOf({ partitionKey: "k", sequenceNumber: "5", data: encodeAggregated([]) })).to.deep.equal([]);
  });

  it("makes a record with the KPL magic that does not deaggregate ONE corrupt record under its outer key, with its data: never JSON", () => {
    const good = kplAggregate(users).bytes;
    const badMd5 = Buffer.from(good);
    badMd5[badMd5.length - 1] ^= 0xff;
    const flipped = Buffer.from(good);
    flipped[8] ^= 0x01; // the protobuf changed, the MD5 not
    const cases: [string, Buffer, RegExp][] = [
      ["bad MD5", badMd5, /KPL aggregate checksum mismatch: the MD5 of its protobuf is [0-9a-f]{32}, the record says [0-9a-f]{32}/],
      ["protobuf changed under its MD5", flipped, /checksum mismatch/],
      ["malformed protobuf, valid MD5", framed(Buffer.from([0x1a, 0x7f, 0x01])), /KPL aggregate protobuf is malformed: truncated field/],
      [
        "key index outside the table",
        framed(Buffer.from([0x0a, 0x01, 0x41, 0x1a, 0x05, 0x08, 0x05, 0x1a, 0x01, 0x78])),
        /partition_key_index 5 outside the key table of 1/,
      ],
      ["magic, too short for an MD5", Buffer.from([0xf3, 0x89, 0x9a, 0xc2, 1, 2, 3]), /KPL aggregate of 7 bytes is too short for its MD5/],
    ];
    for (const [name, bytes, reason] of cases) {
      const rec = record("outer", bytes, "9");
      const out = sourceRecords([rec]);
      expect(out, name).to.have.length(1);
      expect(out[0], name).to.deep.include({ partitionKey: "outer", subSequenceNumber: 0, aggregated: false });
      expect(out[0].corrupt, name).to.match(reason);
      expect(out[0].data.equals(bytes), name).to.equal(true);
      // The local Firehose's view: delivered as it is, as Amazon Data Firehose does.
      expect(deaggregateKpl(bytes), name).to.equal(undefined);
      expect(decodeKpl(bytes).kind, name).to.equal("corrupt");
    }
  });
});
