/**
 * A web page open on this machine cannot use the local cloud's emulators or
 * services (local/shared/browserGuard.ts): each answers a request that a
 * browser marks as a page's (Origin, Sec-Fetch-Site) with 403 and does
 * nothing, where the emulators alone answer CORS with `*` and take any
 * signature. Programs (the SDK, Node's fetch) are served as before, and the
 * HTTP API, whose CORS is a setting, still serves browsers.
 */
import { expect } from "chai";
import * as fs from "fs";
import { startDynalite, startKinesisLocal } from "../../../local/emulators/emulators";
import { startS3 } from "../../../local/emulators/s3";
import { startInvokeApi } from "../../../local/lambda/invokeApi";
import { startLoopbackServer } from "../../../local/shared/loopback";

const SIGNED = {
  authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/us-east-1/service/aws4_request, SignedHeaders=host, Signature=0",
  "x-amz-date": "20261203T060000Z",
};
const PAGE: Record<string, string>[] = [{ origin: "http://evil.example" }, { "sec-fetch-site": "cross-site" }];

async function status(url: string, headers: Record<string, string>, body = "{}", method = "POST"): Promise<number> {
  return (await fetch(url, { method, headers: { ...SIGNED, ...headers }, body: method === "GET" ? undefined : body })).status;
}

describe("the local cloud's emulators and services refuse web pages", function () {
  this.timeout(120_000);

  it("kinesis-local: a page's CreateStream is refused and creates nothing; the SDK's goes through", async () => {
    const k = await startKinesisLocal();
    try {
      const call = (target: string, body: object, page: Record<string, string> = {}) =>
        status(k.endpoint, { ...page, "content-type": "application/x-amz-json-1.1", "x-amz-target": `Kinesis_20131202.${target}` }, JSON.stringify(body));
      for (const page of PAGE) expect(await call("CreateStream", { StreamName: "from-a-page", ShardCount: 1 }, page)).to.equal(403);
      const listed = await fetch(k.endpoint, {
        method: "POST",
        headers: { ...SIGNED, "content-type": "application/x-amz-json-1.1", "x-amz-target": "Kinesis_20131202.ListStreams" },
        body: "{}",
      });
      expect(((await listed.json()) as { StreamNames: string[] }).StreamNames).to.not.include("from-a-page");
    } finally {
      await k.close();
    }
  });

  it("dynalite: a page's CreateTable is refused and creates nothing", async () => {
    const d = await startDynalite();
    try {
      const call = (target: string, body: object, page: Record<string, string> = {}) =>
        status(d.endpoint, { ...page, "content-type": "application/x-amz-json-1.0", "x-amz-target": `DynamoDB_20120810.${target}` }, JSON.stringify(body));
      const table = {
        TableName: "from-a-page",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      };
      for (const page of PAGE) expect(await call("CreateTable", table, page)).to.equal(403);
      expect(await call("DescribeTable", { TableName: "from-a-page" })).to.equal(400); // ResourceNotFoundException
    } finally {
      await d.close();
    }
  });

  it("s3rver: a page's CreateBucket is refused and creates nothing", async () => {
    const s3 = await startS3();
    try {
      for (const page of PAGE) expect(await status(`${s3.endpoint}/from-a-page`, page, "", "PUT")).to.equal(403);
      expect(fs.readdirSync(s3.directory)).to.not.include("from-a-page");
    } finally {
      await s3.stop();
    }
  });

  it("the Lambda Invoke API refuses a page's text/plain POST (sent without a preflight), and serves a program's", async () => {
    let invoked = 0;
    const api = await startInvokeApi({
      functions: () => [{ functionName: "commands-handler", arn: "arn:aws:lambda:eu-west-1:111111111111:function:commands-handler" } as never],
      invoke: async () => ({ ok: ++invoked }),
    });
    try {
      const url = `${api.endpoint}/2015-03-31/functions/commands-handler/invocations`;
      expect(await status(url, { "content-type": "text/plain", origin: "http://evil.example" })).to.equal(403);
      expect(invoked).to.equal(0);
      expect(await status(url, { "content-type": "application/json" })).to.equal(200);
      expect(invoked).to.equal(1);
    } finally {
      await api.stop();
    }
  });

  it("a service that serves browsers (the HTTP API) is told so, and answers a page", async () => {
    const open = await startLoopbackServer({ maxBodyBytes: 1024, browsers: true, handle: (_req, _body, res) => void res.end("ok") });
    try {
      expect(await status(open.endpoint, { origin: "http://shop.example" })).to.equal(200);
    } finally {
      await open.stop();
    }
  });
});
