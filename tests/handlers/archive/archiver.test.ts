/**
 * The archiver against s3rver with records read from kinesis-local: every
 * record archived with its metadata, once per key, under redelivery,
 * bisected batches, a crash mid-batch and throttled S3 (injected with SDK
 * middleware); the completeness check finds no gap where there is none and
 * the one injected where it was.
 */
import { createHash } from "crypto";
import { expect } from "chai";
import { S3Client } from "@aws-sdk/client-s3";
import { checkCompleteness, compareShard, describeCompleteness } from "../../../handlers/archive/completeness";
import { decodeObject, encodeObject, objectKey, parseKey, positionOf, toArchived } from "../../../handlers/archive/format";
import { listArchive } from "../../../handlers/archive/reader";
import { ArchiveLocation } from "../../../handlers/archive/reader";
import { KinesisStreamRecord } from "../../../handlers/shared/kinesisEvent";
import { encodePosition } from "../../../handlers/shared/sequence";
import { archived, deleteObject, newArchive, newArchiver, s3Emulator } from "../../support/archiveFixtures";
import { kplAggregate, PRODUCER_ACCOUNT, REGION } from "../../support/aws";
import { append, envelope, setupRig, Rig } from "../../support/projectorFixtures";
import { injectFaults, serviceError } from "../../support/sdkMiddleware";

