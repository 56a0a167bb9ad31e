/**
 * The local HTTP API through real HTTP requests: route selection, the
 * payload-2.0 event it builds, and API Gateway's answers for unmatched
 * routes, failing handlers and oversized bodies.
 */
import { expect } from "chai";
import * as http from "http";
import { HttpApiEventV2, LocalHttpApi, startHttpApi } from "../../../local/apigateway/httpApi";

const ROUTES = ["POST /aggregates/{id}/events", "GET /aggregates/{id}", "GET /aggregates/special", "ANY /files/{path+}"];

interface Seen {
  routeKey: string;
  event: HttpApiEventV2;
}

/** A server whose integration records each event and answers what `reply` says. */
async function serve(
  routes: string[],
  reply: (e: HttpApiEventV2) => unknown = () => ({ statusCode: 200, headers: { "content-type": "application/json" }, body: "{}" }),
) {
  const seen: Seen[] = [];
  const api = await startHttpApi({
    routes,
    accountId: "111111111111",
    apiId: "abc123",
    invoke: async (routeKey, event) => {
      seen.push({ routeKey, event });
      return reply(event);
    },
  });
  return { api, seen };
}

/** One request with raw, repeated headers (fetch would merge them). */
function rawRequest(url: string, headers: Record<string, string | string[]>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "GET", headers, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("local HTTP API (startHttpApi)", () => {
  let api: LocalHttpApi;
  let seen: Seen[];
  before(async () => {
    ({ api, seen } = await serve([...ROUTES, "$default"], (e) => {
      if (e.rawPath === "/boom") throw new Error("handler failed");
      if (e.rawPath === "/plain") return { ok: true };
      if (e.routeKey === "ANY /files/{path+}")
        return { statusCode: 201, headers: { "Content-Type": "application/octet-stream" }, body: e.body ?? "", isBase64Encoded: e.isBase64Encoded };
      return {
        statusCode: 202,
        headers: { "content-type": "application/json", "x-route": e.routeKey },
        body: JSON.stringify({ ok: true }),
        cookies: ["a=1", "b=2"],
      };
    }));
  });
  beforeEach(() => {
    seen.length = 0;
  });
  after(async () => {
    await api.stop();
  });

  it("routes to the declared route and builds the payload-2.0 event", async () => {
    const res = await fetch(`${api.url}aggregates/order%201/events?x=1&x=2&y=a%20b`, {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": "k1", Cookie: "s=1; t=2", "User-Agent": "test-agent" },
      body: JSON.stringify({ type: "OrderPlaced" }),
    });
    expect(res.status).to.equal(202);
    expect(res.headers.get("x-route")).to.equal("POST /aggregates/{id}/events");
    expect(res.headers.getSetCookie()).to.deep.equal(["a=1", "b=2"]);
    expect(seen).to.have.length(1);
    const { routeKey, event } = seen[0];
    expect(routeKey).to.equal("POST /aggregates/{id}/events");
    expect(event).to.include({
      version: "2.0",
      routeKey,
      rawPath: "/aggregates/order%201/events",
      rawQueryString: "x=1&x=2&y=a%20b",
      isBase64Encoded: false,
      body: '{"type":"OrderPlaced"}',
    });
    expect(event.pathParameters).to.deep.equal({ id: "order 1" });
    expect(event.queryStringParameters).to.deep.equal({ x: "1,2", y: "a b" });
    expect(event.cookies).to.deep.equal(["s=1", "t=2"]);
    expect(event.headers).to.include({ "idempotency-key": "k1", "content-type": "application/json; charset=utf-8" });
    expect(event.headers).not.to.have.property("cookie");
    const ctx = event.requestContext;
    expect(ctx).to.include({ accountId: "111111111111", apiId: "abc123", routeKey, stage: "$default", requestId: res.headers.get("apigw-requestid") });
    expect(ctx.http).to.include({ method: "POST", path: "/aggregates/order%201/events", protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test-agent" });
    expect(ctx.time).to.match(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(ctx.timeEpoch).to.be.a("number");
  });

  it("lower-cases header names and comma-joins repeats", async () => {
    expect(await rawRequest(`${api.url}aggregates/a1`, { "X-Multi": ["one", "two"] })).to.equal(202);
    expect(seen[0].event.headers["x-multi"]).to.equal("one,two");
    expect(seen[0].event).not.to.have.property("queryStringParameters");
    expect(seen[0].event).not.to.have.property("body");
  });

  it("prefers the most specific route, and binds greedy parameters", async () => {
    await fetch(`${api.url}aggregates/special`);
    await fetch(`${api.url}aggregates/other`);
    await fetch(`${api.url}files/a/b/c.bin`, { method: "DELETE" });
    expect(seen.map((s) => s.routeKey)).to.deep.equal(["GET /aggregates/special", "GET /aggregates/{id}", "ANY /files/{path+}"]);
    expect(seen[1].event.pathParameters).to.deep.equal({ id: "other" });
    expect(seen[2].event.pathParameters).to.deep.equal({ path: "a/b/c.bin" });
  });

  it("passes binary bodies base64-encoded and decodes a base64 answer", async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
    const res = await fetch(`${api.url}files/x.bin`, { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: bytes });
    expect(res.status).to.equal(201);
    expect(seen[0].event.isBase64Encoded).to.equal(true);
    expect(Buffer.from(seen[0].event.body!, "base64").equals(bytes)).to.equal(true);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).to.equal(true);
  });

  it("sends what no route matches to $default", async () => {
    const res = await fetch(`${api.url}nowhere?q=1`, { method: "PATCH" });
    expect(res.status).to.equal(202);
    expect(seen[0].routeKey).to.equal("$default");
    expect(seen[0].event.requestContext.routeKey).to.equal("$default");
    expect(seen[0].event).not.to.have.property("pathParameters");
  });

  it("answers 500 Internal Server Error when the handler throws", async () => {
    const res = await fetch(`${api.url}boom`);
    expect(res.status).to.equal(500);
    expect(await res.json()).to.deep.equal({ message: "Internal Server Error" });
  });

  it("answers 200 application/json with the value when the handler returns no statusCode", async () => {
    const res = await fetch(`${api.url}plain`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.equal("application/json");
    expect(await res.json()).to.deep.equal({ ok: true });
  });

  it("answers 413 above 10 MB without invoking the handler", async () => {
    const res = await fetch(`${api.url}aggregates/a1/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
    });
    expect(res.status).to.equal(413);
    expect(await res.json()).to.deep.equal({ message: "Request Entity Too Large" });
    expect(seen).to.have.length(0);
    const ok = await fetch(`${api.url}aggregates/a1/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.alloc(1024, 0x20),
    });
    expect(ok.status).to.equal(202);
  });

  it("counts requests by status", async () => {
    const before = api.stats();
    await fetch(`${api.url}boom`);
    await fetch(`${api.url}aggregates/a1`);
    const after = api.stats();
    expect(after.requests - before.requests).to.equal(2);
    expect((after.byStatus[500] ?? 0) - (before.byStatus[500] ?? 0)).to.equal(1);
    expect((after.byStatus[202] ?? 0) - (before.byStatus[202] ?? 0)).to.equal(1);
  });
});

describe("local HTTP API without $default", () => {
  it("answers 404 Not Found like API Gateway and invokes nothing; stop() closes the port", async () => {
    const { api, seen } = await serve(ROUTES);
    const res = await fetch(`${api.url}nowhere`);
    expect(res.status).to.equal(404);
    expect(await res.json()).to.deep.equal({ message: "Not Found" });
    const wrongMethod = await fetch(`${api.url}aggregates/a1`, { method: "DELETE" });
    expect(wrongMethod.status).to.equal(404);
    expect(seen).to.have.length(0);
    await api.stop();
    let refused = false;
    try {
      await fetch(`${api.url}aggregates/a1`);
    } catch {
      refused = true;
    }
    expect(refused, "the port is closed after stop()").to.equal(true);
  });
});

describe("local HTTP API: 5xx logged with request ids, and a stop that answers what is in flight", () => {
  it("logs every 5xx with its request id, route and cause (the function's request id too)", async () => {
    const entries: Record<string, unknown>[] = [];
    const api = await startHttpApi({
      routes: ["GET /fail", "GET /slow", "GET /503"],
      timeoutMs: 200,
      log: (e) => entries.push(e),
      invoke: async (routeKey) => {
        if (routeKey === "GET /fail") throw Object.assign(new Error("Task timed out after 1.00 seconds"), { name: "Sandbox.Timedout", requestId: "req-fn-1" });
        if (routeKey === "GET /503") return { statusCode: 503, body: "{}" };
        return new Promise(() => undefined);
      },
    });
    const fail = await fetch(`${api.url}fail`);
    const slow = await fetch(`${api.url}slow`);
    const own = await fetch(`${api.url}503`);
    expect([fail.status, slow.status, own.status]).to.deep.equal([500, 503, 503]);
    expect(entries).to.deep.equal([
      {
        event: "5xx",
        status: 500,
        requestId: fail.headers.get("apigw-requestid"),
        routeKey: "GET /fail",
        cause: "Sandbox.Timedout: Task timed out after 1.00 seconds",
        functionRequestId: "req-fn-1",
      },
      { event: "5xx", status: 503, requestId: slow.headers.get("apigw-requestid"), routeKey: "GET /slow", cause: "integration timeout after 200 ms" },
      { event: "5xx", status: 503, requestId: own.headers.get("apigw-requestid"), routeKey: "GET /503", cause: "the function answered a 5xx" },
    ]);
    await api.stop();
  });

  it("stop() answers the requests in flight before it closes", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered = false;
    const api = await startHttpApi({
      routes: ["POST /w"],
      invoke: async () => {
        entered = true;
        await gate;
        return { statusCode: 202, body: '{"ok":true}' };
      },
    });
    const inFlight = fetch(`${api.url}w`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    while (!entered) await new Promise((r) => setTimeout(r, 10));
    const stopped = api.stop();
    setTimeout(release, 100);
    expect((await inFlight).status).to.equal(202);
    await stopped;
  });
});
