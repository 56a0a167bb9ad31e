/**
 * The local cloud's Firehose: reads a Kinesis source stream from TRIM_HORIZON,
 * buffers, and lands objects in S3 the way an `extended_s3` delivery stream
 * does (prefix namespaces, GZIP, record delimiter, error output, object keys).
 * It is built from the declared resource inputs and refuses, by name, any
 * setting it can't honour rather than landing something AWS would not. Like
 * Firehose with a Kinesis Data Streams source, it deaggregates KPL records
 * (magic and MD5 checked) into their user records before buffering; a record
 * that fails the check is delivered as it is. With checkpoints (a data dir),
 * each shard's position persists after each delivered object, so a restart
 * lands nothing twice; an object always ends at a source record's end, so a
 * KPL aggregate is never split across a checkpoint. The decisions and formats
 * are pure functions (delivery.ts), reading the source is source.ts; here are
 * the loop and the buffer.
 */
import { randomUUID } from "crypto";
import { performance } from "perf_hooks";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { IDLE_POLL_MS, StreamWrites, writeHint } from "../shared/streamWrites";
import { ShardCheckpoint } from "../shared/checkpoints";
import {
  Buffered,
  deliveredThrough,
  deliveryBackoffMs,
  errorRecords,
  intervalReached,
  landedRecords,
  objectBody,
  objectBytes,
  objectKey,
  readBackoffMs,
  sizeReached,
} from "./delivery";
import { DeliverySettings, FirehoseSpec, resolveDelivery } from "./settings";
import { sourceReader } from "./source";

export { DeliverySettings, FirehoseSpec, resolveDelivery } from "./settings";

/** What {@link startFirehose} needs. */
export interface FirehoseDeps {
  /** A client of the source stream's account. */
  kinesis: KinesisClient;
  s3: S3Client;
  /** Arrival clock for prefixes and object names (UTC). */
  now?: () => Date;
  /** Caps the declared buffering interval so local records land within seconds. Default 5. */
  maxBufferSeconds?: number;
  /** How often the source is polled, ms (without `writes`; with them, the least gap between polls). Default 250. */
  pollMs?: number;
  /** The puts to the source stream the local cloud hears of: with them the source is polled once a second, and at once after a put. */
  writes?: StreamWrites;
  /** The idle poll interval with `writes`, ms. Default {@link IDLE_POLL_MS}. */
  idlePollMs?: number;
  /** Records asked for per GetRecords page. Default 10,000, GetRecords' maximum. */
  pageLimit?: number;
  /** PutObject attempts before records go to the error output. Default 3. */
  deliveryAttempts?: number;
  /** Where each shard's delivered position persists (local/shared/checkpoints.ts): loaded at start, saved after each object. Default: in memory. */
  checkpoints?: { load(): Record<string, ShardCheckpoint>; save(shards: Record<string, ShardCheckpoint>): void };
  log?: (e: Record<string, unknown>) => void;
}

/** Delivery counters. */
export interface FirehoseStats {
  /** Records landed under the main prefix (user records, after KPL deaggregation). */
  records: number;
  /** KPL aggregated records read from the source and split into their user records. */
  deaggregated: number;
  /** Objects written (main and error output). */
  objects: number;
  /** Record bytes landed under the main prefix, before compression. */
  bytes: number;
  /** Records that did not land under the main prefix (in the error output, or lost if that failed too). */
  errors: number;
  /** The last read or delivery error, for the status line. */
  lastError?: string;
}

