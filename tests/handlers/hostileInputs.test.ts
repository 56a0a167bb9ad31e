import { expect } from "chai";
import { gzipSync } from "zlib";
import { map as domainMap, reduce as domainReduce, validate as domainValidate } from "../../domain";
import { createApi, HttpApiEvent, HttpApiResult } from "../../handlers/api";
import { MAX_JSON_DEPTH } from "../../handlers/api/validation";
import { BridgeConfig, createBridge } from "../../handlers/bridge";
import { dynamoClient, kinesisClient } from "../../handlers/shared/clients";
import { ENVELOPE_SCHEMA_VERSION } from "../../handlers/shared/envelope";
import { createProjector } from "../../handlers/projector";
import { accountCredentials, CONSUMER_ACCOUNT, createStream, createTable, readStream, scanAll, testDynamo, testKinesis, uniqueName } from "../support/aws";
import { defaultRouteRequest, getAggregateRequest, postBytesRequest, postEventRequest } from "../support/apiFixtures";
import { landed, recordingClock } from "../support/bridge";
import { append, fastClock, parkedEvents, RawRecord, setupRig, views } from "../support/projectorFixtures";
import { Mapper } from "../../handlers/shared/domain";
import { Reducer } from "../../handlers/shared/domain";
import { HOSTILE_COMMANDS } from "../support/hostileCommands";

/** Counts the hostile cases tried, for the report. */
const tried = { api: 0, projector: 0, bridge: 0 };
const VALID = { type: "OrderPlaced", data: { customerId: "c1", lines: [] } };
const MAX_BODY = 900 * 1024; // the largest the API allows, so nesting is not stopped by size first

function nested(depth: number, open = "[", close = "]"): string {
  return open.repeat(depth) + close.repeat(depth);
}
const withData = (dataJson: string) => `{"type":"OrderPlaced","data":{"customerId":"c","lines":[],"x":${dataJson}}}`;

interface ApiCase {
  name: string;
  event: () => HttpApiEvent;
  status: number;
  code: string;
  /** What the message must say, when the case names a field. */
  message?: RegExp;
}

const post =
  (id: string, body: unknown, headers: Record<string, string> = {}, extra: Partial<Parameters<typeof postEventRequest>[1]> = {}) =>
  () =>
    postEventRequest(id, { body, headers, ...extra });

