/**
 * `POST /aggregates/{id}/events`: validate, wrap in the envelope and append
 * ONE record to the source stream (a single PutRecord is atomic), then answer
 * 202 with the event id and where to poll for it.
 */
import { PutRecordCommand } from "@aws-sdk/client-kinesis";
import { ENVELOPE_SCHEMA_VERSION, EventEnvelope, envelopeError } from "../shared/envelope";
import { errorResponse, jsonResponse, rejectionResponse } from "./responses";
import type { ApiDeps, HttpApiEvent, HttpApiResult } from "./types";
import { checkAggregateId, checkContentLength, checkContentType, checkIdempotencyKey, decodeBody, headerValue, parseCommand } from "./validation";
import { idempotentEventId } from "./ulid";
import type { Principal } from "../shared/domain";
import { checkAccess } from "./access";
import { readView, stateOf } from "./getAggregate";

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

/** Handles one POST by `principal`; `nextUlid` is the container's monotonic ULID generator. */
export async function postEvent(
  deps: Required<Pick<ApiDeps, "now">> & ApiDeps,
  nextUlid: (timeMs?: number) => string,
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
  const text = decodeBody(event, max);
  if (!text.ok) return rejectionResponse(text.rejection);
  const command = parseCommand(text.value);
  if (!command.ok) return rejectionResponse(command.rejection);
  const domainError = deps.validate?.(command.value.type, command.value.data);
  if (domainError !== undefined) return errorResponse(400, "InvalidEvent", domainError);
  if (deps.authorize) {
    // One eventually consistent GetItem (0.5 RCU) per write, only when the domain has a rule: ownership is in the state.
    const state = stateOf(await readView(deps, id.value, false));
    const refused = checkAccess(deps.authorize, principal, { kind: "write", type: command.value.type, data: command.value.data }, id.value, state);
    if (refused) return rejectionResponse(refused);
  }

  const at = deps.now();
  const envelope: EventEnvelope = {
    eventId: key.value === undefined ? nextUlid(at.getTime()) : idempotentEventId(id.value, key.value),
    aggregateId: id.value,
    type: command.value.type,
    occurredAt: at.toISOString(),
    schemaVersion: ENVELOPE_SCHEMA_VERSION,
    data: command.value.data,
  };
  // Never put a record the projector would reject as poison.
  const invalid = envelopeError(envelope);
  if (invalid) throw new Error(`built an invalid envelope: ${invalid}`);

  const out = await deps.kinesis.send(
    new PutRecordCommand({
      StreamName: deps.config.streamName,
      PartitionKey: envelope.aggregateId,
      Data: Buffer.from(JSON.stringify(envelope), "utf8"),
    }),
  );
  const sequenceNumber = out.SequenceNumber;
  if (!sequenceNumber) throw new Error("PutRecord returned no sequence number");

  const poll = pollUrl(envelope.aggregateId, sequenceNumber);
  const body: AcceptedEvent = { eventId: envelope.eventId, aggregateId: envelope.aggregateId, sequenceNumber, poll };
  return jsonResponse(202, body, { location: poll });
}
