import { expect } from "chai";
import { bridgeConfigFromEnv, bridgeKinesisClient, BridgeConfig, createBridge } from "../../../handlers/bridge";
import { kinesisClient } from "../../../handlers/shared/clients";
import { EventEnvelope } from "../../../handlers/shared/envelope";
import { KinesisStreamRecord } from "../../../handlers/shared/kinesisEvent";
import { decodeParkedItem } from "../../../handlers/shared/parkedTable";
import { chunkBySize, PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_RECORDS } from "../../../handlers/bridge/putRecordsChunks";
import { accountCredentials, CONSUMER_ACCOUNT, createStream, createTable, scanAll, testDynamo, testKinesis, toBatches, uniqueName } from "../../support/aws";
import { failPutRecordsEntries, landed, makeEnvelopes, observePutRecords, recordingClock, sourceRecords } from "../../support/bridge";
import { injectFaults, serviceError } from "../../support/sdkMiddleware";
import { startStsStub } from "../../../local/sts/stub";
import { emulatorKinesis } from "../../../local/emulators/clients";
import { Mapper } from "../../../handlers/shared/domain";

const RETRY = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 2000 };
const orderMap: Mapper = (e) => ({ contract: "order-lifecycle.v1", data: { kind: e.type, n: (e.data as { n: number }).n } });

interface Setup {
  sourceStream: string;
  targetStream: string;
  targetArn: string;
  parkedTable: string;
  config: BridgeConfig;
}

async function setup(overrides: Partial<BridgeConfig> = {}): Promise<Setup> {
  const sourceStream = uniqueName("bridge-src");
  const targetStream = uniqueName("analytics");
  const parkedTable = uniqueName("bridge-parked");
  const [, targetArn] = await Promise.all([
    createStream(testKinesis(), sourceStream, 1),
    createStream(testKinesis(CONSUMER_ACCOUNT), targetStream, 2),
    createTable(testDynamo(), parkedTable, "sk"),
  ]);
  const config: BridgeConfig = {
    targetStreamArn: targetArn,
    parkedTableName: parkedTable,
    retry: RETRY,
    maxRecordsPerCall: 500,
    maxBytesPerCall: 5 * 1024 * 1024,
    ...overrides,
  };
  return { sourceStream, targetStream, targetArn, parkedTable, config };
}

/** A target client holding the consumer account's credentials. */
function consumerKinesis() {
  return kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) });
}

async function envelopeRecords(s: Setup, events: EventEnvelope[]): Promise<KinesisStreamRecord[]> {
  return sourceRecords(
    testKinesis(),
    s.sourceStream,
    events.map((e) => ({ partitionKey: e.aggregateId, body: e })),
  );
}

function idsOf(items: { wire: { id: string } }[]): string[] {
  return items.map((i) => i.wire.id).sort();
}

