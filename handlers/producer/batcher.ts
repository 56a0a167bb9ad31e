/**
 * Optional batching for high-throughput producers: appends wait at most
 * `lingerMs` (or until `maxRecords` are queued), then go in PutRecords calls
 * within Kinesis's limits; with `aggregate`, one aggregate's queued events
 * are packed into one KPL record (the `aws-kinesis-agg` format every
 * consumer here deaggregates), so they succeed or fail together and keep
 * their order. Each caller's promise settles with its own event's sequence
 * (and sub-sequence) number, or rejects when its entry still failed after the
 * retry budget; only failed entries are re-sent.
 *
 * A PutRecords call that throws a transient error (a timeout, a reset) may
 * have been written all the same, so its re-send can put every entry on the
 * stream twice. An unkeyed copy is dropped by the projector only while its
 * original is in the aggregate's dedup window (its last 16 applied events),
 * so a send carries at most {@link MAX_PER_AGGREGATE_PER_SEND} events of one
 * aggregate, and sends go one at a time: nothing of that aggregate lands
 * between an original and its copy but the send's own events.
 */
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import type { EventEnvelope } from "../shared/envelope";
import { backoffDelay, isTransient, RetryBudget, RetryClock } from "../shared/retry";
import { encodeAggregated, packAggregates } from "../kpl/aggregate";
import { chunkBySize, KINESIS_MAX_RECORD_BYTES, PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_RECORDS } from "../bridge/putRecordsChunks";

/**
 * Events of one aggregate in one send (all its PutRecords calls and their re-sends): the projector's default
 * dedup window (DEFAULT_DEDUP_WINDOW, handlers/projector), so the copies an ambiguous failure re-sends all
 * land within the window of their originals. A stack with a smaller `dedupWindow` needs a smaller cap.
 */
export const MAX_PER_AGGREGATE_PER_SEND = 16;

/** The queued events in sends of at most `cap` per aggregate, each aggregate's in order (its k-th send holds its events k·cap to k·cap + cap − 1). */
export function sendsOf<W extends { envelope: Pick<EventEnvelope, "aggregateId"> }>(queue: W[], cap: number): W[][] {
  const seen: Record<string, number> = Object.create(null);
  const sends: W[][] = [];
  for (const w of queue) {
    const n = seen[w.envelope.aggregateId] ?? 0;
    seen[w.envelope.aggregateId] = n + 1;
    (sends[Math.floor(n / cap)] ??= []).push(w);
  }
  return sends;
}

/** Batching settings (see the README's producer section). */
export interface BatchingOptions {
  /** Longest an append waits for company, in ms: 0–1000, default 10. */
  lingerMs?: number;
  /** Queued events that trigger a flush at once: 1–500, default 500 (one PutRecords call). */
  maxRecords?: number;
  /** Pack one aggregate's queued events into one KPL record. Default false: every consumer must deaggregate. */
  aggregate?: boolean;
}

/** Where one event landed. */
export interface Placement {
  sequenceNumber: string;
  /** Its index inside a KPL aggregated record (absent for a plain record). */
  subSequenceNumber?: number;
}

interface Waiting {
  envelope: EventEnvelope;
  data: Buffer;
  resolve: (p: Placement) => void;
  reject: (err: Error) => void;
}

/** One PutRecords entry and the events it carries (several when aggregated). */
interface Entry {
  partitionKey: string;
  data: Buffer;
  members: Waiting[];
  aggregated: boolean;
}

/** Checks batching settings; a message names the field, the rule and the value. */
export function resolveBatching(o: BatchingOptions): Required<BatchingOptions> {
  const lingerMs = o.lingerMs ?? 10;
  const maxRecords = o.maxRecords ?? PUT_RECORDS_MAX_RECORDS;
  if (!Number.isInteger(lingerMs) || lingerMs < 0 || lingerMs > 1000) throw new Error(`producer batching: lingerMs must be an integer 0–1000, got ${lingerMs}`);
  if (!Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > PUT_RECORDS_MAX_RECORDS)
    throw new Error(`producer batching: maxRecords must be an integer 1–${PUT_RECORDS_MAX_RECORDS}, got ${maxRecords}`);
  return { lingerMs, maxRecords, aggregate: o.aggregate === true };
}

