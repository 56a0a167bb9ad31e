/**
 * What crosses the account boundary, and how: the wire record the consumer
 * account reads, the KPL aggregation modes, and the two ways the bridge
 * reaches the analytics stream. The components and the stack config read
 * these too, so each name exists once.
 */

/** What goes on the wire into the consumer account (JSON). `id` is what the consumer dedups on: the eventId, or `${eventId}#${i}` when map returns several. */
export interface AnalyticsWireRecord {
  id: string;
  eventId: string;
  aggregateId: string;
  occurredAt: string;
  contract: string;
  data: unknown;
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
