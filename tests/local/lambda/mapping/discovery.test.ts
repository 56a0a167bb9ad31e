/**
 * Which shards a mapping starts on a listing (local/lambda/mapping/discovery.ts),
 * without a stream: the starting position at the first listing, and parents
 * before children after a reshard.
 */
import { expect } from "chai";
import { Shard } from "@aws-sdk/client-kinesis";
import { initialStart, planDiscovery } from "../../../../local/lambda/mapping/discovery";

const open = (id: string, parents: string[] = []): Shard => ({
  ShardId: id,
  ParentShardId: parents[0],
  AdjacentParentShardId: parents[1],
  HashKeyRange: { StartingHashKey: "0", EndingHashKey: "1" },
  SequenceNumberRange: { StartingSequenceNumber: "1" },
});
const closed = (id: string, parents: string[] = []): Shard => ({
  ...open(id, parents),
  SequenceNumberRange: { StartingSequenceNumber: "1", EndingSequenceNumber: "9" },
});

// A split of 0 into 1 and 2, then a merge of 1 and 2 into 3.
const RESHARDED = [closed("s0"), closed("s1", ["s0"]), closed("s2", ["s0"]), open("s3", ["s1", "s2"])];
const none = { started: new Set<string>(), done: new Set<string>() };
const ids = (plan: { starts: { shardId: string }[] }) => plan.starts.map((s) => s.shardId);

describe("mapping discovery (pure decisions)", () => {
  it("TRIM_HORIZON: the first listing starts the shards without unread parents, from their beginning", () => {
    const plan = planDiscovery(RESHARDED, none, true, { startingPosition: "TRIM_HORIZON" });
    expect(plan).to.deep.equal({ starts: [{ shardId: "s0", input: { ShardIteratorType: "TRIM_HORIZON" } }], skipped: [] });
  });

  it("starts a child once all its parents are drained, and never a shard twice", () => {
    const s = { startingPosition: "TRIM_HORIZON" as const };
    expect(ids(planDiscovery(RESHARDED, { started: new Set(["s0"]), done: new Set(["s0"]) }, false, s))).to.deep.equal(["s1", "s2"]);
    expect(ids(planDiscovery(RESHARDED, { started: new Set(["s0", "s1", "s2"]), done: new Set(["s0", "s1"]) }, false, s))).to.deep.equal([]);
    expect(ids(planDiscovery(RESHARDED, { started: new Set(["s0", "s1", "s2"]), done: new Set(["s0", "s1", "s2"]) }, false, s))).to.deep.equal(["s3"]);
  });

  it("does not wait for a parent no longer listed (past retention)", () => {
    expect(ids(planDiscovery([open("s3", ["s1", "s2"])], none, false, { startingPosition: "TRIM_HORIZON" }))).to.deep.equal(["s3"]);
  });

  it("LATEST: the first listing starts only open shards, at their tip, and passes over the closed ones", () => {
    const plan = planDiscovery(RESHARDED, none, true, { startingPosition: "LATEST" });
    expect(plan).to.deep.equal({ starts: [{ shardId: "s3", input: { ShardIteratorType: "LATEST" } }], skipped: ["s0", "s1", "s2"] });
  });

  it("AT_TIMESTAMP: the first listing starts open shards at the timestamp; later listings start children from their beginning", () => {
    const at = new Date("2024-01-02T03:04:05Z");
    const s = { startingPosition: "AT_TIMESTAMP" as const, startingTimestamp: at };
    expect(planDiscovery([open("a"), closed("b")], none, true, s)).to.deep.equal({
      starts: [{ shardId: "a", input: { ShardIteratorType: "AT_TIMESTAMP", Timestamp: at } }],
      skipped: ["b"],
    });
    const later = planDiscovery([closed("a"), open("c", ["a"])], { started: new Set(["a"]), done: new Set(["a"]) }, false, s);
    expect(later.starts).to.deep.equal([{ shardId: "c", input: { ShardIteratorType: "TRIM_HORIZON" } }]);
  });

  it("names the iterator type of each starting position", () => {
    expect(initialStart({ startingPosition: "TRIM_HORIZON" })).to.deep.equal({ ShardIteratorType: "TRIM_HORIZON" });
    expect(initialStart({ startingPosition: "LATEST" })).to.deep.equal({ ShardIteratorType: "LATEST" });
  });
});
