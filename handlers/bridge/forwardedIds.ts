/**
 * The bridge's half of the Idempotency-Key rule (the rule and its claims:
 * handlers/claims/eventClaims.ts): each key-derived eventId (`idem-…`) is
 * claimed in the forwarded-ids table, `pk` = eventId, by its digest alone
 * (PutItem only). The first record, a redelivery or replay of it, and a retry
 * with the same digest are forwarded (the consumer dedups on `id`); another
 * digest is the event the read model rejects too, parked as
 * `idempotency-conflict` and never forwarded. Claims never expire, as the
 * projector's; rows written with an `expiresAt` before that still expire by
 * the table's TTL.
 */
import { claimEvents, ClaimRequest, ClaimTable } from "../claims/eventClaims";
import type { SourceRecord } from "../kpl/sourceRecords";
import { parkedEventOf } from "../shared/parkedTable";
import { IDEMPOTENCY_CONFLICT } from "../shared/readModelItem";
import type { TableAccess } from "../shared/table";
import type { KeyedRecord, OutputEntry, PoisonRecord } from "./decode";

/** The forwarded-ids table's claims: keyed by the bare eventId, no owner kept (nothing is read back). */
export function forwardedIds(access: TableAccess): ClaimTable {
  return { ...access, keyPrefix: "", keepsOwner: false };
}

/**
 * Claims every keyed user record (`keyed`, in source order, so the first in the stream wins inside a batch
 * too), whether `map` forwards it, forwards nothing of it or made it poison: the first body owns its id. Returns
 * the entries to send and the poison to park, a refused record's own entries dropped and its poison (if any)
 * parked as the conflict it is. A claim that keeps failing throws: the batch is retried, nothing forwarded unclaimed.
 */
export async function claimKeyedEvents(
  ids: ClaimTable,
  sources: SourceRecord[],
  mapped: { entries: OutputEntry[]; poison: PoisonRecord[]; keyed: KeyedRecord[] },
): Promise<{ entries: OutputEntry[]; poison: PoisonRecord[] }> {
  const requests: ClaimRequest[] = mapped.keyed.map((k) => ({ eventId: k.eventId, dataHash: k.dataHash, owner: sources[k.source].position }));
  const refused: Record<number, string> = Object.create(null);
  const verdicts = await claimEvents(ids, requests);
  verdicts.forEach((v, i) => {
    if (v instanceof Error) throw v;
    if (v === "conflict") refused[mapped.keyed[i].source] = requests[i].eventId;
  });
  const conflicts: PoisonRecord[] = Object.keys(refused).map((s) => {
    const source = Number(s);
    return { source, kind: "idempotency-conflict", row: parkedEventOf(sources[source], IDEMPOTENCY_CONFLICT, refused[source]) };
  });
  return {
    entries: mapped.entries.filter((e) => refused[e.source] === undefined),
    poison: [...mapped.poison.filter((p) => refused[p.source] === undefined), ...conflicts],
  };
}
