/**
 * `npx ts-node --transpile-only bench/archive.ts [events]`: the event archive's cost and the rebuild's speed.
 *
 * Archive: events of 200 bytes and 5 KB (JSON envelopes with random payload, so gzip gains
 * what it would on real data, not on padding) delivered to the real archiver in the batches
 * Lambda would build (at most 10,000 records and 6 MB of event JSON), written to s3rver; PUT
 * requests counted by SDK middleware, bytes stored summed from the objects. Scaled to a
 * million events and priced at the S3 Standard / Glacier Instant Retrieval list prices below.
 * Rebuild: the same events (uniform keys over 1,000 aggregates) replayed from the archive
 * into dynalite through the projector, beside the live projector (batch 100, the mapping's
 * default) folding the same records into a fresh table, in the same run.
 */
import { randomBytes } from "crypto";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createArchiver } from "../handlers/archive/archiver";
import { ARCHIVE_PREFIX } from "../handlers/archive/format";
import { rebuildFromArchive } from "../handlers/archive/rebuild";
import { createProjector } from "../handlers/projector";
import type { EventEnvelope } from "../handlers/shared/envelope";
import type { KinesisStreamEvent, KinesisStreamRecord } from "../handlers/shared/kinesisEvent";
import { ensureTable, stringKeys } from "../local/deploy/emulatorResources";
import { emulatorDynamo, emulatorS3 } from "../local/emulators/clients";
import { startDynalite } from "../local/emulators/emulators";
import { startS3 } from "../local/emulators/s3";
import { countRequests } from "../local/shared/sdkMiddleware";
import { benchReduce, lcg, toRecords } from "./workload";

/** us-east-1 list prices (USD): S3 PUT per 1,000 requests, storage per GB-month, lifecycle transition per 1,000 objects. */
const PRICE = { putPer1000: 0.005, standardGbMonth: 0.023, glacierIrGbMonth: 0.004, transitionPer1000: 0.02 };
/** Lambda's synchronous payload limit, which caps a Kinesis batch below its 10,000 records. */
const PAYLOAD_BYTES = 6 * 1024 * 1024;
const quiet = { add: () => undefined, publish: () => undefined };
const noWait = { sleep: async () => undefined, random: () => 0.5 };

/** `n` envelopes of about `bytes` bytes of JSON each over 1,000 aggregates. */
function events(n: number, bytes: number): EventEnvelope[] {
  const rnd = lcg(7);
  return Array.from({ length: n }, (_, i) => {
    const e: EventEnvelope = {
      eventId: `01JARCH${String(i).padStart(19, "0")}`,
      aggregateId: `order-${String(Math.floor(rnd() * 1000)).padStart(6, "0")}`,
      type: "LineAdded",
      occurredAt: "2025-01-01T00:00:00.000Z",
      schemaVersion: 1,
      data: { amountCents: i % 1000, note: "" },
    };
    const room = Math.max(0, bytes - Buffer.byteLength(JSON.stringify(e)));
    (e.data as { note: string }).note = randomBytes(Math.ceil((room * 3) / 4))
      .toString("base64")
      .slice(0, room);
    return e;
  });
}

/** Lambda's batches: up to 10,000 records and 6 MB of event JSON each. */
function lambdaBatches(records: KinesisStreamRecord[]): KinesisStreamEvent[] {
  const out: KinesisStreamEvent[] = [];
  let current: KinesisStreamRecord[] = [];
  let size = 0;
  for (const r of records) {
    const bytes = Buffer.byteLength(JSON.stringify(r)) + 1;
    if (current.length && (current.length === 10_000 || size + bytes > PAYLOAD_BYTES)) {
      out.push({ Records: current });
      current = [];
      size = 0;
    }
    current.push(r);
    size += bytes;
  }
  if (current.length) out.push({ Records: current });
  return out;
}

