/**
 * The local Firehose with the consumer stack's declared delivery stream:
 * records put into kinesis-local (account 222222222222) land in s3rver as
 * GZIP, newline-delimited objects under the date-partitioned prefix; KPL
 * deaggregation as Firehose does it from a Kinesis source; size flushes, the
 * error output and refusals of what it can't honour.
 */
import { expect } from "chai";
import { createHash } from "crypto";
import { gunzipSync } from "zlib";
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { FirehoseSpec, LocalFirehose, resolveDelivery, startFirehose } from "../../../local/firehose/firehose";
import { deaggregateKpl } from "../../../handlers/kpl/deaggregate";
import { encodeAggregated } from "../../../handlers/kpl/aggregate";
import { LocalS3, startS3 } from "../../../local/emulators/s3";
import { emulatorS3 } from "../../../local/emulators/clients";
import { CONSUMER_ACCOUNT, createStream, PRODUCER_ACCOUNT, REGION, testKinesis, uniqueName } from "../../support/aws";
import { injectFaults } from "../../support/sdkMiddleware";
import { runProgram } from "../../support/pulumiMocks";
import { countRequests } from "../../../local/shared/sdkMiddleware";
import { streamWrites } from "../../../local/shared/streamWrites";

// The official aggregator/deaggregator (awslabs/kinesis-aggregation), a devDependency: a cross-check only.
const agg = require("aws-kinesis-agg");

/** Aggregates records with the official encoder (one aggregated record expected). */
async function officialAggregate(records: { partitionKey: string; explicitHashKey?: string; data: Buffer }[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await new Promise<void>((resolve, reject) =>
    agg.aggregate(
      records.map((r) => ({ ...r })),
      (encoded: { data: Buffer }, done: () => void) => {
        out.push(Buffer.from(encoded.data));
        done();
      },
      resolve,
      reject,
    ),
  );
  expect(out).to.have.length(1);
  return out[0];
}

/** The official deaggregator's answer, checksums verified (throws on a bad checksum). */
function officialDeaggregate(data: Buffer): { partitionKey: string; explicitHashKey?: string; data: Buffer }[] {
  let result: { partitionKey: string; explicitHashKey?: string; data: Buffer }[] = [];
  let error: Error | undefined;
  agg.deaggregateSync(
    { partitionKey: "outer", sequenceNumber: "1", data: data.toString("base64"), kinesisSchemaVersion: "1.0", approximateArrivalTimestamp: 0 },
    true,
    (err: Error, records?: any[]) => {
      if (err) error = err;
      else
        result = (records ?? []).map((u) => ({
          partitionKey: u.partitionKey,
          ...(u.explicitPartitionKey === undefined ? {} : { explicitHashKey: u.explicitPartitionKey }),
          data: Buffer.from(u.data, "base64"),
        }));
    },
  );
  if (error) throw error;
  return result;
}

const ARRIVAL = new Date("2024-02-03T04:05:06Z");
const FIREHOSE = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream";

/** Waits for a condition, bounded; the bound is generous, nothing is asserted about time. */
async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Every object under a prefix, body un-gzipped when its key says so. */
async function objects(s3: S3Client, bucket: string, prefix: string): Promise<{ key: string; text: string }[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  const out: { key: string; text: string }[] = [];
  for (const o of listed.Contents ?? []) {
    const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }))).Body!.transformToByteArray());
    out.push({ key: o.Key!, text: (o.Key!.endsWith(".gz") ? gunzipSync(body) : body).toString("utf8") });
  }
  return out;
}

async function putAll(kinesis: KinesisClient, stream: string, records: string[]): Promise<void> {
  const out = await kinesis.send(
    new PutRecordsCommand({ StreamName: stream, Records: records.map((r, i) => ({ Data: Buffer.from(r), PartitionKey: `pk-${i}` })) }),
  );
  expect(out.FailedRecordCount ?? 0).to.equal(0);
}

