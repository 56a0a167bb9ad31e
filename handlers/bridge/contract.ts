/**
 * What crosses the account boundary, and how: the wire record the consumer
 * account reads, the KPL aggregation modes, and the two ways the bridge
 * reaches the analytics stream. The components and the stack config read
 * these too, so each name exists once.
 */

/**
 * What goes on the wire into the consumer account (JSON). The consumer dedups on (`contract`, `id`): `id` is the
 * eventId, or `${eventId}#${k}` for the k-th of several records `map` returns *of one contract* (see wireRecordIds).
 */
export interface AnalyticsWireRecord {
  id: string;
  eventId: string;
  aggregateId: string;
  occurredAt: string;
  contract: string;
  data: unknown;
}

/**
 * The wire ids of the records `map` returned for `eventId`, in order, given each one's contract: the eventId when
 * the event has one record of that contract, else `${eventId}#${k}` by its index k among that contract's records.
 * Counted per contract so that publishing a new contract beside an old one (or dropping it) leaves the old one's
 * ids as they were: a consumer of v1 dedups a replay across that deploy, and each id names one record per contract.
 */
export function wireRecordIds(eventId: string, records: readonly { contract: string }[]): string[] {
  if (records.length === 1) return [eventId]; // the usual case, on the bridge's hot path
  const total = new Map<string, number>();
  for (const r of records) total.set(r.contract, (total.get(r.contract) ?? 0) + 1);
  if (total.size === records.length) return records.map(() => eventId);
  const seen = new Map<string, number>();
  return records.map(({ contract }) => {
    const k = seen.get(contract) ?? 0;
    seen.set(contract, k + 1);
    return total.get(contract) === 1 ? eventId : `${eventId}#${k}`;
  });
}

/**
 * KPL aggregation of the records the bridge writes (the `aws-kinesis-agg`
 * format; Firehose and the official deaggregators read it):
 * - `off`: one Kinesis record per wire record, keyed by aggregateId;
 * - `sourceShard`: every wire record of a batch (one source shard) packed
 *   into records of up to 1 MiB keyed by the source shard id, so one source
 *   shard maps to one target shard and the source order, hence every
 *   aggregate's order, holds on the target;
 * - `partitionKey`: records packed per aggregateId (keyed by it): the same
 *   key spread as `off`, but packing only helps when a batch holds many
 *   events of one aggregate.
 */
export type AggregateMode = "off" | "sourceShard" | "partitionKey";
/** The accepted values of ENV.AGGREGATE_RECORDS. */
export const AGGREGATE_MODES: readonly AggregateMode[] = ["off", "sourceShard", "partitionKey"];

/**
 * How the bridge reaches the analytics stream; both stacks must agree:
 * - `assumeRole`: it assumes the consumer's writer role with an ExternalId
 *   (credentials cached per container, STS about once an hour);
 * - `resourcePolicy`: the analytics stream's resource policy grants the
 *   bridge's role directly; no STS, no writer role.
 */
export type AccessMode = "assumeRole" | "resourcePolicy";
/** The accepted access modes. */
export const ACCESS_MODES: readonly AccessMode[] = ["assumeRole", "resourcePolicy"];