async function storedBytes(s3: S3Client, bucket: string): Promise<{ objects: number; bytes: number }> {
  let objects = 0;
  let bytes = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      objects++;
      bytes += o.Size ?? 0;
    }
    token = page.NextContinuationToken;
  } while (token);
  return { objects, bytes };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20_000);
  const [dynalite, s3rver] = await Promise.all([startDynalite(), startS3()]);
  const s3 = emulatorS3({ endpoint: s3rver.endpoint });
  const dynamodb = emulatorDynamo({ endpoint: dynalite.endpoint });
  try {
    console.log(`== Archive cost (${n.toLocaleString("en-US")} events each, scaled to 1M; Lambda batches of ≤10,000 records and ≤6 MB) ==`);
    let rebuildRecords: KinesisStreamRecord[] = [];
    let rebuildBucket = "";
    for (const size of [200, 5120]) {
      const bucket = `bench-archive-${size}-${Date.now()}`;
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const counted = emulatorS3({ endpoint: s3rver.endpoint });
      const puts = countRequests(counted);
      const archive = createArchiver({
        s3: counted,
        config: { bucket, prefix: ARCHIVE_PREFIX, retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 } },
        metrics: quiet,
        clock: noWait,
      });
      const records = toRecords(events(n, size));
      for (const b of lambdaBatches(records)) await archive(b);
      const { objects, bytes } = await storedBytes(s3, bucket);
      const perM = 1_000_000 / n;
      const gb = (bytes * perM) / 1024 ** 3;
      const monthly = gb * PRICE.glacierIrGbMonth;
      console.log(
        `${size === 200 ? "200 B" : "5 KB "} events: ${Math.round(objects * perM).toLocaleString("en-US")} objects (PUTs ${Math.round((puts.PutObjectCommand ?? 0) * perM).toLocaleString("en-US")}), ` +
          `${(gb * 1024).toFixed(1)} MB stored per 1M events (${((bytes / n / size) * 100).toFixed(0)}% of the raw event bytes); ` +
          `$${((objects * perM * (PRICE.putPer1000 + PRICE.transitionPer1000)) / 1000).toFixed(4)} once (PUT + transition), $${monthly.toFixed(4)}/month in GLACIER_IR ($${(gb * PRICE.standardGbMonth).toFixed(4)} in STANDARD)`,
      );
      if (size === 200) [rebuildRecords, rebuildBucket] = [records, bucket];
    }

    console.log(`\n== Rebuild from the archive vs the live projector (${n.toLocaleString("en-US")} 200-byte events, 1,000 aggregates, dynalite, same run) ==`);
    const table = async (name: string) => {
      await ensureTable(dynamodb, name, stringKeys("pk"));
      await ensureTable(dynamodb, `${name}-parked`, stringKeys("pk", "sk"));
      return name;
    };
    const projector = (client: DynamoDBClient, name: string) =>
      createProjector({
        dynamodb: client,
        reduce: benchReduce,
        config: {
          tableName: name,
          parkedTableName: `${name}-parked`,
          dedupWindow: 64,
          retry: { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 2000 },
          maxFoldAttempts: 5,
        },
        metrics: quiet,
        log: () => undefined,
        clock: noWait,
      });
    const liveTable = await table(`bench-live-${Date.now()}`);
    const live = projector(dynamodb, liveTable);
    let started = Date.now();
    for (let i = 0; i < rebuildRecords.length; i += 100) await live({ Records: rebuildRecords.slice(i, i + 100) });
    const liveRate = rebuildRecords.length / ((Date.now() - started) / 1000);
    const rebuildTable = await table(`bench-rebuild-${Date.now()}`);
    started = Date.now();
    const done = await rebuildFromArchive({ archive: { s3, bucket: rebuildBucket, prefix: ARCHIVE_PREFIX }, project: projector(dynamodb, rebuildTable) });
    const rebuildRate = done.records / ((Date.now() - started) / 1000);
    console.log(`live projector (batch 100): ${Math.round(liveRate).toLocaleString("en-US")} events/s`);
    console.log(
      `rebuild from the archive (${done.objectsTotal} objects): ${Math.round(rebuildRate).toLocaleString("en-US")} events/s (${(rebuildRate / liveRate).toFixed(1)}× the live rate)`,
    );
  } finally {
    await Promise.all([dynalite.close(), s3rver.stop()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
