/**
 * Reading the event archive back: its objects listed and parsed from their
 * keys, each one's records, and the runs of each shard the keys cover. The
 * completeness check, the rebuild and the tests read the archive here only.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { ArchiveKey, ArchivedRecord, decodeObject, parseKey } from "./format";

/** Where an archive lives. */
export interface ArchiveLocation {
  s3: S3Client;
  bucket: string;
  prefix: string;
}

/** Every archive object under the prefix, sorted by shard, then first position, then last; other objects are passed over. */
export async function listArchive(at: ArchiveLocation): Promise<ArchiveKey[]> {
  const keys: ArchiveKey[] = [];
  let token: string | undefined;
  do {
    const page = await at.s3.send(new ListObjectsV2Command({ Bucket: at.bucket, Prefix: at.prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const parsed = o.Key ? parseKey(at.prefix, o.Key) : undefined;
      if (parsed) keys.push(parsed);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort((a, b) => cmp(a.shardId, b.shardId) || cmp(a.first, b.first) || cmp(a.last, b.last));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One object's records. */
export async function readObject(at: ArchiveLocation, key: string): Promise<ArchivedRecord[]> {
  const got = await at.s3.send(new GetObjectCommand({ Bucket: at.bucket, Key: key }));
  if (!got.Body) throw new Error(`archive object ${key} in ${at.bucket} has no body`);
  return decodeObject(key, await got.Body.transformToByteArray());
}

/** A run of one shard the archive covers without a break: [first, last] in stored positions. */
export interface Run {
  first: string;
  last: string;
}

/** Per shard, the runs the objects cover, overlapping and redelivered objects merged. */
export function coveredRuns(keys: ArchiveKey[]): Map<string, Run[]> {
  const runs = new Map<string, Run[]>();
  const sorted = [...keys].sort((a, b) => cmp(a.shardId, b.shardId) || cmp(a.first, b.first));
  for (const k of sorted) {
    const shard = runs.get(k.shardId) ?? [];
    const last = shard[shard.length - 1];
    if (last && k.first <= last.last) last.last = k.last > last.last ? k.last : last.last;
    else shard.push({ first: k.first, last: k.last });
    runs.set(k.shardId, shard);
  }
  return runs;
}

/** The objects a replay reads, in the order it reads them: by first position, so each shard's (and each aggregate's) run is in stream order. */
export function replayOrder(keys: ArchiveKey[]): ArchiveKey[] {
  return [...keys].sort((a, b) => cmp(a.first, b.first) || cmp(a.shardId, b.shardId) || cmp(a.last, b.last));
}
