/**
 * The handlers' SDK clients give up on a request that hangs after its
 * timeout, as the API's time budget counts on (a server that accepts and never
 * answers; the SDK's HTTP/1.1 handler only warns on `requestTimeout` unless
 * told to throw); and each resolves its middleware once per command class
 * (the SDK's cacheMiddleware) while still seeing middleware changed later.
 */
import { expect } from "chai";
import * as net from "net";
import { PutRecordCommand } from "@aws-sdk/client-kinesis";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { dynamoClient, kinesisClient } from "../../../handlers/shared/clients";
import { ensureTable, stringKeys } from "../../../local/deploy/emulatorResources";
import { countRequests, injectFaults, serviceError } from "../../../local/shared/sdkMiddleware";

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

describe("handler SDK clients: the resolved middleware is cached per command class", function () {
  this.timeout(30_000);
  const table = `clients-cache-${process.pid}`;
  const failure = (p: Promise<unknown>): Promise<Error | undefined> =>
    p.then(
      () => undefined,
      (e: Error) => e,
    );
  const get = (client: DynamoDBClient) => client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "x" } } }));

  before(async () => ensureTable(dynamoClient(), table, stringKeys("pk")));

  it("resolves the stack once for repeated requests of one command", async () => {
    const client = dynamoClient();
    const proto = GetItemCommand.prototype as unknown as { resolveMiddleware: (...args: unknown[]) => unknown };
    const original = proto.resolveMiddleware;
    let resolved = 0;
    proto.resolveMiddleware = function (this: unknown, ...args: unknown[]) {
      resolved += 1;
      return original.apply(this, args);
    };
    try {
      for (let i = 0; i < 3; i++) await get(client);
    } finally {
      delete (proto as { resolveMiddleware?: unknown }).resolveMiddleware;
    }
    expect(client.config.cacheMiddleware).to.equal(true);
    expect(resolved).to.equal(1);
  });

  it("still sees middleware added after the first request (counters, faults)", async () => {
    const client = dynamoClient();
    await get(client);
    const counts = countRequests(client);
    await get(client);
    expect(counts).to.deep.equal({ GetItemCommand: 1 });
    injectFaults(client, () => serviceError("InjectedFault", 500));
    expect((await failure(get(client)))?.name).to.equal("InjectedFault");
  });

  it("and middleware removed after the first request is gone", async () => {
    const client = dynamoClient();
    client.middlewareStack.add(() => () => Promise.reject(serviceError("Removed", 500)), { step: "initialize", name: "failAll" });
    expect((await failure(get(client)))?.name).to.equal("Removed");
    client.middlewareStack.remove("failAll");
    expect(await get(client)).to.not.have.property("Item");
  });
});
