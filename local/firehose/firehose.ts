/**
 * The local cloud's Firehose: reads a Kinesis source stream from TRIM_HORIZON,
 * buffers, and lands objects in S3 the way an `extended_s3` delivery stream
 * does (prefix namespaces, GZIP, record delimiter, error output, object keys).
 * It is built from the declared resource inputs and refuses, by name, any
 * setting it can't honour rather than landing something AWS would not. Like
 * Firehose with a Kinesis Data Streams source, it deaggregates KPL records
 * (magic and MD5 checked) into their user records before buffering; a record
 * that fails the check is delivered as it is.
 */
import { randomUUID } from "crypto";
import { performance } from "perf_hooks";
import { gzipSync } from "zlib";
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, Shard, DescribeStreamSummaryCommand } from "@aws-sdk/client-kinesis";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DeliverySettings, expandPrefix, FirehoseSpec, objectTimestamp, resolveDelivery } from "./settings";
import { deaggregateKpl } from "../../handlers/kpl/deaggregate";

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
  /** How often the source is polled, ms. Default 250. */
  pollMs?: number;
  /** PutObject attempts before records go to the error output. Default 3. */
  deliveryAttempts?: number;
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

interface Buffered {
  data: Buffer;
  arrival: Date;
}
interface ShardCursor {
  iterator?: string;
  lastSequence?: string;
  done: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Pages read per shard per poll: bounds one poll while a backlog drains.
const MAX_PAGES_PER_POLL = 20;

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
  const cursors = new Map<string, ShardCursor>();
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
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: settings.bucket,
        Key: key,
        Body: body,
        ContentType: settings.gzip ? "application/gzip" : "application/octet-stream",
      }),
    );
    stats.objects += 1;
  }

  async function deliver(records: Buffered[]): Promise<void> {
    const oldest = records[0].arrival;
    const body = Buffer.concat(records.flatMap((r) => (settings.delimiter === undefined ? [r.data] : [r.data, settings.delimiter])));
    const key = `${expandPrefix(settings.prefix, oldest)}${spec.name}-1-${objectTimestamp(oldest)}-${randomUUID()}${settings.extension}`;
    const attempts = deps.deliveryAttempts ?? 3;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await put(key, settings.gzip ? gzipSync(body) : body);
        stats.records += records.length;
        stats.bytes += records.reduce((n, r) => n + r.data.length, 0);
        return;
      } catch (err) {
        lastError = err;
        if (attempt < attempts) await sleep(100 * 2 ** attempt);
      }
    }
    fail(lastError, `delivery of ${records.length} records to s3://${settings.bucket}/${key}`);
    await deliverErrors(records, lastError, attempts);
  }

  /** Error records as Firehose writes them: one JSON line per record, data base64. */
  async function deliverErrors(records: Buffered[], cause: unknown, attempts: number): Promise<void> {
    const type = "delivery-failed";
    const ended = Date.now();
    const lines =
      records
        .map((r) =>
          JSON.stringify({
            attemptsMade: attempts,
            arrivalTimestamp: r.arrival.getTime(),
            errorCode: (cause as Error)?.name ?? "Error",
            errorMessage: (cause as Error)?.message ?? String(cause),
            attemptEndingTimestamp: ended,
            rawData: r.data.toString("base64"),
          }),
        )
        .join("\n") + "\n";
    const oldest = records[0].arrival;
    const key = `${expandPrefix(settings.errorPrefix, oldest, type)}${spec.name}-1-${objectTimestamp(oldest)}-${randomUUID()}${settings.extension}`;
    try {
      await put(key, settings.gzip ? gzipSync(lines) : Buffer.from(lines));
    } catch (err) {
      fail(err, `error output of ${records.length} records (they are lost)`);
    }
    // Counted once the outcome is known, so a reader of stats sees the object too.
    stats.errors += records.length;
  }

  async function flush(): Promise<void> {
    if (buffer.length === 0) return;
    const records = buffer;
    buffer = [];
    bufferBytes = 0;
    await deliver(records);
  }

  async function add(data: Buffer): Promise<void> {
    if (buffer.length === 0) bufferSince = performance.now();
    buffer.push({ data, arrival: now() });
    bufferBytes += data.length;
    if (bufferBytes >= settings.sizeBytes) await flush();
  }

  /** Shards to read: parents before children, as Firehose and the KCL do. */
  async function listShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let token: string | undefined;
    for (let page = 0; page < 100; page++) {
      const out = await deps.kinesis.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: settings.streamName }));
      shards.push(...(out.Shards ?? []));
      token = out.NextToken;
      if (!token) break;
    }
    return shards;
  }

  async function readShard(shardId: string, cursor: ShardCursor): Promise<void> {
    if (!cursor.iterator) {
      cursor.iterator = (
        await deps.kinesis.send(
          new GetShardIteratorCommand(
            cursor.lastSequence
              ? { StreamName: settings.streamName, ShardId: shardId, ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: cursor.lastSequence }
              : { StreamName: settings.streamName, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" },
          ),
        )
      ).ShardIterator;
    }
    for (let page = 0; page < MAX_PAGES_PER_POLL && cursor.iterator && !stopping; page++) {
      let out;
      try {
        out = await deps.kinesis.send(new GetRecordsCommand({ ShardIterator: cursor.iterator, Limit: 10_000 }));
      } catch (err) {
        // An expired iterator is renewed from the last sequence read on the next poll.
        if ((err as Error).name === "ExpiredIteratorException") {
          cursor.iterator = undefined;
          return;
        }
        throw err;
      }
      for (const r of out.Records ?? []) {
        cursor.lastSequence = r.SequenceNumber;
        const data = Buffer.from(r.Data ?? new Uint8Array());
        // As Firehose from a Kinesis source: a KPL aggregate whose MD5 checks out lands as its user records.
        const users = deaggregateKpl(data);
        if (users === undefined) {
          await add(data);
          continue;
        }
        stats.deaggregated += 1;
        for (const u of users) await add(u.data);
      }
      cursor.iterator = out.NextShardIterator;
      if (!cursor.iterator) cursor.done = true; // a closed shard, read to its end
      if (!out.Records?.length || out.MillisBehindLatest === 0) return;
    }
  }

  async function poll(): Promise<void> {
    const shards = await listShards();
    const listed = new Set(shards.map((s) => s.ShardId!));
    for (const shard of shards) {
      const id = shard.ShardId!;
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => !!p && listed.has(p));
      if (parents.some((p) => !cursors.get(p)?.done)) continue;
      if (!cursors.has(id)) cursors.set(id, { done: false });
      const cursor = cursors.get(id)!;
      if (!cursor.done) await readShard(id, cursor);
      if (stopping) return;
    }
  }

  let verified = false;
  /** The declared source must be the stream this client sees: another account is a wiring bug, not a retry. */
  async function verifySource(): Promise<void> {
    const summary = await deps.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: settings.streamName }));
    const arn = summary.StreamDescriptionSummary?.StreamARN;
    if (arn !== settings.streamArn)
      throw Object.assign(new Error(`the Kinesis client sees ${arn}, not the declared source ${settings.streamArn}`), { fatal: true });
    verified = true;
  }

  const loop = (async () => {
    let backoff = 0;
    while (!stopping) {
      try {
        if (!verified) await verifySource();
        await poll();
        backoff = 0;
      } catch (err) {
        fail(err, "reading the source stream");
        if ((err as { fatal?: boolean }).fatal) return;
        backoff = Math.min(5000, (backoff || 250) * 2);
      }
      if (buffer.length > 0 && performance.now() - bufferSince >= settings.intervalSeconds * 1000) await flush();
      for (let waited = 0; waited < (deps.pollMs ?? 250) + backoff && !stopping; waited += 50) await sleep(50);
    }
  })();

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