describe("archiver: the source stream's records kept in S3", function () {
  const emulator = s3Emulator();
  let s3: S3Client;
  let rig: Rig;
  let at: ArchiveLocation;
  let records: KinesisStreamRecord[];
  const streamArn = () => `arn:aws:kinesis:${REGION}:${PRODUCER_ACCOUNT}:stream/${rig.stream}`;

  before(async () => {
    await emulator.start();
    s3 = emulator.client();
  });
  after(() => emulator.stop());
  beforeEach(async () => {
    rig = await setupRig();
    at = await newArchive(s3);
    records = await append(
      rig,
      Array.from({ length: 30 }, (_, i) => envelope(`order-${i % 4}`, `e-${i}`)),
    );
  });

  it("writes one object per batch holding every record with its shard, positions, partition key, arrival time and bytes", async () => {
    const { archive } = newArchiver(at, s3);
    expect((await archive({ Records: records })).batchItemFailures).to.deep.equal([]);
    const { objects } = await archived(at);
    expect([...objects.keys()]).to.have.length(1);
    const [key, lines] = [...objects.entries()][0];
    expect(key).to.equal(objectKey(at.prefix, toArchived(records)));
    expect(lines.map((l) => l.sequenceNumber)).to.deep.equal(records.map((r) => r.kinesis.sequenceNumber));
    expect(lines[3]).to.deep.include({
      shardId: records[3].eventID.split(":")[0],
      subSequenceNumber: 0,
      partitionKey: "order-3",
      arrivalMs: Math.round(records[3].kinesis.approximateArrivalTimestamp * 1000),
      data: records[3].kinesis.data,
    });
  });

  it("sends each object's Content-MD5, which S3 requires of a PUT into a bucket with default Object Lock retention", async () => {
    const sent: { key: string; md5?: string; body?: Buffer }[] = [];
    const client = emulator.client();
    client.middlewareStack.add(
      (next) => async (args: any) => {
        if (args.input?.Key) sent.push({ key: args.input.Key, md5: args.request?.headers?.["content-md5"], body: args.input.Body });
        return next(args);
      },
      { step: "finalizeRequest", name: "captureContentMd5" },
    );
    const { archive } = newArchiver(at, client);
    expect((await archive({ Records: records })).batchItemFailures).to.deep.equal([]);
    expect(sent).to.have.length(1);
    expect(sent[0].md5).to.equal(createHash("md5").update(sent[0].body!).digest("base64"));
    expect(decodeObject(sent[0].key, sent[0].body!)).to.have.length(records.length);
  });

  it("rewrites the same key on redelivery and after a crash mid-batch: each record once per key, no gap", async () => {
    const { archive } = newArchiver(at, s3);
    // A crash after the PUT and before the answer: Lambda delivers the same batch again.
    await archive({ Records: records.slice(0, 20) });
    await archive({ Records: records.slice(0, 20) });
    await archive({ Records: records.slice(20) });
    const { objects, copies } = await archived(at);
    expect(objects.size).to.equal(2);
    expect([...copies.values()].every((n) => n === 1)).to.equal(true);
    const report = await checkCompleteness(rig.kinesis, streamArn(), await listArchive(at));
    expect(report).to.have.length(1);
    expect(report[0].missing).to.deep.equal([]);
    expect(report[0].tail).to.deep.equal([]);
    expect(describeCompleteness(report)[0]).to.match(/no gap; 0 not archived yet/);
  });

  it("bisected and re-split batches overlap whole runs: no gap reported, every record held", async () => {
    const { archive } = newArchiver(at, s3);
    await archive({ Records: records.slice(0, 16) });
    await archive({ Records: records.slice(0, 8) });
    await archive({ Records: records.slice(8, 16) });
    await archive({ Records: records.slice(12, 30) });
    const { copies } = await archived(at);
    expect(copies.size).to.equal(30);
    const report = await checkCompleteness(rig.kinesis, streamArn(), await listArchive(at));
    expect(report[0].missing).to.deep.equal([]);
    expect(report[0].runs).to.have.length(1);
  });

  it("retries throttled PUTs, and past its budget reports the shard from its first record and writes nothing", async () => {
    const throttled = emulator.client();
    let faults = 2;
    injectFaults(throttled, (name) => (name === "PutObjectCommand" && faults-- > 0 ? serviceError("SlowDown", 503) : undefined));
    const { archive, metrics } = newArchiver(at, throttled);
    expect((await archive({ Records: records.slice(0, 10) })).batchItemFailures).to.deep.equal([]);
    expect(metrics[0].Retries).to.equal(2);

    faults = 100;
    const answer = await archive({ Records: records.slice(10) });
    expect(answer.batchItemFailures).to.deep.equal([{ itemIdentifier: records[10].kinesis.sequenceNumber }]);
    expect((await archived(at)).objects.size).to.equal(1);
    // Lambda delivers it again once S3 recovers.
    faults = 0;
    await archive({ Records: records.slice(10) });
    const report = await checkCompleteness(rig.kinesis, streamArn(), await listArchive(at));
    expect(report[0].missing).to.deep.equal([]);
  });

  it("reports a gap where an object was lost, and the tail not archived yet apart from it", async () => {
    const { archive } = newArchiver(at, s3);
    await archive({ Records: records.slice(0, 10) });
    await archive({ Records: records.slice(10, 20) });
    await archive({ Records: records.slice(20, 25) });
    const lost = (await listArchive(at)).find((k) => k.first === positionOf(toArchived([records[10]])[0]))!;
    await deleteObject(at, lost.key);
    const [shard] = await checkCompleteness(rig.kinesis, streamArn(), await listArchive(at));
    const positions = (rs: KinesisStreamRecord[]) => rs.map((r) => encodePosition(r.kinesis.sequenceNumber));
    expect(shard.missing).to.deep.equal(positions(records.slice(10, 20)));
    expect(shard.tail).to.deep.equal(positions(records.slice(25)));
    expect(describeCompleteness([shard])[0]).to.match(/GAP: 10 record\(s\) missing/);
  });

  it("keeps each KPL user record with its sub-sequence number and its own partition key", async () => {
    const kpl = kplAggregate([0, 1, 2].map((i) => ({ partitionKey: `k-${i}`, data: JSON.stringify(envelope(`k-${i}`, `u-${i}`)) })));
    const all = await append(rig, [{ partitionKey: kpl.partitionKey, bytes: kpl.bytes }]);
    const { archive } = newArchiver(at, s3);
    await archive({ Records: all.slice(30) });
    const [lines] = [...(await archived(at)).objects.values()];
    expect(lines.map((l) => [l.subSequenceNumber, l.partitionKey, l.aggregated])).to.deep.equal([
      [0, "k-0", true],
      [1, "k-1", true],
      [2, "k-2", true],
    ]);
    expect(JSON.parse(Buffer.from(lines[2].data, "base64").toString()).eventId).to.equal("u-2");
  });

  it("parses only its own keys and refuses a malformed object with the key and line", () => {
    const lines = toArchived(records.slice(0, 2));
    const key = objectKey("records/", lines);
    expect(parseKey("records/", key)).to.deep.include({ shardId: lines[0].shardId, first: positionOf(lines[0]), last: positionOf(lines[1]) });
    for (const other of ["records/x.txt", "other/" + key, "records/shard/zz/1.jsonl.gz", "records/a/1/2/3.jsonl.gz", "records/a/2/1.jsonl.gz"])
      expect(parseKey("records/", other)).to.equal(undefined);
    expect(decodeObject(key, encodeObject(lines))).to.deep.equal(lines);
    const bad = encodeObject([{ ...lines[0], sequenceNumber: "x" }]);
    expect(() => decodeObject(key, bad)).to.throw(`archive object ${key} line 1 is not an archived record`);
  });

  it("compareShard: runs that touch without a stream record between them leave no gap", () => {
    const p = (n: number) => encodePosition(String(n));
    const runs = [
      { first: p(1), last: p(3) },
      { first: p(5), last: p(9) },
    ];
    expect(compareShard("s", [p(1), p(3), p(5), p(9)], runs).missing).to.deep.equal([]);
    expect(compareShard("s", [p(1), p(3), p(4), p(5), p(9), p(10)], runs)).to.deep.include({ missing: [p(4)], tail: [p(10)] });
    expect(compareShard("s", [p(0), p(1)], runs).missing).to.deep.equal([p(0)]);
  });
});