const API_CASES: ApiCase[] = [
  // Huge bodies
  { name: "body over the limit", event: post("o1", "x".repeat(MAX_BODY + 1)), status: 413, code: "PayloadTooLarge" },
  {
    name: "body over the limit under a small Content-Length",
    event: post("o1", JSON.stringify({ ...VALID, data: { pad: "y".repeat(MAX_BODY) } }), { "content-length": "10" }),
    status: 413,
    code: "PayloadTooLarge",
  },
  { name: "Content-Length over the limit", event: post("o1", VALID, { "content-length": String(MAX_BODY + 1) }), status: 413, code: "PayloadTooLarge" },
  { name: "Content-Length of 2^80", event: post("o1", VALID, { "content-length": "1208925819614629174706176" }), status: 413, code: "PayloadTooLarge" },
  { name: "Content-Length not a number", event: post("o1", VALID, { "content-length": "12, 13" }), status: 400, code: "InvalidContentLength" },
  { name: "base64 body over the limit", event: () => postBytesRequest("o1", Buffer.alloc(MAX_BODY + 1, 0x20)), status: 413, code: "PayloadTooLarge" },
  // Deep nesting
  { name: "100k-deep arrays", event: post("o1", withData(nested(100_000))), status: 400, code: "TooDeep" },
  { name: "100k-deep objects", event: post("o1", withData('{"a":'.repeat(100_000) + "1" + "}".repeat(100_000))), status: 400, code: "TooDeep" },
  { name: "100k-deep arrays, base64", event: () => postBytesRequest("o1", Buffer.from(withData(nested(100_000)))), status: 400, code: "TooDeep" },
  { name: `nesting one past the limit (${MAX_JSON_DEPTH + 1})`, event: post("o1", withData(nested(MAX_JSON_DEPTH - 1))), status: 400, code: "TooDeep" },
  // At the limit the depth check passes and the command schema refuses the stray field (strict schemas: issue 10).
  {
    name: `nesting at the limit (${MAX_JSON_DEPTH}) passes the depth check`,
    event: post("o1", withData(nested(MAX_JSON_DEPTH - 2))),
    status: 400,
    code: "InvalidEvent",
  },
  { name: "100k-deep unbalanced opening brackets", event: post("o1", "[".repeat(100_000)), status: 400, code: "TooDeep" },
  {
    name: "brackets inside strings do not count, but the JSON is checked",
    event: post("o1", `{"type":"OrderPlaced","data":{"customerId":"${"[".repeat(5000)}"}}`),
    status: 400,
    code: "InvalidEvent",
  },
  // Content types
  { name: "no Content-Type", event: post("o1", VALID, {}, { noContentType: true }), status: 415, code: "UnsupportedMediaType" },
  { name: "text/plain", event: post("o1", VALID, { "content-type": "text/plain" }), status: 415, code: "UnsupportedMediaType" },
  {
    name: "form-urlencoded",
    event: post("o1", "type=OrderPlaced", { "content-type": "application/x-www-form-urlencoded" }),
    status: 415,
    code: "UnsupportedMediaType",
  },
  { name: "multipart", event: post("o1", VALID, { "content-type": "multipart/form-data; boundary=x" }), status: 415, code: "UnsupportedMediaType" },
  {
    name: "application/json-patch+json",
    event: post("o1", VALID, { "content-type": "application/json-patch+json" }),
    status: 415,
    code: "UnsupportedMediaType",
  },
  {
    name: "JSON with charset latin1",
    event: post("o1", VALID, { "content-type": "application/json; charset=latin1" }),
    status: 415,
    code: "UnsupportedMediaType",
  },
  {
    name: "JSON with charset utf-16",
    event: post("o1", VALID, { "content-type": 'application/json;charset="utf-16"' }),
    status: 415,
    code: "UnsupportedMediaType",
  },
  { name: "Content-Type with CR/LF", event: post("o1", VALID, { "content-type": "text/html\r\nx: y" }), status: 415, code: "UnsupportedMediaType" },
  // Content codings: an HTTP API passes a compressed body through as it came
  {
    name: "a gzipped body",
    event: () => postBytesRequest("o1", gzipSync(JSON.stringify(VALID)), { "content-encoding": "gzip" }),
    status: 415,
    code: "UnsupportedMediaType",
  },
  { name: "a plain body labelled x-gzip", event: post("o1", VALID, { "content-encoding": "x-gzip" }), status: 415, code: "UnsupportedMediaType" },
  // Invalid UTF-8 and encodings
  { name: "invalid UTF-8 bytes", event: () => postBytesRequest("o1", Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), status: 400, code: "InvalidEncoding" },
  {
    name: "overlong UTF-8 encoding of /",
    event: () => postBytesRequest("o1", Buffer.concat([Buffer.from('{"type":"OrderPlaced","data":{"x":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')])),
    status: 400,
    code: "InvalidEncoding",
  },
  {
    name: "UTF-8-encoded surrogate",
    event: () =>
      postBytesRequest("o1", Buffer.concat([Buffer.from('{"type":"OrderPlaced","data":{"x":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}}')])),
    status: 400,
    code: "InvalidEncoding",
  },
  {
    name: "truncated multi-byte sequence",
    event: () => postBytesRequest("o1", Buffer.concat([Buffer.from('{"type":"OrderPlaced","data":{"x":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}}')])),
    status: 400,
    code: "InvalidEncoding",
  },
  { name: "lone surrogate in a text body", event: post("o1", '{"type":"OrderPlaced","data":{"x":"\ud800"}}'), status: 400, code: "InvalidEncoding" },
  {
    name: "body flagged base64 that is not",
    event: () => {
      const e = postEventRequest("o1", { body: "{not base64!}" });
      e.isBase64Encoded = true;
      return e;
    },
    status: 400,
    code: "InvalidBody",
  },
  { name: "UTF-8 BOM before the JSON", event: post("o1", "\ufeff" + JSON.stringify(VALID)), status: 400, code: "InvalidJson" },
  { name: "NUL bytes around the JSON", event: post("o1", "\u0000" + JSON.stringify(VALID)), status: 400, code: "InvalidJson" },
  // Not the command shape
  { name: "empty body", event: post("o1", ""), status: 400, code: "InvalidJson" },
  { name: "JSON null", event: post("o1", "null"), status: 400, code: "InvalidCommand" },
  { name: "JSON array", event: post("o1", "[]"), status: 400, code: "InvalidCommand" },
  { name: "truncated JSON", event: post("o1", '{"type":"OrderPlaced","data":{'), status: 400, code: "InvalidJson" },
  { name: "NaN literal", event: post("o1", '{"type":"OrderPaid","data":{"amountCents":NaN}}'), status: 400, code: "InvalidJson" },
  { name: "__proto__ key at the top", event: post("o1", '{"type":"OrderPlaced","data":{},"__proto__":{"admin":true}}'), status: 400, code: "InvalidCommand" },
  { name: "data is an array", event: post("o1", { type: "OrderPlaced", data: [] }), status: 400, code: "InvalidCommand" },
  { name: "type with path characters", event: post("o1", { type: "../OrderPlaced", data: {} }), status: 400, code: "InvalidCommand" },
  { name: "type with CR/LF", event: post("o1", { type: "OrderPlaced\r\nX: y", data: {} }), status: 400, code: "InvalidCommand" },
  { name: "unknown command type", event: post("o1", { type: "DropTables", data: {} }), status: 400, code: "InvalidEvent" },
  { name: "command missing fields", event: post("o1", { type: "LineAdded", data: { sku: "A" } }), status: 400, code: "InvalidEvent" },
  // Commands that passed a presence check and then poisoned the model (issue 10): the schema names the field.
  ...HOSTILE_COMMANDS.map((c): ApiCase => ({ name: c.name, event: post("o1", c.body), status: 400, code: c.code, message: c.message })),
  {
    name: "invalid UTF-8 (\\xff\\xfe), base64 as API Gateway passes it",
    event: () => postBytesRequest("o1", Buffer.from([0xff, 0xfe])),
    status: 400,
    code: "InvalidEncoding",
  },
  // Ids with path characters, unicode, NUL
  ...[
    "../x",
    "..",
    ".",
    "a/b",
    "a%2Fb",
    "%2F",
    "a\\b",
    "ünïcode",
    "ｆｕｌｌｗｉｄｔｈ",
    "a\u0000b",
    "a\u202eb",
    "a\r\nb",
    "a b",
    " a",
    "-a",
    "",
    "a".repeat(129),
    "😀",
    "a?b=c",
    "a#b",
  ].map((id): ApiCase => ({
    name: `aggregate id ${JSON.stringify(id)}`,
    event: post(id, VALID),
    status: 400,
    code: "InvalidAggregateId",
  })),
  // Header injection in Idempotency-Key
  ...["k\r\nX-Injected: 1", "k\n", "k\r", "k\u0000", "ключ", "", "k".repeat(129), "k\tv"].map((key): ApiCase => ({
    name: `Idempotency-Key ${JSON.stringify(key)}`,
    event: post("o1", VALID, { "idempotency-key": key }),
    status: 400,
    code: "InvalidIdempotencyKey",
  })),
  // Reads and routes
  ...["../x", "a%2Fb", "a\u0000b", "ünïcode"].map((id): ApiCase => ({
    name: `GET id ${JSON.stringify(id)}`,
    event: () => getAggregateRequest(id),
    status: 400,
    code: "InvalidAggregateId",
  })),
  ...["1e5", "-1", "0x10", "1 OR 1=1", "9".repeat(130), ""].map((m): ApiCase => ({
    name: `GET minPosition ${JSON.stringify(m)}`,
    event: () => getAggregateRequest("o1", m),
    status: 400,
    code: "InvalidMinPosition",
  })),
  { name: "unknown route", event: () => defaultRouteRequest("DELETE", "/aggregates/o1"), status: 404, code: "RouteNotFound" },
  { name: "path traversal route", event: () => defaultRouteRequest("GET", "/../../etc/passwd"), status: 404, code: "RouteNotFound" },
];

