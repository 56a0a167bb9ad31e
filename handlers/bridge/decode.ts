/**
 * The bridge's pure part: split each source record into its user records
 * (KPL aggregates deaggregated), decode each and map it to the versioned
 * analytics contract as PutRecords entries. Any failure makes the user record
 * poison (a corrupt aggregate: the whole record), to be parked with its data
 * and never block others.
 */
import { sourceRecords, SourceRecord } from "../kpl/sourceRecords";
import type { AnalyticsRecord, Mapper } from "../shared/domain";
import { EventEnvelope, parseEnvelope } from "../shared/envelope";
import type { KinesisStreamRecord } from "../shared/kinesisEvent";
import { ParkedEvent, parkedEventOf } from "../shared/parkedTable";
import { AnalyticsWireRecord, wireRecordIds } from "./contract";
import { KINESIS_MAX_RECORD_BYTES } from "./putRecordsChunks";
import { eventDataHash } from "../commands/digest";
import { IDEMPOTENT_ID_PREFIX } from "../producer/ulid";

/** One PutRecords entry and the index of the (first) user record it came from. */
export interface OutputEntry {
  source: number;
  partitionKey: string;
  data: Uint8Array;
  bytes: number;
}

/** A user record whose eventId was derived from an Idempotency-Key: the bridge claims it (forwardedIds.ts) whatever `map` made of it. */
export interface KeyedRecord {
  source: number;
  eventId: string;
  dataHash: string;
}

/**
 * What one source record maps to, or why it is poison (`kind` is for logs, `reason` for the parked table). `claim` is set
 * for a decoded event of its own aggregate with a key-derived id, mapped or not: its first body owns the id even when
 * `map` forwards nothing of it or throws, or a reused key's later body would be forwarded in its place.
 */
export type MappedRecord = ({ ok: true; entries: OutputEntry[] } | { ok: false; kind: string; reason: string; eventId?: string }) & {
  claim?: { eventId: string; dataHash: string };
};

/** A poison user record: its index among the batch's user records, its parked row, and the kind for logs. */
export interface PoisonRecord {
  source: number;
  kind: string;
  row: ParkedEvent;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Decodes and maps one user record (`source` is its index among the batch's user records); any failure makes it poison. */
export function mapRecord(record: SourceRecord, source: number, map: Mapper): MappedRecord {
  if (record.corrupt !== undefined) return { ok: false, kind: "corruptAggregate", reason: record.corrupt };
  const parsed = parseEnvelope(record.data);
  if (!parsed.ok) return { ok: false, kind: "undecodable", reason: parsed.reason };
  const event = parsed.event;
  // As in the projector: an event filed under another aggregate's key has no order to keep, and the read model rejects it.
  if (event.aggregateId !== record.partitionKey) {
    return { ok: false, kind: "aggregateMismatch", reason: "envelope aggregateId does not match the partition key", eventId: event.eventId };
  }
  // Only a key-derived id can be reused with other data; the digest is the projector's (its dedup window keeps the same).
  const claim = keyedClaim(event);
  let mapped: AnalyticsRecord | AnalyticsRecord[] | undefined;
  try {
    mapped = map(event);
  } catch (err) {
    return poisonOf("mapThrew", `map threw ${errorText(err)}`, event, claim);
  }
  const list = mapped === undefined ? [] : Array.isArray(mapped) ? mapped : [mapped];
  const entries: OutputEntry[] = [];
  const pkBytes = Buffer.byteLength(event.aggregateId, "utf8");
  for (let i = 0; i < list.length; i++) {
    const out = list[i];
    if (typeof out !== "object" || out === null || typeof out.contract !== "string" || out.contract === "") {
      return poisonOf("badMapOutput", `map returned a record without a contract at index ${i}`, event, claim);
    }
  }
  const ids = wireRecordIds(event.eventId, list);
  for (let i = 0; i < list.length; i++) {
    const out = list[i];
    const wire: AnalyticsWireRecord = {
      id: ids[i],
      eventId: event.eventId,
      aggregateId: event.aggregateId,
      occurredAt: event.occurredAt,
      contract: out.contract,
      data: out.data,
    };
    let json: string;
    try {
      json = JSON.stringify(wire);
    } catch (err) {
      return poisonOf("unserialisable", `map output is not JSON: ${errorText(err)}`, event, claim);
    }
    const data = Buffer.from(json, "utf8");
    const bytes = data.length + pkBytes;
    if (bytes > KINESIS_MAX_RECORD_BYTES) return poisonOf("tooLarge", `mapped record ${i} is ${bytes} bytes, over Kinesis's 1 MiB`, event, claim);
    entries.push({ source, partitionKey: event.aggregateId, data, bytes });
  }
  return { ok: true, entries, ...(claim ? { claim } : {}) };
}

/** A decoded event that is poison, with its claim (a poison first body still owns its id). */
function poisonOf(kind: string, reason: string, event: EventEnvelope, claim: MappedRecord["claim"]): MappedRecord {
  return { ok: false, kind, reason, eventId: event.eventId, ...(claim ? { claim } : {}) };
}

/** The claim of an event with a key-derived id (undefined for other ids, and for data that cannot be hashed: it cannot be mapped either). */
function keyedClaim(event: EventEnvelope): { eventId: string; dataHash: string } | undefined {
  if (!event.eventId.startsWith(IDEMPOTENT_ID_PREFIX)) return undefined;
  try {
    return { eventId: event.eventId, dataHash: eventDataHash(event) };
  } catch {
    return undefined;
  }
}

/** Maps user records: the entries to send, in source order, the poison with its parked rows, and the keyed records to claim, in source order. */
export function mapSources(sources: SourceRecord[], map: Mapper): { entries: OutputEntry[]; poison: PoisonRecord[]; keyed: KeyedRecord[] } {
  const entries: OutputEntry[] = [];
  const poison: PoisonRecord[] = [];
  const keyed: KeyedRecord[] = [];
  for (let i = 0; i < sources.length; i++) {
    const mapped = mapRecord(sources[i], i, map);
    if (mapped.claim) keyed.push({ source: i, ...mapped.claim });
    if (mapped.ok) for (const e of mapped.entries) entries.push(e);
    else poison.push({ source: i, kind: mapped.kind, row: parkedEventOf(sources[i], mapped.reason, mapped.eventId) });
  }
  return { entries, poison, keyed };
}

/** Maps a batch as Lambda delivers it (see mapSources); `sources` are its user records, which `source` indices name. */
export function mapBatch(
  records: KinesisStreamRecord[],
  map: Mapper,
): { entries: OutputEntry[]; poison: PoisonRecord[]; keyed: KeyedRecord[]; sources: SourceRecord[] } {
  const sources = sourceRecords(records);
  return { ...mapSources(sources, map), sources };
}
