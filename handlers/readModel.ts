/**
 * The read-model item: one per aggregate, hash key `pk` = aggregateId.
 *
 * Attributes (written by the projector, read by the HTTP API):
 * - `pk` (S): the aggregate id.
 * - `state` (S): JSON of the reducer's state; absent when deleted or when nothing was applied yet.
 * - `deleted` (BOOL): a tombstone. The item is never deleted, or a replay would re-apply.
 * - `position` (S): padded sequence number of the last applied event or skipped duplicate
 *   (`padSequence("0")` when the item exists only because the aggregate is parked).
 * - `version` (N): count of applied events.
 * - `lastEventId` (S): eventId of the last applied event.
 * - `recentEventIds` (L of S): the last `dedupWindow` applied events, newest last, each
 *   `<eventId>#<dataHash>` (8 hex of sha256 over the event's type and data, see `eventDataHash`
 *   in projectorFold.ts), so an eventId seen again with different data is told from a retry.
 *   Items written before the hash hold the plain `<eventId>` (no `#`: ids never contain one);
 *   they decode with an empty hash and count as plain duplicates.
 * - `updatedAt` (S): ISO time of the last write.
 * - `parkedAt` (S): padded sequence number of the first parked event, present while blocked.
 * - `parkedThrough` (S): padded sequence number of the last event parked behind the block,
 *   present while blocked (absent on blocked items written before it: the re-drive then takes
 *   every parked row). The projector advances it, with a conditional write, whenever it parks
 *   more events behind the block; the re-drive applies parked rows up to the value it read and
 *   lifts the block only if it is unchanged.
 *
 * Items are at most {@link MAX_ITEM_BYTES} (DynamoDB's limit); the projector parks an event
 * whose state would not fit ({@link readModelItemSize}).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { padSequence, unpadSequence } from "./sequence";

/** The item as the projector handles it: positions padded, state still as JSON text. */
export interface StoredAggregate {
  aggregateId: string;
  /** JSON of the state, undefined when deleted or never set. */
  stateJson?: string;
  deleted: boolean;
  /** Padded sequence number. */
  position: string;
  version: number;
  lastEventId?: string;
  /** The recent applied event ids, newest last (plain ids). */
  recentEventIds: string[];
  /** Data hash of each of `recentEventIds` (same index); "" for entries written before the hash. */
  recentDataHashes: string[];
  updatedAt: string;
  /** Padded sequence number of the first parked event. */
  parkedAt?: string;
  /** Padded sequence number of the last event parked behind the block (see the attribute list). */
  parkedThrough?: string;
}

/** What the API shows of an aggregate. */
export interface ReadModelView {
  aggregateId: string;
  /** The reducer's state; undefined when deleted or nothing applied yet. */
  state: unknown;
  deleted: boolean;
  /** Unpadded sequence number of the last applied event ("0" when none). */
  position: string;
  /** Count of applied events. */
  version: number;
  lastEventId?: string;
  /** True while the aggregate is blocked behind a parked poison event. */
  parked: boolean;
  updatedAt: string;
}

/** Position of an aggregate with nothing applied yet. */
export const INITIAL_POSITION = padSequence("0");

/** The starting point for an aggregate that has no item yet. */
export function emptyAggregate(aggregateId: string): StoredAggregate {
  return { aggregateId, deleted: false, position: INITIAL_POSITION, version: 0, recentEventIds: [], recentDataHashes: [], updatedAt: "" };
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
    deleted: { BOOL: a.deleted },
    position: { S: a.position },
    version: { N: String(a.version) },
    recentEventIds: { L: a.recentEventIds.map((id, i) => ({ S: a.recentDataHashes?.[i] ? `${id}#${a.recentDataHashes[i]}` : id })) },
    updatedAt: { S: a.updatedAt },
  };
  if (a.stateJson !== undefined && !a.deleted) item.state = { S: a.stateJson };
  if (a.lastEventId !== undefined) item.lastEventId = { S: a.lastEventId };
  if (a.parkedAt !== undefined) item.parkedAt = { S: a.parkedAt };
  if (a.parkedAt !== undefined && a.parkedThrough !== undefined) item.parkedThrough = { S: a.parkedThrough };
  return item;
}

/** Decodes a DynamoDB item into the projector's view of it (tolerates missing attributes). */
export function decodeStoredAggregate(item: Record<string, AttributeValue>): StoredAggregate {
  const recentEventIds: string[] = [];
  const recentDataHashes: string[] = [];
  for (const v of item.recentEventIds?.L ?? []) {
    const entry = v.S ?? "";
    const hash = entry.lastIndexOf("#");
    recentEventIds.push(hash < 0 ? entry : entry.slice(0, hash));
    recentDataHashes.push(hash < 0 ? "" : entry.slice(hash + 1));
  }
  return {
    aggregateId: item.pk?.S ?? "",
    stateJson: item.state?.S,
    deleted: item.deleted?.BOOL === true,
    position: item.position?.S ?? INITIAL_POSITION,
    version: item.version?.N !== undefined ? Number(item.version.N) : 0,
    lastEventId: item.lastEventId?.S,
    recentEventIds,
    recentDataHashes,
    updatedAt: item.updatedAt?.S ?? "",
    parkedAt: item.parkedAt?.S,
    parkedThrough: item.parkedAt?.S !== undefined ? item.parkedThrough?.S : undefined,
  };
}

/** Decodes a read-model item for the API. */
export function decodeReadModelItem(item: Record<string, AttributeValue>): ReadModelView {
  const a = decodeStoredAggregate(item);
  const view: ReadModelView = {
    aggregateId: a.aggregateId,
    state: a.stateJson === undefined || a.deleted ? undefined : JSON.parse(a.stateJson),
    deleted: a.deleted,
    position: unpadSequence(a.position),
    version: a.version,
    parked: a.parkedAt !== undefined,
    updatedAt: a.updatedAt,
  };
  if (a.lastEventId !== undefined) view.lastEventId = a.lastEventId;
  return view;
}
