/**
 * One command made into an event, as the API and the producer library both
 * make it: every input checked (ids, type, Idempotency-Key, data by the
 * domain's schemas), the eventId chosen (a ULID, or derived from the key so a
 * retry has the same id), and a reused key with other data told from a retry
 * against what the read model has applied. Errors are plain objects with a
 * status, so the API answers them as they are and a library caller can too.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { Validator } from "../shared/domain";
import { Actor, ENVELOPE_SCHEMA_VERSION, EventEnvelope, envelopeError, ID_PATTERN, TYPE_PATTERN } from "../shared/envelope";
import { eventDataHash } from "../commands/digest";
import { decodeStoredAggregate, recentLookup } from "../shared/readModelItem";
import { nonFiniteNumberPath } from "../commands/strictJson";
import { idempotentEventId } from "./ulid";

/** An Idempotency-Key: 1-128 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7E]{1,128}$/;

/** Why a command was refused: `status` 400 (bad input) or 422 (a reused Idempotency-Key with other data). */
export interface CommandRejection {
  status: 400 | 422;
  code: string;
  message: string;
}

/** An Error carrying a {@link CommandRejection}; what `append` rejects with when the command is refused (nothing written). */
export type CommandRejectedError = Error & { name: "CommandRejected"; rejection: CommandRejection };

/** The error `append` throws for a refused command. */
export function commandRejected(rejection: CommandRejection): CommandRejectedError {
  return Object.assign(new Error(rejection.message), { name: "CommandRejected" as const, rejection });
}

/** The rejection a thrown error carries, when it is one. */
export function rejectionOf(err: unknown): CommandRejection | undefined {
  const e = err as { name?: string; rejection?: CommandRejection } | null;
  return e && e.name === "CommandRejected" ? e.rejection : undefined;
}

/** What makes the event: the command, the domain's validation, the clock and the container's ULIDs. */
export interface CommandInput {
  aggregateId: string;
  type: string;
  data: unknown;
  idempotencyKey?: string;
  /** Who asked, as the API verified them (see EventEnvelope.actor). */
  actor?: Actor;
}

/** A prepared event, or why the command is refused. */
export type Prepared = { ok: true; envelope: EventEnvelope; dataHash: string } | { ok: false; rejection: CommandRejection };

const refuse = (status: 400 | 422, code: string, message: string): Prepared => ({ ok: false, rejection: { status, code, message } });

/** Why an aggregate id is refused (it is a partition key, a table key and a URL segment), or undefined. */
export function aggregateIdProblem(id: unknown): CommandRejection | undefined {
  if (typeof id === "string" && ID_PATTERN.test(id)) return undefined;
  const message = `aggregate id ${JSON.stringify(id ?? "")} is invalid: use 1-128 characters from A-Z a-z 0-9 . _ : -, starting with a letter or digit`;
  return { status: 400, code: "InvalidAggregateId", message };
}

/** Why an Idempotency-Key is refused, or undefined (absent is fine). */
export function idempotencyKeyProblem(key: unknown): CommandRejection | undefined {
  if (key === undefined || (typeof key === "string" && IDEMPOTENCY_KEY_PATTERN.test(key))) return undefined;
  return { status: 400, code: "InvalidIdempotencyKey", message: "Idempotency-Key must be 1-128 printable ASCII characters" };
}

/** Checks a command and builds its envelope (at `at`); `nextUlid` gives ids to commands without a key. */
export function prepareEvent(input: CommandInput, validate: Validator | undefined, at: Date, nextUlid: (timeMs: number) => string): Prepared {
  const { aggregateId, type, data, idempotencyKey, actor } = input;
  const badInput = aggregateIdProblem(aggregateId) ?? idempotencyKeyProblem(idempotencyKey);
  if (badInput) return { ok: false, rejection: badInput };
  if (typeof type !== "string" || !TYPE_PATTERN.test(type))
    return refuse(400, "InvalidCommand", `type ${JSON.stringify(type)} is invalid: use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter`);
  if (typeof data !== "object" || data === null || Array.isArray(data)) return refuse(400, "InvalidCommand", "data must be a JSON object");
  const nonFinite = nonFiniteNumberPath(data);
  if (nonFinite !== undefined) return refuse(400, "InvalidNumber", `${nonFinite} is not a finite number: JSON numbers must fit a double`);
  const domainError = validate?.(type, data);
  if (domainError !== undefined) return refuse(400, "InvalidEvent", domainError);
  const envelope: EventEnvelope = {
    eventId: idempotencyKey === undefined ? nextUlid(at.getTime()) : idempotentEventId(aggregateId, idempotencyKey),
    aggregateId,
    type,
    occurredAt: at.toISOString(),
    schemaVersion: ENVELOPE_SCHEMA_VERSION,
    data,
    ...(actor ? { actor } : {}),
  };
  // Never put a record the projector would reject as poison.
  const invalid = envelopeError(envelope);
  if (invalid) throw new Error(`built an invalid envelope: ${invalid}`);
  // Throws only for data JSON cannot serialise, which a JSON body never is (the API parsed it); a library caller's cycle is its bug.
  return { ok: true, envelope, dataHash: eventDataHash(envelope) };
}

/**
 * The 422 for an Idempotency-Key reused with other data, decided on the aggregate's read-model item
 * (undefined while absent): its dedup window holds the eventId with another digest. A key whose first
 * event is not projected yet is not seen here; the projector and the bridge then refuse the later one.
 */
export function idempotencyConflict(
  item: Record<string, AttributeValue> | undefined,
  prepared: { envelope: EventEnvelope; dataHash: string },
): CommandRejection | undefined {
  if (!item) return undefined;
  const stored = recentLookup(decodeStoredAggregate(item).recent, prepared.envelope.eventId);
  if (stored === undefined || stored === "" || stored === prepared.dataHash) return undefined;
  return {
    status: 422,
    code: "IdempotencyKeyReused",
    message: `this Idempotency-Key was already used for event ${prepared.envelope.eventId} of aggregate ${prepared.envelope.aggregateId} with a different body; nothing was written: send a new key for a new command, or the original body to retry`,
  };
}
