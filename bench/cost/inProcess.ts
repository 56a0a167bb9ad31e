/**
 * Real SDK clients (the handlers' own DynamoDBClient and KinesisClient, with
 * their serialisation, signing, middleware and parsing) whose HTTP transport
 * answers in this process from the in-memory stores of fakes.ts. CPU measured
 * through them is what a Lambda spends per request outside the network; the
 * latency model (latencyModel.ts, SDK middleware) adds the network back.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { cachingMiddleware } from "../../handlers/shared/clients";
import { fakeDynamo, fakeKinesis } from "../fakes";

type Answer = (name: string, input: any) => any;

/** An SDK request handler for the AWS JSON protocols (DynamoDB 1.0, Kinesis 1.1) over `answer`. */
function jsonHandler(answer: Answer, contentType: string) {
  return {
    async handle(request: { headers: Record<string, string>; body?: string | Uint8Array }) {
      const target = request.headers["x-amz-target"] ?? request.headers["X-Amz-Target"];
      const operation = target.slice(target.indexOf(".") + 1);
      const body = typeof request.body === "string" ? request.body : new TextDecoder().decode(request.body ?? new Uint8Array());
      const out = answer(`${operation}Command`, body === "" ? {} : JSON.parse(body));
      return { response: { statusCode: 200, headers: { "content-type": contentType }, body: Buffer.from(JSON.stringify(out)) } };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  };
}

const SETTINGS = {
  region: "us-east-1",
  credentials: { accessKeyId: "111111111111", secretAccessKey: "local" },
  endpoint: "http://in-process.invalid",
  maxAttempts: 1,
};

/** A DynamoDBClient over a fresh in-memory store (also usable directly, without the SDK, as `store`); `store.counts` are its requests by command. */
export function inProcessDynamo(): { client: DynamoDBClient; store: ReturnType<typeof fakeDynamo> } {
  const store = fakeDynamo();
  const client = cachingMiddleware(new DynamoDBClient({ ...SETTINGS, requestHandler: jsonHandler(store.answer, "application/x-amz-json-1.0") as any }));
  return { client, store };
}

/** A KinesisClient that acknowledges every record. */
export function inProcessKinesis(): KinesisClient {
  const store = fakeKinesis();
  // Kinesis answers Data as base64 in JSON; the store ignores it.
  return cachingMiddleware(new KinesisClient({ ...SETTINGS, requestHandler: jsonHandler(store.answer, "application/x-amz-json-1.1") as any }));
}
