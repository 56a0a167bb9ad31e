/**
 * Who may write and read, in the API function: the verified identity the
 * declared mode requires (API_AUTH), and the domain's per-aggregate rule —
 * the example domain's `authorize` (customers own their orders) — against
 * the emulators with real clients. Every refusal is a 403 with a clear
 * message, and the stream gains no record.
 */
import { expect } from "chai";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { ApiDeps, HttpApiEvent, HttpApiResult, apiConfigFromEnv, createApi } from "../../../handlers/api";
import { principalFrom } from "../../../handlers/api/access";
import { dynamoClient, kinesisClient } from "../../../handlers/shared/clients";
import { authorize, validate } from "../../../domain";
import { createStream, createTable, readStream, testKinesis, uniqueName } from "../../support/aws";
import { asIamCaller, asJwtCaller, getAggregateRequest, postEventRequest, readModelItem } from "../../support/apiFixtures";
import { createProjector } from "../../../handlers/projector";
import { parseEnvelope } from "../../../handlers/shared/envelope";
import { reduce } from "../../../domain";
import { fastClock, parkedEvents } from "../../support/projectorFixtures";

const SERVICE = "arn:aws:sts::111111111111:assumed-role/fulfilment/session-1";
const place = (customerId: string) => ({ type: "OrderPlaced", data: { customerId, lines: [{ sku: "A", quantity: 1, unitPriceCents: 100 }] } });
const customer = (e: HttpApiEvent, sub: string, scopes = ["events:write", "aggregates:read"]) =>
  asJwtCaller(e, { sub, iss: "https://issuer", scope: scopes.join(" ") }, scopes);

interface Harness {
  api: (e: HttpApiEvent) => Promise<HttpApiResult>;
  stream: string;
  table: string;
  records: () => Promise<number>;
  seed: (id: string, state: object) => Promise<void>;
}

async function harness(overrides: Partial<ApiDeps> & { auth?: "iam" | "jwt" | "none" } = {}): Promise<Harness> {
  const stream = uniqueName("access-stream");
  const table = uniqueName("access-table");
  const dynamodb = dynamoClient();
  await createStream(testKinesis(), stream);
  await createTable(dynamodb, table);
  const { auth, ...deps } = overrides;
  const api = createApi({
    kinesis: kinesisClient(),
    dynamodb,
    config: { streamName: stream, tableName: table, maxBodyBytes: 4096, ...(auth ? { auth } : {}) },
    validate,
    authorize: authorize as ApiDeps["authorize"],
    log: () => undefined,
    ...deps,
  });
  return {
    api,
    stream,
    table,
    records: async () => (await readStream(testKinesis(), stream)).length,
    seed: async (id, state) => {
      await dynamodb.send(
        new PutItemCommand({
          TableName: table,
          Item: readModelItem({ id, position: "49590338271490256608559692538361571095921575989136588898", version: 1, state }),
        }),
      );
    },
  };
}

/** A request that must be refused with `status`, the message naming why, and nothing appended. */
async function refused(h: Harness, event: HttpApiEvent, status: number, messagePart: string): Promise<void> {
  const before = await h.records();
  const res = await h.api(event);
  expect(res.statusCode, res.body).to.equal(status);
  const body = JSON.parse(res.body);
  expect(body.error.code).to.equal("Forbidden");
  expect(body.error.message).to.include(messagePart);
  expect(res.body).to.not.include("totalCents");
  expect(await h.records()).to.equal(before);
}

