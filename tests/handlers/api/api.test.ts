import { expect } from "chai";
import { gzipSync } from "zlib";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import { API_ROUTES, ApiDeps, HttpApiEvent, HttpApiResult, PREFLIGHT_ROUTE, apiConfigFromEnv, createApi } from "../../../handlers/api";
import { dynamoClient, kinesisClient } from "../../../handlers/shared/clients";
import { ENVELOPE_SCHEMA_VERSION, ID_PATTERN, parseEnvelope } from "../../../handlers/shared/envelope";
import { padSequence } from "../../../handlers/shared/sequence";
import { ULID_PATTERN, createUlidGenerator, idempotentEventId, ulidTime } from "../../../handlers/producer/ulid";
import { createStream, createTable, readStream, testKinesis, uniqueName } from "../../support/aws";
import { injectFaults, serviceError } from "../../support/sdkMiddleware";
import { defaultRouteRequest, getAggregateRequest, postBytesRequest, postEventRequest, readModelItem } from "../../support/apiFixtures";

const NOW = new Date("2024-05-06T07:08:09.010Z");
const MAX_BODY = 1024;

interface Harness {
  api: (e: HttpApiEvent) => Promise<HttpApiResult>;
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  stream: string;
  table: string;
  logs: Record<string, unknown>[];
}

/** A fresh stream and table, and an API over real clients built as the Lambda builds them. */
async function harness(overrides: Partial<ApiDeps> = {}): Promise<Harness> {
  const stream = uniqueName("api-stream");
  const table = uniqueName("api-table");
  const kinesis = overrides.kinesis ?? kinesisClient();
  const dynamodb = overrides.dynamodb ?? dynamoClient();
  await createStream(testKinesis(), stream);
  await createTable(dynamodb, table);
  const logs: Record<string, unknown>[] = [];
  const api = createApi({
    kinesis,
    dynamodb,
    config: { streamName: stream, tableName: table, maxBodyBytes: MAX_BODY },
    now: () => NOW,
    log: (e) => logs.push(e),
    ...overrides,
  });
  return { api, kinesis, dynamodb, stream, table, logs };
}

function json(res: HttpApiResult): any {
  expect(res.headers["content-type"]).to.equal("application/json; charset=utf-8");
  expect(res.headers["x-content-type-options"]).to.equal("nosniff");
  return JSON.parse(res.body);
}

async function recordCount(stream: string): Promise<number> {
  return (await readStream(testKinesis(), stream)).length;
}

/** Runs a request that must be rejected, checking that the stream gained no record. */
async function expectRejected(h: Harness, event: HttpApiEvent, status: number, code: string, messagePart: string): Promise<any> {
  const before = await recordCount(h.stream);
  const res = await h.api(event);
  const body = json(res);
  expect(res.statusCode, res.body).to.equal(status);
  expect(body.error.code).to.equal(code);
  expect(body.error.message).to.include(messagePart);
  expect(await recordCount(h.stream)).to.equal(before);
  return body;
}

const ORDER = { type: "OrderPlaced", data: { sku: "A-1", qty: 2 } };

describe("handlers/ulid", () => {
  it("generates well-formed ULIDs that carry their time and strictly increase within a millisecond and across a clock step back", () => {
    let clock = 1_700_000_000_000;
    const next = createUlidGenerator({ now: () => clock });
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) ids.push(next());
    clock -= 5; // a clock step back must not break monotonicity
    for (let i = 0; i < 500; i++) ids.push(next());
    clock += 1000;
    ids.push(next());
    for (const id of ids) expect(id).to.match(ULID_PATTERN).and.match(ID_PATTERN);
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1], `${ids[i - 1]} < ${ids[i]}`).to.equal(true);
    expect(ulidTime(ids[0])).to.equal(1_700_000_000_000);
    expect(ulidTime(ids[ids.length - 1])).to.equal(1_700_000_000_995);
  });

  it("increments the random part with carry when two ids share a millisecond", () => {
    const next = createUlidGenerator({ now: () => 0, random: (n) => Buffer.alloc(n, 31) });
    expect(next()).to.equal("0".repeat(10) + "Z".repeat(16));
    expect(() => next()).to.throw(/overflowed/);
    const fresh = createUlidGenerator({ now: () => 0, random: (n) => Buffer.from([...Buffer.alloc(n - 1, 0), 31]) });
    expect(fresh()).to.equal("0".repeat(25) + "Z");
    expect(fresh()).to.equal("0".repeat(24) + "10");
  });

  it("derives idempotent ids deterministically per aggregate and key, matching ID_PATTERN", () => {
    const a = idempotentEventId("order-1", "key-1");
    expect(a).to.equal(idempotentEventId("order-1", "key-1"));
    expect(a)
      .to.match(ID_PATTERN)
      .and.match(/^idem-[0-9A-HJKMNP-TV-Z]{32}$/);
    expect(idempotentEventId("order-1", "key-2")).to.not.equal(a);
    expect(idempotentEventId("order-2", "key-1")).to.not.equal(a);
  });
});

