/**
 * A Kinesis stream's shards as its local consumers (event-source mappings,
 * Firehose) read them: listed page by page, a child read only once its
 * parents are drained (so one key's order holds across resharding), a shard
 * resumed right after the last record read, and how far a page leaves its
 * reader behind. Written once for both.
 */
import { GetShardIteratorCommandInput, KinesisClient, ListShardsCommand, Shard } from "@aws-sdk/client-kinesis";

/** Where a shard iterator starts, without the stream and shard. */
export type IteratorStart = Omit<GetShardIteratorCommandInput, "StreamName" | "ShardId">;

/** What a shard says of its lineage. */
export type ShardParents = Pick<Shard, "ParentShardId" | "AdjacentParentShardId">;

// ListShards pages hold up to 1,000 shards: this bounds a listing that never ends, not a real stream.
const MAX_LIST_PAGES = 100;

/** Every shard of the stream, open and closed, parents before their children (ListShards' order). */
export async function listShards(kinesis: KinesisClient, streamName: string, signal?: AbortSignal): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const out = await kinesis.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: streamName }), { abortSignal: signal });
    shards.push(...(out.Shards ?? []));
    token = out.NextToken;
    if (!token || signal?.aborted) break;
  }
  return shards;
}

/** The shard's parents that are still listed: a parent past the retention period holds nothing to wait for. */
export function listedParents(shard: ShardParents, listed: ReadonlySet<string>): string[] {
  return [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => !!p && listed.has(p));
}

/** Whether a shard may be read now: every listed parent is drained. */
export function parentsDrained(shard: ShardParents, listed: ReadonlySet<string>, drained: (shardId: string) => boolean): boolean {
  return listedParents(shard, listed).every(drained);
}

/** Where to read a shard from again: right after the last record read, or from `otherwise` when none was. */
export function resumeFrom(lastSequence: string | undefined, otherwise: IteratorStart): IteratorStart {
  return lastSequence ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: lastSequence } : otherwise;
}

/** GetRecords' largest page, in records. */
export const MAX_PAGE_RECORDS = 10_000;

/**
 * Whether a page read with `limit` leaves the shard behind its tip: it had records and either Kinesis says so
 * (MillisBehindLatest) or the page is full. kinesis-local's MillisBehindLatest is the gap between the arrival
 * of the page's last record and of the shard's newest, so it is 0 for a backlog written by one PutRecords:
 * a full page is then the only sign of it.
 */
export function pageBehind(page: { Records?: unknown[]; MillisBehindLatest?: number }, limit: number): boolean {
  const records = page.Records?.length ?? 0;
  return records > 0 && ((page.MillisBehindLatest ?? 0) > 0 || records >= limit);
}

/**
 * How far behind current time a page leaves its reader, ms, as Kinesis defines MillisBehindLatest ("how far
 * behind current time the consumer is"; 0 when caught up): 0 at the tip, else the age at `now` of the page's
 * last record (kinesis-local measures to its newest record instead, not to now).
 */
export function pageLagMs(page: { Records?: { ApproximateArrivalTimestamp?: Date }[]; MillisBehindLatest?: number }, limit: number, now: number): number {
  if (!pageBehind(page, limit)) return 0;
  const last = page.Records![page.Records!.length - 1].ApproximateArrivalTimestamp;
  return last ? Math.max(0, now - last.getTime()) : (page.MillisBehindLatest ?? 0);
}
