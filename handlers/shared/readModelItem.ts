/**
 * The read-model item: one per aggregate, hash key `pk` = aggregateId.
 *
 * Attributes (written by the projector, read by the HTTP API):
 * - `pk` (S): the aggregate id.
 * - `state` (S): JSON of the reducer's state; absent when deleted or when nothing was applied yet.
 * - `deleted` (BOOL): a tombstone, written only when true (absent is false; items written before
 *   carry `false`). The item is never deleted, or a replay would re-apply.
 * - `position` (S): stored position (sequence, sub-sequence; see sequence.ts) of the last applied
 *   event, skipped duplicate or discarded event (`padSequence("0")` when the item exists only because
 *   the aggregate is parked). Written before KPL deaggregation as a bare padded sequence number,
 *   which is the same string as (sequence, 0): old items need no migration.
 * - `version` (N): count of applied events.
 * - `lastEventId` (S): eventId of the last applied event, as written before; never written now: it is
 *   always the newest entry of `recent` (an event enters the window exactly when applied), so the API
 *   reads it from there ({@link newestEventId}) and every write saves its ~37 bytes.
 * - `recent` (S): the dedup window, the last `dedupWindow` applied events oldest first, as ONE
 *   string: entries joined by a single space ({@link RECENT_SEPARATOR}; ids never contain one,
 *   see ID_PATTERN in envelope.ts). Each entry is `<eventId>#<dataHash>` (8 hex of sha256 over
 *   the event's type and data, see `eventDataHash` in handlers/projector/dedupWindow.ts), so an eventId seen again
 *   with different data is told from a retry. Absent while the window is empty. One string rather
 *   than a list so that reading, searching and rewriting the window costs one attribute, not 64.
 * - `recentEventIds` (L of S): the window as written before `recent` (same entries, newest last);
 *   read when `recent` is absent, never written now (the next write replaces it with `recent`).
 *   Entries written before the hash hold the plain `<eventId>` (no `#`: ids never contain one);
 *   they decode with an empty hash and count as plain duplicates, in either attribute.
 * - `rejected` (S): the last {@link REJECTED_WINDOW} events refused as a reused Idempotency-Key with other
 *   data ({@link IDEMPOTENCY_CONFLICT}), oldest first, entries `<stored position>#<eventId>` joined by a
 *   space; absent while none. The API answers a poll at such a position with `rejected`, so the client
 *   whose write lost learns it (the position alone would say `visible`).
 * - `updatedAt` (S): ISO time of the last write.
 * - `parkedAt` (S): stored position of the first parked event, present while blocked.
 * - `parkedThrough` (S): stored position of the last event parked behind the block,
 *   present while blocked (absent on blocked items written before it: the re-drive then takes
 *   every parked row). The projector advances it, with a conditional write, whenever it parks
 *   more events behind the block; the re-drive applies parked rows up to the value it read and
 *   lifts the block only if it is unchanged.
 *
 * Items are at most {@link MAX_ITEM_BYTES} (DynamoDB's limit); the projector parks an event
 * whose state would not fit ({@link readModelItemSize}).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { padSequence, showPosition } from "./sequence";

/** The item as the projector handles it: positions padded, state still as JSON text. */
export interface StoredAggregate {
  aggregateId: string;
  /** JSON of the state, undefined when deleted or never set. */
  stateJson?: string;
  deleted: boolean;
  /** Stored position (padded; see sequence.ts). */
  position: string;
  version: number;
  /**
   * The dedup window as stored in `recent`: entries `<eventId>#<dataHash>` (or a plain `<eventId>` written
   * before the hash), oldest first, joined by {@link RECENT_SEPARATOR}; "" when empty. See `recentLookup`.
   */
  recent: string;
  /** Events refused as a reused Idempotency-Key (the `rejected` attribute); "" when none. */
  rejected?: string;
  updatedAt: string;
  /** Stored position of the first parked event. */
  parkedAt?: string;
  /** Stored position of the last event parked behind the block (see the attribute list). */
  parkedThrough?: string;
}