describe("handlers/api", () => {
  describe("configuration", () => {
    it("reads the environment, defaults the body limit and rejects limits over 900 KiB", () => {
      expect(apiConfigFromEnv({ STREAM_NAME: "s", TABLE_NAME: "t" })).to.deep.equal({ streamName: "s", tableName: "t", maxBodyBytes: 65536 });
      expect(apiConfigFromEnv({ STREAM_NAME: "s", TABLE_NAME: "t", MAX_BODY_BYTES: "2048" }).maxBodyBytes).to.equal(2048);
      expect(() => apiConfigFromEnv({ STREAM_NAME: "s", TABLE_NAME: "t", MAX_BODY_BYTES: String(900 * 1024 + 1) })).to.throw(/maxBodyBytes/);
      expect(() => apiConfigFromEnv({ TABLE_NAME: "t" })).to.throw(/STREAM_NAME/);
      expect(() =>
        createApi({ kinesis: kinesisClient(), dynamodb: dynamoClient(), config: { streamName: "s", tableName: "t", maxBodyBytes: 2 ** 20 } }),
      ).to.throw(/maxBodyBytes/);
    });

    it("declares the two routes the handler serves", () => {
      expect(API_ROUTES).to.deep.equal(["POST /aggregates/{id}/events", "GET /aggregates/{id}"]);
    });
  });

  describe("POST /aggregates/{id}/events", () => {
    it("appends one envelope keyed by the aggregate and answers 202 with the poll URL", async () => {
      const h = await harness();
      const res = await h.api(postEventRequest("order-1", { body: ORDER }));
      const body = json(res);
      expect(res.statusCode, res.body).to.equal(202);
      expect(body.eventId).to.match(ULID_PATTERN);
      expect(ulidTime(body.eventId)).to.equal(NOW.getTime());
      expect(body.aggregateId).to.equal("order-1");
      expect(body.poll).to.equal(`/aggregates/order-1?minPosition=${body.sequenceNumber}`);
      expect(res.headers.location).to.equal(body.poll);

      const records = await readStream(testKinesis(), h.stream);
      expect(records).to.have.length(1);
      expect(records[0].kinesis.partitionKey).to.equal("order-1");
      expect(records[0].kinesis.sequenceNumber).to.equal(body.sequenceNumber);
      const parsed = parseEnvelope(Buffer.from(records[0].kinesis.data, "base64"));
      expect(parsed).to.deep.equal({
        ok: true,
        event: {
          eventId: body.eventId,
          aggregateId: "order-1",
          type: "OrderPlaced",
          occurredAt: NOW.toISOString(),
          schemaVersion: ENVELOPE_SCHEMA_VERSION,
          data: { sku: "A-1", qty: 2 },
        },
      });
    });

    it("accepts charset=utf-8 and a base64-encoded body with non-ASCII data", async () => {
      const h = await harness();
      const data = { note: "café ☕ 𝄞" };
      const res = await h.api(
        postEventRequest("order-2", {
          body: { type: "NoteAdded", data },
          base64: true,
          headers: { "content-type": 'Application/JSON; charset="UTF-8"' },
        }),
      );
      expect(res.statusCode, res.body).to.equal(202);
      const records = await readStream(testKinesis(), h.stream);
      expect(records).to.have.length(1);
      const parsed = parseEnvelope(Buffer.from(records[0].kinesis.data, "base64"));
      expect(parsed.ok && parsed.event.data).to.deep.equal(data);
    });

    it("accepts Content-Encoding identity, and answers any other coding 415 with Accept-Encoding: identity (RFC 7694)", async () => {
      const h = await harness();
      const plain = await h.api(postEventRequest("order-2", { body: ORDER, headers: { "Content-Encoding": "Identity" } }));
      expect(plain.statusCode, plain.body).to.equal(202);
      const zipped = await h.api(postBytesRequest("order-2", gzipSync(JSON.stringify(ORDER)), { "content-encoding": "gzip" }));
      expect(zipped.statusCode, zipped.body).to.equal(415);
      expect(zipped.headers["accept-encoding"]).to.equal("identity");
      expect(await readStream(testKinesis(), h.stream)).to.have.length(1);
    });

    it("gives a retried request with the same Idempotency-Key the same eventId, and another key another id", async () => {
      const h = await harness();
      const send = (key: string) => h.api(postEventRequest("order-3", { body: ORDER, headers: { "idempotency-key": key } }));
      const first = json(await send("checkout 42"));
      const retry = json(await send("checkout 42"));
      const other = json(await send("checkout 43"));
      expect(first.eventId).to.equal(idempotentEventId("order-3", "checkout 42"));
      expect(retry.eventId).to.equal(first.eventId);
      expect(other.eventId).to.not.equal(first.eventId);
      // Both attempts reach the stream; the projector drops the duplicate by eventId.
      const ids = (await readStream(testKinesis(), h.stream)).map((r) => JSON.parse(Buffer.from(r.kinesis.data, "base64").toString()).eventId);
      expect(ids).to.deep.equal([first.eventId, first.eventId, other.eventId]);
    });

    it("issues distinct, increasing ULIDs to requests in the same millisecond", async () => {
      const h = await harness();
      const a = json(await h.api(postEventRequest("order-4", { body: ORDER })));
      const b = json(await h.api(postEventRequest("order-4", { body: ORDER })));
      expect(b.eventId > a.eventId).to.equal(true);
    });

    describe("bad input: a clear error and nothing written", () => {
      const big = "x".repeat(MAX_BODY);
      const cases: { name: string; event: () => HttpApiEvent; status: number; code: string; message: string }[] = [
        {
          name: "an id outside ID_PATTERN",
          event: () => postEventRequest("bad id!", { body: ORDER }),
          status: 400,
          code: "InvalidAggregateId",
          message: "aggregate id",
        },
        {
          name: "an id starting with a dash",
          event: () => postEventRequest("-x", { body: ORDER }),
          status: 400,
          code: "InvalidAggregateId",
          message: "aggregate id",
        },
        {
          name: "a body that is not JSON",
          event: () => postEventRequest("o", { body: "{type: OrderPlaced" }),
          status: 400,
          code: "InvalidJson",
          message: "not valid JSON",
        },
        { name: "an empty body", event: () => postEventRequest("o", {}), status: 400, code: "InvalidJson", message: "empty" },
        {
          name: "invalid UTF-8",
          event: () =>
            postBytesRequest("o", Buffer.concat([Buffer.from('{"type":"A","data":{"n":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]), {
              "content-type": "application/json",
            }),
          status: 400,
          code: "InvalidEncoding",
          message: "UTF-8",
        },
        {
          name: "an unpaired surrogate",
          event: () => postEventRequest("o", { body: '{"type":"A","data":{"n":"\uD800"}}' }),
          status: 400,
          code: "InvalidEncoding",
          message: "UTF-8",
        },
        {
          name: "invalid base64",
          event: () => ({ ...postEventRequest("o", { body: ORDER }), isBase64Encoded: true, body: "!!!!" }),
          status: 400,
          code: "InvalidBody",
          message: "base64",
        },
        { name: "a JSON array", event: () => postEventRequest("o", { body: [ORDER] }), status: 400, code: "InvalidCommand", message: "JSON object" },
        { name: "a missing type", event: () => postEventRequest("o", { body: { data: {} } }), status: 400, code: "InvalidCommand", message: '"type"' },
        {
          name: "a type outside TYPE_PATTERN",
          event: () => postEventRequest("o", { body: { type: "1Order", data: {} } }),
          status: 400,
          code: "InvalidCommand",
          message: '"type"',
        },
        { name: "missing data", event: () => postEventRequest("o", { body: { type: "A" } }), status: 400, code: "InvalidCommand", message: '"data"' },
        {
          name: "data that is an array",
          event: () => postEventRequest("o", { body: { type: "A", data: [1] } }),
          status: 400,
          code: "InvalidCommand",
          message: '"data"',
        },
        {
          name: "data that is null",
          event: () => postEventRequest("o", { body: { type: "A", data: null } }),
          status: 400,
          code: "InvalidCommand",
          message: '"data"',
        },
        {
          name: "extra top-level keys",
          event: () => postEventRequest("o", { body: { ...ORDER, eventId: "x" } }),
          status: 400,
          code: "InvalidCommand",
          message: '"eventId"',
        },
        {
          name: "a Content-Length over the limit",
          event: () => postEventRequest("o", { body: ORDER, headers: { "content-length": String(MAX_BODY + 1) } }),
          status: 413,
          code: "PayloadTooLarge",
          message: `${MAX_BODY} bytes`,
        },
        {
          name: "a malformed Content-Length",
          event: () => postEventRequest("o", { body: ORDER, headers: { "content-length": "12abc" } }),
          status: 400,
          code: "InvalidContentLength",
          message: "Content-Length",
        },
        {
          name: "a body over the limit",
          event: () => postEventRequest("o", { body: { type: "A", data: { big } } }),
          status: 413,
          code: "PayloadTooLarge",
          message: `${MAX_BODY} bytes`,
        },
        {
          name: "a base64 body over the limit",
          event: () => postEventRequest("o", { body: { type: "A", data: { big } }, base64: true }),
          status: 413,
          code: "PayloadTooLarge",
          message: `${MAX_BODY} bytes`,
        },
        {
          name: "a body just over the limit in UTF-8 bytes",
          event: () => postEventRequest("o", { body: { type: "A", data: { s: "é".repeat(MAX_BODY / 2) } } }),
          status: 413,
          code: "PayloadTooLarge",
          message: "limit",
        },
        {
          name: "a text/plain content type",
          event: () => postEventRequest("o", { body: ORDER, headers: { "content-type": "text/plain" } }),
          status: 415,
          code: "UnsupportedMediaType",
          message: "application/json",
        },
        {
          name: "a missing content type",
          event: () => postEventRequest("o", { body: ORDER, noContentType: true }),
          status: 415,
          code: "UnsupportedMediaType",
          message: "missing",
        },
        {
          name: "a non-UTF-8 charset",
          event: () => postEventRequest("o", { body: ORDER, headers: { "content-type": "application/json; charset=iso-8859-1" } }),
          status: 415,
          code: "UnsupportedMediaType",
          message: "charset",
        },
        {
          name: "a gzipped body (Content-Encoding: gzip)",
          event: () => postBytesRequest("o", gzipSync(JSON.stringify(ORDER)), { "content-encoding": "gzip" }),
          status: 415,
          code: "UnsupportedMediaType",
          message: 'Content-Encoding "gzip"',
        },
        {
          name: "a plain body labelled Content-Encoding: br",
          event: () => postEventRequest("o", { body: ORDER, headers: { "content-encoding": "br" } }),
          status: 415,
          code: "UnsupportedMediaType",
          message: "uncompressed",
        },
        {
          name: "a list of codings with one besides identity",
          event: () => postEventRequest("o", { body: ORDER, headers: { "content-encoding": "identity, deflate" } }),
          status: 415,
          code: "UnsupportedMediaType",
          message: "deflate",
        },
        {
          name: "an empty Idempotency-Key",
          event: () => postEventRequest("o", { body: ORDER, headers: { "idempotency-key": "" } }),
          status: 400,
          code: "InvalidIdempotencyKey",
          message: "Idempotency-Key",
        },
        {
          name: "an Idempotency-Key of 129 characters",
          event: () => postEventRequest("o", { body: ORDER, headers: { "idempotency-key": "k".repeat(129) } }),
          status: 400,
          code: "InvalidIdempotencyKey",
          message: "1-128",
        },
        {
          name: "a non-ASCII Idempotency-Key",
          event: () => postEventRequest("o", { body: ORDER, headers: { "idempotency-key": "clé" } }),
          status: 400,
          code: "InvalidIdempotencyKey",
          message: "printable ASCII",
        },
      ];
      for (const c of cases) {
        it(`rejects ${c.name} with ${c.status}`, async () => {
          const h = await harness();
          await expectRejected(h, c.event(), c.status, c.code, c.message);
        });
      }

      it("accepts a body exactly at the limit (the 413 boundary is real)", async () => {
        const h = await harness();
        const skeleton = JSON.stringify({ type: "A", data: { s: "" } });
        const res = await h.api(postEventRequest("o", { body: { type: "A", data: { s: "y".repeat(MAX_BODY - skeleton.length) } } }));
        expect(res.statusCode, res.body).to.equal(202);
        expect(await recordCount(h.stream)).to.equal(1);
      });

      it("rejects with 400 and the hook's message when validate() objects", async () => {
        const seen: unknown[] = [];
        const h = await harness({
          validate: (type, data) => {
            seen.push([type, data]);
            return type === "OrderPlaced" && (data as any).qty > 1 ? "qty must be 1 for now" : undefined;
          },
        });
        await expectRejected(h, postEventRequest("o", { body: ORDER }), 400, "InvalidEvent", "qty must be 1 for now");
        expect(seen).to.deep.equal([["OrderPlaced", ORDER.data]]);
        const ok = await h.api(postEventRequest("o", { body: { type: "OrderPlaced", data: { qty: 1 } } }));
        expect(ok.statusCode).to.equal(202);
      });
    });

    describe("stream failures", () => {
      for (const name of ["ProvisionedThroughputExceededException", "LimitExceededException", "ThrottlingException", "KMSThrottlingException"]) {
        it(`answers ${name} with 503 and Retry-After, writing nothing`, async () => {
          const kinesis = kinesisClient();
          const faults = injectFaults(kinesis, (command) => (command === "PutRecordCommand" ? serviceError(name) : undefined));
          const h = await harness({ kinesis });
          const res = await h.api(postEventRequest("order-9", { body: ORDER }));
          const body = json(res);
          expect(res.statusCode).to.equal(503);
          expect(res.headers["retry-after"]).to.equal("1");
          expect(body.error.code).to.equal("Throttled");
          expect(body.error.message).to.include("retry after 1 second");
          expect(faults.injected).to.equal(1);
          expect(await recordCount(h.stream)).to.equal(0);
        });
      }

      it("answers 503 + Retry-After at its deadline when the stream never answers, before the function's timeout", async () => {
        const kinesis = kinesisClient();
        // A stream that never answers: the request hangs until something gives up.
        kinesis.middlewareStack.add(() => () => new Promise<never>(() => undefined), { step: "initialize", name: "hang", priority: "high" });
        const h = await harness({ kinesis, deadlineMs: 50 });
        const res = await h.api(postEventRequest("order-9", { body: ORDER, headers: { "idempotency-key": "k-1" } }));
        const body = json(res);
        expect(res.statusCode).to.equal(503);
        expect(res.headers["retry-after"]).to.equal("1");
        expect(body.error.code).to.equal("Timeout");
        expect(body.error.message).to.include("retry after 1 second with the same Idempotency-Key");
      });

      for (const name of ["TimeoutError", "AbortError"]) {
        it(`answers the SDK's ${name} (its own per-attempt timeout) with 503 + Retry-After`, async () => {
          const kinesis = kinesisClient();
          injectFaults(kinesis, () => Object.assign(new Error("socket timed out"), { name }));
          const h = await harness({ kinesis });
          const res = await h.api(postEventRequest("order-9", { body: ORDER }));
          expect(res.statusCode).to.equal(503);
          expect(json(res).error.code).to.equal("Timeout");
        });
      }

      it("answers any other failure with 500 and the request id, logging the error without leaking it", async () => {
        const kinesis = kinesisClient();
        injectFaults(kinesis, () => serviceError("AccessDeniedException: secret-arn-123"));
        const h = await harness({ kinesis });
        const event = postEventRequest("order-9", { body: ORDER });
        const res = await h.api(event);
        const body = json(res);
        expect(res.statusCode).to.equal(500);
        expect(body.error.code).to.equal("InternalError");
        expect(body.error.requestId).to.equal(event.requestContext.requestId);
        expect(body.error.message).to.include(event.requestContext.requestId);
        expect(res.body).to.not.include("secret-arn-123");
        expect(res.body).to.not.include("AccessDenied");
        expect(
          h.logs.some((l) => l.level === "error" && String(l.error).includes("secret-arn-123") && l.requestId === event.requestContext.requestId),
        ).to.equal(true);
        expect(await recordCount(h.stream)).to.equal(0);
      });

      it("answers a missing stream (a real emulator error) with 500", async () => {
        const h = await harness();
        const api = createApi({
          kinesis: h.kinesis,
          dynamodb: h.dynamodb,
          config: { streamName: uniqueName("absent"), tableName: h.table, maxBodyBytes: MAX_BODY },
          log: () => undefined,
        });
        const res = await api(postEventRequest("order-9", { body: ORDER }));
        expect(res.statusCode).to.equal(500);
        expect(res.body).to.not.include("ResourceNotFound");
      });
    });
  });

  describe("GET /aggregates/{id}", () => {
    async function seed(h: Harness, item: ReturnType<typeof readModelItem>): Promise<void> {
      await h.dynamodb.send(new PutItemCommand({ TableName: h.table, Item: item }));
    }

    /** Two real sequence numbers of the stream, in order. */
    async function twoPositions(h: Harness, id: string): Promise<[string, string]> {
      const a = json(await h.api(postEventRequest(id, { body: ORDER })));
      const b = json(await h.api(postEventRequest(id, { body: ORDER })));
      return [a.sequenceNumber, b.sequenceNumber];
    }

    it("shows the event invisible below minPosition, then visible once the read model reaches it", async () => {
      const h = await harness();
      const [p1, p2] = await twoPositions(h, "order-5");
      await seed(h, readModelItem({ id: "order-5", position: p1, version: 1, state: { qty: 2 }, lastEventId: "01HZZZZZZZZZZZZZZZZZZZZZZZ" }));
      const before = await h.api(getAggregateRequest("order-5", p2));
      const b = json(before);
      expect(before.statusCode).to.equal(200);
      expect(b).to.deep.equal({
        aggregateId: "order-5",
        state: { qty: 2 },
        version: 1,
        position: p1,
        lastEventId: "01HZZZZZZZZZZZZZZZZZZZZZZZ",
        updatedAt: "2024-01-02T03:04:05.000Z",
        parked: false,
        visible: false,
      });
      expect(before.headers.etag).to.equal('"1"');
      expect(before.headers["cache-control"]).to.equal("no-store");

      await seed(h, readModelItem({ id: "order-5", position: p2, version: 2, state: { qty: 4 } }));
      const after = await h.api(getAggregateRequest("order-5", p2));
      expect(json(after)).to.include({ visible: true, version: 2, position: p2 });
      expect(after.headers.etag).to.equal('"2"');
      expect(json(await h.api(getAggregateRequest("order-5", padSequence(p2))))).to.include({ visible: true });
      expect(json(await h.api(getAggregateRequest("order-5", p1)))).to.include({ visible: true });
      expect(json(await h.api(getAggregateRequest("order-5")))).to.include({ visible: true });
    });

    it("answers 404 with visible false for an absent aggregate, saying to keep polling only with minPosition", async () => {
      const h = await harness();
      const plain = await h.api(getAggregateRequest("nobody"));
      expect(plain.statusCode).to.equal(404);
      expect(json(plain)).to.deep.include({ visible: false });
      expect(json(plain).error.message).to.include("not found").and.not.include("keep polling");
      const polling = await h.api(getAggregateRequest("nobody", "12345"));
      expect(polling.statusCode).to.equal(404);
      expect(json(polling).visible).to.equal(false);
      expect(json(polling).error.message).to.include("keep polling");
    });

    it("answers 404 with visible false for a deleted aggregate", async () => {
      const h = await harness();
      const [p1, p2] = await twoPositions(h, "order-6");
      await seed(h, readModelItem({ id: "order-6", position: p2, version: 3, deleted: true }));
      const res = await h.api(getAggregateRequest("order-6", p2));
      const body = json(res);
      expect(res.statusCode).to.equal(404);
      expect(body).to.include({ visible: false, deleted: true });
      expect(body.error.code).to.equal("Deleted");
      expect(body.error.message).to.include("stop polling");
      // A tombstone older than the awaited event may still be recreated by it.
      await seed(h, readModelItem({ id: "order-6", position: p1, version: 3, deleted: true }));
      expect(json(await h.api(getAggregateRequest("order-6", p2))).error.message).to.include("keep polling");
    });

    it("shows an aggregate parked behind a poison event", async () => {
      const h = await harness();
      await seed(h, readModelItem({ id: "order-7", position: "100", version: 1, parkedAt: "2024-01-02T03:04:06.000Z" }));
      const res = await h.api(getAggregateRequest("order-7"));
      expect(res.statusCode).to.equal(200);
      expect(json(res)).to.include({ parked: true, position: "100" });
      // Parked at its first event: the projector keeps an item with no state at position 0.
      await h.dynamodb.send(
        new PutItemCommand({
          TableName: h.table,
          Item: {
            pk: { S: "order-8" },
            deleted: { BOOL: false },
            position: { S: padSequence("0") },
            version: { N: "0" },
            recentEventIds: { L: [] },
            updatedAt: { S: "2024-01-02T03:04:06.000Z" },
            parkedAt: { S: padSequence("7") },
          },
        }),
      );
      const first = await h.api(getAggregateRequest("order-8", "7"));
      expect(first.statusCode).to.equal(200);
      expect(json(first)).to.deep.equal({
        aggregateId: "order-8",
        state: null,
        version: 0,
        position: "0",
        lastEventId: null,
        updatedAt: "2024-01-02T03:04:06.000Z",
        parked: true,
        visible: false,
      });
    });

    for (const bad of ["abc", "-1", "1e5", "9".repeat(130)]) {
      it(`rejects minPosition ${bad.length > 10 ? "of 130 digits" : JSON.stringify(bad)} with 400`, async () => {
        const h = await harness();
        const res = await h.api(getAggregateRequest("order-8", bad));
        expect(res.statusCode).to.equal(400);
        expect(json(res).error).to.include({ code: "InvalidMinPosition" });
        expect(json(res).error.message).to.include("sequence number");
      });
    }

    it("rejects an id outside ID_PATTERN with 400", async () => {
      const h = await harness();
      const res = await h.api(getAggregateRequest("a/b"));
      expect(res.statusCode).to.equal(400);
      expect(json(res).error.code).to.equal("InvalidAggregateId");
    });
  });

  describe("$default", () => {
    it("answers any other route or method with 404 naming the method and path", async () => {
      const h = await harness();
      for (const [method, path] of [
        ["GET", "/nope"],
        ["DELETE", "/aggregates/x"],
        ["PUT", "/aggregates/x/events"],
      ]) {
        const res = await h.api(defaultRouteRequest(method, path));
        expect(res.statusCode).to.equal(404);
        const body = json(res);
        expect(body.error.code).to.equal("RouteNotFound");
        expect(body.error.message).to.include(`${method} ${path}`);
      }
      expect(await recordCount(h.stream)).to.equal(0);
    });
  });

  describe("OPTIONS /{proxy+} (CORS's open preflight route)", () => {
    it("answers 204 with nothing, before any principal is asked for, writing nothing and counting nothing; OPTIONS on $default stays a 404", async () => {
      const h = await harness();
      const stream = h.stream;
      const counted: string[] = [];
      const jwt = createApi({
        kinesis: h.kinesis,
        dynamodb: h.dynamodb,
        config: { streamName: stream, tableName: h.table, maxBodyBytes: MAX_BODY, auth: "jwt" },
        metrics: { add: (name: string) => void counted.push(name), publish: () => undefined },
      });
      const preflight = { ...defaultRouteRequest("OPTIONS", "/aggregates/o-1/events"), routeKey: PREFLIGHT_ROUTE };
      for (const api of [h.api, jwt]) expect(await api(preflight)).to.deep.equal({ statusCode: 204, headers: {}, body: "" });
      expect(counted, "not a request of the API's").to.deep.equal([]);
      expect((await jwt(defaultRouteRequest("OPTIONS", "/aggregates/o-1/events"))).statusCode, "no principal on $default").to.equal(403);
      expect(counted, "the recorder sees the API's own answers").to.not.deep.equal([]);
      expect((await h.api(defaultRouteRequest("OPTIONS", "/x"))).statusCode).to.equal(404);
      expect(await recordCount(stream)).to.equal(0);
    });
  });
});
