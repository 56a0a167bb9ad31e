/**
 * `POST /aggregates/{id}/events`: validate, wrap in the envelope and append
 * ONE record to the source stream (a single PutRecord is atomic) through the
 * producer library, then answer 202 with the event id and where to poll for
 * it. A reused Idempotency-Key with another body answers 422 when the read
 * model already holds the key's first event.
 */
import type { Producer } from "../producer";
import { idempotencyConflict, prepareEvent } from "../producer/command";
import { readItem } from "../producer/read";
import { decodeReadModelItem } from "../shared/readModelItem";
import { jsonResponse, rejectionResponse } from "./responses";
import type { ApiDeps, HttpApiEvent, HttpApiResult } from "./types";
import {
  checkAggregateId,
  checkContentEncoding,
  checkContentLength,
  checkContentType,
  checkIdempotencyKey,
  decodeBody,
  headerValue,
  parseCommand,
} from "./validation";
import type { Principal } from "../shared/domain";
import type { Actor } from "../shared/envelope";
import { checkAccess } from "./access";
import { stateOf } from "./getAggregate";

/** The 202 body of an accepted event. */
export interface AcceptedEvent {
  eventId: string;
  aggregateId: string;
  sequenceNumber: string;
  /** Relative URL answering 200 with `visible: true` once the read model shows the event. */
  poll: string;
}

/** The URL a client polls until the read model has reached `sequenceNumber`. */
export function pollUrl(aggregateId: string, sequenceNumber: string): string {
  return `/aggregates/${encodeURIComponent(aggregateId)}?minPosition=${sequenceNumber}`;
}

/** The caller as the envelope records it: a JWT's `sub` (none without one), an IAM caller's ARN; nothing for anonymous. */
export function actorOf(principal: Principal): Actor | undefined {
  if (principal.kind === "jwt") return principal.subject ? { kind: "jwt", subject: principal.subject } : undefined;
  return principal.kind === "iam" ? { kind: "iam", arn: principal.userArn } : undefined;
}

/** Handles one POST by `principal`; `nextUlid` is the container's monotonic ULID generator. */
export async function postEvent(
  deps: Required<Pick<ApiDeps, "now">> & ApiDeps,
  nextUlid: (timeMs?: number) => string,
  producer: Pick<Producer, "put">,
  event: HttpApiEvent,
  principal: Principal = { kind: "anonymous" },
): Promise<HttpApiResult> {
  const max = deps.config.maxBodyBytes;
  // Cheap header checks first, so an oversized or foreign body is never decoded.
  const id = checkAggregateId(event.pathParameters?.id);
  if (!id.ok) return rejectionResponse(id.rejection);
  const key = checkIdempotencyKey(headerValue(event, "idempotency-key"));
  if (!key.ok) return rejectionResponse(key.rejection);
  const length = checkContentLength(headerValue(event, "content-length"), max);
  if (!length.ok) return rejectionResponse(length.rejection);
  const type = checkContentType(headerValue(event, "content-type"));
  if (!type.ok) return rejectionResponse(type.rejection);
  const coding = checkContentEncoding(headerValue(event, "content-encoding"));
  if (!coding.ok) return rejectionResponse(coding.rejection);
  const text = decodeBody(event, max);
  if (!text.ok) return rejectionResponse(text.rejection);
  const command = parseCommand(text.value);
  if (!command.ok) return rejectionResponse(command.rejection);
  // The producer library's checks: ids, data by the domain's schemas, the eventId (derived from the key when given).
  const prepared = prepareEvent(
    { aggregateId: id.value, type: command.value.type, data: command.value.data, idempotencyKey: key.value, actor: actorOf(principal) },
    deps.validate,
    deps.now(),
    nextUlid,
  );
  if (!prepared.ok) return rejectionResponse(prepared.rejection);
  if (deps.authorize || key.value !== undefined) {
    // One eventually consistent GetItem (0.5 RCU), only for a keyed write or a domain with a rule: the key's first
    // event (if projected) and the owner are both in the item.
    const item = await readItem(deps.dynamodb, deps.config.tableName, id.value, false);
    if (deps.authorize) {
      const state = stateOf(item ? decodeReadModelItem(item) : undefined);
      const refused = checkAccess(deps.authorize, principal, { kind: "write", type: command.value.type, data: command.value.data }, id.value, state);
      if (refused) return rejectionResponse(refused);
    }
    // After authorize: a caller refused learns nothing of the key's earlier use.
    const conflict = key.value === undefined ? undefined : idempotencyConflict(item, prepared);
    if (conflict) return rejectionResponse(conflict);
  }

  const envelope = prepared.envelope;
  // One PutRecord through the producer library: a write never half-succeeds.
  const { sequenceNumber } = await producer.put(envelope);

  const poll = pollUrl(envelope.aggregateId, sequenceNumber);
  const body: AcceptedEvent = { eventId: envelope.eventId, aggregateId: envelope.aggregateId, sequenceNumber, poll };
  return jsonResponse(202, body, { location: poll });
}
