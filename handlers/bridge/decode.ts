/**
 * The bridge's pure part: split each source record into its user records
 * (KPL aggregates deaggregated), decode each and map it to the versioned
 * analytics contract as PutRecords entries. Any failure makes the user record
 * poison (a corrupt aggregate: the whole record), to be parked with its data
 * and never block others.
 */
import { sourceRecords, SourceRecord } from "../kpl/sourceRecords";
import type { AnalyticsRecord, Mapper } from "../shared/domain";
import { parseEnvelope } from "../shared/envelope";
import type { KinesisStreamRecord } from "../shared/kinesisEvent";
import { ParkedEvent, parkedEventOf } from "../shared/parkedTable";
import type { AnalyticsWireRecord } from "./contract";
import { KINESIS_MAX_RECORD_BYTES } from "./putRecordsChunks";
import { eventDataHash } from "../commands/digest";
import { IDEMPOTENT_ID_PREFIX } from "../producer/ulid";

/** One PutRecords entry and the index of the (first) user record it came from. */
export interface OutputEntry {
  source: number;
  partitionKey: string;
  data: Uint8Array;
  bytes: number;
  /** Set for an event whose id was derived from an Idempotency-Key: the bridge claims it first (forwardedIds.ts). */
  claim?: { eventId: string; dataHash: string };
}

/** What one source record maps to, or why it is poison (`kind` is for logs, `reason` for the parked table). */
export type MappedRecord = { ok: true; entries: OutputEntry[] } | { ok: false; kind: string; reason: string; eventId?: string };

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
  let mapped: AnalyticsRecord | AnalyticsRecord[] | undefined;
  try {
    mapped = map(event);
  } catch (err) {
    return { ok: false, kind: "mapThrew", reason: `map threw ${errorText(err)}`, eventId: event.eventId };
  }
  const list = mapped === undefined ? [] : Array.isArray(mapped) ? mapped : [mapped];
  const entries: OutputEntry[] = [];
  const pkBytes = Buffer.byteLength(event.aggregateId, "utf8");
  // Only a key-derived id can be reused with other data; the digest is the projector's (its dedup window keeps the same).
  const claim = event.eventId.startsWith(IDEMPOTENT_ID_PREFIX) ? { eventId: event.eventId, dataHash: eventDataHash(event) } : undefined;
  for (let i = 0; i < list.length; i++) {
    const out = list[i];
    if (typeof out !== "object" || out === null || typeof out.contract !== "string" || out.contract === "") {
      return { ok: false, kind: "badMapOutput", reason: `map returned a record without a contract at index ${i}`, eventId: event.eventId };
    }
    const wire: AnalyticsWireRecord = {
      id: list.length > 1 ? `${event.eventId}#${i}` : event.eventId,
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
      return { ok: false, kind: "unserialisable", reason: `map output is not JSON: ${errorText(err)}`, eventId: event.eventId };
    }
    const data = Buffer.from(json, "utf8");
    const bytes = data.length + pkBytes;
    if (bytes > KINESIS_MAX_RECORD_BYTES) {
      return { ok: false, kind: "tooLarge", reason: `mapped record ${i} is ${bytes} bytes, over Kinesis's 1 MiB`, eventId: event.eventId };
    }
    entries.push({ source, partitionKey: event.aggregateId, data, bytes, ...(claim ? { claim } : {}) });
  }
  return { ok: true, entries };
}

/** Maps user records: the entries to send, in source order, and the poison with its parked rows. */
export function mapSources(sources: SourceRecord[], map: Mapper): { entries: OutputEntry[]; poison: PoisonRecord[] } {
  const entries: OutputEntry[] = [];
  const poison: PoisonRecord[] = [];
  for (let i = 0; i < sources.length; i++) {
    const mapped = mapRecord(sources[i], i, map);
    if (mapped.ok) for (const e of mapped.entries) entries.push(e);
    else poison.push({ source: i, kind: mapped.kind, row: parkedEventOf(sources[i], mapped.reason, mapped.eventId) });
  }
  return { entries, poison };
}

/** Maps a batch as Lambda delivers it (see mapSources); `sources` are its user records, which `source` indices name. */
export function mapBatch(records: KinesisStreamRecord[], map: Mapper): { entries: OutputEntry[]; poison: PoisonRecord[]; sources: SourceRecord[] } {
  const sources = sourceRecords(records);
  return { ...mapSources(sources, map), sources };
}
