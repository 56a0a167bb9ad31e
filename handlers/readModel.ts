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
 * - `recentEventIds` (L of S): the last `dedupWindow` applied event ids, newest last.
 * - `updatedAt` (S): ISO time of the last write.
 * - `parkedAt` (S): padded sequence number of the first parked event, present while blocked.
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
  recentEventIds: string[];
  updatedAt: string;
  /** Padded sequence number of the first parked event. */
  parkedAt?: string;
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
  return { aggregateId, deleted: false, position: INITIAL_POSITION, version: 0, recentEventIds: [], updatedAt: "" };
}

/** Encodes a stored aggregate as a DynamoDB item. */
export function encodeReadModelItem(a: StoredAggregate): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    pk: { S: a.aggregateId },
    deleted: { BOOL: a.deleted },
    position: { S: a.position },
    version: { N: String(a.version) },
    recentEventIds: { L: a.recentEventIds.map((id) => ({ S: id })) },
    updatedAt: { S: a.updatedAt },
  };
  if (a.stateJson !== undefined && !a.deleted) item.state = { S: a.stateJson };
  if (a.lastEventId !== undefined) item.lastEventId = { S: a.lastEventId };
  if (a.parkedAt !== undefined) item.parkedAt = { S: a.parkedAt };
  return item;
}

/** Decodes a DynamoDB item into the projector's view of it (tolerates missing attributes). */
export function decodeStoredAggregate(item: Record<string, AttributeValue>): StoredAggregate {
  return {
    aggregateId: item.pk?.S ?? "",
    stateJson: item.state?.S,
    deleted: item.deleted?.BOOL === true,
    position: item.position?.S ?? INITIAL_POSITION,
    version: item.version?.N !== undefined ? Number(item.version.N) : 0,
    lastEventId: item.lastEventId?.S,
    recentEventIds: (item.recentEventIds?.L ?? []).map((v) => v.S ?? ""),
    updatedAt: item.updatedAt?.S ?? "",
    parkedAt: item.parkedAt?.S,
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
