/**
 * The shard helpers both local stream readers use (local/emulators/kinesisShards.ts):
 * paged listing, parents that hold a child back, where a shard resumes, and
 * whether a page leaves a backlog.
 */
import { expect } from "chai";
import { KinesisClient, ListShardsCommand, Shard } from "@aws-sdk/client-kinesis";
import { listedParents, listShards, pageBehind, pageLagMs, parentsDrained, resumeFrom } from "../../../local/emulators/kinesisShards";

const shard = (id: string): Shard => ({
  ShardId: id,
  HashKeyRange: { StartingHashKey: "0", EndingHashKey: "1" },
  SequenceNumberRange: { StartingSequenceNumber: "1" },
});

/** A client that answers ListShards from pages, recording each request. */
function pagedClient(pages: Shard[][]): { client: KinesisClient; requests: object[] } {
  const requests: object[] = [];
  const client = {
    send: async (command: ListShardsCommand) => {
      requests.push(command.input);
      const i = command.input.NextToken ? Number(command.input.NextToken) : 0;
      return { Shards: pages[i], NextToken: i + 1 < pages.length ? String(i + 1) : undefined };
    },
  } as unknown as KinesisClient;
  return { client, requests };
}

describe("Kinesis shard helpers", () => {
  it("lists every page: the stream name first, then only the token, as ListShards requires", async () => {
    const { client, requests } = pagedClient([[shard("a")], [shard("b")], [shard("c")]]);
    expect((await listShards(client, "s")).map((s) => s.ShardId)).to.deep.equal(["a", "b", "c"]);
    expect(requests).to.deep.equal([{ StreamName: "s" }, { NextToken: "1" }, { NextToken: "2" }]);
  });

  it("stops listing once the signal aborts", async () => {
    const { client, requests } = pagedClient([[shard("a")], [shard("b")]]);
    const controller = new AbortController();
    controller.abort();
    expect((await listShards(client, "s", controller.signal)).map((s) => s.ShardId)).to.deep.equal(["a"]);
    expect(requests).to.have.length(1);
  });

  it("holds a child back only for its listed parents that are not drained", () => {
    const child = { ShardId: "c", ParentShardId: "p1", AdjacentParentShardId: "p2" };
    expect(listedParents(child, new Set(["p1", "p2", "c"]))).to.deep.equal(["p1", "p2"]);
    expect(listedParents(child, new Set(["p2", "c"]))).to.deep.equal(["p2"]);
    expect(listedParents({}, new Set(["root"]))).to.deep.equal([]);
    expect(parentsDrained(child, new Set(["p1", "p2"]), (p) => p === "p1")).to.equal(false);
    expect(parentsDrained(child, new Set(["p1"]), (p) => p === "p1")).to.equal(true);
  });

  it("resumes right after the last record read, or where it would have started", () => {
    expect(resumeFrom("77", { ShardIteratorType: "TRIM_HORIZON" })).to.deep.equal({ ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: "77" });
    expect(resumeFrom(undefined, { ShardIteratorType: "LATEST" })).to.deep.equal({ ShardIteratorType: "LATEST" });
  });

  it("takes a page as behind when Kinesis says so or when it is full (kinesis-local says 0 for a backlog put at once)", () => {
    const records = (n: number) => Array.from({ length: n }, () => ({}));
    expect(pageBehind({ Records: records(3), MillisBehindLatest: 500 }, 10)).to.equal(true);
    expect(pageBehind({ Records: records(10), MillisBehindLatest: 0 }, 10)).to.equal(true);
    expect(pageBehind({ Records: records(9), MillisBehindLatest: 0 }, 10)).to.equal(false);
    // An empty page is at the tip whatever the lag says.
    expect(pageBehind({ Records: [], MillisBehindLatest: 500 }, 10)).to.equal(false);
    expect(pageBehind({}, 10)).to.equal(false);
  });

  it("gives a page's lag behind current time: the age of its last record unless it is at the tip", () => {
    const at = (ms: number) => ({ ApproximateArrivalTimestamp: new Date(ms) });
    expect(pageLagMs({ Records: [at(1_000)], MillisBehindLatest: 700 }, 10, 5_000)).to.equal(4_000);
    expect(pageLagMs({ Records: [at(1_000), at(2_000)], MillisBehindLatest: 0 }, 2, 5_000)).to.equal(3_000);
    expect(pageLagMs({ Records: [at(1_000)], MillisBehindLatest: 0 }, 2, 5_000), "at the tip").to.equal(0);
    expect(pageLagMs({ Records: [{}, {}], MillisBehindLatest: 300 }, 2, 5_000), "no arrival time").to.equal(300);
  });
});