describe("bridge", () => {
  it("forwards every mapped record with the wire shape, partition key and id", async () => {
    const s = await setup();
    const tag = uniqueName("fw");
    const events = makeEnvelopes(12, 4, tag);
    events[3].type = "OrderSplit"; // map returns two records
    events[5].type = "Internal"; // map returns undefined
    events[7].type = "Nothing"; // map returns []
    const map: Mapper = (e) => {
      if (e.type === "Internal") return undefined;
      if (e.type === "Nothing") return [];
      if (e.type === "OrderSplit")
        return [
          { contract: "order-lifecycle.v1", data: { part: 0 } },
          { contract: "order-lifecycle.v1", data: { part: 1 } },
        ];
      return orderMap(e);
    };
    const records = await envelopeRecords(s, events);
    const logs: Record<string, unknown>[] = [];
    const bridge = createBridge({
      kinesis: consumerKinesis(),
      dynamodb: testDynamo(),
      map,
      config: s.config,
      clock: recordingClock(),
      log: (e) => logs.push(e),
    });
    expect(await bridge({ Records: records })).to.deep.equal({ batchItemFailures: [] });

    const out = await landed(s.targetStream);
    const expectedIds = events
      .filter((e) => !["Internal", "Nothing", "OrderSplit"].includes(e.type))
      .map((e) => e.eventId)
      .concat([`${tag}-e3#0`, `${tag}-e3#1`])
      .sort();
    expect(idsOf(out)).to.deep.equal(expectedIds);
    for (const { partitionKey, wire } of out) {
      const source = events.find((e) => e.eventId === wire.eventId)!;
      expect(partitionKey).to.equal(source.aggregateId);
      expect(Object.keys(wire).sort()).to.deep.equal(["aggregateId", "contract", "data", "eventId", "id", "occurredAt"]);
      expect(wire).to.include({ eventId: source.eventId, aggregateId: source.aggregateId, occurredAt: source.occurredAt, contract: "order-lifecycle.v1" });
      if (source.type === "OrderSplit") expect(wire.data).to.deep.equal({ part: Number(wire.id.slice(-1)) });
      else expect(wire.data).to.deep.equal({ kind: "OrderPlaced", n: (source.data as { n: number }).n });
    }
    // Per aggregate, the order on the target is the source order.
    for (let a = 0; a < 4; a++) {
      const agg = `${tag}-agg${a}`;
      expect(out.filter((o) => o.partitionKey === agg).map((o) => o.wire.id)).to.deep.equal(
        out
          .filter((o) => o.partitionKey === agg)
          .map((o) => o.wire.id)
          .sort((x, y) => idNum(x) - idNum(y)),
      );
    }
    expect(logs).to.deep.equal([]);
  });

  it("sends 1,200 records in three PutRecords calls of 500, 500 and 200, with the stream ARN", async () => {
    const s = await setup();
    const events = makeEnvelopes(400, 20, uniqueName("chunk"));
    const map: Mapper = (e) => [0, 1, 2].map((i) => ({ contract: "order-lifecycle.v1", data: { i, n: (e.data as { n: number }).n } }));
    const kinesis = consumerKinesis();
    const calls = observePutRecords(kinesis);
    const bridge = createBridge({ kinesis, dynamodb: testDynamo(), map, config: s.config, clock: recordingClock(), log: () => undefined });
    expect(await bridge({ Records: await envelopeRecords(s, events) })).to.deep.equal({ batchItemFailures: [] });
    expect(calls.map((c) => c.records)).to.deep.equal([500, 500, 200]);
    expect(calls.every((c) => c.streamArn === s.targetArn)).to.equal(true);
    // Order preserved across chunks.
    expect(calls.flatMap((c) => c.ids)).to.deep.equal(events.flatMap((e) => [0, 1, 2].map((i) => `${e.eventId}#${i}`)));
    expect((await landed(s.targetStream)).length).to.equal(1200);
  });

  it("splits calls by bytes when maxBytesPerCall is the tighter limit", async () => {
    const s = await setup({ maxBytesPerCall: 10_000 });
    const events = makeEnvelopes(30, 3, uniqueName("bytes"));
    const map: Mapper = (e) => ({ contract: "order-lifecycle.v1", data: { pad: "x".repeat(1000), n: (e.data as { n: number }).n } });
    const kinesis = consumerKinesis();
    const calls = observePutRecords(kinesis);
    const bridge = createBridge({ kinesis, dynamodb: testDynamo(), map, config: s.config, clock: recordingClock(), log: () => undefined });
    expect(await bridge({ Records: await envelopeRecords(s, events) })).to.deep.equal({ batchItemFailures: [] });
    expect(calls.length).to.be.greaterThan(3);
    for (const c of calls) expect(c.bytes).to.be.at.most(10_000);
    // Each call is full: the next record would not have fitted.
    const perRecord = calls[0].bytes / calls[0].records;
    for (const c of calls.slice(0, -1)) expect(c.bytes + perRecord).to.be.greaterThan(10_000);
    expect(calls.reduce((n, c) => n + c.records, 0)).to.equal(30);
    expect(idsOf(await landed(s.targetStream))).to.deep.equal(events.map((e) => e.eventId).sort());
  });

  it("re-sends only the failed entries of a partial failure, and each lands exactly once", async () => {
    const s = await setup();
    const events = makeEnvelopes(40, 5, uniqueName("partial"));
    const kinesis = consumerKinesis();
    const calls = observePutRecords(kinesis);
    const failing = [3, 7, 8, 20, 39].map((i) => events[i].eventId);
    // Fail those entries on the first call only.
    const faults = failPutRecordsEntries(kinesis, (id, call) => call === 1 && failing.includes(id));
    const clock = recordingClock();
    const bridge = createBridge({ kinesis, dynamodb: testDynamo(), map: orderMap, config: s.config, clock, log: () => undefined });
    expect(await bridge({ Records: await envelopeRecords(s, events) })).to.deep.equal({ batchItemFailures: [] });
    expect(faults.failed.sort()).to.deep.equal([...failing].sort());
    expect(calls.map((c) => c.records)).to.deep.equal([40, 5]);
    expect(calls[1].ids).to.deep.equal(failing);
    expect(clock.delays).to.have.length(1);
    const out = await landed(s.targetStream);
    expect(out.length).to.equal(40);
    expect(idsOf(out)).to.deep.equal(events.map((e) => e.eventId).sort());
  });

  it("once the budget is spent, resumes from the lowest source sequence number with unacknowledged output; re-delivery lands the rest", async () => {
    const s = await setup({ retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 } });
    const tag = uniqueName("budget");
    const events = makeEnvelopes(30, 6, tag);
    events[12].type = "OrderSplit";
    const map: Mapper = (e) =>
      e.type === "OrderSplit"
        ? [
            { contract: "order-lifecycle.v1", data: 0 },
            { contract: "order-lifecycle.v1", data: 1 },
          ]
        : orderMap(e);
    const records = await envelopeRecords(s, events);
    const kinesis = consumerKinesis();
    const calls = observePutRecords(kinesis);
    // One output of event 12 and all of event 21 always fail; event 5 fails once.
    const alwaysFailing = [`${tag}-e12#1`, `${tag}-e21`];
    let healed = false;
    failPutRecordsEntries(kinesis, (id, call) => !healed && (alwaysFailing.includes(id) || (id === `${tag}-e5` && call === 1)));
    const logs: Record<string, unknown>[] = [];
    const bridge = createBridge({ kinesis, dynamodb: testDynamo(), map, config: s.config, clock: recordingClock(), log: (e) => logs.push(e) });

    const result = await bridge({ Records: records });
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: records[12].kinesis.sequenceNumber }] });
    expect(calls.map((c) => c.records)).to.deep.equal([31, 3, 2]);
    expect(logs).to.have.length(1);
    expect(logs[0]).to.include({ msg: "bridge gave up", resumeFrom: records[12].kinesis.sequenceNumber, unacknowledgedRecords: 2 });
    expect(JSON.stringify(logs)).to.not.include("order-lifecycle");

    const before = await landed(s.targetStream);
    expect(idsOf(before)).to.not.include(`${tag}-e12#1`);
    expect(idsOf(before)).to.not.include(`${tag}-e21`);

    // Lambda re-delivers from the reported sequence number.
    healed = true;
    const from = records.findIndex((r) => r.kinesis.sequenceNumber === result.batchItemFailures[0].itemIdentifier);
    expect(await bridge({ Records: records.slice(from) })).to.deep.equal({ batchItemFailures: [] });
    const after = await landed(s.targetStream);
    const expected = events.flatMap((e) => (e.type === "OrderSplit" ? [`${e.eventId}#0`, `${e.eventId}#1`] : [e.eventId])).sort();
    expect([...new Set(idsOf(after))].sort()).to.deep.equal(expected);
  });

  it("parks undecodable events and events whose map throws, with their data, and forwards the rest", async () => {
    const s = await setup();
    const tag = uniqueName("poison");
    const events = makeEnvelopes(6, 2, tag);
    events[4].type = "Explodes";
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x7b]);
    const wrongSchema = Buffer.from(JSON.stringify({ ...events[0], eventId: `${tag}-bad`, schemaVersion: 99 }));
    const items = [
      ...events.slice(0, 2).map((e) => ({ partitionKey: e.aggregateId, body: e as EventEnvelope | Uint8Array })),
      { partitionKey: `${tag}-garbage`, body: garbage },
      ...events.slice(2, 5).map((e) => ({ partitionKey: e.aggregateId, body: e })),
      { partitionKey: `${tag}-agg0`, body: wrongSchema },
      { partitionKey: events[5].aggregateId, body: events[5] },
    ];
    const records = await sourceRecords(testKinesis(), s.sourceStream, items);
    const map: Mapper = (e) => {
      if (e.type === "Explodes") throw new Error("secret payload detail");
      return orderMap(e);
    };
    const logs: Record<string, unknown>[] = [];
    const dynamo = testDynamo();
    const bridge = createBridge({ kinesis: consumerKinesis(), dynamodb: dynamo, map, config: s.config, clock: recordingClock(), log: (e) => logs.push(e) });
    expect(await bridge({ Records: records })).to.deep.equal({ batchItemFailures: [] });

    const out = await landed(s.targetStream);
    expect(idsOf(out)).to.deep.equal([0, 1, 2, 3, 5].map((i) => events[i].eventId).sort());

    const parked = (await scanAll(dynamo, s.parkedTable)).map(decodeParkedItem);
    expect(parked).to.have.length(3);
    const bySeq = (r: KinesisStreamRecord) => parked.find((p) => p.sequenceNumber === r.kinesis.sequenceNumber)!;
    const g = bySeq(records[2]);
    expect(g.aggregateId).to.equal(`${tag}-garbage`);
    expect(Buffer.from(g.data, "base64")).to.deep.equal(garbage);
    expect(g.shardEventId).to.equal(records[2].eventID);
    expect(g.reason).to.match(/UTF-8/);
    const thrown = bySeq(records[5]);
    expect(thrown).to.include({ aggregateId: events[4].aggregateId, eventId: events[4].eventId });
    expect(thrown.reason).to.match(/map threw/);
    expect(JSON.parse(Buffer.from(thrown.data, "base64").toString("utf8"))).to.deep.equal(events[4]);
    const schema = bySeq(records[6]);
    expect(schema.reason).to.match(/schemaVersion/);
    expect(Buffer.from(schema.data, "base64")).to.deep.equal(wrongSchema);

    expect(logs.map((l) => l.kind)).to.deep.equal(["undecodable", "mapThrew", "undecodable"]);
    expect(JSON.stringify(logs)).to.not.include("secret payload");
  });

  it("parks an event filed under another aggregate's key (aggregateMismatch) with its data, and lands every aggregate's own events in order", async () => {
    const s = await setup();
    const tag = uniqueName("mismatch");
    const events = makeEnvelopes(6, 2, tag); // agg0: e0 e2 e4, agg1: e1 e3 e5
    const stray = { ...events[1], eventId: `${tag}-stray` }; // agg1's envelope, filed under agg0's key
    const items = [
      ...events.slice(0, 3).map((e) => ({ partitionKey: e.aggregateId, body: e })),
      { partitionKey: events[0].aggregateId, body: stray },
      ...events.slice(3).map((e) => ({ partitionKey: e.aggregateId, body: e })),
    ];
    const records = await sourceRecords(testKinesis(), s.sourceStream, items);
    const logs: Record<string, unknown>[] = [];
    const dynamo = testDynamo();
    const bridge = createBridge({
      kinesis: consumerKinesis(),
      dynamodb: dynamo,
      map: orderMap,
      config: s.config,
      clock: recordingClock(),
      log: (e) => logs.push(e),
    });
    expect(await bridge({ Records: records })).to.deep.equal({ batchItemFailures: [] });

    const out = await landed(s.targetStream);
    expect(idsOf(out)).to.deep.equal(events.map((e) => e.eventId).sort());
    for (const agg of [events[0].aggregateId, events[1].aggregateId]) {
      const own = events.filter((e) => e.aggregateId === agg).map((e) => e.eventId);
      expect(out.filter((o) => o.partitionKey === agg).map((o) => o.wire.id)).to.deep.equal(own);
    }
    const parked = (await scanAll(dynamo, s.parkedTable)).map(decodeParkedItem);
    expect(parked).to.have.length(1);
    expect(parked[0]).to.include({
      aggregateId: events[0].aggregateId,
      sequenceNumber: records[3].kinesis.sequenceNumber,
      eventId: stray.eventId,
      reason: "envelope aggregateId does not match the partition key",
      shardEventId: records[3].eventID,
    });
    expect(JSON.parse(Buffer.from(parked[0].data, "base64").toString("utf8"))).to.deep.equal(stray);
    expect(logs.map((l) => [l.kind, l.eventId])).to.deep.equal([["aggregateMismatch", stray.eventId]]);
  });

  it("resumes from a poison event when it cannot be parked", async () => {
    const s = await setup({ parkedTableName: uniqueName("missing-table") });
    const tag = uniqueName("unparked");
    const events = makeEnvelopes(4, 2, tag);
    const items = [
      { partitionKey: events[0].aggregateId, body: events[0] as EventEnvelope | Uint8Array },
      { partitionKey: `${tag}-x`, body: Buffer.from("not json") },
      ...events.slice(1).map((e) => ({ partitionKey: e.aggregateId, body: e })),
    ];
    const records = await sourceRecords(testKinesis(), s.sourceStream, items);
    const bridge = createBridge({
      kinesis: consumerKinesis(),
      dynamodb: testDynamo(),
      map: orderMap,
      config: s.config,
      clock: recordingClock(),
      log: () => undefined,
    });
    expect(await bridge({ Records: records })).to.deep.equal({ batchItemFailures: [{ itemIdentifier: records[1].kinesis.sequenceNumber }] });
    expect(idsOf(await landed(s.targetStream))).to.deep.equal(events.map((e) => e.eventId).sort());
  });

  it("retries whole-call throttling with backoff", async () => {
    const s = await setup();
    const events = makeEnvelopes(10, 3, uniqueName("throttle"));
    const kinesis = consumerKinesis();
    const faults = injectFaults(kinesis, (name, _input, attempt) =>
      name === "PutRecordsCommand" && attempt <= 2 ? serviceError("ProvisionedThroughputExceededException") : undefined,
    );
    const clock = recordingClock();
    const bridge = createBridge({ kinesis, dynamodb: testDynamo(), map: orderMap, config: s.config, clock, log: () => undefined });
    expect(await bridge({ Records: await envelopeRecords(s, events) })).to.deep.equal({ batchItemFailures: [] });
    expect(faults.injected).to.equal(2);
    expect(clock.delays).to.deep.equal([25, 50]); // full jitter at random() = 0.5: half of 50, then of 100
    const out = await landed(s.targetStream);
    expect(out.length).to.equal(10);
    expect(idsOf(out)).to.deep.equal(events.map((e) => e.eventId).sort());
  });

  it("reports a non-transient error (missing stream) from the first sequence number without retrying or throwing", async () => {
    const s = await setup();
    const events = makeEnvelopes(5, 2, uniqueName("missing"));
    const records = await envelopeRecords(s, events);
    const kinesis = consumerKinesis();
    const calls = observePutRecords(kinesis);
    const logs: Record<string, unknown>[] = [];
    const config = { ...s.config, targetStreamArn: `arn:aws:kinesis:us-east-1:${CONSUMER_ACCOUNT}:stream/${uniqueName("nope")}` };
    const bridge = createBridge({ kinesis, dynamodb: testDynamo(), map: orderMap, config, clock: recordingClock(), log: (e) => logs.push(e) });
    expect(await bridge({ Records: records })).to.deep.equal({ batchItemFailures: [{ itemIdentifier: records[0].kinesis.sequenceNumber }] });
    expect(calls).to.have.length(1);
    expect(String(logs[0].error)).to.match(/ResourceNotFound/);
  });

  it("assumeRole mode: a wrong ExternalId loses nothing, and after fixing it re-delivery lands everything with one STS call", async () => {
    const stub = await startStsStub({ expectedExternalId: "right-id" });
    try {
      const s = await setup();
      const events = makeEnvelopes(8, 3, uniqueName("assume"));
      const records = await envelopeRecords(s, events);
      const role = `arn:aws:iam::${CONSUMER_ACCOUNT}:role/analytics-writer`;
      const env = (externalId: string) => ({ ACCESS_MODE: "assumeRole", WRITER_ROLE_ARN: role, EXTERNAL_ID: externalId });
      const logs: Record<string, unknown>[] = [];
      const deps = { dynamodb: testDynamo(), map: orderMap, config: s.config, clock: recordingClock(), log: (e: Record<string, unknown>) => logs.push(e) };

      const wrong = createBridge({ ...deps, kinesis: bridgeKinesisClient(env("wrong-id"), stub.client()) });
      expect(await wrong({ Records: records })).to.deep.equal({ batchItemFailures: [{ itemIdentifier: records[0].kinesis.sequenceNumber }] });
      expect(String(logs[0].error)).to.match(/AccessDenied/);
      expect(await landed(s.targetStream)).to.deep.equal([]);
      expect(stub.calls).to.deep.equal([{ RoleArn: role, ExternalId: "wrong-id", RoleSessionName: "event-bridge", DurationSeconds: undefined }]);

      const fixed = createBridge({ ...deps, kinesis: bridgeKinesisClient(env("right-id"), stub.client()) });
      for (const batch of toBatches(records, 3)) expect(await fixed(batch)).to.deep.equal({ batchItemFailures: [] });
      expect(await fixed({ Records: records })).to.deep.equal({ batchItemFailures: [] }); // a full redelivery, deduped downstream
      expect(stub.calls).to.have.length(2);
      expect(stub.calls[1].ExternalId).to.equal("right-id");
      const out = await landed(s.targetStream);
      expect([...new Set(idsOf(out))].sort()).to.deep.equal(events.map((e) => e.eventId).sort());
    } finally {
      await stub.stop();
    }
  });

  it("resourcePolicy mode uses the function's own credentials; other modes are refused", async () => {
    const client = bridgeKinesisClient({ ACCESS_MODE: "resourcePolicy" });
    const creds = await client.config.credentials();
    expect(creds.accessKeyId).to.equal(process.env.AWS_ACCESS_KEY_ID);
    expect(() => bridgeKinesisClient({ ACCESS_MODE: "both" })).to.throw(/ACCESS_MODE/);
    expect(() => bridgeKinesisClient({})).to.throw(/ACCESS_MODE/);
  });

  it("writes to the target stream in its own region, not the function's (stacks in two regions)", async () => {
    // kinesis-local keeps one namespace per account and region, as Kinesis does.
    const region = "eu-central-1";
    expect(region).to.not.equal(process.env.AWS_REGION);
    const s = await setup();
    const targetStream = uniqueName("analytics-eu");
    const targetArn = await createStream(emulatorKinesis({ account: CONSUMER_ACCOUNT, region }), targetStream, 1);
    expect(targetArn).to.match(new RegExp(`^arn:aws:kinesis:${region}:`));
    const events = makeEnvelopes(3, 1, uniqueName("eu"));
    const records = await envelopeRecords(s, events);
    const env = { ACCESS_MODE: "resourcePolicy", TARGET_STREAM_ARN: targetArn };
    const kinesis = bridgeKinesisClient(env);
    expect(await kinesis.config.region()).to.equal(region);
    // The consumer account's credentials, as resourcePolicy mode would get through the stream's policy.
    kinesis.config.credentials = async () => accountCredentials(CONSUMER_ACCOUNT);
    const bridge = createBridge({
      kinesis,
      dynamodb: testDynamo(),
      map: orderMap,
      config: { ...s.config, targetStreamArn: targetArn },
      clock: recordingClock(),
    });
    expect(await bridge({ Records: records })).to.deep.equal({ batchItemFailures: [] });
    const out = await landed(targetStream, emulatorKinesis({ account: CONSUMER_ACCOUNT, region }));
    expect(idsOf(out)).to.deep.equal(events.map((e) => e.eventId).sort());
    const assumed = bridgeKinesisClient({ ...env, ACCESS_MODE: "assumeRole", WRITER_ROLE_ARN: `arn:aws:iam::${CONSUMER_ACCOUNT}:role/w` });
    expect(await assumed.config.region()).to.equal(region);
    expect(() => bridgeKinesisClient({ ...env, TARGET_STREAM_ARN: "analytics" })).to.throw(/TARGET_STREAM_ARN must be an ARN with a region/);
  });

  it("reads its configuration from the environment", () => {
    const config = bridgeConfigFromEnv({
      TARGET_STREAM_ARN: "arn:aws:kinesis:us-east-1:222222222222:stream/a",
      PARKED_TABLE_NAME: "p",
      RETRY_MAX_ATTEMPTS: "4",
    });
    expect(config).to.deep.include({
      targetStreamArn: "arn:aws:kinesis:us-east-1:222222222222:stream/a",
      parkedTableName: "p",
      maxRecordsPerCall: 500,
      maxBytesPerCall: 5 * 1024 * 1024,
    });
    expect(config.retry.maxAttempts).to.equal(4);
    expect(() => bridgeConfigFromEnv({ PARKED_TABLE_NAME: "p" })).to.throw(/TARGET_STREAM_ARN/);
  });
});

