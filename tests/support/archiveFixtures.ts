/**
 * Fixtures for the archive tests: an S3 emulator started once per file, a
 * fresh bucket per test, an archiver over its own client (so faults stay per
 * test), and what the archive holds read back through the product's reader.
 */
import { CreateBucketCommand, DeleteObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createArchiver } from "../../handlers/archive/archiver";
import { ARCHIVE_PREFIX, ArchivedRecord, positionOf } from "../../handlers/archive/format";
import { ArchiveLocation, listArchive, readObject } from "../../handlers/archive/reader";
import { metricsRecorder, ARCHIVER_METRICS } from "../../handlers/observability/metrics";
import { LocalS3, startS3 } from "../../local/emulators/s3";
import { emulatorS3 } from "../../local/emulators/clients";
import { PRODUCER_ACCOUNT, uniqueName } from "./aws";
import { fastClock } from "./projectorFixtures";

/** Starts s3rver for the file's tests (call in before/after). */
export function s3Emulator(): { start(): Promise<void>; stop(): Promise<void>; client(): S3Client } {
  let server: LocalS3 | undefined;
  return {
    async start() {
      server = await startS3();
    },
    async stop() {
      await server?.stop();
    },
    client: () => emulatorS3({ endpoint: server!.endpoint, account: PRODUCER_ACCOUNT }),
  };
}

/** A fresh archive bucket. */
export async function newArchive(s3: S3Client): Promise<ArchiveLocation> {
  const bucket = uniqueName("archive").toLowerCase().slice(0, 60);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { s3, bucket, prefix: ARCHIVE_PREFIX };
}

/** An archiver writing into `at` with its own client, a clock that never waits, and its logs captured. */
export function newArchiver(at: ArchiveLocation, s3: S3Client, maxAttempts = 4) {
  const logs: Record<string, unknown>[] = [];
  const metrics: Record<string, number>[] = [];
  const archive = createArchiver({
    s3,
    config: { bucket: at.bucket, prefix: at.prefix, retry: { maxAttempts, baseDelayMs: 1, maxDelayMs: 5 } },
    clock: fastClock(),
    log: (e) => logs.push(e),
    metrics: metricsRecorder(ARCHIVER_METRICS, (v) => metrics.push(v as Record<string, number>)),
  });
  return { archive, logs, metrics };
}

/** Every archived record per object key, and every position with how many objects hold it. */
export async function archived(at: ArchiveLocation): Promise<{ objects: Map<string, ArchivedRecord[]>; copies: Map<string, number> }> {
  const objects = new Map<string, ArchivedRecord[]>();
  const copies = new Map<string, number>();
  for (const k of await listArchive(at)) {
    const records = await readObject(at, k.key);
    objects.set(k.key, records);
    for (const r of records) copies.set(positionOf(r), (copies.get(positionOf(r)) ?? 0) + 1);
  }
  return { objects, copies };
}

/** Deletes one object (to inject a gap). */
export async function deleteObject(at: ArchiveLocation, key: string): Promise<void> {
  await at.s3.send(new DeleteObjectCommand({ Bucket: at.bucket, Key: key }));
}
