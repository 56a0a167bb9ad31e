/**
 * `GET /aggregates/{id}[?minPosition=<sequence number>]`: a strongly
 * consistent read of the read model, telling a poller whether the event it
 * wrote (at `minPosition`) is visible yet. Positions are `<sequence>`, or
 * `<sequence>.<sub-sequence>` for a user record of a KPL aggregate.
 */
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { comparePosition, parsePosition, Position } from "../shared/sequence";
import { decodeReadModelItem, ReadModelView } from "../shared/readModelItem";
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
}

/** The aggregate's read-model item, decoded; undefined while absent. `consistent` costs 1 RCU per 4 KB instead of 0.5. */
export async function readView(deps: ApiDeps, aggregateId: string, consistent: boolean): Promise<ReadModelView | undefined> {
  const out = await deps.dynamodb.send(new GetItemCommand({ TableName: deps.config.tableName, Key: { pk: { S: aggregateId } }, ConsistentRead: consistent }));
  return out.Item ? decodeReadModelItem(out.Item) : undefined;
}

/** The state the domain's `authorize` decides on: undefined while absent or deleted. */
export const stateOf = (view: ReadModelView | undefined): unknown => (view && !view.deleted ? view.state : undefined);

/** Handles one GET by `principal`. */
export async function getAggregate(deps: ApiDeps, event: HttpApiEvent, principal: Principal = { kind: "anonymous" }): Promise<HttpApiResult> {
  const id = checkAggregateId(event.pathParameters?.id);
  if (!id.ok) return rejectionResponse(id.rejection);
  const min = parseMinPosition(event.queryStringParameters?.minPosition);
  if (!min.ok) return rejectionResponse(min.rejection);

  const view = await readView(deps, id.value, true);
  // Decided on what was read, before anything of it is answered (404s included).
  const refused = checkAccess(deps.authorize, principal, { kind: "read" }, id.value, stateOf(view));
  if (refused) return rejectionResponse(refused);
  if (!view) {
    const message =
      min.value === undefined ? `aggregate ${id.value} not found` : `aggregate ${id.value} not found yet: its first event may not be projected; keep polling`;
    return errorResponse(404, "NotFound", message, { extra: { visible: false } });
  }
  const reached = reachedBy(view.position, min.value);
  if (view.deleted) {
    // A tombstone below minPosition may yet be recreated by the awaited event.
    const message = reached
      ? `aggregate ${id.value} was deleted; stop polling`
      : `aggregate ${id.value} is deleted as of position ${view.position}, below minPosition; keep polling`;
    return errorResponse(404, "Deleted", message, {
      extra: { visible: false, deleted: true, position: view.position, version: view.version },
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
    visible: reached,
  };
  return jsonResponse(200, body, { etag: `"${view.version}"` });
}

/** Whether the read model's position (as the view shows it) is at or past `min` (always, without one). */
function reachedBy(position: string, min: Position | undefined): boolean {
  if (min === undefined) return true;
  const at = parsePosition(position);
  return at !== undefined && comparePosition(at, min) >= 0;
}