/** A running delivery stream. */
export interface LocalFirehose {
  /** The settings in effect, including the interval after the local cap. */
  settings: DeliverySettings;
  /** Stops reading and flushes what is buffered. */
  stop(): Promise<void>;
  stats(): FirehoseStats;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts delivering `spec` (the declared `aws:kinesis/firehoseDeliveryStream`
 * inputs plus its physical `name`). Throws synchronously on a setting it can't
 * honour. Flushes when the buffer reaches `bufferingSize` MiB (before
 * compression, as Firehose) or when the oldest buffered record is older than
 * the interval (the declared `bufferingInterval`, capped by `maxBufferSeconds`).
 */
export function startFirehose(spec: FirehoseSpec, deps: FirehoseDeps): LocalFirehose {
  const settings = resolveDelivery(spec, deps.maxBufferSeconds ?? 5);
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? ((e) => console.log(JSON.stringify(e)));
  const stats: FirehoseStats = { records: 0, deaggregated: 0, objects: 0, bytes: 0, errors: 0 };
  let buffer: Buffered[] = [];
  let bufferBytes = 0;
  let bufferSince = 0;
  let stopping = false;
  // Resume where the last run delivered: each shard right after its last delivered record.
  const checkpoints = deps.checkpoints?.load() ?? {};
  const source = sourceReader(deps.kinesis, settings, checkpoints, deps.pageLimit);
  if (settings.intervalSeconds < settings.declaredIntervalSeconds) {
    log({
      level: "info",
      msg: "firehose buffering interval capped locally",
      deliveryStream: spec.name,
      declaredSeconds: settings.declaredIntervalSeconds,
      seconds: settings.intervalSeconds,
    });
  }
  for (const note of settings.notEmulated) log({ level: "info", msg: "firehose setting recorded, not emulated", deliveryStream: spec.name, setting: note });

  const fail = (err: unknown, what: string) => {
    stats.lastError = `${what}: ${(err as Error)?.name ?? "Error"}: ${(err as Error)?.message ?? String(err)}`;
    log({ level: "error", msg: `firehose ${what} failed`, deliveryStream: spec.name, error: stats.lastError });
  };

  async function put(key: string, body: Buffer): Promise<void> {
    const ContentType = settings.gzip ? "application/gzip" : "application/octet-stream";
    await deps.s3.send(new PutObjectCommand({ Bucket: settings.bucket, Key: key, Body: body, ContentType }));
    stats.objects += 1;
  }

  async function deliver(records: Buffered[]): Promise<void> {
    const key = objectKey(settings.prefix, spec.name, records[0].arrival, randomUUID(), settings.extension);
    const body = objectBytes(objectBody(records, settings.delimiter), settings.gzip);
    const attempts = deps.deliveryAttempts ?? 3;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await put(key, body);
        stats.records += records.length;
        stats.bytes += records.reduce((n, r) => n + r.data.length, 0);
        return;
      } catch (err) {
        lastError = err;
        if (attempt < attempts) await sleep(deliveryBackoffMs(attempt));
      }
    }
    fail(lastError, `delivery of ${records.length} records to s3://${settings.bucket}/${key}`);
    const errorKey = objectKey(settings.errorPrefix, spec.name, records[0].arrival, randomUUID(), settings.extension, "delivery-failed");
    try {
      await put(errorKey, objectBytes(errorRecords(records, lastError, attempts, Date.now()), settings.gzip));
    } catch (err) {
      fail(err, `error output of ${records.length} records (they are lost)`);
    }
    // Counted once the outcome is known, so a reader of stats sees the object too.
    stats.errors += records.length;
  }

  /** After an object is delivered (or sent to the error output): its shards' positions, and the shards read to their end. */
  function checkpoint(records: readonly Buffered[]): void {
    if (!deps.checkpoints) return;
    for (const [shardId, sequenceNumber] of Object.entries(deliveredThrough(records))) checkpoints[shardId] = { sequenceNumber };
    // The buffer is empty now, so a shard read to its end is delivered to its end.
    for (const shardId of source.drainedShards()) checkpoints[shardId] = { ...checkpoints[shardId], drained: true };
    try {
      deps.checkpoints.save(checkpoints);
    } catch (err) {
      fail(err, "saving the checkpoints");
    }
  }

  async function flush(): Promise<void> {
    if (buffer.length === 0) return;
    const records = buffer;
    buffer = [];
    bufferBytes = 0;
    await deliver(records);
    checkpoint(records);
  }

  /** As Firehose from a Kinesis source: a KPL aggregate whose MD5 checks out lands as its user records. Flushes at a source record's end only. */
  async function land(data: Buffer, shardId: string, sequenceNumber: string): Promise<void> {
    const { records, aggregated } = landedRecords(data);
    if (aggregated) stats.deaggregated += 1;
    if (buffer.length === 0) bufferSince = performance.now();
    const arrival = now();
    for (const r of records) {
      buffer.push({ data: r, arrival, from: { shardId, sequenceNumber } });
      bufferBytes += r.length;
    }
    if (sizeReached(bufferBytes, settings)) await flush();
  }

  const pollMs = deps.pollMs ?? 250;
  const hint = writeHint(deps.writes, settings.streamArn);
  const loop = (async () => {
    let backoff = 0;
    while (!stopping) {
      const polledAt = performance.now();
      // A put heard from here on may have landed after this poll read its shard: it cuts the next wait short.
      hint?.take();
      let behind = false;
      try {
        behind = await source.poll(land, () => stopping);
        backoff = 0;
      } catch (err) {
        fail(err, "reading the source stream");
        if ((err as { fatal?: boolean }).fatal) return;
        backoff = readBackoffMs(backoff);
      }
      if (intervalReached(buffer.length, bufferSince, performance.now(), settings)) await flush();
      // A backlog left at the page cap is read on at once, as a mapping's poller does.
      if (behind) continue;
      // Idle with puts heard: once a second, or as soon as a put lands (no sooner than pollMs after this poll).
      const waitMs = (hint ? Math.max(pollMs, deps.idlePollMs ?? IDLE_POLL_MS) : pollMs) + backoff;
      for (let heard = false; !stopping; await sleep(50)) {
        const waited = performance.now() - polledAt;
        heard ||= hint?.take() ?? false;
        if (waited >= waitMs || (heard && waited >= pollMs)) break;
      }
    }
  })().finally(() => hint?.stop());

  return {
    settings,
    async stop() {
      stopping = true;
      await loop;
      await flush();
    },
    stats: () => ({ ...stats }),
  };
}
