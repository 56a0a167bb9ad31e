/**
 * The producer library: what a service other than the command API (a
 * container, a batch job) uses to write the same envelope with the same
 * guarantees, and what the API itself writes through. No Pulumi imports:
 *
 *   const producer = createProducer({ kinesis, dynamodb, streamName, tableName, validate });
 *   const { eventId, sequenceNumber } = await producer.append("order-1", "OrderPlaced", data, { idempotencyKey });
 *   const seen = await producer.read("order-1", { minPosition: sequenceNumber });
 *
 * An append is one PutRecord (or one entry of PutRecords when batching):
 * it succeeds or fails as a whole. With an Idempotency-Key the eventId is
 * derived from it, so a retry is applied once; a reused key with other data
 * is refused (422) when the read model already holds the first.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KinesisClient, PutRecordCommand } from "@aws-sdk/client-kinesis";
import type { Validator } from "../shared/domain";
import type { EventEnvelope } from "../shared/envelope";
import { DEFAULT_RETRY_BUDGET, realClock, RetryBudget, RetryClock } from "../shared/retry";
import { formatPosition, parsePosition, Position } from "../shared/sequence";
import { BatchingOptions, createBatcher, Placement, resolveBatching } from "./batcher";
import { aggregateIdProblem, commandRejected, idempotencyConflict, prepareEvent } from "./command";
import { AggregateRead, aggregateRead, readItem } from "./read";
import { createUlidGenerator } from "./ulid";

export type { AggregateRead } from "./read";
export type { BatchingOptions, Placement } from "./batcher";
export { rejectionOf } from "./command";
export type { CommandRejection, CommandRejectedError } from "./command";

/** What `createProducer` needs; the clients are the caller's (build them once per process). */
export interface ProducerOptions {
  kinesis: KinesisClient;
  /** The source stream's name. */
  streamName: string;
  /** For `read` and for refusing a reused Idempotency-Key at once (0.5 RCU per keyed append); without it, only the consumers refuse it. */
  dynamodb?: DynamoDBClient;
  /** The read-model table (EventSourcedTable's). */
  tableName?: string;
  /** The domain's validation (`validate` from domain/: the command schemas); default none. */
  validate?: Validator;
  /** Batch appends into PutRecords calls (and KPL records with `aggregate`); default off: one PutRecord per append. */
  batching?: BatchingOptions;
  /** Re-sends of a batch's failed entries; default 6 attempts, 50 ms–2 s backoff. */
  retry?: RetryBudget;
  clock?: RetryClock;
  now?: () => Date;
}

/** Where an appended event is: poll with `position` (the same as `sequenceNumber` unless it sits in a KPL record). */
export interface Appended extends Placement {
  eventId: string;
  position: string;
}

/** The library's surface. */
export interface Producer {
  /** Checks, then appends one event; rejects with a CommandRejected error (`rejectionOf`) or the write's error. */
  append(aggregateId: string, type: string, data: unknown, options?: { idempotencyKey?: string }): Promise<Appended>;
  /** Writes an envelope already checked (the API's path, after its own authorization). */
  put(envelope: EventEnvelope): Promise<Placement>;
  /** The aggregate as the API's GET answers it (strongly consistent). */
  read(aggregateId: string, options?: { minPosition?: string }): Promise<AggregateRead>;
  /** Sends whatever is queued (batching) and waits for every write in flight. */
  flush(): Promise<void>;
}

/** Builds a producer. State (the ULID generator, the batch queue) lives in this closure. */
export function createProducer(options: ProducerOptions): Producer {
  const now = options.now ?? (() => new Date());
  const nextUlid = createUlidGenerator({ now: () => now().getTime() });
  const batcher = options.batching
    ? createBatcher(options.kinesis, options.streamName, resolveBatching(options.batching), options.retry ?? DEFAULT_RETRY_BUDGET, options.clock ?? realClock)
    : undefined;

  const put = async (envelope: EventEnvelope): Promise<Placement> => {
    if (batcher) return batcher.submit(envelope);
    const out = await options.kinesis.send(
      new PutRecordCommand({ StreamName: options.streamName, PartitionKey: envelope.aggregateId, Data: Buffer.from(JSON.stringify(envelope), "utf8") }),
    );
    if (!out.SequenceNumber) throw new Error("PutRecord returned no sequence number");
    return { sequenceNumber: out.SequenceNumber };
  };

  const table = () => {
    if (!options.dynamodb || !options.tableName) throw new Error("producer: read needs dynamodb and tableName");
    return { dynamodb: options.dynamodb, tableName: options.tableName };
  };

  return {
    put,
    async append(aggregateId, type, data, appendOptions = {}) {
      const prepared = prepareEvent({ aggregateId, type, data, idempotencyKey: appendOptions.idempotencyKey }, options.validate, now(), nextUlid);
      if (!prepared.ok) throw commandRejected(prepared.rejection);
      if (appendOptions.idempotencyKey !== undefined && options.dynamodb && options.tableName) {
        // Eventually consistent (0.5 RCU): a first event projected a moment ago may be missed, and the consumers refuse the second then.
        const conflict = idempotencyConflict(await readItem(options.dynamodb, options.tableName, aggregateId, false), prepared);
        if (conflict) throw commandRejected(conflict);
      }
      const placed = await put(prepared.envelope);
      const position: Position = { sequenceNumber: placed.sequenceNumber, subSequenceNumber: placed.subSequenceNumber ?? 0 };
      return { eventId: prepared.envelope.eventId, ...placed, position: formatPosition(position) };
    },
    async read(aggregateId, readOptions = {}) {
      const { dynamodb, tableName } = table();
      const badId = aggregateIdProblem(aggregateId);
      if (badId) throw commandRejected(badId);
      const min = readOptions.minPosition === undefined ? undefined : parsePosition(readOptions.minPosition);
      if (readOptions.minPosition !== undefined && !min)
        throw new Error(`producer read: minPosition ${JSON.stringify(readOptions.minPosition)} is not a position (<sequence> or <sequence>.<sub-sequence>)`);
      return aggregateRead(await readItem(dynamodb, tableName, aggregateId, true), min);
    },
    flush: () => (batcher ? batcher.flush() : Promise.resolve()),
  };
}
