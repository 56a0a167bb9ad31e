/**
 * `npm run landing`: the analytics records the running local cloud (`npm start`)
 * has landed in the consumer account's S3 bucket, one JSON line each.
 *
 *   npm run landing                      every landed record
 *   npm run landing -- --aggregate ID    only one aggregate's
 */
import * as zlib from "zlib";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { emulatorS3 } from "../local/emulators/clients";
import { cliOptions } from "../local/shared/cliOptions";
import { runningCloud } from "../local/shared/runningCloud";

const USAGE = `usage: npm run landing -- [--aggregate ID]
  --aggregate ID   only this aggregate's records (default: every landed record)
  --help           this text`;

async function main() {
  const only = cliOptions("npm run landing", USAGE, { aggregate: { type: "string" } }).aggregate;
  // Says "no local cloud is running" for a missing or stale current.json, rather than failing to connect.
  const current = await runningCloud();
  const s3 = emulatorS3({ endpoint: current.endpoints.s3, account: current.consumerAccount });
  let token: string | undefined;
  let printed = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: current.landingBucket, Prefix: "events/", ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const body = await s3.send(new GetObjectCommand({ Bucket: current.landingBucket, Key: o.Key! }));
      const bytes = Buffer.from(await body.Body!.transformToByteArray());
      const text = (o.Key!.endsWith(".gz") ? zlib.gunzipSync(bytes) : bytes).toString("utf8");
      for (const line of text.split("\n").filter(Boolean)) {
        if (only && JSON.parse(line).aggregateId !== only) continue;
        console.log(`s3://${current.landingBucket}/${o.Key}  ${line}`);
        printed += 1;
      }
    }
    token = page.NextContinuationToken;
  } while (token);
  // On stderr, so that the output stays the records alone: nothing landed is an answer, not an error.
  if (printed === 0) console.error(`no landed records${only ? ` for aggregate ${only}` : ""} in s3://${current.landingBucket}/events/ (yet: Firehose buffers)`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
