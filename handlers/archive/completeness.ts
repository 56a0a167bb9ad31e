/**
 * Is the archive complete? Per shard, every record the stream still holds
 * must lie inside a run an object covers, except the tail the archiver has
 * not reached yet. A stream record between two runs, or before the first
 * one, is a gap: the archive lost it (or started after it). Records older
 * than the stream's retention can no longer be compared: the report says
 * from which position on each shard was checked.
 */
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from "@aws-sdk/client-kinesis";
import { userRecordsOf } from "../kpl/sourceRecords";
import { encodePosition, showPosition } from "../shared/sequence";
import { ArchiveKey } from "./format";
import { coveredRuns, Run } from "./reader";

/** One shard's verdict. */
export interface ShardCompleteness {
  shardId: string;
  /** Records (user records) the stream holds now. */
  inStream: number;
  /** The stream's oldest position, from which on the check is exact; undefined for an empty shard. */
  checkedFrom?: string;
  runs: Run[];
  /** Stream positions the archive should hold and does not. */
  missing: string[];
  /** Stream positions after the archive's last run: not archived yet (the archiver's lag), not a gap. */
  tail: string[];
}

/** Every user record position of a shard, oldest first, read from TRIM_HORIZON to the tip. */
export async function shardPositions(kinesis: KinesisClient, streamArn: string, shardId: string): Promise<string[]> {
  const positions: string[] = [];
  const it = await kinesis.send(new GetShardIteratorCommand({ StreamARN: streamArn, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }));
  let iterator = it.ShardIterator;
  while (iterator) {
    const page = await kinesis.send(new GetRecordsCommand({ StreamARN: streamArn, ShardIterator: iterator, Limit: 10_000 }));
    for (const r of page.Records ?? []) {
      for (const u of userRecordsOf({ partitionKey: r.PartitionKey ?? "", sequenceNumber: r.SequenceNumber ?? "0", data: r.Data ?? new Uint8Array() })) {
        positions.push(encodePosition(u.sequenceNumber, u.subSequenceNumber));
      }
    }
    // At the tip: nothing more now (an open shard's iterator never ends).
    if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
    iterator = page.NextShardIterator;
  }
  return positions;
}

/** The stream's shard ids. */
export async function shardIds(kinesis: KinesisClient, streamArn: string): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await kinesis.send(token ? new ListShardsCommand({ NextToken: token }) : new ListShardsCommand({ StreamARN: streamArn }));
    for (const s of page.Shards ?? []) if (s.ShardId) ids.push(s.ShardId);
    token = page.NextToken;
  } while (token);
  return ids;
}

/** Compares one shard's stream positions (oldest first) with the runs the archive covers. */
export function compareShard(shardId: string, positions: string[], runs: Run[]): ShardCompleteness {
  const missing: string[] = [];
  const tail: string[] = [];
  const end = runs.length ? runs[runs.length - 1].last : undefined;
  let i = 0;
  for (const p of positions) {
    while (i < runs.length && runs[i].last < p) i++;
    const covered = i < runs.length && runs[i].first <= p && p <= runs[i].last;
    if (covered) continue;
    if (end === undefined || p > end) tail.push(p);
    else missing.push(p);
  }
  return { shardId, inStream: positions.length, checkedFrom: positions[0], runs, missing, tail };
}

/** The whole check: every shard of the stream (and every shard only the archive knows, whose records have expired). */
export async function checkCompleteness(kinesis: KinesisClient, streamArn: string, keys: ArchiveKey[]): Promise<ShardCompleteness[]> {
  const runs = coveredRuns(keys);
  const streamShards = new Set(await shardIds(kinesis, streamArn));
  const ids = [...new Set([...streamShards, ...runs.keys()])].sort();
  const out: ShardCompleteness[] = [];
  for (const id of ids) {
    const positions = streamShards.has(id) ? await shardPositions(kinesis, streamArn, id) : [];
    out.push(compareShard(id, positions, runs.get(id) ?? []));
  }
  return out;
}

/** One line per shard, then the gaps; what `npm run rebuild -- --check-archive` prints. */
export function describeCompleteness(report: ShardCompleteness[]): string[] {
  const lines: string[] = [];
  for (const s of report) {
    const from = s.checkedFrom ? `checked from ${showPosition(s.checkedFrom)}` : "the stream holds none of it";
    const verdict = s.missing.length ? `GAP: ${s.missing.length} record(s) missing, first ${showPosition(s.missing[0])}` : "no gap";
    lines.push(`${s.shardId}: ${s.runs.length} run(s), ${s.inStream} record(s) in the stream (${from}); ${verdict}; ${s.tail.length} not archived yet`);
  }
  return lines;
}
