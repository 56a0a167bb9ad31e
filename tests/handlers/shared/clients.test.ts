/**
 * The handlers' SDK clients give up on a request that hangs after its
 * timeout, as the API's time budget counts on (a server that accepts and never
 * answers; the SDK's HTTP/1.1 handler only warns on `requestTimeout` unless
 * told to throw).
 */
import { expect } from "chai";
import * as net from "net";
import { PutRecordCommand } from "@aws-sdk/client-kinesis";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { dynamoClient, kinesisClient } from "../../../handlers/shared/clients";

describe("handler SDK clients: request timeouts", function () {
  this.timeout(30_000);
  let server: net.Server;
  let url: string;
  const sockets: net.Socket[] = [];
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    server = net.createServer((s) => sockets.push(s)); // accepts, reads, never answers
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    for (const k of ["AWS_ENDPOINT_URL_KINESIS", "AWS_ENDPOINT_URL_DYNAMODB"]) {
      saved[k] = process.env[k];
      process.env[k] = url;
    }
  });
  after(async () => {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => server.close(r));
  });

  async function failsWithin(ms: number, call: () => Promise<unknown>): Promise<Error> {
    const started = Date.now();
    const outcome = await Promise.race([
      call().then(
        () => new Error("answered"),
        (err: Error) => err,
      ),
      new Promise<Error>((r) => setTimeout(() => r(new Error(`still waiting after ${ms} ms`)), ms)),
    ]);
    expect(outcome.message, "the request gave up").to.not.match(/^still waiting|^answered/);
    expect(Date.now() - started).to.be.below(ms);
    return outcome;
  }

  it("Kinesis: a hung PutRecord fails with TimeoutError after requestTimeoutMs", async () => {
    const kinesis = kinesisClient({ requestTimeoutMs: 300, maxAttempts: 1 });
    const err = await failsWithin(5000, () => kinesis.send(new PutRecordCommand({ StreamName: "s", PartitionKey: "k", Data: Buffer.from("{}") })));
    expect(err.name).to.equal("TimeoutError");
  });

  it("DynamoDB: a hung GetItem fails with TimeoutError after requestTimeoutMs", async () => {
    const dynamo = dynamoClient({ requestTimeoutMs: 300, maxAttempts: 1 });
    const err = await failsWithin(5000, () => dynamo.send(new GetItemCommand({ TableName: "t", Key: { id: { S: "x" } } })));
    expect(err.name).to.equal("TimeoutError");
  });
});
