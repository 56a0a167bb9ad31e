/**
 * The hostile commands of issue 10 through the local HTTP API and the real
 * command handler, over HTTP: each answers 400 naming the problem and
 * nothing reaches the stream. The invalid UTF-8 body is the local API's own
 * part: it is passed base64-encoded (as API Gateway passes binary), never
 * decoded lossily to U+FFFD, so the handler refuses it.
 */
import { expect } from "chai";
import { validate as domainValidate } from "../../../domain";
import { createApi } from "../../../handlers/api";
import { dynamoClient, kinesisClient } from "../../../handlers/shared/clients";
import { HttpApiEventV2, LocalHttpApi, startHttpApi } from "../../../local/apigateway/httpApi";
import { createStream, createTable, readStream, testKinesis, testDynamo, uniqueName } from "../../support/aws";
import { HOSTILE_COMMANDS } from "../../support/hostileCommands";
import type { HttpApiEvent } from "../../../handlers/api/types";

describe("local HTTP API + command handler: hostile commands get a 4xx naming the problem, and nothing is written", function () {
  this.timeout(60_000);
  let api: LocalHttpApi;
  let stream: string;
  const seen: HttpApiEventV2[] = [];
  before(async () => {
    stream = uniqueName("local-hostile");
    const table = uniqueName("local-hostile-rm");
    await createStream(testKinesis(), stream);
    await createTable(testDynamo(), table);
    const handler = createApi({
      kinesis: kinesisClient(),
      dynamodb: dynamoClient(),
      config: { streamName: stream, tableName: table, maxBodyBytes: 65536 },
      validate: domainValidate,
      log: () => {},
    });
    api = await startHttpApi({
      routes: ["POST /aggregates/{id}/events", "GET /aggregates/{id}"],
      invoke: async (_routeKey, event) => {
        seen.push(event);
        return handler(event as unknown as HttpApiEvent);
      },
    });
  });
  after(async () => {
    await api.stop();
  });

  const post = (body: string | Buffer) =>
    fetch(`${api.url}aggregates/o1/events`, { method: "POST", headers: { "content-type": "application/json" }, body }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { error: { code: string; message: string } },
    }));

  for (const c of HOSTILE_COMMANDS) {
    it(`${c.name} → 400 ${c.code}`, async () => {
      const res = await post(c.body);
      expect(res.status, JSON.stringify(res.body)).to.equal(400);
      expect(res.body.error.code).to.equal(c.code);
      expect(res.body.error.message).to.match(c.message);
    });
  }

  it("a body that is not valid UTF-8 (\\xff\\xfe) goes base64-encoded and is refused, not decoded to U+FFFD", async () => {
    seen.length = 0;
    const res = await post(Buffer.from([0xff, 0xfe]));
    expect(seen[0].isBase64Encoded).to.equal(true);
    expect(res.status).to.equal(400);
    expect(res.body.error).to.deep.equal({ code: "InvalidEncoding", message: "body is not valid UTF-8" });
    // Invalid UTF-8 inside an otherwise fine JSON body too.
    const inside = Buffer.concat([Buffer.from('{"type":"OrderPlaced","data":{"customerId":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","lines":[]}}')]);
    expect((await post(inside)).body.error.code).to.equal("InvalidEncoding");
  });

  it("wrote nothing for any of them", async () => {
    expect(await readStream(testKinesis(), stream)).to.deep.equal([]);
  });
});
