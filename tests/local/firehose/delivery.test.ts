/**
 * What the local Firehose writes and when (local/firehose/delivery.ts),
 * without S3 or a stream: landed records, flush decisions, object keys and
 * bytes, the error output's records, and the backoffs.
 */
import { expect } from "chai";
import { gunzipSync } from "zlib";
import { encodeAggregated } from "../../../handlers/kpl/aggregate";
import * as delivery from "../../../local/firehose/delivery";

const AT = new Date("2024-02-03T04:05:06Z");
const buffered = (texts: string[]) => texts.map((t) => ({ data: Buffer.from(t), arrival: AT }));

describe("local Firehose delivery (pure parts)", () => {
  it("lands a KPL aggregate as its user records, and anything else as it is", () => {
    const aggregate = encodeAggregated([
      { partitionKey: "k", data: Buffer.from("one") },
      { partitionKey: "k", data: Buffer.from("two") },
    ]);
    const split = delivery.landedRecords(aggregate);
    expect(split.aggregated).to.equal(true);
    expect(split.records.map((r) => r.toString())).to.deep.equal(["one", "two"]);
    expect(delivery.landedRecords(Buffer.from('{"plain":true}'))).to.deep.equal({ records: [Buffer.from('{"plain":true}')], aggregated: false });
  });

  it("flushes at bufferingSize, and once the oldest record has waited the interval", () => {
    expect(delivery.sizeReached(5 * 1024 * 1024 - 1, { sizeBytes: 5 * 1024 * 1024 })).to.equal(false);
    expect(delivery.sizeReached(5 * 1024 * 1024, { sizeBytes: 5 * 1024 * 1024 })).to.equal(true);
    expect(delivery.intervalReached(3, 1000, 2999, { intervalSeconds: 2 })).to.equal(false);
    expect(delivery.intervalReached(3, 1000, 3000, { intervalSeconds: 2 })).to.equal(true);
    expect(delivery.intervalReached(0, 1000, 9999, { intervalSeconds: 2 }), "nothing buffered").to.equal(false);
  });

  it("names objects as Firehose does: expanded prefix, stream, version, UTC time of the oldest record, id, extension", () => {
    const prefix = "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/";
    expect(delivery.objectKey(prefix, "delivery-1", AT, "id-1", ".gz")).to.equal("events/year=2024/month=02/day=03/delivery-1-1-2024-02-03-04-05-06-id-1.gz");
    expect(delivery.objectKey("errors/!{firehose:error-output-type}/", "d", AT, "x", "", "delivery-failed")).to.equal(
      "errors/delivery-failed/d-1-2024-02-03-04-05-06-x",
    );
  });

  it("writes the records one after the other, each followed by the delimiter when one is declared, GZIP when declared", () => {
    expect(delivery.objectBody(buffered(["a", "b"]), Buffer.from("\n")).toString()).to.equal("a\nb\n");
    expect(delivery.objectBody(buffered(["a", "b"]), undefined).toString()).to.equal("ab");
    expect(gunzipSync(delivery.objectBytes(Buffer.from("abc"), true)).toString()).to.equal("abc");
    expect(delivery.objectBytes("abc", false)).to.deep.equal(Buffer.from("abc"));
  });

  it("writes each record it could not deliver as one JSON line with its data in base64", () => {
    const cause = Object.assign(new Error("bucket is gone"), { name: "NoSuchBucket" });
    const text = delivery.errorRecords(buffered(["r1", "r2"]), cause, 3, 1700000000000);
    expect(text.endsWith("\n")).to.equal(true);
    expect(
      text
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).to.deep.equal(
      ["r1", "r2"].map((r) => ({
        attemptsMade: 3,
        arrivalTimestamp: AT.getTime(),
        errorCode: "NoSuchBucket",
        errorMessage: "bucket is gone",
        attemptEndingTimestamp: 1700000000000,
        rawData: Buffer.from(r).toString("base64"),
      })),
    );
  });

  it("backs off between attempts: PutObject doubling from 200 ms, reads doubling from 500 ms to at most 5 s", () => {
    expect([1, 2].map(delivery.deliveryBackoffMs)).to.deep.equal([200, 400]);
    const waits: number[] = [];
    for (let b = 0, i = 0; i < 6; i++) waits.push((b = delivery.readBackoffMs(b)));
    expect(waits).to.deep.equal([500, 1000, 2000, 4000, 5000, 5000]);
  });
});
