/**
 * One cold start, in a fresh process: load the archive's `__index.js` as
 * local/deploy/artifacts.ts loadHandler does (the factory runs at load), then serve
 * one event. Prints {loadMs, firstEventMs} as JSON. Run by bench/artifacts.ts.
 *
 *   node -r ts-node/register/transpile-only bench/coldStartChild.ts <dir> <function> '<env json>'
 */
import { loadHandler } from "../local/deploy/artifacts";

function kinesisEvent(aggregateId: string) {
  const envelope = {
    eventId: `01JCOLD${Date.now()}${process.pid}`,
    aggregateId,
    type: "OrderPlaced",
    occurredAt: new Date().toISOString(),
    schemaVersion: 1,
    data: { customerId: "c-1", lines: [{ sku: "A", quantity: 1, unitPriceCents: 100 }] },
  };
  return {
    Records: [
      {
        awsRegion: "us-east-1",
        eventID: `shardId-000000000000:4959${String(Date.now()).padStart(52, "0")}`,
        eventName: "aws:kinesis:record",
        eventSource: "aws:kinesis",
        eventSourceARN: "arn:aws:kinesis:us-east-1:111111111111:stream/orders",
        eventVersion: "1.0",
        invokeIdentityArn: "arn:aws:iam::111111111111:role/x",
        kinesis: {
          kinesisSchemaVersion: "1.0",
          partitionKey: aggregateId,
          sequenceNumber: `4959${String(Date.now()).padStart(52, "0")}`,
          data: Buffer.from(JSON.stringify(envelope)).toString("base64"),
          approximateArrivalTimestamp: Date.now() / 1000,
        },
      },
    ],
  };
}

function httpGet(id: string) {
  return {
    version: "2.0",
    routeKey: "GET /aggregates/{id}",
    rawPath: `/aggregates/${id}`,
    rawQueryString: "",
    headers: {},
    isBase64Encoded: false,
    pathParameters: { id },
    requestContext: {
      requestId: `cold-${process.pid}`,
      http: { method: "GET", path: `/aggregates/${id}` },
      // As API Gateway passes it after verifying a SigV4 signature: the API's default mode is iam.
      authorizer: {
        iam: {
          accessKey: "ASIAEXAMPLE",
          accountId: "111111111111",
          callerId: "AROAEXAMPLE:bench",
          userArn: "arn:aws:sts::111111111111:assumed-role/bench/cold",
          userId: "AROAEXAMPLE:bench",
        },
      },
    },
  };
}

async function main() {
  const [dir, fn, envJson] = process.argv.slice(2);
  const env = JSON.parse(envJson) as Record<string, string>;
  const id = `cold-${process.pid}-${Date.now().toString(36)}`;
  const event = fn === "commands-handler" ? httpGet(id) : kinesisEvent(id);
  const t0 = process.hrtime.bigint();
  const handler = loadHandler({ dir, files: ["__index.js"], packages: [], zipBytes: 0 }, env);
  const t1 = process.hrtime.bigint();
  const result = await handler(event);
  const t2 = process.hrtime.bigint();
  if (fn !== "noop" && fn !== "commands-handler" && (result as { batchItemFailures: unknown[] }).batchItemFailures.length)
    throw new Error(`${fn} failed its first event: ${JSON.stringify(result)}`);
  if (fn === "commands-handler" && ![200, 404].includes((result as { statusCode: number }).statusCode))
    throw new Error(`API answered ${JSON.stringify(result)}`);
  console.log(JSON.stringify({ loadMs: Number(t1 - t0) / 1e6, firstEventMs: Number(t2 - t1) / 1e6 }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
