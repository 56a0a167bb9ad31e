/**
 * The bridge's half of the Idempotency-Key rule: per eventId, the first
 * record in stream order defines its data. Only ids derived from a key
 * (`idem-…`) can be reused with other data, so only those are claimed: one
 * conditional PutItem each (1 WCU) in the forwarded-ids table, `pk` =
 * eventId, with the data digest the projector's dedup window keeps
 * (commands/digest.ts). A claim with the same digest is a retry or replay
 * (forwarded again; the consumer dedups on `id`); another digest is the
 * event the read model rejects too, parked as `idempotency-conflict` and
 * never forwarded. Rows expire after `expiresAt` (TTL), the source stream's
 * retention, past which no replay can bring the record back.
 */
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { SourceRecord } from "../kpl/sourceRecords";
import { parkedEventOf } from "../shared/parkedTable";
import { IDEMPOTENCY_CONFLICT } from "../shared/readModelItem";
import { RetryBudget, RetryClock, withRetry } from "../shared/retry";
import type { OutputEntry, PoisonRecord } from "./decode";

/** Where the claims go. */
export interface ForwardedIds {
  dynamodb: DynamoDBClient;
  tableName: string;
  /** Seconds a claim is kept: the source stream's retention. */
  ttlSeconds: number;
  retry: RetryBudget;
  clock: RetryClock;
}

/** Claims `eventId` for `dataHash`: true when it is ours (first, or the same data again), false when another body holds it. */
async function claim(ids: ForwardedIds, eventId: string, dataHash: string, nowMs: number): Promise<boolean> {
  try {
    await withRetry(
      () =>
        ids.dynamodb.send(
          new PutItemCommand({
            TableName: ids.tableName,
            Item: { pk: { S: eventId }, dataHash: { S: dataHash }, expiresAt: { N: String(Math.floor(nowMs / 1000) + ids.ttlSeconds) } },
            ConditionExpression: "attribute_not_exists(pk) OR dataHash = :h",
            ExpressionAttributeValues: { ":h": { S: dataHash } },
          }),
        ),
      ids.retry,
      ids.clock,
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException || (err as { name?: string }).name === "ConditionalCheckFailedException") return false;
    throw err;
  }
}

/**
 * Claims every keyed event among `entries` (one claim per eventId and digest, in source order, so the first
 * in the stream wins inside a batch too); returns the entries to send and the conflicts to park. A claim
 * that keeps failing throws: the batch is retried, nothing forwarded unclaimed.
 */
export async function claimKeyedEvents(
  ids: ForwardedIds,
  sources: SourceRecord[],
  entries: OutputEntry[],
  nowMs: number,
): Promise<{ entries: OutputEntry[]; conflicts: PoisonRecord[] }> {
  // Per eventId, its distinct digests in source order: different ids are claimed in parallel, one id's in order.
  const byId: Record<string, { hash: string; sources: number[] }[]> = Object.create(null);
  const seen: Record<number, true> = Object.create(null);
  for (const e of entries) {
    if (!e.claim || seen[e.source]) continue;
    seen[e.source] = true;
    const claims = (byId[e.claim.eventId] ??= []);
    const same = claims.find((c) => c.hash === e.claim?.dataHash);
    if (same) same.sources.push(e.source);
    else claims.push({ hash: e.claim.dataHash, sources: [e.source] });
  }
  const refused: Record<number, true> = Object.create(null);
  await Promise.all(
    Object.keys(byId).map(async (eventId) => {
      for (const c of byId[eventId]) if (!(await claim(ids, eventId, c.hash, nowMs))) for (const s of c.sources) refused[s] = true;
    }),
  );
  const conflicts: PoisonRecord[] = Object.keys(refused).map((s) => {
    const source = Number(s);
    return { source, kind: "idempotency-conflict", row: parkedEventOf(sources[source], IDEMPOTENCY_CONFLICT, byIdOf(entries, source)) };
  });
  return { entries: entries.filter((e) => !refused[e.source]), conflicts };
}

function byIdOf(entries: OutputEntry[], source: number): string | undefined {
  return entries.find((e) => e.source === source)?.claim?.eventId;
}
