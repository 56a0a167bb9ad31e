/**
 * The event envelope: the one shape every record on the source stream has.
 * `aggregateId` is also the Kinesis partition key, so one aggregate's events
 * stay in order on one shard; `eventId` makes every effect idempotent.
 */
export interface EventEnvelope<D = unknown> {
  /** ULID, or derived from the client's Idempotency-Key. */
  eventId: string;
  /** The entity the event belongs to; the partition key. */
  aggregateId: string;
  /** Domain event type, e.g. `OrderPlaced`. */
  type: string;
  /** ISO-8601 time at which the API accepted the command. */
  occurredAt: string;
  /** Version of the envelope (not of the domain payload). */
  schemaVersion: number;
  /** The domain payload. */
  data: D;
  /**
   * Who the API accepted the command from, as it verified them: a customer's JWT `sub`, or an IAM caller's ARN.
   * Absent when the writer is not the API (the producer library, a replay) or the caller was anonymous. `reduce`
   * can enforce ownership exactly with it; `authorize` sees only the read model, which lags the stream.
   */
  actor?: Actor;
}

/** An API caller as the envelope records it. */
export type Actor = { kind: "jwt"; subject: string } | { kind: "iam"; arn: string };

/** The envelope version this code writes and accepts. */
export const ENVELOPE_SCHEMA_VERSION = 1;

/** Identifiers that are safe as keys, partition keys and URL path segments. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Domain event type names. */
export const TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

export type ParseResult = { ok: true; event: EventEnvelope } | { ok: false; reason: string };

/** Returns why `value` is not a valid envelope, or undefined when it is. */
export function envelopeError(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "envelope is not a JSON object";
  const v = value as Record<string, unknown>;
  if (typeof v.eventId !== "string" || !ID_PATTERN.test(v.eventId)) return "eventId is missing or malformed";
  if (typeof v.aggregateId !== "string" || !ID_PATTERN.test(v.aggregateId)) return "aggregateId is missing or malformed";
  if (typeof v.type !== "string" || !TYPE_PATTERN.test(v.type)) return "type is missing or malformed";
  if (typeof v.occurredAt !== "string" || Number.isNaN(Date.parse(v.occurredAt))) return "occurredAt is not an ISO-8601 time";
  if (v.schemaVersion !== ENVELOPE_SCHEMA_VERSION) return `schemaVersion ${String(v.schemaVersion)} is not supported`;
  if (!("data" in v)) return "data is missing";
  if (v.actor !== undefined && actorError(v.actor)) return "actor is malformed";
  return undefined;
}

function actorError(a: unknown): boolean {
  if (typeof a !== "object" || a === null) return true;
  const { kind, subject, arn } = a as Record<string, unknown>;
  return kind === "jwt" ? typeof subject !== "string" || subject.length === 0 : kind !== "iam" || typeof arn !== "string" || arn.length === 0;
}

/** Decodes a record's bytes (UTF-8 JSON) into a validated envelope. */
export function parseEnvelope(bytes: Uint8Array | string): ParseResult {
  let value: unknown;
  try {
    const text = typeof bytes === "string" ? bytes : new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not UTF-8 JSON: ${(err as Error).message}` };
  }
  const reason = envelopeError(value);
  return reason ? { ok: false, reason } : { ok: true, event: value as EventEnvelope };
}
