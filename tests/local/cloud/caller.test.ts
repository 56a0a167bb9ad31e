/**
 * The local API's client (apiCaller) answers as fetch does: the status, every
 * header (repeated ones too), the body as text or JSON, no body where the
 * status has none; it sends the method, headers and body as given, over one
 * kept-alive connection, and rejects when the server cannot be reached.
 */
import { expect } from "chai";
import * as http from "http";
import * as net from "net";
import { apiCaller } from "../../../local/cloud/caller";
import { StackManifest } from "../../../local/shared/manifest";

describe("local API client (apiCaller)", () => {
  let server: http.Server;
  let url: string;
  const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string; socket: net.Socket }[] = [];
  const producer = { outputs: { apiAuth: "none" } } as unknown as StackManifest;

  before(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body, socket: req.socket });
        if (req.url === "/empty") {
          res.writeHead(204, { "x-empty": "yes" });
          return res.end();
        }
        if (req.url === "/missing") {
          res.writeHead(404, { "content-type": "text/plain" });
          return res.end("no such thing");
        }
        res.writeHead(202, [
          ["content-type", "application/json"],
          ["location", "/aggregates/a?minPosition=1"],
          ["set-cookie", "a=1"],
          ["set-cookie", "b=2"],
        ]);
        res.end(JSON.stringify({ echoed: body }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("sends the method, headers and body, and answers with the status, every header and the JSON body", async () => {
    const call = apiCaller({ apiUrl: url, region: "us-east-1", producer: () => producer });
    const res = await call("aggregates/a/events", { method: "POST", headers: { "content-type": "application/json", "idempotency-key": "k" }, body: '{"x":1}' });
    expect(res.status).to.equal(202);
    expect(res.headers.get("location")).to.equal("/aggregates/a?minPosition=1");
    expect(res.headers.getSetCookie()).to.deep.equal(["a=1", "b=2"]);
    expect(await res.json()).to.deep.equal({ echoed: '{"x":1}' });
    const request = seen[seen.length - 1];
    expect(request).to.include({ method: "POST", url: "/aggregates/a/events", body: '{"x":1}' });
    expect(request.headers).to.include({ "content-type": "application/json", "idempotency-key": "k", "content-length": "7" });
    expect(request.headers).to.not.have.property("transfer-encoding");
  });

  it("answers a status without a body with none, an error status with its text, and reuses one connection", async () => {
    const call = apiCaller({ apiUrl: url, region: "us-east-1", producer: () => producer });
    const before = seen.length;
    const empty = await call("empty");
    expect(empty.status).to.equal(204);
    expect(empty.headers.get("x-empty")).to.equal("yes");
    expect(empty.body).to.equal(null);
    const missing = await call("/missing");
    expect(missing.status).to.equal(404);
    expect(await missing.text()).to.equal("no such thing");
    expect(seen[before].method).to.equal("GET");
    expect(seen[before + 1].socket).to.equal(seen[before].socket);
  });

  it("rejects when nothing listens", async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const call = apiCaller({ apiUrl: `http://127.0.0.1:${closed}/`, region: "us-east-1", producer: () => producer });
    const err = await call("x").then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err, "the call rejected").to.be.instanceOf(Error);
  });
});
