/**
 * Event claims: the Idempotency-Key rule as both consumers of the source
 * stream apply it (the projector in its read-model table, the bridge in its
 * forwarded-ids table). Only ids derived from a key (`idem-…`) can come again
 * with other data, so only those are claimed.
 *
 * The rule: per eventId, the first record in stream order defines its data,
 * for good. A claim is one item, `pk` = prefix + eventId, holding the data
 * digest (commands/digest.ts) and, in the projector's, the owner: the stored
 * position of the record that took it. One conditional PutItem per claim
 * (1 WCU): it succeeds when there is no claim yet, or when the claim is this
 * record's own (a redelivery, a replay, a crash between the claim and what
 * followed it). A failed condition reads the claim (strongly consistent,
 * 1 RCU): the same digest is a retry of the owner, another digest a reused
 * key. The bridge, which forwards the owner and its retries alike, claims by
 * digest alone (see {@link ClaimTable.keepsOwner}).
 *
 * Claims never expire (no TTL is written): an eventId is derived from
 * (aggregate, key), so a key used again after any delay would otherwise put
 * two bodies under one eventId, and the projector's dedup window, the API's
 * 422 and the two consumers could not agree on which. Positions and digests
 * are the same on every delivery, in a rebuild from the archive too, so every
 * reader reaches the same verdicts.
 */
import { AttributeValue, ConditionalCheckFailedException, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { IDEMPOTENT_ID_PREFIX } from "../producer/ulid";
import { realClock, withRetry } from "../shared/retry";
import type { TableAccess } from "../shared/table";

/** What a claim says of one record: its id is ours (apply it), a retry of the owner's (skip it), or a reused key (reject it). */
export type ClaimVerdict = "owned" | "retry" | "conflict";

/** One record's claim. */
export interface ClaimRequest {
  eventId: string;
  /** eventDataHash of the record's event. */
  dataHash: string;
  /** The record's stored position (handlers/shared/sequence.ts). */
  owner: string;
}

/** Where claims live: `pk` = `keyPrefix` + eventId. */
export interface ClaimTable extends TableAccess {
  keyPrefix: string;
  /**
   * True: the claim keeps its owner and a failed condition reads it (1 RCU), so a retry (same digest, another
   * position) is told from the owner (the projector: one is applied, the other skipped). False: the condition is
   * the digest alone and nothing is read (the bridge forwards the owner and its retries alike; PutItem only).
   */
  keepsOwner: boolean;
}

/**
 * Prefix of the projector's claims in the read-model table. `#` is outside ID_PATTERN
 * (shared/envelope.ts), so a claim's key is never an aggregate id: the API never serves one.
 */
export const READ_MODEL_CLAIM_PREFIX = "claim#";

/** True for the items the projector's claims occupy in a read-model table (anything scanning it must skip them). */
export function isClaimItem(item: Record<string, AttributeValue>): boolean {
  return item.pk?.S?.startsWith(READ_MODEL_CLAIM_PREFIX) === true;
}

/** Only key-derived ids can be reused with other data: the rest are never claimed (their retries are the dedup window's). */
export function isClaimable(eventId: string): boolean {
  return eventId.startsWith(IDEMPOTENT_ID_PREFIX);
}

/** Claims in flight at once (the projector's write concurrency). */
export const CLAIM_CONCURRENCY = 16;

/**
 * Claims every request: per eventId in the order given (the first is the one that claims; later ones of
 * the same id are judged against its outcome without a request), different ids up to {@link CLAIM_CONCURRENCY}
 * at once. Returns a verdict per request, or the error that kept its id's claim from being decided.
 */
export async function claimEvents(table: ClaimTable, requests: ClaimRequest[]): Promise<(ClaimVerdict | Error)[]> {
  const byId = new Map<string, number[]>();
  requests.forEach((r, i) => {
    const same = byId.get(r.eventId);
    if (same) same.push(i);
    else byId.set(r.eventId, [i]);
  });
  const out: (ClaimVerdict | Error)[] = new Array(requests.length);
  await forEachConcurrently([...byId.values()], CLAIM_CONCURRENCY, async (indices) => {
    try {
      if (table.keepsOwner) {
        const held = await claimOwned(table, requests[indices[0]]);
        for (const i of indices) out[i] = requests[i].owner === held.owner ? "owned" : requests[i].dataHash === held.dataHash ? "retry" : "conflict";
      } else {
        // One claim per distinct digest, in order: the first that holds is the id's digest, any other conflicts.
        const tried = new Map<string, ClaimVerdict>();
        for (const i of indices) {
          const r = requests[i];
          let verdict = tried.get(r.dataHash);
          if (verdict === undefined) tried.set(r.dataHash, (verdict = (await put(table, r, false)) ? "owned" : "conflict"));
          out[i] = verdict;
        }
      }
    } catch (err) {
      for (const i of indices) out[i] ??= err instanceof Error ? err : new Error(String(err));
    }
  });
  return out;
}

/** One conditional PutItem of `r`'s claim: false when the condition failed. */
async function put(table: ClaimTable, r: ClaimRequest, withOwner: boolean): Promise<boolean> {
  const command = () =>
    new PutItemCommand({
      TableName: table.tableName,
      Item: { pk: { S: table.keyPrefix + r.eventId }, dataHash: { S: r.dataHash }, ...(withOwner ? { ownerPosition: { S: r.owner } } : {}) },
      ConditionExpression: withOwner ? "attribute_not_exists(pk) OR ownerPosition = :v" : "attribute_not_exists(pk) OR dataHash = :v",
      ExpressionAttributeValues: { ":v": { S: withOwner ? r.owner : r.dataHash } },
    });
  try {
    await withRetry(() => table.dynamodb.send(command()), table.retry, table.clock ?? realClock);
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException || (err as { name?: string }).name === "ConditionalCheckFailedException") return false;
    throw err;
  }
}

/** Takes or reads the owned claim of `r.eventId`: who holds it now (`r` itself when taken). */
async function claimOwned(table: ClaimTable, r: ClaimRequest): Promise<{ dataHash: string; owner: string }> {
  const get = () => new GetItemCommand({ TableName: table.tableName, Key: { pk: { S: table.keyPrefix + r.eventId } }, ConsistentRead: true });
  // A claim cannot vanish (none expires), so the read after a failed condition finds it; twice for safety.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await put(table, r, true)) return { dataHash: r.dataHash, owner: r.owner };
    const item = (await withRetry(() => table.dynamodb.send(get()), table.retry, table.clock ?? realClock)).Item;
    if (item) return { dataHash: item.dataHash?.S ?? "", owner: item.ownerPosition?.S ?? "" };
  }
  throw new Error(`the claim of ${r.eventId} in ${table.tableName} failed its condition but cannot be read`);
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function forEachConcurrently<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