/** What the API shows of an aggregate. */
export interface ReadModelView {
  aggregateId: string;
  /** The reducer's state; undefined when deleted or nothing applied yet. */
  state: unknown;
  deleted: boolean;
  /** Position of the last applied event: `<sequence>`, or `<sequence>.<sub-sequence>` inside a KPL aggregate ("0" when none). */
  position: string;
  /** Count of applied events. */
  version: number;
  lastEventId?: string;
  /** True while the aggregate is blocked behind a parked poison event. */
  parked: boolean;
  updatedAt: string;
  /** The `rejected` attribute as stored, when any event was refused: see {@link rejectedAt}. */
  rejected?: string;
}

/** Why an event is refused when its eventId was applied before with other data. */
export const IDEMPOTENCY_CONFLICT = "Idempotency-Key reused with different data";
/** How many refused events an item remembers for their pollers. */
export const REJECTED_WINDOW = 16;

/** `rejected` with the event at stored `position` appended, the oldest beyond REJECTED_WINDOW dropped. */
export function withRejected(rejected: string | undefined, position: string, eventId: string): string {
  const entries = rejected ? rejected.split(RECENT_SEPARATOR) : [];
  entries.push(position + RECENT_HASH_MARK + eventId);
  return entries.slice(-REJECTED_WINDOW).join(RECENT_SEPARATOR);
}

/** The eventId refused at stored `position`, or undefined when the event there was not refused (or is forgotten). */
export function rejectedAt(rejected: string | undefined, position: string): string | undefined {
  if (!rejected) return undefined;
  for (const entry of rejected.split(RECENT_SEPARATOR)) {
    const mark = entry.indexOf(RECENT_HASH_MARK);
    if (entry.slice(0, mark) === position) return entry.slice(mark + 1);
  }
  return undefined;
}

/** Position of an aggregate with nothing applied yet. */
export const INITIAL_POSITION = padSequence("0");

/** The starting point for an aggregate that has no item yet. */
export function emptyAggregate(aggregateId: string): StoredAggregate {
  return { aggregateId, deleted: false, position: INITIAL_POSITION, version: 0, recent: "", updatedAt: "" };
}

/** Joins the entries of the dedup window (`recent`); never part of an event id (ID_PATTERN). */
export const RECENT_SEPARATOR = " ";
/** Separates an entry's event id from its data hash. */
export const RECENT_HASH_MARK = "#";
const MARK = 35; // "#"

/** One entry of the dedup window. */
export function recentEntry(eventId: string, dataHash: string): string {
  return dataHash === "" ? eventId : eventId + RECENT_HASH_MARK + dataHash;
}

/**
 * Finds `eventId` in a dedup window (`recent`, looking only at entries starting at or after `from`, an entry
 * boundary): the data hash of its newest entry ("" for an entry written before the hash), undefined when absent.
 */
export function recentLookup(recent: string, eventId: string, from = 0): string | undefined {
  const n = eventId.length;
  if (n === 0) return undefined;
  // Entry by entry, rejecting most on their length and last character: indexOf(eventId) was slower on ids that
  // share a long prefix (ULIDs of one millisecond, the bench's), which V8 answers with a Boyer-Moore search per call.
  const last = eventId.charCodeAt(n - 1);
  let found: string | undefined;
  for (let start = from; start < recent.length;) {
    let stop = recent.indexOf(RECENT_SEPARATOR, start);
    if (stop < 0) stop = recent.length;
    const end = start + n;
    // The newest entry wins: the last match is kept.
    if (end <= stop && recent.charCodeAt(end - 1) === last && (end === stop || recent.charCodeAt(end) === MARK) && recent.startsWith(eventId, start))
      found = end === stop ? "" : recent.slice(end + 1, stop);
    start = stop + 1;
  }
  return found;
}

/** The number of entries in a dedup window (`recent`). */
export function recentCount(recent: string): number {
  if (recent === "") return 0;
  let n = 1;
  for (let i = recent.indexOf(RECENT_SEPARATOR); i >= 0; i = recent.indexOf(RECENT_SEPARATOR, i + 1)) n++;
  return n;
}

/** A dedup window's entries, oldest first, split into event ids and data hashes ("" for entries without). */
export function recentEntries(recent: string): { eventIds: string[]; dataHashes: string[] } {
  const eventIds: string[] = [];
  const dataHashes: string[] = [];
  if (recent !== "") {
    for (const entry of recent.split(RECENT_SEPARATOR)) {
      const mark = entry.lastIndexOf(RECENT_HASH_MARK);
      eventIds.push(mark < 0 ? entry : entry.slice(0, mark));
      dataHashes.push(mark < 0 ? "" : entry.slice(mark + 1));
    }
  }
  return { eventIds, dataHashes };
}

