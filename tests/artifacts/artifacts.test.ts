/**
 * The serialised Lambda artifacts, as `pulumi up` would upload them: each
 * function's archive is taken from the mocked producer stack, written out,
 * loaded as the nodejs22.x runtime loads it (only the runtime's @aws-sdk
 * besides the archive), and run against the emulators with Kinesis events
 * shaped as AWS sends them. This proves the closures — the domain's reduce,
 * map and validate included — survive serialisation.
 */
import { expect } from "chai";
import { ProgramRun } from "../support/pulumiMocks";
import { CONSUMER_OUTPUTS, runProducer } from "../support/producerRun";
import { Artifact, loadHandler, writeArtifact } from "../../local/deploy/artifacts";
import {
  accountCredentials,
  CONSUMER_ACCOUNT,
  createStream,
  createTable,
  putJson,
  readStream,
  scanAll,
  testDynamo,
  testKinesis,
  PRODUCER_ACCOUNT,
} from "../support/aws";
import { startStsStub, StsStub } from "../../local/sts/stub";
import { KinesisStreamBatchResponse, KinesisStreamEvent } from "../../handlers/shared/kinesisEvent";
import { HttpApiEvent, HttpApiResult } from "../../handlers/api";
import { KinesisStreamRecord } from "../../handlers/shared/kinesisEvent";
import { ENVELOPE_SCHEMA_VERSION, EventEnvelope } from "../../handlers/shared/envelope";
import { reduce as domainReduce } from "../../domain";
import { kplAggregate, uniqueName } from "../support/aws";
import { startFaultProxy } from "../support/faults";
import { append } from "../support/projectorFixtures";
import { IAM_CALLER } from "../support/apiFixtures";
// The official KPL deaggregator (awslabs/kinesis-aggregation), a devDependency: what a consumer of the analytics stream would use.
const agg = require("aws-kinesis-agg");

const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);

/** A record's data as a consumer reads it: plain JSON as it is, a KPL aggregate deaggregated (checksum verified). */
function userRecords(record: KinesisStreamRecord): { partitionKey: string; data: Buffer }[] {
  const data = Buffer.from(record.kinesis.data, "base64");
  if (data.length < 20 || !data.subarray(0, 4).equals(KPL_MAGIC)) return [{ partitionKey: record.kinesis.partitionKey, data }];
  let out: { partitionKey: string; data: Buffer }[] = [];
  let error: Error | undefined;
  agg.deaggregateSync(record.kinesis, true, (err: Error, records?: { partitionKey: string; data: string }[]) => {
    if (err) error = err;
    else out = (records ?? []).map((u) => ({ partitionKey: u.partitionKey, data: Buffer.from(u.data, "base64") }));
  });
  if (error) throw error;
  return out;
}

/** The analytics stream's wire records as JSON, KPL aggregates deaggregated, in stream order. */
function wireRecords(records: KinesisStreamRecord[]): any[] {
  return records.flatMap((r) => userRecords(r).map((u) => JSON.parse(u.data.toString("utf8"))));
}

const FUNCTIONS = ["orders-projector", "commands-handler", "analytics-bridge-forwarder"];

/** The identity API Gateway passes after verifying a SigV4 signature: the producer stack's default `apiAuth` is iam. */
const SERVICE_CALLER = IAM_CALLER;

function httpEvent(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, authorizer: unknown = SERVICE_CALLER): HttpApiEvent {
  const [rawPath, rawQueryString = ""] = path.split("?");
  const post = /^\/aggregates\/([^/]+)\/events$/.exec(rawPath);
  const get = /^\/aggregates\/([^/]+)$/.exec(rawPath);
  const routeKey = method === "POST" && post ? "POST /aggregates/{id}/events" : method === "GET" && get ? "GET /aggregates/{id}" : "$default";
  return {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString,
    headers: { "content-type": "application/json", ...headers },
    queryStringParameters: rawQueryString ? Object.fromEntries(new URLSearchParams(rawQueryString)) : undefined,
    pathParameters: post ? { id: post[1] } : get ? { id: get[1] } : undefined,
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { http: { method, path: rawPath }, requestId: `req-${Math.random().toString(36).slice(2)}`, authorizer },
  } as HttpApiEvent;
}

