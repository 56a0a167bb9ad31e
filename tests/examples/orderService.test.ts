/**
 * The README's worked example (examples/orderService.ts) as a user runs it:
 * its own process, an Express service writing through the producer library
 * to the emulators' stream and reading the read model back; a bad command is
 * refused with the API's codes, a retry keeps its eventId.
 */
import { expect } from "chai";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { freePort } from "../../local/emulators/emulators";
import { createStream, createTable, readStream, testDynamo, testKinesis, uniqueName } from "../support/aws";

describe("examples/orderService.ts (the README's Express service)", function () {
  this.timeout(120_000);
  let child: ChildProcess;
  let url: string;
  let stream: string;
  before(async () => {
    stream = uniqueName("example-stream");
    const table = uniqueName("example-table");
    await createStream(testKinesis(), stream);
    await createTable(testDynamo(), table);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join("examples", "orderService.ts"), "--port", String(port)], {
      env: { ...process.env, STREAM_NAME: stream, TABLE_NAME: table },
      stdio: ["ignore", "pipe", "pipe"],
    });
    await new Promise<void>((resolve, reject) => {
      let err = "";
      child.stderr!.on("data", (d) => (err += d));
      child.stdout!.on("data", (d) => String(d).includes("order service on") && resolve());
      child.on("exit", (code) => reject(new Error(`example exited ${code}: ${err}`)));
    });
  });
  after(() => {
    child?.kill();
  });

  const post = (body: unknown, key?: string) =>
    fetch(`${url}/orders/o-1/events`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { "idempotency-key": key } : {}) },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  it("appends, refuses a bad command with the API's code, keeps the eventId on retry, and reads back by position", async () => {
    const order = { type: "OrderPlaced", data: { customerId: "c-1", lines: [{ sku: "A", quantity: 1, unitPriceCents: 250 }] } };
    const first = await post(order, "k1");
    expect(first.status).to.equal(202);
    expect(first.body.eventId).to.match(/^idem-/);
    const retry = await post(order, "k1");
    expect(retry.body.eventId).to.equal(first.body.eventId);
    const bad = await post({ type: "OrderPlaced", data: { customerId: "c-1", lines: "nope" } });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.message).to.match(/OrderPlaced data\.lines/);
    expect(await readStream(testKinesis(), stream)).to.have.length(2);
    const poll = await fetch(`${url}${first.body.poll}`);
    expect(poll.status).to.equal(404); // nothing projects here: the read model is empty, as a poller sees it before the projector
    expect(((await poll.json()) as any).visible).to.equal(false);
  });
});
