/** A shard's checkpoint while batches finish out of order (local/lambda/mapping/progress.ts): the last record of the done prefix. */
import { expect } from "chai";
import { Shard } from "@aws-sdk/client-kinesis";
import { shardProgress } from "../../../../local/lambda/mapping/progress";
import { planDiscovery } from "../../../../local/lambda/mapping/discovery";

describe("mapping shard progress and resumed discovery", () => {
  it("moves the checkpoint only over a done prefix, however the batches finish", () => {
    const p = shardProgress();
    for (const s of ["1", "2", "3", "4", "5"]) p.read(s);
    expect(p.done(["3", "4"]), "a later lane finished first").to.equal(undefined);
    expect(p.done(["1"])).to.equal("1");
    expect(p.done(["2"]), "the gap closed: past everything done").to.equal("4");
    expect(p.pending).to.equal(1);
    expect(p.done([])).to.equal(undefined);
    expect(p.done(["5"])).to.equal("5");
  });

  it("stays as long as the read-ahead over many records", () => {
    const p = shardProgress();
    for (let i = 0; i < 5_000; i++) {
      p.read(String(i));
      expect(p.done([String(i)])).to.equal(String(i));
    }
    expect(p.pending).to.equal(0);
  });

  it("starts a checkpointed shard right after its checkpoint, whatever the starting position, and a drained parent's child from its start", () => {
    const range = { StartingHashKey: "0", EndingHashKey: "1" };
    const shards: Shard[] = [
      { ShardId: "s0", HashKeyRange: range, SequenceNumberRange: { StartingSequenceNumber: "1", EndingSequenceNumber: "9" } },
      { ShardId: "s1", HashKeyRange: range, ParentShardId: "s0", SequenceNumberRange: { StartingSequenceNumber: "10" } },
      { ShardId: "s2", HashKeyRange: range, SequenceNumberRange: { StartingSequenceNumber: "20" } },
    ];
    const latest = planDiscovery(
      shards,
      { started: new Set(["s0"]), done: new Set(["s0"]) },
      true,
      { startingPosition: "LATEST" },
      { s2: { sequenceNumber: "25" } },
    );
    expect(latest.starts).to.deep.equal([
      { shardId: "s1", input: { ShardIteratorType: "LATEST" } },
      { shardId: "s2", input: { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: "25" } },
    ]);
    const trim = planDiscovery(shards, { started: new Set(["s0"]), done: new Set(["s0"]) }, true, { startingPosition: "TRIM_HORIZON" }, {});
    expect(trim.starts.map((s) => [s.shardId, s.input.ShardIteratorType])).to.deep.equal([
      ["s1", "TRIM_HORIZON"],
      ["s2", "TRIM_HORIZON"],
    ]);
  });
});
