/**
 * CPU per request of the handlers' SDK clients outside the network: a conditional PutItem and a
 * consistent GetItem through a real DynamoDBClient over the in-process transport (cost/inProcess.ts),
 * with the middleware resolved once per command class (handlers/shared/clients.ts cachingMiddleware,
 * as every client the handlers build) beside the same client resolving it on every request (the SDK's
 * default), alternating in rounds so both see the same machine.
 *
 *   node --single-threaded -r ts-node/register/transpile-only bench/sdkRequest.ts [requests] [rounds]
 */
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { inProcessDynamo } from "./cost/inProcess";
import { cpuMicros } from "./fakes";
import { median } from "./stats";

async function perRequest(cache: boolean, n: number): Promise<number> {
  const { client } = inProcessDynamo();
  client.config.cacheMiddleware = cache;
  const us = await cpuMicros(async () => {
    for (let i = 0; i < n; i += 2) {
      const pk = { S: `order-${i % 100}` };
      await client.send(new PutItemCommand({ TableName: "t", Item: { pk, version: { N: String(i) } }, ConditionExpression: "attribute_not_exists(pk)" }));
      await client.send(new GetItemCommand({ TableName: "t", Key: { pk }, ConsistentRead: true }));
    }
  });
  return us / n;
}

/** CPU µs per request with and without the cached middleware: the medians of `rounds` alternating rounds, and the median of their ratios. */
export async function sdkRequestCpu(n: number, rounds: number): Promise<{ cachedUs: number; uncachedUs: number; ratio: number }> {
  await perRequest(false, n);
  await perRequest(true, n);
  const runs: { cached: number; uncached: number }[] = [];
  for (let r = 0; r < rounds; r++) runs.push({ uncached: await perRequest(false, n), cached: await perRequest(true, n) });
  return {
    cachedUs: median(runs.map((r) => r.cached)),
    uncachedUs: median(runs.map((r) => r.uncached)),
    ratio: median(runs.map((r) => r.cached / r.uncached)),
  };
}

if (require.main === module) {
  const [n, rounds] = process.argv.slice(2).map(Number);
  sdkRequestCpu(n || 6000, rounds || 5).then(
    (r) =>
      console.log(
        `DynamoDB request CPU: cached middleware ${r.cachedUs.toFixed(1)} µs, resolved per request ${r.uncachedUs.toFixed(1)} µs, × ${r.ratio.toFixed(2)}`,
      ),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