/** DynamoDB's item size limit (400 KB), attribute names included. */
export const MAX_ITEM_BYTES = 400 * 1024;

function attributeValueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S, "utf8");
  if (v.N !== undefined) return Math.ceil(v.N.replace(/^-/, "").length / 2) + 1;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.L !== undefined) return 3 + v.L.reduce((n, e) => n + 1 + attributeValueSize(e), 0);
  if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((n, [k, e]) => n + 1 + Buffer.byteLength(k, "utf8") + attributeValueSize(e), 0);
  throw new Error("readModelItemSize: unexpected attribute type");
}

/** The size DynamoDB counts for an item (names plus values, as documented; numbers rounded up). */
export function readModelItemSize(item: Record<string, AttributeValue>): number {
  let n = 0;
  for (const [name, value] of Object.entries(item)) n += Buffer.byteLength(name, "utf8") + attributeValueSize(value);
  return n;
}

/** Encodes a stored aggregate as a DynamoDB item. */
export function encodeReadModelItem(a: StoredAggregate): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    pk: { S: a.aggregateId },
    position: { S: a.position },
    version: { N: String(a.version) },
    updatedAt: { S: a.updatedAt },
  };
  if (a.deleted) item.deleted = { BOOL: true };
  if (a.recent !== "") item.recent = { S: a.recent };
  if (a.stateJson !== undefined && !a.deleted) item.state = { S: a.stateJson };
  if (a.rejected) item.rejected = { S: a.rejected };
  if (a.parkedAt !== undefined) item.parkedAt = { S: a.parkedAt };
  if (a.parkedAt !== undefined && a.parkedThrough !== undefined) item.parkedThrough = { S: a.parkedThrough };
  return item;
}

/** Decodes a DynamoDB item into the projector's view of it (tolerates missing attributes). */
export function decodeStoredAggregate(item: Record<string, AttributeValue>): StoredAggregate {
  let recent = item.recent?.S;
  if (recent === undefined) {
    // Written before `recent`: the same entries as a list (non-strings and empty strings are no entries).
    const entries: string[] = [];
    for (const v of item.recentEventIds?.L ?? []) if (v.S) entries.push(v.S);
    recent = entries.join(RECENT_SEPARATOR);
  }
  const a: StoredAggregate = {
    aggregateId: item.pk?.S ?? "",
    stateJson: item.state?.S,
    deleted: item.deleted?.BOOL === true,
    position: item.position?.S ?? INITIAL_POSITION,
    version: item.version?.N !== undefined ? Number(item.version.N) : 0,
    recent,
    updatedAt: item.updatedAt?.S ?? "",
    parkedAt: item.parkedAt?.S,
    parkedThrough: item.parkedAt?.S !== undefined ? item.parkedThrough?.S : undefined,
  };
  if (item.rejected?.S) a.rejected = item.rejected.S; // absent rather than undefined, without spreading an object per item
  return a;
}

/** Decodes a read-model item for the API. */
export function decodeReadModelItem(item: Record<string, AttributeValue>): ReadModelView {
  const a = decodeStoredAggregate(item);
  const view: ReadModelView = {
    aggregateId: a.aggregateId,
    state: a.stateJson === undefined || a.deleted ? undefined : JSON.parse(a.stateJson),
    deleted: a.deleted,
    position: showPosition(a.position),
    version: a.version,
    parked: a.parkedAt !== undefined,
    updatedAt: a.updatedAt,
  };
  if (a.rejected) view.rejected = a.rejected;
  const lastEventId = item.lastEventId?.S ?? newestEventId(a.recent);
  if (lastEventId !== undefined) view.lastEventId = lastEventId;
  return view;
}

/** The event id of a dedup window's newest entry (the last applied event), undefined when it is empty. */
export function newestEventId(recent: string): string | undefined {
  if (recent === "") return undefined;
  const entry = recent.slice(recent.lastIndexOf(RECENT_SEPARATOR) + 1);
  const mark = entry.indexOf(RECENT_HASH_MARK);
  return mark < 0 ? entry : entry.slice(0, mark);
}
