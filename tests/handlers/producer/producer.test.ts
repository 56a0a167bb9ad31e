/**
 * The producer library against the emulators: the same checks as the API
 * (the domain's schemas), an idempotent retry, a batch whose PutRecords
 * partly fails (faults injected with SDK middleware, as AWS answers them),
 * KPL aggregation read back by the official deaggregator, and `read` with
 * the API's visibility contract once the projector has run.
 */
import { expect } from "chai";
import { reduce as domainReduce, validate as domainValidate } from "../../../domain";
import { createProducer, rejectionOf } from "../../../handlers/producer";
import { createProjector } from "../../../handlers/projector";
import { dynamoClient, kinesisClient } from "../../../handlers/shared/clients";
import type { Reducer } from "../../../handlers/shared/domain";
import { countRequests } from "../../../local/shared/sdkMiddleware";
import { kplDeaggregate, readStream } from "../../support/aws";
import { fastClock, setupRig, views } from "../../support/projectorFixtures";

const placed = (sku: string, quantity = 1) => ({ customerId: "c1", lines: [{ sku, quantity, unitPriceCents: 250 }] });
const RETRY = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 1 };

/** Fails the PutRecords entries `fail(partitionKey, call)` picks as AWS does: left out of the request, marked throttled in the answer. */
function failEntries(client: ReturnType<typeof kinesisClient>, fail: (partitionKey: string, call: number) => boolean): { failed: number } {
  const stats = { failed: 0 };
  let call = 0;
  client.middlewareStack.add(
    (next, context) => async (args: any) => {
      if (context.commandName !== "PutRecordsCommand") return next(args);
      call += 1;
      const entries = args.input.Records as { PartitionKey: string }[];
      const failing = entries.map((e) => fail(e.PartitionKey, call));
      const kept = entries.filter((_, i) => !failing[i]);
      const answered: object[] = kept.length ? ((await next({ ...args, input: { ...args.input, Records: kept } })) as any).output.Records : [];
      let k = 0;
      const records = failing.map((f) =>
        f ? (stats.failed++, { ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "injected" }) : answered[k++],
      );
      return { output: { $metadata: {}, FailedRecordCount: failing.filter(Boolean).length, Records: records }, response: {} };
    },
    { step: "initialize", name: "testFailEntries", priority: "low" },
  );
  return stats;
}

