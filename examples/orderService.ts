/**
 * A worked example: an Express service that writes orders with the producer
 * library instead of the command API, with the same envelope, validation
 * (the domain's schemas) and Idempotency-Key rule, and reads them back with
 * the same visibility contract. Runs against the local cloud (`npm start` in
 * another terminal: it reads the endpoints and names from
 * `.local-cloud/current.json`) or, with STREAM_NAME and TABLE_NAME set, on AWS.
 *
 *   npm run example:orders [-- --port 8080]
 *   curl -X POST localhost:8080/orders/o-1/events -H 'content-type: application/json' -H 'idempotency-key: k1' \
 *        -d '{"type":"OrderPlaced","data":{"customerId":"c-1","lines":[{"sku":"A","quantity":1,"unitPriceCents":250}]}}'
 *   curl 'localhost:8080/orders/o-1?minPosition=<position from the answer>'
 */
import * as fs from "fs";
import { cliOptions, usageError } from "../local/shared/cliOptions";
import express from "express";
import { validate } from "../domain";
import { createProducer, rejectionOf } from "../handlers/producer";
import { dynamoClient, kinesisClient } from "../handlers/shared/clients";
import { CURRENT_FILE } from "../local/shared/runningCloud";

const NAME = "npm run example:orders";
const values = cliOptions(NAME, `usage: ${NAME} -- [--port N (default 8080)] [--help]: STREAM_NAME and TABLE_NAME, or a running local cloud`, {
  port: { type: "string", default: "8080" },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) usageError(NAME, `--port must be 1–65535, got ${values.port}`);

/** The stream and table: from the environment on AWS, else from the running local cloud (whose endpoints the SDK then uses). */
function target(): { streamName: string; tableName: string } {
  if (process.env.STREAM_NAME && process.env.TABLE_NAME) return { streamName: process.env.STREAM_NAME, tableName: process.env.TABLE_NAME };
  if (!fs.existsSync(CURRENT_FILE)) throw new Error(`set STREAM_NAME and TABLE_NAME, or start the local cloud (npm start): ${CURRENT_FILE} is missing`);
  const cloud = JSON.parse(fs.readFileSync(CURRENT_FILE, "utf8"));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_KINESIS: cloud.endpoints.kinesis,
    AWS_ENDPOINT_URL_DYNAMODB: cloud.endpoints.dynamodb,
    AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
    // The local identity convention: the access key id names the account.
    AWS_ACCESS_KEY_ID: "111111111111",
    AWS_SECRET_ACCESS_KEY: "local",
  });
  return { streamName: cloud.producer.eventStreamName, tableName: cloud.producer.readModelTableName };
}

const { streamName, tableName } = target();
// One producer per process. `batching: { lingerMs: 10 }` trades ≤10 ms per write for one PutRecords call per 500.
const producer = createProducer({ kinesis: kinesisClient(), dynamodb: dynamoClient(), streamName, tableName, validate });

const app = express();
// express.json() keeps the last of duplicate keys; the API refuses them. A service that takes JSON from strangers should parse as the API does.
app.use(express.json({ limit: "64kb" }));

app.post("/orders/:id/events", async (req, res) => {
  try {
    const key = req.header("idempotency-key");
    const appended = await producer.append(req.params.id, req.body?.type, req.body?.data, key ? { idempotencyKey: key } : {});
    res.status(202).json({ ...appended, poll: `/orders/${req.params.id}?minPosition=${appended.position}` });
  } catch (err) {
    const rejection = rejectionOf(err);
    if (rejection) res.status(rejection.status).json({ error: { code: rejection.code, message: rejection.message } });
    else
      res
        .status(503)
        .set("retry-after", "1")
        .json({ error: { code: "Unavailable", message: "the write may not have happened: retry with the same Idempotency-Key" } });
  }
});

app.get("/orders/:id", async (req, res) => {
  const minPosition = typeof req.query.minPosition === "string" ? req.query.minPosition : undefined;
  try {
    const seen = await producer.read(req.params.id, { minPosition });
    if (!seen.found || seen.deleted) res.status(404).json({ visible: false, ...(seen.found ? { deleted: true } : {}) });
    else
      res.json({
        state: seen.view.state ?? null,
        version: seen.view.version,
        position: seen.view.position,
        visible: seen.visible,
        parked: seen.view.parked,
        ...(seen.rejected ? { rejected: seen.rejected } : {}),
      });
  } catch (err) {
    res.status(400).json({ error: { code: "BadRequest", message: (err as Error).message } });
  }
});

app.listen(port, "127.0.0.1", () => console.log(`order service on http://127.0.0.1:${port}/ (stream ${streamName}, table ${tableName})`));