describe("chunkBySize at the PutRecords limits", () => {
  const MiB = 1024 * 1024;
  const chunk = (sizes: number[]) => chunkBySize(sizes, (n) => n, PUT_RECORDS_MAX_RECORDS, PUT_RECORDS_MAX_BYTES).map((c) => c.length);

  it("caps calls at 500 records", () => {
    expect(chunk(new Array(1200).fill(100))).to.deep.equal([500, 500, 200]);
    expect(chunk(new Array(500).fill(1))).to.deep.equal([500]);
    expect(chunk([])).to.deep.equal([]);
  });

  it("caps calls at 5 MiB, counting exactly to the limit", () => {
    expect(chunk(new Array(11).fill(MiB))).to.deep.equal([5, 5, 1]);
    expect(chunk([MiB, MiB, MiB, MiB, MiB - 1, 1, 1])).to.deep.equal([6, 1]);
    expect(chunk([4 * MiB, MiB + 1, 10])).to.deep.equal([1, 2]);
  });

  it("keeps order and loses nothing", () => {
    const sizes = Array.from({ length: 3000 }, (_, i) => (i * 7919) % 20_000);
    const chunks = chunkBySize(
      sizes.map((size, i) => ({ size, i })),
      (x) => x.size,
      PUT_RECORDS_MAX_RECORDS,
      PUT_RECORDS_MAX_BYTES,
    );
    expect(chunks.flat().map((x) => x.i)).to.deep.equal(sizes.map((_, i) => i));
    for (const c of chunks) {
      expect(c.length).to.be.at.most(500);
      expect(c.reduce((s, x) => s + x.size, 0)).to.be.at.most(PUT_RECORDS_MAX_BYTES);
    }
  });
});

function idNum(id: string): number {
  const m = /-e(\d+)(?:#(\d+))?$/.exec(id)!;
  return Number(m[1]) * 10 + Number(m[2] ?? 0);
}