/** A bridge as the hostile cases run it: parking in `parked`, writing to a fresh target stream (named, to read what landed). */
async function hostileBridge(label: string, parked: string, map: Mapper, log: (e: Record<string, unknown>) => void = () => {}) {
  const target = uniqueName(label);
  const config: BridgeConfig = {
    targetStreamArn: await createStream(testKinesis(CONSUMER_ACCOUNT), target),
    parkedTableName: parked,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    maxRecordsPerCall: 500,
    maxBytesPerCall: 5 << 20,
  };
  const kinesis = kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) });
  return { target, bridge: createBridge({ kinesis, dynamodb: testDynamo(), map, config, clock: recordingClock(), log }) };
}

describe("hostile inputs", function () {
  this.timeout(120_000);
  after(() => {
    console.log(
      `      hostile inputs tried: ${tried.api + tried.projector + tried.bridge} (API ${tried.api}, projector ${tried.projector}, bridge ${tried.bridge})`,
    );
  });

  describe("HTTP API: a clear error and nothing written", () => {
    let api: (e: HttpApiEvent) => Promise<HttpApiResult>;
    let stream: string;
    let table: string;
    const logs: Record<string, unknown>[] = [];
    let accepted = 0;
    before(async () => {
      stream = uniqueName("hostile-stream");
      table = uniqueName("hostile-table");
      await createStream(testKinesis(), stream);
      await createTable(testDynamo(), table);
      api = createApi({
        kinesis: kinesisClient(),
        dynamodb: dynamoClient(),
        config: { streamName: stream, tableName: table, maxBodyBytes: MAX_BODY },
        validate: domainValidate,
        log: (e) => logs.push(e),
      });
    });

    for (const c of API_CASES) {
      it(`${c.name} → ${c.status} ${c.code}`, async () => {
        tried.api += 1;
        const res = await api(c.event());
        expect(res.statusCode, res.body.slice(0, 300)).to.equal(c.status);
        expect(res.headers["content-type"]).to.equal("application/json; charset=utf-8");
        const body = JSON.parse(res.body);
        if (c.status === 202) {
          accepted += 1;
          return;
        }
        expect(body.error.code).to.equal(c.code);
        expect(body.error.message).to.be.a("string").and.not.equal("");
        if (c.message) expect(body.error.message).to.match(c.message);
        expect(res.body.length, "the error does not echo a huge input").to.be.below(2000);
        for (const v of Object.values(res.headers)) expect(v).to.not.match(/[\r\n]/);
      });
    }

    it("wrote nothing for any of them (stream and table empty) and logged no internal error", async () => {
      // Nothing at all since strict schemas (the control case at the nesting limit is refused by its schema now).
      expect(accepted).to.equal(0);
      expect(await readStream(testKinesis(), stream)).to.have.length(0);
      expect(await scanAll(testDynamo(), table)).to.deep.equal([]);
      expect(logs.filter((l) => l.level === "error")).to.deep.equal([]);
    });
  });

  it("a replayed Idempotency-Key with a different body: the API accepts both under one eventId; the projector applies the first and parks the second as rejected (without blocking), the bridge forwards both under one id", async () => {
    tried.api += 1;
    const stream = uniqueName("hostile-replay");
    await createStream(testKinesis(), stream);
    const rig = await setupRig();
    const api = createApi({
      kinesis: kinesisClient(),
      dynamodb: dynamoClient(),
      config: { streamName: stream, tableName: rig.table, maxBodyBytes: 4096 },
      validate: domainValidate,
      log: () => {},
    });
    const send = (sku: string) =>
      api(
        postEventRequest("order-r", {
          body: { type: "OrderPlaced", data: { customerId: "c1", lines: [{ sku, quantity: 1, unitPriceCents: 100 }] } },
          headers: { "idempotency-key": "same-key" },
        }),
      );
    const first = JSON.parse((await send("FIRST")).body);
    const second = JSON.parse((await send("SECOND")).body);
    // Without state the API cannot tell a retry from a reuse: both are accepted with the same eventId.
    expect(second.eventId).to.equal(first.eventId);
    expect(second.sequenceNumber).to.not.equal(first.sequenceNumber);
    const records = await readStream(testKinesis(), stream);
    expect(records).to.have.length(2);

    await createProjector({
      dynamodb: dynamoClient(),
      reduce: domainReduce as Reducer<unknown>,
      clock: fastClock(),
      log: () => {},
      config: {
        tableName: rig.table,
        parkedTableName: rig.parked,
        dedupWindow: 64,
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
        maxFoldAttempts: 5,
      },
    })({ Records: records });
    const view = (await views(rig.dynamo, rig.table))["order-r"];
    // The second is not applied (the position moves past it) and not dropped silently: it is parked, with its data, as a
    // rejected duplicate. It does not block the aggregate: the event that owns the id was applied, nothing is missing.
    expect(view).to.include({ version: 1, lastEventId: first.eventId, position: second.sequenceNumber, parked: false });
    expect((view.state as { lines: { sku: string }[] }).lines.map((l) => l.sku)).to.deep.equal(["FIRST"]);
    const parked = await parkedEvents(rig.dynamo, rig.parked);
    expect(parked.map((p) => [p.sequenceNumber, p.eventId, p.reason, p.parkedBehind])).to.deep.equal([
      [second.sequenceNumber, first.eventId, "Idempotency-Key reused with different data", undefined],
    ]);
    expect(parked[0].data).to.equal(records[1].kinesis.data);
    // A true retry of the first body (same key, same body, new record) is still dropped without a trace.
    const again = JSON.parse((await send("FIRST")).body);
    const third = (await readStream(testKinesis(), stream)).find((r) => r.kinesis.sequenceNumber === again.sequenceNumber)!;
    await createProjector({
      dynamodb: dynamoClient(),
      reduce: domainReduce as Reducer<unknown>,
      clock: fastClock(),
      log: () => {},
      config: {
        tableName: rig.table,
        parkedTableName: rig.parked,
        dedupWindow: 64,
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
        maxFoldAttempts: 5,
      },
    })({ Records: [third] });
    expect((await views(rig.dynamo, rig.table))["order-r"]).to.include({ version: 1, position: again.sequenceNumber, parked: false });
    expect(await parkedEvents(rig.dynamo, rig.parked)).to.have.length(1);

    const { target, bridge } = await hostileBridge("hostile-replay-target", rig.parked, domainMap as Mapper);
    await bridge({ Records: records });
    const out = await landed(target);
    // Both land under one id; a consumer that keeps the first by id agrees with the read model.
    expect(out.map((o) => o.wire.id)).to.deep.equal([first.eventId, first.eventId]);
  });

  describe("stream handlers: garbage records are parked with a reason, never applied or forwarded, and never block other aggregates", () => {
    const envelope = (aggregateId: string, over: Record<string, unknown> = {}) => ({
      eventId: `ev-${aggregateId}`,
      aggregateId,
      type: "OrderPlaced",
      occurredAt: "2025-01-01T00:00:00.000Z",
      schemaVersion: ENVELOPE_SCHEMA_VERSION,
      data: { customerId: "c", lines: [] },
      ...over,
    });
    const json = (v: unknown) => Buffer.from(JSON.stringify(v));
    /** [name, bytes(aggregateId), reason pattern in the parked table] */
    const GARBAGE: [string, (id: string) => Buffer, RegExp][] = [
      ["empty record", () => Buffer.alloc(0), /not UTF-8 JSON/],
      ["not JSON", () => Buffer.from("hello"), /not UTF-8 JSON/],
      ["invalid UTF-8", () => Buffer.from([0xff, 0xfe, 0xfd]), /not UTF-8 JSON/],
      ["truncated JSON", (id) => json(envelope(id)).subarray(0, 20), /not UTF-8 JSON/],
      ["JSON null", () => Buffer.from("null"), /not a JSON object/],
      ["JSON array", () => Buffer.from("[1,2]"), /not a JSON object/],
      ["JSON number", () => Buffer.from("42"), /not a JSON object/],
      ["wrong schemaVersion", (id) => json(envelope(id, { schemaVersion: 2 })), /schemaVersion 2/],
      [
        "no data",
        (id) => {
          const e: Record<string, unknown> = envelope(id);
          delete e.data;
          return json(e);
        },
        /data is missing/,
      ],
      ["eventId with path characters", (id) => json(envelope(id, { eventId: "../../etc" })), /eventId/],
      ["eventId with NUL", (id) => json(envelope(id, { eventId: "a\u0000b" })), /eventId/],
      ["aggregateId with %2F", (id) => json(envelope(id, { aggregateId: "a%2Fb" })), /aggregateId/],
      ["type with CR/LF", (id) => json(envelope(id, { type: "A\r\nB" })), /type/],
      ["occurredAt not a time", (id) => json(envelope(id, { occurredAt: "yesterday" })), /occurredAt/],
      ["actor not an object", (id) => json(envelope(id, { actor: "c-1" })), /actor is malformed/],
      ["actor of an unknown kind", (id) => json(envelope(id, { actor: { kind: "root", subject: "c-1" } })), /actor is malformed/],
      ["a customer actor without a subject", (id) => json(envelope(id, { actor: { kind: "jwt", subject: "" } })), /actor is malformed/],
      ["another aggregate's envelope", () => json(envelope("someone-else")), /does not match the partition key/],
      ["__proto__ pollution attempt", (id) => Buffer.from(`{"__proto__":{"polluted":true},"eventId":"p-${id}"}`), /aggregateId/],
      [
        "reduce throws (LineAdded before OrderPlaced)",
        (id) => json(envelope(id, { type: "LineAdded", data: { sku: "A", quantity: 1, unitPriceCents: 1 } })),
        /reduce threw/,
      ],
    ];

    it("projector", async () => {
      const rig = await setupRig();
      const items: RawRecord[] = [];
      GARBAGE.forEach(([, bytes], i) => items.push({ partitionKey: `g${i}`, bytes: bytes(`g${i}`) }));
      items.push({ partitionKey: "healthy", bytes: json(envelope("healthy")) });
      const records = await append(rig, items);
      const res = await createProjector({
        dynamodb: dynamoClient(),
        reduce: domainReduce as Reducer<unknown>,
        clock: fastClock(),
        log: () => {},
        config: {
          tableName: rig.table,
          parkedTableName: rig.parked,
          dedupWindow: 64,
          retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
          maxFoldAttempts: 5,
        },
      })({ Records: records });
      expect(res).to.deep.equal({ batchItemFailures: [] });
      const v = await views(rig.dynamo, rig.table);
      const parked = await parkedEvents(rig.dynamo, rig.parked);
      GARBAGE.forEach(([name, , reason], i) => {
        tried.projector += 1;
        expect(v[`g${i}`], name).to.include({ version: 0, parked: true, position: "0" });
        expect(v[`g${i}`].state, name).to.equal(undefined);
        const row = parked.find((p) => p.aggregateId === `g${i}`)!;
        expect(row.reason, name).to.match(reason);
        expect(row.data, name).to.equal(records[i].kinesis.data);
      });
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      expect(v.healthy).to.include({ version: 1, parked: false });
      expect(parked).to.have.length(GARBAGE.length);
    });

    it("bridge", async () => {
      const rig = await setupRig();
      const items: RawRecord[] = [];
      // reduce plays no part in the bridge: not poison to it. Another aggregate's envelope is, and has its own case below.
      const forBridge = GARBAGE.filter(([name]) => !/another aggregate|reduce throws/.test(name));
      forBridge.forEach(([, bytes], i) => items.push({ partitionKey: `g${i}`, bytes: bytes(`g${i}`) }));
      items.push({ partitionKey: "healthy", bytes: json(envelope("healthy")) });
      items.push({ partitionKey: "m", bytes: json(envelope("m", { type: "Boom" })) });
      const records = await append(rig, items);
      const map: Mapper = (e) => {
        if (e.type === "Boom") throw new Error("map bug");
        return domainMap(e);
      };
      const { target, bridge } = await hostileBridge("hostile-target", rig.parked, map);
      const res = await bridge({ Records: records });
      expect(res).to.deep.equal({ batchItemFailures: [] });
      expect((await landed(target)).map((l) => l.wire.id)).to.deep.equal(["ev-healthy"]);
      const parked = await parkedEvents(rig.dynamo, rig.parked);
      forBridge.forEach(([name, , reason], i) => {
        tried.bridge += 1;
        const row = parked.find((p) => p.aggregateId === `g${i}`)!;
        expect(row, name).to.not.equal(undefined);
        expect(row.reason, name).to.match(reason);
        expect(row.data, name).to.equal(records[i].kinesis.data);
      });
      tried.bridge += 1;
      expect(parked.find((p) => p.aggregateId === "m")!.reason).to.match(/map threw Error: map bug/);
      expect(parked).to.have.length(forBridge.length + 1);
    });

    it("bridge: another aggregate's envelope is parked under its partition key (aggregateMismatch) and never forwarded; neither aggregate is held", async () => {
      const rig = await setupRig();
      // "someone-else"'s envelope filed under "x", between events of "someone-else" and "x" filed under their own keys.
      const records = await append(rig, [
        { partitionKey: "someone-else", bytes: json(envelope("someone-else", { eventId: "ev-own-1" })) },
        { partitionKey: "x", bytes: json(envelope("someone-else", { eventId: "ev-stray" })) },
        { partitionKey: "someone-else", bytes: json(envelope("someone-else", { eventId: "ev-own-2" })) },
        { partitionKey: "x", bytes: json(envelope("x")) },
      ]);
      const logs: Record<string, unknown>[] = [];
      const { target, bridge } = await hostileBridge("hostile-mismatch-target", rig.parked, domainMap as Mapper, (e) => logs.push(e));
      const res = await bridge({ Records: records });
      tried.bridge += 1;
      expect(res).to.deep.equal({ batchItemFailures: [] });
      const out = await landed(target);
      expect(out.map((l) => [l.partitionKey, l.wire.id])).to.deep.equal([
        ["someone-else", "ev-own-1"],
        ["someone-else", "ev-own-2"],
        ["x", "ev-x"],
      ]);
      const parked = await parkedEvents(rig.dynamo, rig.parked);
      expect(parked.map((p) => [p.aggregateId, p.sequenceNumber, p.eventId])).to.deep.equal([["x", records[1].kinesis.sequenceNumber, "ev-stray"]]);
      expect(parked[0].reason).to.match(/does not match the partition key/);
      expect(parked[0].data).to.equal(records[1].kinesis.data);
      expect(logs.map((l) => l.kind)).to.deep.equal(["aggregateMismatch"]);
    });

    it("projector: a state that cannot be stored (data or state nested too deep for JSON.stringify, a BigInt, an item over 400 KB) is parked and blocks its aggregate like a throwing reduce; the shard is not held", async () => {
      const rig = await setupRig();
      const deep = Buffer.from(JSON.stringify(envelope("deep")).replace('"lines":[]', `"lines":[],"x":${nested(100_000)}`));
      const kinds = ["deepState", "bigint", "huge"];
      const records = await append(rig, [
        { partitionKey: "deep", bytes: deep },
        { partitionKey: "deep", bytes: json(envelope("deep", { eventId: "ev-deep-2" })) },
        ...kinds.flatMap((k) =>
          [
            json(envelope(k, { eventId: `ev-${k}-1`, type: "Fine" })),
            json(envelope(k, { eventId: `ev-${k}-2`, type: "Bad" })),
            json(envelope(k, { eventId: `ev-${k}-3`, type: "Fine" })),
          ].map((bytes) => ({ partitionKey: k, bytes })),
        ),
        { partitionKey: "ok", bytes: json(envelope("ok")) },
      ]);
      // The bad part stays in the state (a state that is fine again by the end of the batch is stored as it is).
      const reduce = ((s: { n?: number } | undefined, e: { aggregateId: string; type: string; data: unknown }) => {
        const n = (s?.n ?? 0) + 1;
        if (e.type !== "Bad") return { ...s, n, keep: e.data };
        if (e.aggregateId === "deepState") {
          let o: unknown = {};
          for (let i = 0; i < 100_000; i++) o = { o };
          return { n, o };
        }
        if (e.aggregateId === "bigint") return { n, big: BigInt(1) };
        return { n, pad: "x".repeat(400 * 1024) };
      }) as unknown as Reducer<unknown>;
      const res = await createProjector({
        dynamodb: dynamoClient(),
        reduce,
        clock: fastClock(),
        log: () => {},
        config: {
          tableName: rig.table,
          parkedTableName: rig.parked,
          dedupWindow: 64,
          retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
          maxFoldAttempts: 5,
        },
      })({ Records: records });
      // Before: the fold threw, the aggregate was reported as a batch failure and the mapping held the whole shard
      // behind it until retries ran out.
      expect(res).to.deep.equal({ batchItemFailures: [] });
      const v = await views(rig.dynamo, rig.table);
      const parked = await parkedEvents(rig.dynamo, rig.parked);
      tried.projector += 4;
      expect(v.deep).to.include({ version: 0, parked: true });
      const deepRows = parked.filter((p) => p.aggregateId === "deep");
      expect(deepRows.map((p) => [p.sequenceNumber, p.parkedBehind])).to.deep.equal([
        [records[0].kinesis.sequenceNumber, undefined],
        [records[1].kinesis.sequenceNumber, records[0].kinesis.sequenceNumber],
      ]);
      expect(deepRows[0].reason).to.match(/cannot be serialised \(RangeError/);
      expect(deepRows[0].data).to.equal(records[0].kinesis.data);
      for (const [k, reason] of [
        ["deepState", /state that cannot be serialised \(RangeError/],
        ["bigint", /state that cannot be serialised \(TypeError.*BigInt/],
        ["huge", /too large to store: the item would be \d+ bytes \(DynamoDB's limit is 409600\)/],
      ] as [string, RegExp][]) {
        // The event before it is applied, the bad one parked as poison, the one after parked behind it.
        expect(v[k], k).to.include({ version: 1, parked: true, lastEventId: `ev-${k}-1` });
        expect(v[k].state, k).to.deep.include({ n: 1 });
        const rows = parked.filter((p) => p.aggregateId === k);
        expect(
          rows.map((p) => [p.eventId, p.parkedBehind === undefined]),
          k,
        ).to.deep.equal([
          [`ev-${k}-2`, true],
          [`ev-${k}-3`, false],
        ]);
        expect(rows[0].reason, k).to.match(reason);
      }
      expect(v.ok).to.include({ version: 1, parked: false });
    });
  });
});