describe("Lambda artifacts (serialised closures run against the emulators)", function () {
  this.timeout(120_000);
  let run: ProgramRun;
  let sts: StsStub;
  const artifacts: Record<string, Artifact> = {};
  const env: Record<string, Record<string, string>> = {};
  const kinesis = testKinesis(PRODUCER_ACCOUNT);
  const consumerKinesis = testKinesis(CONSUMER_ACCOUNT);
  const dynamo = testDynamo();
  let streamName: string;
  const analyticsStream = CONSUMER_OUTPUTS.analyticsStreamArn.split("/").pop()!;

  before(async () => {
    run = await runProducer();
    sts = await startStsStub({ expectedExternalId: CONSUMER_OUTPUTS.externalId });
    for (const fn of FUNCTIONS) {
      const r = run.one("aws:lambda/function:Function", fn);
      artifacts[fn] = await writeArtifact(r.inputs.code, fn);
      env[fn] = { ...r.inputs.environment.variables, AWS_ENDPOINT_URL_STS: sts.endpoint };
    }
    // The resources the program declared, created in the emulators under their real names.
    streamName = run.outputs.eventStreamName;
    await createStream(kinesis, streamName, 2);
    await createStream(consumerKinesis, analyticsStream, 1);
    await createTable(dynamo, run.outputs.readModelTableName);
    await createTable(dynamo, run.outputs.parkedTableName, "sk");
    await createTable(dynamo, run.outputs.bridgeParkedTableName, "sk");
  });
  after(async () => {
    await sts?.stop();
  });

  describe("packaging", () => {
    for (const fn of FUNCTIONS) {
      it(`${fn}: is one file of code and no packages (the runtime ships the SDK), far under 1 MB`, () => {
        const a = artifacts[fn];
        expect(a.files).to.deep.equal(["__index.js"]);
        expect(a.packages).to.deep.equal([]);
        expect(a.zipBytes).to.be.below(100_000);
      });
    }
  });

  describe("end to end through the three artifacts", () => {
    const orderId = `order-${Date.now().toString(36)}`;
    let api: (e: HttpApiEvent) => Promise<HttpApiResult>;
    let projector: (e: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;
    let bridge: (e: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;
    const accepted: { eventId: string; sequenceNumber: string; poll: string }[] = [];

    before(() => {
      api = loadHandler(artifacts["commands-handler"], env["commands-handler"]);
      projector = loadHandler(artifacts["orders-projector"], env["orders-projector"]);
      bridge = loadHandler(artifacts["analytics-bridge-forwarder"], env["analytics-bridge-forwarder"]);
    });

    it("API: accepts commands with 202 and appends them to the declared stream", async () => {
      const commands = [
        { type: "OrderPlaced", data: { customerId: "c-1", lines: [{ sku: "A", quantity: 2, unitPriceCents: 500 }] } },
        { type: "LineAdded", data: { sku: "B", quantity: 1, unitPriceCents: 250 } },
        { type: "OrderPaid", data: { amountCents: 1250 } },
      ];
      for (const c of commands) {
        const res = await api(httpEvent("POST", `/aggregates/${orderId}/events`, c));
        expect(res.statusCode, res.body).to.equal(202);
        accepted.push(JSON.parse(res.body!));
      }
      const records = (await readStream(kinesis, streamName)).filter((r) => r.kinesis.partitionKey === orderId);
      expect(records.map((r) => JSON.parse(Buffer.from(r.kinesis.data, "base64").toString()).type)).to.deep.equal(["OrderPlaced", "LineAdded", "OrderPaid"]);
    });

    it("API: the serialised validate() rejects an unknown command with 400 and writes nothing", async () => {
      const before = (await readStream(kinesis, streamName)).length;
      const res = await api(httpEvent("POST", `/aggregates/${orderId}/events`, { type: "OrderTeleported", data: {} }));
      expect(res.statusCode).to.equal(400);
      expect(res.body).to.match(/unknown command type OrderTeleported/);
      expect((await readStream(kinesis, streamName)).length).to.equal(before);
    });

    it("API: refuses a request without the identity its mode needs, and the serialised authorize() keeps customers to their own orders", async () => {
      expect(env["commands-handler"].API_AUTH).to.equal("iam");
      const before = (await readStream(kinesis, streamName)).length;
      const unsigned = await api(
        httpEvent("POST", `/aggregates/${orderId}-x/events`, { type: "OrderPlaced", data: { customerId: "c-1", lines: [] } }, {}, null),
      );
      expect(unsigned.statusCode, unsigned.body).to.equal(403);
      // The same archive in jwt mode (only API_AUTH differs between modes).
      const jwtApi = loadHandler<HttpApiEvent, HttpApiResult>(artifacts["commands-handler"], { ...env["commands-handler"], API_AUTH: "jwt" });
      const as = (sub: string) => ({ jwt: { claims: { sub }, scopes: ["events:write", "aggregates:read"] } });
      const theirs = await jwtApi(
        httpEvent("POST", `/aggregates/${orderId}-x/events`, { type: "OrderPlaced", data: { customerId: "c-2", lines: [] } }, {}, as("c-1")),
      );
      expect(theirs.statusCode, theirs.body).to.equal(403);
      expect(JSON.parse(theirs.body).error.message).to.include("a customer may place orders only for themself");
      expect((await jwtApi(httpEvent("GET", `/aggregates/${orderId}`, undefined, {}, SERVICE_CALLER))).statusCode).to.equal(403);
      expect((await readStream(kinesis, streamName)).length).to.equal(before);
      const mine = await jwtApi(
        httpEvent("POST", `/aggregates/${orderId}-c1/events`, { type: "OrderPlaced", data: { customerId: "c-1", lines: [] } }, {}, as("c-1")),
      );
      expect(mine.statusCode, mine.body).to.equal(202);
    });

    it("API: a poll before projection shows the write not yet visible", async () => {
      const res = await api(httpEvent("GET", accepted[2].poll));
      expect(res.statusCode).to.equal(404);
      expect(JSON.parse(res.body!).visible).to.equal(false);
    });

    it("projector: folds the events with the domain's reduce into the declared table", async () => {
      const records = await readStream(kinesis, streamName);
      const result = await projector({ Records: records });
      expect(result.batchItemFailures).to.deep.equal([]);
      const res = await api(httpEvent("GET", accepted[2].poll));
      expect(res.statusCode).to.equal(200);
      const view = JSON.parse(res.body!);
      expect(view.visible).to.equal(true);
      expect(view.version).to.equal(3);
      expect(view.state).to.deep.equal({
        status: "paid",
        customerId: "c-1",
        lines: [
          { sku: "A", quantity: 2, unitPriceCents: 500 },
          { sku: "B", quantity: 1, unitPriceCents: 250 },
        ],
        totalCents: 1250,
        paidCents: 1250,
      });
    });

    it("projector: a replay of the whole stream changes nothing", async () => {
      const before = await scanAll(dynamo, run.outputs.readModelTableName);
      const result = await projector({ Records: await readStream(kinesis, streamName) });
      expect(result.batchItemFailures).to.deep.equal([]);
      expect(await scanAll(dynamo, run.outputs.readModelTableName)).to.deep.equal(before);
    });

    it("projector: parks an event the domain's reduce rejects, with its data, and applies the others", async () => {
      const orphan = `orphan-${Date.now().toString(36)}`;
      const res = await api(httpEvent("POST", `/aggregates/${orphan}/events`, { type: "OrderShipped", data: {} }));
      expect(res.statusCode).to.equal(202);
      const records = (await readStream(kinesis, streamName)).filter((r) => r.kinesis.partitionKey === orphan);
      expect((await projector({ Records: records })).batchItemFailures).to.deep.equal([]);
      const parked = (await scanAll(dynamo, run.outputs.parkedTableName)).filter((i) => i.pk.S === orphan);
      expect(parked).to.have.length(1);
      expect(parked[0].reason.S).to.match(/OrderShipped before OrderPlaced/);
      expect(Buffer.from(parked[0].data.S!, "base64").toString()).to.include('"OrderShipped"');
    });

    it("bridge: assumes the writer role once with the ExternalId and lands the mapped contract in the consumer account", async () => {
      sts.calls.length = 0;
      const records = (await readStream(kinesis, streamName)).filter((r) => r.kinesis.partitionKey === orderId);
      expect((await bridge({ Records: records.slice(0, 2) })).batchItemFailures).to.deep.equal([]);
      expect((await bridge({ Records: records.slice(2) })).batchItemFailures).to.deep.equal([]);
      expect(sts.calls).to.have.length(1);
      expect(sts.calls[0]).to.include({ RoleArn: CONSUMER_OUTPUTS.writerRoleArn, ExternalId: CONSUMER_OUTPUTS.externalId });
      const landed = wireRecords(await readStream(consumerKinesis, analyticsStream, CONSUMER_ACCOUNT));
      const mine = landed.filter((w) => w.aggregateId === orderId);
      expect(mine.map((w) => [w.contract, w.data.stage, w.data.amountCents])).to.deep.equal([
        ["order-lifecycle.v1", "placed", 1000],
        ["order-lifecycle.v1", "line-added", 250],
        ["order-lifecycle.v1", "paid", 1250],
      ]);
      expect(mine.map((w) => w.id)).to.deep.equal(accepted.map((a) => a.eventId));
    });

    it("bridge: with AGGREGATE_RECORDS=sourceShard it lands one KPL aggregate that deaggregates to the records, ids and order kept", async () => {
      expect(env["analytics-bridge-forwarder"].AGGREGATE_RECORDS, "off unless configured").to.equal("off");
      const aggregated = loadHandler(artifacts["analytics-bridge-forwarder"], { ...env["analytics-bridge-forwarder"], AGGREGATE_RECORDS: "sourceShard" });
      const order = `agg-${Date.now().toString(36)}`;
      const ids: string[] = [];
      const commands = [
        { type: "OrderPlaced", data: { customerId: "c-2", lines: [] } },
        ...[1, 2, 3].map((q) => ({ type: "LineAdded", data: { sku: `S${q}`, quantity: q, unitPriceCents: 100 } })),
        { type: "OrderPaid", data: { amountCents: 600 } },
      ];
      for (const c of commands) {
        const res = await api(httpEvent("POST", `/aggregates/${order}/events`, c));
        expect(res.statusCode, res.body).to.equal(202);
        ids.push(JSON.parse(res.body!).eventId);
      }
      const source = (await readStream(kinesis, streamName)).filter((r) => r.kinesis.partitionKey === order);
      const shard = source[0].eventID.split(":")[0];
      const before = (await readStream(consumerKinesis, analyticsStream, CONSUMER_ACCOUNT)).length;
      expect((await aggregated({ Records: source })).batchItemFailures).to.deep.equal([]);

      const added = (await readStream(consumerKinesis, analyticsStream, CONSUMER_ACCOUNT)).slice(before);
      // The analytics stream has one shard: one new Kinesis record, keyed by the source shard.
      expect(added.map((r) => r.kinesis.partitionKey)).to.deep.equal([shard]);
      expect(Buffer.from(added[0].kinesis.data, "base64").subarray(0, 4).equals(KPL_MAGIC)).to.equal(true);
      const users = userRecords(added[0]);
      expect(users.map((u) => u.partitionKey)).to.deep.equal(ids.map(() => shard));
      const wire = users.map((u) => JSON.parse(u.data.toString("utf8")));
      expect(wire.map((w) => w.id)).to.deep.equal(ids);
      expect(wire.map((w) => [w.aggregateId, w.contract, w.data.stage, w.data.amountCents])).to.deep.equal([
        [order, "order-lifecycle.v1", "placed", 0],
        [order, "order-lifecycle.v1", "line-added", 100],
        [order, "order-lifecycle.v1", "line-added", 200],
        [order, "order-lifecycle.v1", "line-added", 300],
        [order, "order-lifecycle.v1", "paid", 600],
      ]);
      // The stream-wide reader sees them as individual records too.
      expect(
        wireRecords(await readStream(consumerKinesis, analyticsStream, CONSUMER_ACCOUNT))
          .filter((w) => w.aggregateId === order)
          .map((w) => w.id),
      ).to.deep.equal(ids);
    });

    it("bridge: with a wrong ExternalId it reports the batch for retry and lands nothing", async () => {
      const fresh = loadHandler(artifacts["analytics-bridge-forwarder"], { ...env["analytics-bridge-forwarder"], EXTERNAL_ID: "wrong" });
      const before = (await readStream(consumerKinesis, analyticsStream, CONSUMER_ACCOUNT)).length;
      const records = (await readStream(kinesis, streamName)).filter((r) => r.kinesis.partitionKey === orderId);
      const result = await fresh({ Records: records });
      expect(result.batchItemFailures).to.deep.equal([{ itemIdentifier: records[0].kinesis.sequenceNumber }]);
      expect((await readStream(consumerKinesis, analyticsStream, CONSUMER_ACCOUNT)).length).to.equal(before);
    });
  });

  describe("KPL-aggregated source records (the official aggregator) through the projector and bridge artifacts", () => {
    const tag = `kpl${Date.now().toString(36)}`;
    const order = (o: string) => `${tag}-${o}`;
    let n = 0;
    const ev = (o: string, type: string, data: unknown): EventEnvelope => ({
      eventId: `${tag}-e${++n}`,
      aggregateId: order(o),
      type,
      occurredAt: "2025-01-01T00:00:00.000Z",
      schemaVersion: ENVELOPE_SCHEMA_VERSION,
      data,
    });
    const placed = (o: string) => ev(o, "OrderPlaced", { customerId: "c", lines: [{ sku: "A", quantity: 1, unitPriceCents: 100 }] });
    const line = (o: string, q: number) => ev(o, "LineAdded", { sku: "B", quantity: q, unitPriceCents: 10 });
    const user = (e: EventEnvelope) => ({ partitionKey: e.aggregateId, data: JSON.stringify(e) });
    // z's events appear only inside aggregates keyed by x or y.
    const events = [placed("x"), placed("z"), line("x", 1), placed("y"), line("z", 2), line("y", 3), line("x", 4), ev("z", "OrderPaid", { amountCents: 120 })];
    const [x1, z1, x2, y1, z2, y2, x3, z3] = events;
    let records: KinesisStreamRecord[];
    const byOrder = (o: string) => events.filter((e) => e.aggregateId === order(o));
    const firstWithZ = 1; // records[1] holds z's first event

    before(async () => {
      const stream = uniqueName("kpl-src");
      await createStream(kinesis, stream, 1);
      records = await append({ kinesis, dynamo, stream, table: "", parked: "" }, [
        x1,
        kplAggregate([x2, z1, y1].map(user)),
        kplAggregate([y2, z2].map(user)),
        x3,
        kplAggregate([z3].map(user)),
      ]);
    });

    const itemsOf = async (table: string) => {
      const items = (await scanAll(dynamo, table)).filter((i) => i.pk.S!.startsWith(`${tag}-`));
      for (const i of items) delete i.updatedAt;
      return items.sort((a, b) => a.pk.S!.localeCompare(b.pk.S!));
    };
    const parkedOf = async (table: string) => (await scanAll(dynamo, table)).filter((i) => i.pk.S!.startsWith(`${tag}-`));

    it("projector: applies every user record once, in order per aggregate, nothing parked; redelivered whole, nothing changes", async () => {
      const projector = loadHandler<KinesisStreamEvent, KinesisStreamBatchResponse>(artifacts["orders-projector"], env["orders-projector"]);
      expect(await projector({ Records: records })).to.deep.equal({ batchItemFailures: [] });
      const items = await itemsOf(run.outputs.readModelTableName);
      expect(items.map((i) => i.pk.S)).to.deep.equal(["x", "y", "z"].map(order));
      for (const o of ["x", "y", "z"]) {
        const item = items.find((i) => i.pk.S === order(o))!;
        const expected = byOrder(o).reduce<unknown>((s, e) => domainReduce(s as never, e), undefined);
        expect(JSON.parse(item.state.S!), o).to.deep.equal(expected);
        expect(item.version.N, o).to.equal(String(byOrder(o).length));
      }
      expect(await parkedOf(run.outputs.parkedTableName)).to.deep.equal([]);
      expect(await projector({ Records: records })).to.deep.equal({ batchItemFailures: [] });
      expect(await itemsOf(run.outputs.readModelTableName)).to.deep.equal(items);
    });

    it("projector: after a partial failure it names the outer record; redelivered from there, it ends exactly as the run without failure", async () => {
      const table = uniqueName("kpl-read");
      const parked = uniqueName("kpl-parked");
      await createTable(dynamo, table);
      await createTable(dynamo, parked, "sk");
      let armed = true;
      const proxy = await startFaultProxy(process.env.AWS_ENDPOINT_URL_DYNAMODB!, (target, body) =>
        armed && target.endsWith(".PutItem") && body.Item?.pk?.S === order("z") ? "fail" : undefined,
      );
      try {
        const projector = loadHandler<KinesisStreamEvent, KinesisStreamBatchResponse>(artifacts["orders-projector"], {
          ...env["orders-projector"],
          TABLE_NAME: table,
          PARKED_TABLE_NAME: parked,
          AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
        });
        expect(await projector({ Records: records })).to.deep.equal({ batchItemFailures: [{ itemIdentifier: records[firstWithZ].kinesis.sequenceNumber }] });
        expect(proxy.injected).to.be.greaterThan(0);
        armed = false;
        expect(await projector({ Records: records.slice(firstWithZ) })).to.deep.equal({ batchItemFailures: [] });
      } finally {
        await proxy.stop();
      }
      expect(await itemsOf(table)).to.deep.equal(await itemsOf(run.outputs.readModelTableName));
      expect(await parkedOf(parked)).to.deep.equal([]);
    });

    it("bridge: forwards every user record once after dedup, first landings in source order per aggregate; a batch cut after a partial failure and a redelivery add only duplicates by id", async () => {
      const before = (await readStream(consumerKinesis, analyticsStream, CONSUMER_ACCOUNT)).length;
      let armed = true;
      const proxy = await startFaultProxy(process.env.AWS_ENDPOINT_URL_KINESIS!, (target) =>
        armed && target.endsWith(".PutRecords")
          ? { failEntries: (entry) => JSON.parse(Buffer.from(entry.Data, "base64").toString()).aggregateId === order("z") }
          : undefined,
      );
      try {
        const bridge = loadHandler<KinesisStreamEvent, KinesisStreamBatchResponse>(artifacts["analytics-bridge-forwarder"], {
          ...env["analytics-bridge-forwarder"],
          AWS_ENDPOINT_URL_KINESIS: proxy.endpoint,
        });
        expect(await bridge({ Records: records })).to.deep.equal({ batchItemFailures: [{ itemIdentifier: records[firstWithZ].kinesis.sequenceNumber }] });
        armed = false;
        expect(await bridge({ Records: records.slice(firstWithZ) })).to.deep.equal({ batchItemFailures: [] });
        expect(await bridge({ Records: records })).to.deep.equal({ batchItemFailures: [] });
      } finally {
        await proxy.stop();
      }
      const landed = wireRecords((await readStream(consumerKinesis, analyticsStream, CONSUMER_ACCOUNT)).slice(before)).filter((w) =>
        w.id.startsWith(`${tag}-`),
      );
      expect(new Set(landed.map((w) => w.id))).to.deep.equal(new Set(events.map((e) => e.eventId)));
      for (const o of ["x", "y", "z"]) {
        const first = [...new Set(landed.filter((w) => w.aggregateId === order(o)).map((w) => w.id))];
        expect(first, o).to.deep.equal(byOrder(o).map((e) => e.eventId));
      }
      expect(landed.find((w) => w.id === z3.eventId)).to.deep.include({ contract: "order-lifecycle.v1", aggregateId: order("z") });
      expect(await parkedOf(run.outputs.bridgeParkedTableName)).to.deep.equal([]);
    });
  });

  it("uses the consumer account's credentials only through the assumed role", async () => {
    // The function's own credentials name the producer account; the analytics stream exists only in the consumer's.
    expect(process.env.AWS_ACCESS_KEY_ID).to.equal(accountCredentials(PRODUCER_ACCOUNT).accessKeyId);
    await putJson(consumerKinesis, analyticsStream, "probe", { probe: true });
    let error: Error | undefined;
    try {
      await putJson(kinesis, analyticsStream, "probe", { probe: true });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.name).to.equal("ResourceNotFoundException");
  });
});