describe("handlers/api access (authorizer context and the domain's authorize)", function () {
  this.timeout(60_000);

  describe("the principal API Gateway passes", () => {
    it("reads a JWT's sub, claims and scopes, an IAM caller's ARN and account, and nobody otherwise", () => {
      const e = postEventRequest("o-1", { body: place("c-1") });
      expect(principalFrom(asJwtCaller(e, { sub: "c-1", scope: "a b" }, ["a", "b"]))).to.deep.include({ kind: "jwt", subject: "c-1", scopes: ["a", "b"] });
      // Scopes from the claim when the route had none to check (API Gateway then passes scopes: null).
      expect(principalFrom(asJwtCaller(e, { scope: "x y" }))).to.deep.include({ kind: "jwt", scopes: ["x", "y"], subject: undefined });
      expect(principalFrom(asIamCaller(e, SERVICE))).to.deep.equal({
        kind: "iam",
        userArn: SERVICE,
        accountId: "111111111111",
        callerId: "AROAEXAMPLE:session",
      });
      expect(principalFrom(e)).to.deep.equal({ kind: "anonymous" });
      expect(principalFrom({ ...e, requestContext: { ...e.requestContext, authorizer: { jwt: { claims: "sub=c-1" } } } })).to.deep.equal({ kind: "anonymous" });
    });

    it("reads the declared mode from API_AUTH and refuses a value it does not know", () => {
      expect(apiConfigFromEnv({ STREAM_NAME: "s", TABLE_NAME: "t", API_AUTH: "jwt" }).auth).to.equal("jwt");
      expect(apiConfigFromEnv({ STREAM_NAME: "s", TABLE_NAME: "t" })).to.not.have.property("auth");
      expect(() => apiConfigFromEnv({ STREAM_NAME: "s", TABLE_NAME: "t", API_AUTH: "open" })).to.throw(
        "environment variable API_AUTH must be one of iam, jwt, none, got open",
      );
    });
  });

  describe("a declared mode needs its verified identity (a route deployed without its authorizer lets nobody in)", () => {
    it("jwt: refuses a request with no JWT context, or with an IAM one", async () => {
      const h = await harness({ auth: "jwt" });
      await refused(
        h,
        postEventRequest("o-1", { body: place("c-1") }),
        403,
        "this API authenticates callers by jwt (API_AUTH=jwt), but the request carries no verified JWT (requestContext.authorizer.jwt); nothing was done",
      );
      await refused(h, asIamCaller(postEventRequest("o-1", { body: place("c-1") }), SERVICE), 403, "API_AUTH=jwt");
      await refused(h, getAggregateRequest("o-1"), 403, "API_AUTH=jwt");
    });

    it("iam: refuses a request with no SigV4 identity, and accepts one that has it", async () => {
      const h = await harness({ auth: "iam" });
      await refused(h, customer(postEventRequest("o-1", { body: place("c-1") }), "c-1"), 403, "this API authenticates callers by iam (API_AUTH=iam)");
      const ok = await h.api(asIamCaller(postEventRequest("o-1", { body: place("c-1") }), SERVICE));
      expect(ok.statusCode, ok.body).to.equal(202);
      expect(await h.records()).to.equal(1);
    });
  });

  describe("the example domain: customers own their orders, services may do anything", () => {
    it("lets a customer place an order for themself, and refuses one for someone else", async () => {
      const h = await harness({ auth: "jwt" });
      const ok = await h.api(customer(postEventRequest("o-2", { body: place("c-1") }), "c-1"));
      expect(ok.statusCode, ok.body).to.equal(202);
      await refused(
        h,
        customer(postEventRequest("o-3", { body: place("c-2") }), "c-1"),
        403,
        'a customer may place orders only for themself (customerId "c-2", token sub c-1)',
      );
      await refused(
        h,
        asJwtCaller(postEventRequest("o-3", { body: place("c-1") }), { iss: "https://issuer" }, ["events:write"]),
        403,
        "must carry a sub claim",
      );
    });

    it("refuses another customer's writes and reads of a projected order, and answers its owner", async () => {
      const h = await harness({ auth: "jwt" });
      await h.seed("o-4", { status: "open", customerId: "c-1", lines: [], totalCents: 100, paidCents: 0 });
      await refused(
        h,
        customer(postEventRequest("o-4", { body: { type: "OrderPaid", data: { amountCents: 100 } } }), "c-2"),
        403,
        "may not write OrderPaid to aggregate o-4: the order belongs to another customer, not to c-2; nothing was written",
      );
      await refused(h, customer(postEventRequest("o-4", { body: place("c-2") }), "c-2"), 403, "belongs to another customer");
      await refused(h, customer(getAggregateRequest("o-4"), "c-2"), 403, "may not read aggregate o-4: the order belongs to another customer, not to c-2");
      const mine = await h.api(customer(getAggregateRequest("o-4"), "c-1"));
      expect(mine.statusCode).to.equal(200);
      expect(JSON.parse(mine.body).state).to.include({ customerId: "c-1" });
      const pay = await h.api(customer(postEventRequest("o-4", { body: { type: "OrderPaid", data: { amountCents: 100 } } }), "c-1"));
      expect(pay.statusCode, pay.body).to.equal(202);
    });

    it("answers 404 for an order not projected yet, to anyone (a poller waits for its own first event)", async () => {
      const h = await harness({ auth: "jwt" });
      const res = await h.api(customer(getAggregateRequest("o-5"), "c-9"));
      expect(res.statusCode).to.equal(404);
    });

    it("records who wrote each event, so another customer's write that raced past authorize changes nothing once projected", async () => {
      // authorize sees the read model, about a second behind the stream: before the projector runs, nobody owns o-7 or o-8.
      const h = await harness({ auth: "jwt" });
      const post = async (id: string, body: object, sub: string) => (await h.api(customer(postEventRequest(id, { body }), sub))).statusCode;
      expect(await post("o-7", place("c-1"), "c-1")).to.equal(202);
      expect(await post("o-7", { type: "OrderCancelled", data: {} }, "c-2")).to.equal(202);
      expect(await post("o-8", { type: "LineAdded", data: { sku: "X", quantity: 1, unitPriceCents: 1 } }, "c-2")).to.equal(202);
      expect(await post("o-8", place("c-1"), "c-1")).to.equal(202);
      const records = await readStream(testKinesis(), h.stream);
      const actors = records.map((r) => {
        const parsed = parseEnvelope(Buffer.from(r.kinesis.data, "base64"));
        return parsed.ok ? [parsed.event.aggregateId, parsed.event.type, parsed.event.actor] : parsed.reason;
      });
      expect(actors).to.deep.equal([
        ["o-7", "OrderPlaced", { kind: "jwt", subject: "c-1" }],
        ["o-7", "OrderCancelled", { kind: "jwt", subject: "c-2" }],
        ["o-8", "LineAdded", { kind: "jwt", subject: "c-2" }],
        ["o-8", "OrderPlaced", { kind: "jwt", subject: "c-1" }],
      ]);
      const parked = uniqueName("access-parked");
      await createTable(dynamoClient(), parked, "sk");
      const projector = createProjector({
        dynamodb: dynamoClient(),
        reduce,
        clock: fastClock(),
        log: () => undefined,
        config: { tableName: h.table, parkedTableName: parked, dedupWindow: 16, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 }, maxFoldAttempts: 5 },
      });
      expect((await projector({ Records: records })).batchItemFailures).to.deep.equal([]);
      for (const id of ["o-7", "o-8"]) {
        const res = await h.api(customer(getAggregateRequest(id), "c-1"));
        expect(res.statusCode, res.body).to.equal(200);
        expect(JSON.parse(res.body).state, id).to.include({ customerId: "c-1", status: "open" });
      }
      // c-2's line before o-8 was placed parked nothing, so it blocks nothing.
      expect(await parkedEvents(dynamoClient(), parked)).to.deep.equal([]);
      expect(await post("o-7", { type: "OrderCancelled", data: {} }, "c-2")).to.equal(403);
    });

    it("lets a service (IAM) write and read any order", async () => {
      const h = await harness({ auth: "iam" });
      await h.seed("o-6", { status: "open", customerId: "c-1", lines: [], totalCents: 100, paidCents: 0 });
      expect((await h.api(asIamCaller(postEventRequest("o-6", { body: { type: "OrderShipped", data: {} } }), SERVICE))).statusCode).to.equal(202);
      expect((await h.api(asIamCaller(getAggregateRequest("o-6"), SERVICE))).statusCode).to.equal(200);
    });
  });

  describe("a rule that answers oddly fails closed", () => {
    it("refuses on any answer but undefined, and a throwing rule is a 500 that writes nothing", async () => {
      const h = await harness({ authorize: (() => false) as never });
      await refused(
        h,
        postEventRequest("o-7", { body: place("c-1") }),
        403,
        "may not write OrderPlaced to aggregate o-7: refused by the domain's authorize rule",
      );
      const thrower = await harness({
        authorize: () => {
          throw new Error("rule bug");
        },
      });
      const res = await thrower.api(postEventRequest("o-8", { body: place("c-1") }));
      expect(res.statusCode).to.equal(500);
      expect(await thrower.records()).to.equal(0);
    });
  });
});