describe("handlers/producer: the library a service writes with", function () {
  this.timeout(120_000);

  it("refuses what the API refuses, with the same codes, and writes nothing", async () => {
    const rig = await setupRig();
    const producer = createProducer({ kinesis: kinesisClient(), streamName: rig.stream, validate: domainValidate });
    const cases: [Parameters<typeof producer.append>, string, RegExp][] = [
      [["bad id/", "OrderPlaced", placed("A")], "InvalidAggregateId", /aggregate id "bad id\/" is invalid/],
      [["o1", "constructor", {}], "InvalidEvent", /unknown command type constructor/],
      [["o1", "OrderPlaced", { customerId: "c", lines: "nope" }], "InvalidEvent", /OrderPlaced data\.lines: /],
      [["o1", "LineAdded", { sku: "A", quantity: 1, unitPriceCents: Infinity }], "InvalidNumber", /data\.unitPriceCents is not a finite number/],
      [["o1", "LineAdded", { sku: "A", quantity: 1, unitPriceCents: 2 ** 64 + 1 }], "InvalidEvent", /safe integer/],
      [["o1", "OrderPaid", { amountCents: 5 }, { idempotencyKey: "k\n" }], "InvalidIdempotencyKey", /printable ASCII/],
    ];
    for (const [args, code, message] of cases) {
      const err = await producer.append(...args).then(
        () => undefined,
        (e) => e,
      );
      expect(rejectionOf(err), String(err)).to.deep.include({ status: 400, code });
      expect(err.message).to.match(message);
    }
    expect(await readStream(rig.kinesis, rig.stream)).to.deep.equal([]);
  });

  it("an idempotent retry has the same eventId and is applied once; read follows the API's visibility contract", async () => {
    const rig = await setupRig();
    const producer = createProducer({
      kinesis: kinesisClient(),
      dynamodb: dynamoClient(),
      streamName: rig.stream,
      tableName: rig.table,
      validate: domainValidate,
    });
    const first = await producer.append("order-1", "OrderPlaced", placed("A"), { idempotencyKey: "req-1" });
    const retry = await producer.append("order-1", "OrderPlaced", placed("A"), { idempotencyKey: "req-1" });
    expect(retry.eventId).to.equal(first.eventId);
    expect(retry.sequenceNumber).to.not.equal(first.sequenceNumber);
    expect(await producer.read("order-1", { minPosition: first.position })).to.deep.equal({ found: false, visible: false });

    const projector = createProjector({
      dynamodb: dynamoClient(),
      reduce: domainReduce as Reducer<unknown>,
      clock: fastClock(),
      log: () => {},
      config: { tableName: rig.table, parkedTableName: rig.parked, dedupWindow: 64, retry: RETRY, maxFoldAttempts: 5 },
    });
    await projector({ Records: await readStream(rig.kinesis, rig.stream) });
    const seen = await producer.read("order-1", { minPosition: retry.position });
    expect(seen).to.deep.include({ found: true, deleted: false, visible: true });
    if (!seen.found) throw new Error("not found");
    expect(seen.view).to.deep.include({ version: 1, lastEventId: first.eventId });
    // Projected: the key's first body is known, so another body is refused before anything is written.
    const reuse = await producer.append("order-1", "OrderPlaced", placed("B"), { idempotencyKey: "req-1" }).catch((e) => e);
    expect(rejectionOf(reuse)).to.deep.include({ status: 422, code: "IdempotencyKeyReused" });
    expect(await readStream(rig.kinesis, rig.stream)).to.have.length(2);
  });

  it("batching: a PutRecords that partly fails re-sends only the failed entries; every caller gets its own sequence number", async () => {
    const rig = await setupRig();
    const kinesis = kinesisClient();
    const calls = countRequests(kinesis);
    // The first call fails every entry of aggregates 1 and 3; the re-send succeeds.
    const faults = failEntries(kinesis, (pk, call) => call === 1 && /-(1|3)$/.test(pk));
    const producer = createProducer({
      kinesis,
      streamName: rig.stream,
      validate: domainValidate,
      batching: { lingerMs: 50 },
      retry: RETRY,
      clock: fastClock(),
    });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => producer.append(`b-${i % 5}`, "OrderPlaced", placed(`S${i}`))));
    expect(faults.failed).to.equal(8);
    expect(calls.PutRecordsCommand).to.equal(2);
    const records = await readStream(rig.kinesis, rig.stream);
    expect(records).to.have.length(20);
    const bySequence = new Map(records.map((r) => [r.kinesis.sequenceNumber, JSON.parse(Buffer.from(r.kinesis.data, "base64").toString("utf8"))]));
    results.forEach((r, i) => {
      expect(bySequence.get(r.sequenceNumber)).to.deep.include({ eventId: r.eventId, aggregateId: `b-${i % 5}` });
      expect(r).to.not.have.property("subSequenceNumber");
    });
  });

  for (const aggregate of [false, true])
    it(`batching${aggregate ? " with aggregation" : ""}: a PutRecords written but answered with a timeout is sent again, and each of 40 unkeyed events of one aggregate is applied once`, async () => {
      const rig = await setupRig();
      const kinesis = kinesisClient();
      // The first PutRecords reaches Kinesis; then the client sees a timeout, as when the response is lost (SDK middleware after the send).
      let puts = 0;
      kinesis.middlewareStack.add(
        (next, context) => async (args) => {
          const out = await next(args);
          if (context.commandName === "PutRecordsCommand" && ++puts === 1)
            throw Object.assign(new Error("socket timed out after the write"), { name: "TimeoutError" });
          return out;
        },
        { step: "initialize", name: "lostResponse", priority: "high" },
      );
      const producer = createProducer({ kinesis, streamName: rig.stream, batching: { lingerMs: 50, aggregate }, retry: RETRY, clock: fastClock() });
      const appended = await Promise.all(
        Array.from({ length: 40 }, (_, i) => producer.append("o-1", "LineAdded", { sku: `S${i}`, quantity: 1, unitPriceCents: 1 })),
      );
      const records = await readStream(rig.kinesis, rig.stream);
      const userRecords = records.flatMap((r) => kplDeaggregate(r)).length;
      expect(userRecords, "the lost response's send is on the stream twice").to.equal(40 + 16);
      const project = createProjector({
        dynamodb: dynamoClient(),
        reduce: ((n: number | undefined) => (n ?? 0) + 1) as Reducer<unknown>,
        clock: fastClock(),
        log: () => {},
        config: { tableName: rig.table, parkedTableName: rig.parked, dedupWindow: 16, retry: RETRY, maxFoldAttempts: 5 },
      });
      expect((await project({ Records: records })).batchItemFailures).to.deep.equal([]);
      const item = (await views(rig.dynamo, rig.table))["o-1"];
      expect([item.version, item.state]).to.deep.equal([40, 40]);
      expect(new Set(appended.map((a) => a.eventId)).size).to.equal(40);
    });

  it("batching: an entry still failing after the retry budget rejects its own caller only", async () => {
    const rig = await setupRig();
    const kinesis = kinesisClient();
    failEntries(kinesis, (pk) => pk === "doomed");
    const producer = createProducer({ kinesis, streamName: rig.stream, batching: { lingerMs: 20 }, retry: RETRY, clock: fastClock() });
    const [ok, doomed] = await Promise.allSettled([producer.append("fine", "OrderShipped", {}), producer.append("doomed", "OrderShipped", {})]);
    expect(ok.status).to.equal("fulfilled");
    expect(doomed.status).to.equal("rejected");
    expect((doomed as PromiseRejectedResult).reason.message).to.match(
      /was not written: PutRecords still failing after 4 attempts \(ProvisionedThroughputExceededException/,
    );
    expect((await readStream(rig.kinesis, rig.stream)).map((r) => r.kinesis.partitionKey)).to.deep.equal(["fine"]);
  });

  it("aggregation: one aggregate's events share one KPL record the official deaggregator reads back, in order, each caller with its sub-sequence", async () => {
    const rig = await setupRig();
    const kinesis = kinesisClient();
    const sent: number[] = [];
    kinesis.middlewareStack.add(
      (next, context) => async (args: any) => (context.commandName === "PutRecordsCommand" && sent.push(args.input.Records.length), next(args)),
      {
        step: "initialize",
        name: "testCountEntries",
      },
    );
    const producer = createProducer({ kinesis, streamName: rig.stream, validate: domainValidate, batching: { lingerMs: 50, aggregate: true } });
    const appends = Array.from({ length: 30 }, (_, i) => producer.append(`k-${i % 3}`, "LineAdded", { sku: `S${i}`, quantity: 1, unitPriceCents: i }));
    const results = await Promise.all(appends);
    expect(sent).to.deep.equal([3]); // 30 events, 3 aggregates: 3 Kinesis records
    const records = await readStream(rig.kinesis, rig.stream);
    expect(records).to.have.length(3);
    const users = records.flatMap((r) => kplDeaggregate(r));
    expect(users).to.have.length(30);
    for (const [i, r] of results.entries()) {
      const user = users.find((u) => u.sequenceNumber === r.sequenceNumber && u.subSequenceNumber === r.subSequenceNumber);
      expect(user, `event ${i}`).to.not.equal(undefined);
      const e = JSON.parse(user!.data.toString("utf8"));
      expect(e).to.deep.include({ eventId: r.eventId, aggregateId: `k-${i % 3}` });
      expect(e.data.sku).to.equal(`S${i}`);
      expect(r.position).to.equal(r.subSequenceNumber ? `${r.sequenceNumber}.${r.subSequenceNumber}` : r.sequenceNumber);
    }
    // In each aggregate's record, its events keep the order they were appended in.
    for (const agg of ["k-0", "k-1", "k-2"]) {
      const skus = users.filter((u) => u.partitionKey === agg).map((u) => JSON.parse(u.data.toString("utf8")).data.sku);
      expect(skus).to.deep.equal(Array.from({ length: 10 }, (_, j) => `S${j * 3 + Number(agg.slice(2))}`));
    }
  });

  it("refuses batching settings out of range before any work, naming the field", () => {
    expect(() => createProducer({ kinesis: kinesisClient(), streamName: "s", batching: { lingerMs: 5000 } })).to.throw(
      "producer batching: lingerMs must be an integer 0–1000, got 5000",
    );
    expect(() => createProducer({ kinesis: kinesisClient(), streamName: "s", batching: { maxRecords: 501 } })).to.throw(
      "producer batching: maxRecords must be an integer 1–500, got 501",
    );
  });
});
