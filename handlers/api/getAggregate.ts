/**
 * `GET /aggregates/{id}[?minPosition=<sequence number>]`: a strongly
 * consistent read of the read model, telling a poller whether the event it
 * wrote (at `minPosition`) is visible yet. Positions are `<sequence>`, or
 * `<sequence>.<sub-sequence>` for a user record of a KPL aggregate. The contract itself
 * (handlers/producer/read.ts) is the producer library's too.
 */
import { decodeReadModelItem, ReadModelView } from "../shared/readModelItem";
import { aggregateRead, readItem } from "../producer/read";
import type { Principal } from "../shared/domain";
import { checkAccess } from "./access";
import { errorResponse, jsonResponse, rejectionResponse } from "./responses";
import type { ApiDeps, HttpApiEvent, HttpApiResult } from "./types";
import { checkAggregateId, parseMinPosition } from "./validation";

/** The 200 body: the read model of one aggregate. */
export interface AggregateView {
  aggregateId: string;
  /** The reducer's state; null when nothing was applied yet (e.g. parked at its first event). */
  state: unknown;
  version: number;
  /** Position of the last applied event: `<sequence>`, or `<sequence>.<sub-sequence>` inside a KPL aggregate. */
  position: string;
  lastEventId: string | null;
  updatedAt: string;
  /** True while a poison event blocks this aggregate's later events. */
  parked: boolean;
  /** Whether the read model has reached `minPosition` (always true without it). */
  visible: boolean;
  /**
   * Present when the event at `minPosition` was refused (an Idempotency-Key reused with other data that lost to
   * the first in stream order): the read model reached it (`visible`) and did NOT apply it.
   */
  rejected?: { eventId: string; reason: string };
}

/** The aggregate's read-model item, decoded; undefined while absent. `consistent` costs 1 RCU per 4 KB instead of 0.5. */
export async function readView(deps: ApiDeps, aggregateId: string, consistent: boolean): Promise<ReadModelView | undefined> {
  const item = await readItem(deps.dynamodb, deps.config.tableName, aggregateId, consistent);
  return item ? decodeReadModelItem(item) : undefined;
}

/** The state the domain's `authorize` decides on: undefined while absent or deleted. */
export const stateOf = (view: ReadModelView | undefined): unknown => (view && !view.deleted ? view.state : undefined);

/** Handles one GET by `principal`. */
export async function getAggregate(deps: ApiDeps, event: HttpApiEvent, principal: Principal = { kind: "anonymous" }): Promise<HttpApiResult> {
  const id = checkAggregateId(event.pathParameters?.id);
  if (!id.ok) return rejectionResponse(id.rejection);
  const min = parseMinPosition(event.queryStringParameters?.minPosition);
  if (!min.ok) return rejectionResponse(min.rejection);

  const read = aggregateRead(await readItem(deps.dynamodb, deps.config.tableName, id.value, true), min.value);
  // Decided on what was read, before anything of it is answered (404s included).
  const refused = checkAccess(deps.authorize, principal, { kind: "read" }, id.value, read.found ? stateOf(read.view) : undefined);
  if (refused) return rejectionResponse(refused);
  if (!read.found) {
    const message =
      min.value === undefined ? `aggregate ${id.value} not found` : `aggregate ${id.value} not found yet: its first event may not be projected; keep polling`;
    return errorResponse(404, "NotFound", message, { extra: { visible: false } });
  }
  const view = read.view;
  if (read.deleted) {
    // A tombstone below minPosition may yet be recreated by the awaited event.
    const message = read.rejected
      ? `aggregate ${id.value} is deleted, and the event at minPosition was refused (${read.rejected.reason}); stop polling`
      : read.visible
        ? `aggregate ${id.value} was deleted; stop polling`
        : `aggregate ${id.value} is deleted as of position ${view.position}, below minPosition; keep polling`;
    return errorResponse(404, "Deleted", message, {
      extra: { visible: false, deleted: true, position: view.position, version: view.version, ...(read.rejected ? { rejected: read.rejected } : {}) },
    });
  }
  const body: AggregateView = {
    aggregateId: view.aggregateId,
    // null, not undefined, so every key is always present in the JSON.
    state: view.state === undefined ? null : view.state,
    version: view.version,
    position: view.position,
    lastEventId: view.lastEventId ?? null,
    updatedAt: view.updatedAt,
    parked: view.parked,
    visible: read.visible,
    // Only with minPosition, when the event there was refused: present only then, so earlier answers keep their shape.
    ...(read.rejected ? { rejected: read.rejected } : {}),
  };
  return jsonResponse(200, body, { etag: `"${view.version}"` });
}
