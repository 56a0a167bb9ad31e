/**
 * The shard loop's pure decisions (local/lambda/mapping/lanes.ts), without a
 * stream: read-ahead, backoff, how much of a lane a batch takes, which lanes
 * start a batch, when a shard is finished, and how long an idle loop waits.
 */
import { expect } from "chai";
import { batchLength, eventBytes, idleWaitMs, Lane, lanesDue, readAheadCap, retryDelayMs, shardFinished } from "../../../../local/lambda/mapping/lanes";
import { PolledRecord } from "../../../../local/lambda/mapping/records";

const MB = 1024 * 1024;

function record(bytes: number, fetchedAt = 0, partitionKey = "k"): PolledRecord {
  return { shardId: "shardId-000000000000", sequenceNumber: "1", partitionKey, data: Buffer.alloc(bytes), arrivalMs: fetchedAt, fetchedAt };
}

const lane = (records: PolledRecord[], busy = false): Lane => ({ buffer: records, busy: busy ? new Promise<void>(() => undefined) : undefined });

describe("mapping lanes (pure decisions)", () => {
  it("reads ahead two batches per lane, at most 20,000 records", () => {
    expect(readAheadCap({ batchSize: 100, parallelizationFactor: 1 })).to.equal(200);
    expect(readAheadCap({ batchSize: 100, parallelizationFactor: 10 })).to.equal(2000);
    expect(readAheadCap({ batchSize: 10_000, parallelizationFactor: 10 })).to.equal(20_000);
  });

  it("backs off from the poll interval, doubling, at most 5 s", () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 200))).to.deep.equal([200, 400, 800, 1600]);
    expect(retryDelayMs(10, 200)).to.equal(5000);
  });

  it("sizes a record as Lambda's event holds it: base64 data plus the JSON around it", () => {
    expect(eventBytes(record(0))).to.equal(600);
    expect(eventBytes(record(3))).to.equal(604);
    expect(eventBytes(record(4))).to.equal(608);
  });

  it("cuts at most batchSize records off a lane", () => {
    const buffer = Array.from({ length: 25 }, () => record(10));
    expect(batchLength(buffer, 10)).to.equal(10);
    expect(batchLength(buffer.slice(0, 7), 10)).to.equal(7);
    expect(batchLength([], 10)).to.equal(0);
  });

  it("keeps a batch within Lambda's 6 MB payload, but always takes at least one record", () => {
    // 1.5 MiB of data is 2 MiB in base64: three fit in 6 MiB only without the JSON around them.
    const big = Array.from({ length: 5 }, () => record(1.5 * MB));
    expect(batchLength(big, 100)).to.equal(2);
    expect(batchLength([record(7 * MB), record(1)], 100)).to.equal(1);
  });

  it("starts a batch on idle lanes that are full, past their window, or the last of a closed shard; skips busy and empty ones", () => {
    const s = { batchSize: 3, windowMs: 1000 };
    const lanes = [
      lane([record(1, 0), record(1, 0), record(1, 0)]), // full
      lane([record(1, 500)]), // window ends at 1500
      lane([record(1, 0)]), // window ended at 1000
      lane([record(1, 0), record(1, 0), record(1, 0)], true), // busy
      lane([]), // empty
      lane([record(1, 800)]), // window ends at 1800
    ];
    expect(lanesDue(lanes, s, 1200, false)).to.deep.equal({ due: [0, 2], nextWindowEnd: 1500 });
    expect(lanesDue(lanes, s, 1200, true)).to.deep.equal({ due: [0, 1, 2, 5], nextWindowEnd: Infinity });
    expect(lanesDue([lane([]), lane([], true)], s, 0, false)).to.deep.equal({ due: [], nextWindowEnd: Infinity });
  });

  it("finishes a shard only when it is closed and nothing is buffered or in flight", () => {
    expect(shardFinished([lane([]), lane([])], true)).to.equal(true);
    expect(shardFinished([lane([]), lane([])], false)).to.equal(false);
    expect(shardFinished([lane([record(1)]), lane([])], true)).to.equal(false);
    expect(shardFinished([lane([], true)], true)).to.equal(false);
  });

  it("reads on at once while behind with room; otherwise waits a poll interval, longer when it can't read, cut short by a window", () => {
    const base = { behind: false, room: true, closed: false, pollMs: 200, nextWindowEnd: Infinity, now: 1000 };
    expect(idleWaitMs({ ...base, behind: true })).to.equal(undefined);
    expect(idleWaitMs(base)).to.equal(200);
    expect(idleWaitMs({ ...base, nextWindowEnd: 1050 })).to.equal(50);
    expect(idleWaitMs({ ...base, behind: true, room: false })).to.equal(60_000);
    expect(idleWaitMs({ ...base, behind: true, closed: true })).to.equal(60_000);
    expect(idleWaitMs({ ...base, closed: true, nextWindowEnd: 1300 })).to.equal(300);
    expect(idleWaitMs({ ...base, nextWindowEnd: 900 })).to.equal(-100);
  });
});
