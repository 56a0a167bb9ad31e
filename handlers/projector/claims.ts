/**
 * The projector's claims (the rule and its item: handlers/claims/eventClaims.ts):
 * before the fold, every keyed record the fold might apply is claimed, i.e.
 * one above its aggregate's stored position whose eventId the dedup window
 * may not hold when the fold reaches it (the window answers for the rest at
 * no cost). Unkeyed
 * (ULID) records are never claimed. The fold stays pure: it receives the
 * verdicts by stored position. Claims live in the read-model table itself
 * (`claim#<eventId>`, never an aggregate id), so each read-model version, and
 * a rebuild into it, keeps its own with no other resource or permission.
 */
import { claimEvents, ClaimRequest, ClaimTable, ClaimVerdict, isClaimable, READ_MODEL_CLAIM_PREFIX } from "../claims/eventClaims";
import { parkedEventOf } from "../shared/parkedTable";
import { emptyAggregate, recentEntries, StoredAggregate } from "../shared/readModelItem";
import type { TableAccess } from "../shared/table";
import { eventDataHash } from "./dedupWindow";
import type { FoldResult } from "./fold";
import { AggregateBatch, poisonNote } from "./records";

/** Verdicts of one aggregate's claimed records, by stored position (records not claimed are absent). */
export type Claims = ReadonlyMap<string, ClaimVerdict>;

export type ClaimStore = ClaimTable;

/** The projector's claims in its read-model table. */
export function readModelClaims(access: TableAccess): ClaimStore {
  return { ...access, keyPrefix: READ_MODEL_CLAIM_PREFIX, keepsOwner: true };
}

/** A claim request with the aggregate it is for. */
export interface AggregateClaimRequest extends ClaimRequest {
  aggregateId: string;
}

/**
 * The claims `batch` needs against its item as read, appended to `out`: keyed records above the position,
 * hashable, unless the window is sure to still hold the id when the fold reaches the record: it is among the
 * stored window's newest `dedupWindow - k` entries, k being the records before it in the batch (each may push
 * one entry out).
 */
export function claimRequests(
  batch: AggregateBatch,
  read: StoredAggregate | undefined,
  dedupWindow: number,
  out: AggregateClaimRequest[] = [],
): AggregateClaimRequest[] {
  let window: string[] | undefined;
  const records = batch.records;
  for (let k = 0; k < records.length; k++) {
    const rec = records[k];
    // The cheapest test first: most ids are ULIDs, never claimed.
    if (!rec.parsed.ok || !isClaimable(rec.parsed.event.eventId)) continue;
    if ((read && rec.padded <= read.position) || rec.source.corrupt !== undefined) continue;
    const event = rec.parsed.event;
    if (event.aggregateId !== batch.aggregateId) continue;
    if (read && read.recent !== "") {
      window ??= recentEntries(read.recent).eventIds;
      const at = window.lastIndexOf(event.eventId);
      if (at >= 0 && window.length - 1 - at + k < dedupWindow) continue;
    }
    let dataHash: string;
    try {
      dataHash = eventDataHash(event);
    } catch {
      continue; // poison: the fold parks it
    }
    out.push({ eventId: event.eventId, dataHash, owner: rec.padded, aggregateId: batch.aggregateId });
  }
  return out;
}

/** The claims every aggregate of a chunk needs against its item as read, in order (none for most chunks: no await then). */
export function chunkClaimRequests(chunk: AggregateBatch[], items: Map<string, StoredAggregate>, dedupWindow: number): AggregateClaimRequest[] {
  const out: AggregateClaimRequest[] = [];
  for (const batch of chunk) claimRequests(batch, items.get(batch.aggregateId), dedupWindow, out);
  return out;
}

/** Claims the requests of a chunk at once; per aggregate its verdicts, or the error that stopped one of them. */
export async function claimChunk(store: ClaimStore, requests: AggregateClaimRequest[]): Promise<Map<string, Claims | Error>> {
  const out = new Map<string, Claims | Error>();
  if (requests.length === 0) return out;
  const verdicts = await claimEvents(store, requests);
  verdicts.forEach((v, i) => {
    const id = requests[i].aggregateId;
    const seen = out.get(id);
    if (seen instanceof Error) return;
    if (v instanceof Error) out.set(id, v);
    else if (seen) (seen as Map<string, ClaimVerdict>).set(requests[i].owner, v);
    else out.set(id, new Map([[requests[i].owner, v]]));
  });
  return out;
}

/** One aggregate's claims against its item as read (a re-fold after a failed condition claims again: claims are idempotent). */
export async function claimAggregate(
  store: ClaimStore,
  batch: AggregateBatch,
  read: StoredAggregate | undefined,
  dedupWindow: number,
): Promise<Claims | undefined> {
  const claims = (await claimChunk(store, claimRequests(batch, read, dedupWindow))).get(batch.aggregateId);
  if (claims instanceof Error) throw claims;
  return claims;
}

/** Why records under a claim's key are parked. */
export const RESERVED_KEY_REASON = `partition key is reserved for the projector's claims: it starts with ${READ_MODEL_CLAIM_PREFIX}, and aggregate ids never contain "#"`;

/**
 * A batch under a claim's key (no aggregate id can be one, but a producer writing raw records can choose any
 * partition key): every record parked, nothing written, so the claim there stays as it is and blocks nothing.
 * Undefined for any other key.
 */
export function reservedKeyFold(batch: AggregateBatch): FoldResult | undefined {
  if (!batch.aggregateId.startsWith(READ_MODEL_CLAIM_PREFIX)) return undefined;
  const bad = { kind: "aggregate-mismatch" as const, reason: RESERVED_KEY_REASON, detail: "partition key reserved for claims" };
  return {
    next: emptyAggregate(batch.aggregateId),
    changed: false,
    parked: batch.records.map((rec) => parkedEventOf(rec.source, RESERVED_KEY_REASON, rec.parsed.ok ? rec.parsed.event.eventId : undefined)),
    poison: batch.records.map((rec) => poisonNote(bad, batch.aggregateId, rec)),
  };
}