describe("local Firehose (startFirehose)", () => {
  let declared: FirehoseSpec;
  let s3Server: LocalS3;
  let s3: S3Client;
  let kinesis: KinesisClient;
  let running: LocalFirehose[] = [];

  /** The declared delivery stream, aimed at a fresh stream and bucket of its own. */
  async function deliveryFor(overrides: Record<string, unknown> = {}) {
    const stream = uniqueName("analytics");
    const bucket = uniqueName("landing").toLowerCase().slice(0, 63);
    const streamArn = await createStream(kinesis, stream, 2);
    expect(streamArn).to.equal(`arn:aws:kinesis:${REGION}:${CONSUMER_ACCOUNT}:stream/${stream}`);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const spec: FirehoseSpec = {
      ...declared,
      name: uniqueName("delivery"),
      kinesisSourceConfiguration: { ...declared.kinesisSourceConfiguration!, kinesisStreamArn: streamArn },
      extendedS3Configuration: { ...declared.extendedS3Configuration, bucketArn: `arn:aws:s3:::${bucket}`, ...overrides },
    };
    return { stream, bucket, spec };
  }

  before(async () => {
    const run = await runProgram({
      stack: "consumer",
      account: CONSUMER_ACCOUNT,
      region: REGION,
      config: { role: "consumer", producerAccountId: PRODUCER_ACCOUNT, externalId: "ext-firehose" },
    });
    const resource = run.one(FIREHOSE);
    declared = { ...resource.inputs, name: resource.state.name } as FirehoseSpec;
    s3Server = await startS3();
    s3 = emulatorS3({ endpoint: s3Server.endpoint });
    kinesis = testKinesis(CONSUMER_ACCOUNT);
  });
  afterEach(async () => {
    await Promise.all(running.map((f) => f.stop()));
    running = [];
  });
  after(async () => {
    await s3Server?.stop();
  });

  it("lands the declared stream's records as GZIP JSON Lines under events/year=/month=/day=", async () => {
    const { stream, bucket, spec } = await deliveryFor();
    const records = Array.from({ length: 25 }, (_, i) => JSON.stringify({ id: `e${i}`, contract: "order-lifecycle.v1" }));
    await putAll(kinesis, stream, records);
    const firehose = startFirehose(spec, { kinesis, s3, now: () => ARRIVAL, maxBufferSeconds: 1, log: () => undefined });
    running.push(firehose);
    // The declared 300 s interval is capped locally, and says so.
    expect(firehose.settings).to.include({ declaredIntervalSeconds: 300, intervalSeconds: 1, gzip: true });
    await until("25 landed records", () => firehose.stats().records === 25);

    const landed = await objects(s3, bucket, "events/");
    expect(landed.length).to.be.greaterThan(0);
    for (const o of landed) {
      expect(o.key).to.match(new RegExp(`^events/year=2024/month=02/day=03/${spec.name}-1-2024-02-03-04-05-06-[0-9a-f-]{36}\\.gz$`));
      expect(o.text.endsWith("\n"), "a newline after each record").to.equal(true);
    }
    const lines = landed.flatMap((o) => o.text.split("\n").slice(0, -1));
    expect(lines.slice().sort()).to.deep.equal(records.slice().sort());
    expect(firehose.stats()).to.include({ records: 25, objects: landed.length, errors: 0 });
    expect(firehose.stats().bytes).to.equal(records.reduce((n, r) => n + Buffer.byteLength(r), 0));
  });

  it("deaggregates KPL records as Firehose does: aggregated records land as individual newline-delimited records", async () => {
    const { stream, bucket, spec } = await deliveryFor();
    const wire = (i: number) => JSON.stringify({ id: `kpl-${i}`, contract: "order-lifecycle.v1", data: { n: i } });
    const ours = encodeAggregated(Array.from({ length: 10 }, (_, i) => ({ partitionKey: "shardId-000000000000", data: Buffer.from(wire(i)) })));
    const theirs = await officialAggregate(Array.from({ length: 5 }, (_, i) => ({ partitionKey: `order-${i % 2}`, data: Buffer.from(wire(10 + i)) })));
    const corrupted = encodeAggregated([
      { partitionKey: "k", data: Buffer.from(wire(99)) },
      { partitionKey: "k", data: Buffer.from(wire(98)) },
    ]);
    corrupted[corrupted.length - 17] ^= 0x01; // the last data byte: the protobuf parses, the MD5 does not match
    // One partition key: one shard, read in order.
    for (const data of [ours, Buffer.from(wire(100)), theirs, corrupted]) {
      const out = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: [{ Data: data, PartitionKey: "one-shard" }] }));
      expect(out.FailedRecordCount ?? 0).to.equal(0);
    }
    const firehose = startFirehose(spec, { kinesis, s3, now: () => ARRIVAL, maxBufferSeconds: 1, log: () => undefined });
    running.push(firehose);
    await until("17 landed records", () => firehose.stats().records === 17);
    await firehose.stop();

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "events/" }));
    const bodies = await Promise.all(
      (listed.Contents ?? []).map(async (o) =>
        gunzipSync(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }))).Body!.transformToByteArray())),
      ),
    );
    expect(bodies, "read in one poll, flushed once").to.have.length(1);
    // 10 + 1 plain + 5 user records, each followed by the delimiter; the corrupted aggregate as it is (AWS delivers it too).
    const expected = Buffer.concat([
      ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 10, 11, 12, 13, 14].map((i) => Buffer.from(`${wire(i)}\n`)),
      corrupted,
      Buffer.from("\n"),
    ]);
    expect(bodies[0].toString("hex")).to.equal(expected.toString("hex"));
    expect(firehose.stats()).to.include({ records: 17, deaggregated: 2, errors: 0 });
  });

  it("kplDeaggregate: agrees with the official deaggregator, and passes through what Firehose would not split", async () => {
    const records = Array.from({ length: 40 }, (_, i) => ({
      partitionKey: `agg-${i % 7}-ü`,
      ...(i % 3 === 0 ? { explicitHashKey: String(BigInt(2) ** BigInt(100) + BigInt(i % 4)) } : {}),
      data: Buffer.from(Array.from({ length: [0, 1, 127, 128, 300, 16_384][i % 6] }, (_, k) => (k * 31 + i) & 0xff)),
    }));
    const keyAndData = (r: { partitionKey: string; data: Buffer }) => `${r.partitionKey} ${r.data.toString("hex")}`;
    // The official encoder, with explicit hash keys on some records.
    const theirs = await officialAggregate(records);
    const decoded = deaggregateKpl(theirs)!;
    expect(decoded.map(keyAndData)).to.deep.equal(officialDeaggregate(theirs).map(keyAndData));
    expect(decoded.map(keyAndData)).to.deep.equal(records.map(keyAndData));
    // (The official deaggregator reads an absent explicit_hash_key_index as 0; an absent one stays absent here.)
    expect(decoded.map((r) => r.explicitHashKey)).to.deep.equal(records.map((r) => r.explicitHashKey));
    // The bridge's encoder.
    const ours = encodeAggregated(records);
    expect(deaggregateKpl(ours)!.map(keyAndData)).to.deep.equal(officialDeaggregate(ours).map(keyAndData));

    const bad = Buffer.from(ours);
    bad[bad.length - 1] ^= 0xff;
    expect(() => officialDeaggregate(bad)).to.throw(/checksum/i);
    expect(deaggregateKpl(bad), "checksum mismatch").to.equal(undefined);
    expect(deaggregateKpl(Buffer.from('{"id":"plain"}')), "no magic").to.equal(undefined);
    expect(deaggregateKpl(Buffer.from([0xf3, 0x89, 0x9a, 0xc2, 1, 2])), "too short for an MD5").to.equal(undefined);
    // Magic and a matching MD5 around bytes that are not an AggregatedRecord.
    const garbage = Buffer.from([0x1a, 0x7f, 0x00]);
    const framed = Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), garbage, createHash("md5").update(garbage).digest()]);
    expect(deaggregateKpl(framed), "malformed protobuf").to.equal(undefined);
    expect(deaggregateKpl(encodeAggregated([])), "an empty aggregate").to.deep.equal([]);
  });

  it("flushes when the buffer reaches bufferingSize, before the interval", async () => {
    const { stream, bucket, spec } = await deliveryFor({ bufferingSize: 1 });
    const big = (c: string) => c.repeat(400 * 1024);
    // One partition key: one shard, read in order.
    for (const r of [big("a"), big("b"), big("c"), "small"]) await putAll(kinesis, stream, [r]);
    const firehose = startFirehose(spec, { kinesis, s3, now: () => ARRIVAL, maxBufferSeconds: 600, log: () => undefined });
    running.push(firehose);
    await until("a size-triggered object", () => firehose.stats().objects >= 1);
    const [first] = await objects(s3, bucket, "events/");
    expect(
      first.text
        .split("\n")
        .slice(0, -1)
        .map((l) => l[0]),
    ).to.deep.equal(["a", "b", "c"]);
    await until("the last record read", () => firehose.stats().records === 3);
    await firehose.stop();
    expect(firehose.stats()).to.include({ records: 4, objects: 2 });
  });

  it("writes records it can't deliver to the error output prefix", async () => {
    const { stream, bucket, spec } = await deliveryFor();
    const failing = emulatorS3({ endpoint: s3Server.endpoint });
    injectFaults(failing, (command, input) =>
      command === "PutObjectCommand" && String(input.Key).startsWith("events/")
        ? Object.assign(new Error("injected"), { name: "ServiceUnavailable" })
        : undefined,
    );
    await putAll(kinesis, stream, ["r1", "r2"]);
    const firehose = startFirehose(spec, { kinesis, s3: failing, now: () => ARRIVAL, maxBufferSeconds: 0, deliveryAttempts: 1, log: () => undefined });
    running.push(firehose);
    await until("2 errors", () => firehose.stats().errors === 2);
    const errors = await objects(s3, bucket, "errors/");
    expect(errors.length).to.be.greaterThan(0);
    for (const o of errors) expect(o.key).to.match(/^errors\/delivery-failed\/year=2024\/month=02\/day=03\//);
    const lines = errors.flatMap((o) =>
      o.text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    );
    expect(lines.map((l) => Buffer.from(l.rawData, "base64").toString()).sort()).to.deep.equal(["r1", "r2"]);
    expect(lines[0]).to.include({ errorCode: "ServiceUnavailable", attemptsMade: 1 });
    expect(firehose.stats()).to.include({ records: 0 });
    expect(await objects(s3, bucket, "events/")).to.have.length(0);
  });

  it("lists the shards once in a while, not at every poll, and reads a put heard at once when idle", async () => {
    const { stream, spec } = await deliveryFor();
    const counted = testKinesis(CONSUMER_ACCOUNT);
    const requests = countRequests(counted);
    const writes = streamWrites();
    const streamArn = spec.kinesisSourceConfiguration!.kinesisStreamArn;
    // Without writes it polls every 50 ms here; with them, an idle source waits out the (stretched) idle interval.
    const busy = startFirehose(spec, { kinesis: counted, s3, maxBufferSeconds: 0, pollMs: 50, log: () => undefined });
    running.push(busy);
    await new Promise((r) => setTimeout(r, 1500));
    await busy.stop();
    running = running.filter((f) => f !== busy);
    expect(requests.GetRecordsCommand, "polled every 50 ms").to.be.at.least(10);
    expect(requests.ListShardsCommand, "the shard list read once").to.equal(1);

    const idle = startFirehose(spec, { kinesis: counted, s3, maxBufferSeconds: 0, pollMs: 50, writes, idlePollMs: 60_000, log: () => undefined });
    running.push(idle);
    await new Promise((r) => setTimeout(r, 1000));
    const reads = requests.GetRecordsCommand;
    await putAll(kinesis, stream, ["heard"]);
    // The idle interval is a minute: only the put heard can land it now.
    writes.landed(streamArn);
    await until("the heard record landed", () => idle.stats().records === 1);
    expect(requests.GetRecordsCommand - reads).to.be.at.most(6);
  });

  it("reads a backlog left at a poll's page cap on at once, not after the idle interval", async () => {
    const { stream, spec } = await deliveryFor();
    const writes = streamWrites();
    // Pages of 2 records: a poll's 20 pages per shard leave most of 100 behind. Put in one PutRecords, they
    // arrived together, so kinesis-local answers MillisBehindLatest 0: only a full page tells the reader to read on.
    const firehose = startFirehose(spec, {
      kinesis: testKinesis(CONSUMER_ACCOUNT),
      s3,
      maxBufferSeconds: 0,
      pollMs: 50,
      writes,
      idlePollMs: 60_000,
      pageLimit: 2,
      log: () => undefined,
    });
    running.push(firehose);
    await new Promise((r) => setTimeout(r, 500));
    await putAll(
      kinesis,
      stream,
      Array.from({ length: 100 }, (_, i) => `r${i}`),
    );
    // One put heard; the idle interval is a minute, longer than `until` waits: only reading on drains the rest.
    writes.landed(spec.kinesisSourceConfiguration!.kinesisStreamArn);
    await until("all 100 landed", () => firehose.stats().records === 100);
  });

  it("reports a source stream its client does not see (another account) and reads nothing", async () => {
    const { stream, spec } = await deliveryFor();
    await putAll(kinesis, stream, ["r1"]);
    const firehose = startFirehose(spec, { kinesis: testKinesis(PRODUCER_ACCOUNT), s3, maxBufferSeconds: 0, log: () => undefined });
    running.push(firehose);
    await until("an error", () => firehose.stats().lastError !== undefined);
    expect(firehose.stats()).to.include({ records: 0 });
  });

  it("refuses by name the settings it can't honour", () => {
    const base = { ...declared, extendedS3Configuration: { ...declared.extendedS3Configuration } };
    const refusals: [string, Record<string, unknown>, RegExp][] = [
      ["Snappy compression", { compressionFormat: "Snappy" }, /compressionFormat Snappy/],
      ["a Lambda processor", { processingConfiguration: { enabled: true, processors: [{ type: "Lambda", parameters: [] }] } }, /processor Lambda/],
      ["dynamic partitioning", { dynamicPartitioningConfiguration: { enabled: true } }, /dynamicPartitioningConfiguration/],
      ["a query namespace", { prefix: "x/!{partitionKeyFromQuery:id}/" }, /partitionKeyFromQuery/],
      ["an unknown setting", { s3BackupConfiguration: { bucketArn: "arn:aws:s3:::b" } }, /s3BackupConfiguration/],
    ];
    for (const [what, override, message] of refusals) {
      const spec = { ...base, extendedS3Configuration: { ...base.extendedS3Configuration, ...override } };
      expect(() => resolveDelivery(spec, 1), what).to.throw(message);
    }
    expect(() => resolveDelivery({ ...base, destination: "http_endpoint" }, 1)).to.throw(/destination/);
  });

  it("appends Firehose's default yyyy/MM/dd/HH/ to a prefix without a timestamp", () => {
    const settings = resolveDelivery(
      { ...declared, extendedS3Configuration: { ...declared.extendedS3Configuration, prefix: "plain/", errorOutputPrefix: undefined } },
      1,
    );
    expect(settings.prefix).to.equal("plain/!{timestamp:yyyy/MM/dd/HH}/");
  });
});
