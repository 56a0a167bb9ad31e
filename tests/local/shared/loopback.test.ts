/**
 * The loopback server every local service runs on: a free port, the whole
 * body handed over, a bounded read answered by `onTooLarge` (413 by default),
 * a failing handler answered 500, and a stop() that does not wait for
 * keep-alive connections.
 */
import { expect } from "chai";
import * as http from "http";
import { LoopbackServer, startLoopbackServer } from "../../../local/shared/loopback";

function post(url: string, body: Buffer | string, agent?: http.Agent): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent: agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("loopback server (startLoopbackServer)", () => {
  const started: LoopbackServer[] = [];
  after(async () => {
    await Promise.all(started.map((s) => s.stop()));
  });
  const start = async (options: Parameters<typeof startLoopbackServer>[0]) => {
    const server = await startLoopbackServer(options);
    started.push(server);
    return server;
  };

  it("listens on a free 127.0.0.1 port and hands the handler the whole body", async () => {
    const server = await start({
      maxBodyBytes: 1024,
      handle: (_req, body, res) => {
        res.writeHead(200);
        res.end(`got ${body.length}: ${body.toString("utf8")}`);
      },
    });
    expect(server.endpoint).to.equal(`http://127.0.0.1:${server.port}`);
    expect(await post(server.endpoint, "hello")).to.deep.equal({ status: 200, text: "got 5: hello" });
  });

  it("answers a body over the bound with onTooLarge, or 413 by default, without calling the handler", async () => {
    let handled = 0;
    const handle = (_req: http.IncomingMessage, _body: Buffer, res: http.ServerResponse) => {
      handled += 1;
      res.end();
    };
    const plain = await start({ maxBodyBytes: 4, handle });
    expect(await post(plain.endpoint, "12345")).to.deep.equal({ status: 413, text: "request body over 4 bytes" });
    const custom = await start({
      maxBodyBytes: 4,
      onTooLarge: (_req, res) => {
        res.writeHead(400);
        res.end("too big");
      },
      handle,
    });
    expect(await post(custom.endpoint, "12345")).to.deep.equal({ status: 400, text: "too big" });
    expect(await post(custom.endpoint, "1234")).to.include({ status: 200 });
    expect(handled).to.equal(1);
  });

  it("answers 500 when the handler throws or rejects", async () => {
    const server = await start({
      maxBodyBytes: 16,
      handle: async (_req, body) => {
        throw new Error(`bad ${body.toString("utf8")}`);
      },
    });
    expect(await post(server.endpoint, "x")).to.deep.equal({ status: 500, text: "local service failed: bad x" });
  });

  it("stops at once with a keep-alive connection open, and the port is closed after", async () => {
    const server = await startLoopbackServer({
      maxBodyBytes: 16,
      handle: (_req, _body, res) => {
        res.end("ok");
      },
    });
    const agent = new http.Agent({ keepAlive: true });
    expect(await post(server.endpoint, "", agent)).to.include({ status: 200 });
    await server.stop();
    await server.stop();
    const refused = await post(server.endpoint, "").then(
      () => undefined,
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect(refused).to.be.oneOf(["ECONNREFUSED", "ECONNRESET"]);
    agent.destroy();
  });

  it("refuses a bad maxBodyBytes, naming it", async () => {
    const err = await startLoopbackServer({ maxBodyBytes: -1, handle: () => undefined }).catch((e: Error) => e);
    expect((err as Error).message).to.equal("startLoopbackServer: maxBodyBytes must be a whole number ≥ 0, got -1");
  });
});