/** The queued events as PutRecords entries: one each, or one KPL record per aggregate and pack. */
function entriesOf(queue: Waiting[], aggregate: boolean): Entry[] {
  if (!aggregate) return queue.map((w) => ({ partitionKey: w.envelope.aggregateId, data: w.data, members: [w], aggregated: false }));
  const groups: Record<string, Waiting[]> = Object.create(null);
  const order: string[] = [];
  for (const w of queue) {
    const key = w.envelope.aggregateId;
    if (!groups[key]) {
      groups[key] = [];
      order.push(key);
    }
    groups[key].push(w);
  }
  const out: Entry[] = [];
  for (const key of order) {
    const items = groups[key].map((w) => ({ partitionKey: key, data: w.data, w }));
    for (const pack of packAggregates(items, Buffer.byteLength(key, "utf8"), KINESIS_MAX_RECORD_BYTES)) {
      const members = pack.items.map((i) => i.w);
      // One event goes as a plain record: nothing to save, and readers need not deaggregate it.
      const aggregated = pack.aggregate && members.length > 1;
      out.push({ partitionKey: key, data: aggregated ? encodeAggregated(pack.items) : members[0].data, members, aggregated });
    }
  }
  return out;
}

/** Sends `entries`, re-sending failed ones with backoff; settles every member's promise. Never throws. */
async function putEntries(kinesis: KinesisClient, streamName: string, entries: Entry[], retry: RetryBudget, clock: RetryClock): Promise<void> {
  let pending = entries;
  let lastError = "";
  for (let attempt = 1; pending.length > 0; attempt++) {
    const failed: Entry[] = [];
    let fatal: Error | undefined;
    for (const chunk of chunkBySize(
      pending,
      (e) => e.data.length + Buffer.byteLength(e.partitionKey, "utf8"),
      PUT_RECORDS_MAX_RECORDS,
      PUT_RECORDS_MAX_BYTES,
    )) {
      try {
        const out = await kinesis.send(
          new PutRecordsCommand({ StreamName: streamName, Records: chunk.map((e) => ({ Data: e.data, PartitionKey: e.partitionKey })) }),
        );
        chunk.forEach((e, k) => {
          const r = out.Records?.[k];
          if (r?.SequenceNumber && !r.ErrorCode)
            e.members.forEach((w, i) => w.resolve({ sequenceNumber: r.SequenceNumber as string, ...(e.aggregated ? { subSequenceNumber: i } : {}) }));
          else {
            // A missing result entry counts as a failure: never assume an acknowledgement.
            lastError = r?.ErrorCode ? `${r.ErrorCode}: ${r.ErrorMessage ?? ""}` : "missing PutRecords result entry";
            failed.push(e);
          }
        });
      } catch (err) {
        lastError = `${(err as Error).name}: ${(err as Error).message}`;
        if (!isTransient(err)) fatal = err as Error;
        failed.push(...chunk);
      }
    }
    pending = failed;
    if (pending.length === 0) return;
    if (fatal || attempt >= retry.maxAttempts) {
      const why = fatal ? `refused: ${lastError}` : `still failing after ${attempt} attempts (${lastError})`;
      for (const e of pending)
        for (const w of e.members)
          w.reject(Object.assign(new Error(`event ${w.envelope.eventId} was not written: PutRecords ${why}`), { name: "AppendFailed" }));
      return;
    }
    await clock.sleep(backoffDelay(attempt, retry, clock.random));
  }
}

/** A batcher: `submit` queues one event and resolves with where it landed; `flush` sends what is queued now. */
export function createBatcher(kinesis: KinesisClient, streamName: string, options: Required<BatchingOptions>, retry: RetryBudget, clock: RetryClock) {
  let queue: Waiting[] = [];
  let timer: NodeJS.Timeout | undefined;
  // One send at a time, in order (putEntries never rejects): a re-send's copies land before anything queued later.
  let sending: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (queue.length > 0) {
      const batch = queue;
      queue = [];
      for (const send of sendsOf(batch, MAX_PER_AGGREGATE_PER_SEND))
        sending = sending.then(() => putEntries(kinesis, streamName, entriesOf(send, options.aggregate), retry, clock));
    }
    return sending;
  };

  const submit = (envelope: EventEnvelope): Promise<Placement> =>
    new Promise<Placement>((resolve, reject) => {
      queue.push({ envelope, data: Buffer.from(JSON.stringify(envelope), "utf8"), resolve, reject });
      if (queue.length >= options.maxRecords) void flush();
      else if (!timer) timer = setTimeout(() => void flush(), options.lingerMs);
    });

  return { submit, flush };
}
