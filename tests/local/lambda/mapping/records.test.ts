/** A GetRecords record as the poller keeps it (local/lambda/mapping/records.ts: polledRecord). */
import { expect } from "chai";
import { polledRecord } from "../../../../local/lambda/mapping/records";

describe("mapping records: polledRecord", () => {
  it("keeps the shard, sequence number, key, data and arrival, with when it was fetched", () => {
    const r = polledRecord(
      { SequenceNumber: "42", PartitionKey: "a-1", Data: new Uint8Array([1, 2, 3]), ApproximateArrivalTimestamp: new Date(5000) },
      "shardId-000000000001",
      9000,
    );
    expect(r).to.deep.equal({
      shardId: "shardId-000000000001",
      sequenceNumber: "42",
      partitionKey: "a-1",
      data: Buffer.from([1, 2, 3]),
      arrivalMs: 5000,
      fetchedAt: 9000,
    });
  });

  it("takes the fetch time as arrival, and empty data, when the record has none", () => {
    const r = polledRecord({ SequenceNumber: "1", PartitionKey: "k", Data: undefined, ApproximateArrivalTimestamp: undefined }, "s", 1234);
    expect(r.arrivalMs).to.equal(1234);
    expect(r.data.length).to.equal(0);
  });
});
