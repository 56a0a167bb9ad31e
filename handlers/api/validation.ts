/**
 * Request validation for the command API. Every check returns a rejection
 * instead of throwing, so the handler answers with a clear 4xx and writes
 * nothing.
 */
import { TYPE_PATTERN } from "../shared/envelope";
import { aggregateIdProblem, idempotencyKeyProblem } from "../producer/command";
import { parsePosition, Position } from "../shared/sequence";
import { nonFiniteNumberPath, scanJson } from "../commands/strictJson";
import { ApiRejection, reject } from "./responses";
import type { HttpApiEvent } from "./types";

/** A checked value, or why the request is rejected. */
export type Checked<T> = { ok: true; value: T } | { ok: false; rejection: ApiRejection };

/** The body of `POST /aggregates/{id}/events`. */
export interface EventCommand {
  type: string;
  data: Record<string, unknown>;
}

/** Largest accepted body, in bytes: keeps the envelope under Kinesis's 1 MiB record cap. */
export const MAX_BODY_BYTES_LIMIT = 900 * 1024;

// Plain arrays, not Sets: closure serialisation does not preserve Set internals.
const COMMAND_KEYS = ["type", "data"];
const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const no = <T>(status: number, code: string, message: string, headers?: Record<string, string>): Checked<T> => ({
  ok: false,
  rejection: reject(status, code, message, headers),
});

/** Header lookup by lower-cased name (API Gateway lower-cases them; local callers may not). */
export function headerValue(event: HttpApiEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  if (headers[name] !== undefined) return headers[name];
  const wanted = name.toLowerCase();
  for (const key of Object.keys(headers)) if (key.toLowerCase() === wanted) return headers[key];
  return undefined;
}

/** The `{id}` path parameter, checked against ID_PATTERN. */
export function checkAggregateId(id: string | undefined): Checked<string> {
  const problem = aggregateIdProblem(id);
  return problem ? { ok: false, rejection: problem } : ok(id as string);
}

/** The optional Idempotency-Key header: 1-128 printable ASCII characters. */
export function checkIdempotencyKey(value: string | undefined): Checked<string | undefined> {
  const problem = idempotencyKeyProblem(value);
  return problem ? { ok: false, rejection: problem } : ok(value);
}

/** The declared Content-Length, when present, must not exceed `maxBytes`. */
export function checkContentLength(value: string | undefined, maxBytes: number): Checked<void> {
  if (value === undefined || value === "") return ok(undefined);
  if (!/^\d+$/.test(value.trim())) return no(400, "InvalidContentLength", `Content-Length ${JSON.stringify(value)} is not a byte count`);
  if (Number(value.trim()) > maxBytes) return tooLarge(maxBytes);
  return ok(undefined);
}

function tooLarge<T>(maxBytes: number): Checked<T> {
  return no(413, "PayloadTooLarge", `request body exceeds the limit of ${maxBytes} bytes`);
}

/** Content-Type must be application/json, optionally with charset=utf-8. */
export function checkContentType(value: string | undefined): Checked<void> {
  const unsupported = <T>(why: string): Checked<T> => no(415, "UnsupportedMediaType", `${why}; send Content-Type: application/json (charset=utf-8 allowed)`);
  if (value === undefined || value.trim() === "") return unsupported("Content-Type is missing");
  const [mediaType, ...params] = value.split(";");
  if (mediaType.trim().toLowerCase() !== "application/json") return unsupported(`Content-Type ${JSON.stringify(value)} is not supported`);
  for (const param of params) {
    const eq = param.indexOf("=");
    const name = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
    const raw = eq < 0 ? "" : param.slice(eq + 1).trim();
    const paramValue = raw.replace(/^"(.*)"$/, "$1").toLowerCase();
    if (name === "charset" && paramValue !== "utf-8" && paramValue !== "utf8") {
      return unsupported(`charset ${JSON.stringify(raw)} is not supported`);
    }
  }
  return ok(undefined);
}

/**
 * Content-Encoding must be absent or `identity`: an HTTP API (this one) passes a compressed body through as it came
 * (decompressing requests is a REST API setting), so a gzipped command would otherwise be refused as "not valid UTF-8",
 * and a body merely labelled `gzip` accepted.
 * 415 with `Accept-Encoding: identity`, as RFC 7694 has a server answer a content coding it does not accept.
 */
export function checkContentEncoding(value: string | undefined): Checked<void> {
  if (value === undefined) return ok(undefined);
  const codings = value
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "");
  if (codings.every((c) => c === "identity")) return ok(undefined);
  const shown = value.length > 64 ? `${value.slice(0, 64)}…` : value;
  return no(415, "UnsupportedMediaType", `Content-Encoding ${JSON.stringify(shown)} is not supported; send the body uncompressed`, {
    "accept-encoding": "identity",
  });
}

/** The body as text: base64-decoded when API Gateway encoded it, at most `maxBytes`, valid UTF-8. */
export function decodeBody(event: HttpApiEvent, maxBytes: number): Checked<string> {
  const body = event.body ?? "";
  if (event.isBase64Encoded) {
    if (body.length % 4 !== 0 || !BASE64_PATTERN.test(body)) return no(400, "InvalidBody", "body is marked base64-encoded but is not valid base64");
    const bytes = Buffer.from(body, "base64");
    if (bytes.length > maxBytes) return tooLarge(maxBytes);
    try {
      return ok(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch {
      return no(400, "InvalidEncoding", "body is not valid UTF-8");
    }
  }
  // A string body was already decoded upstream; only unpaired surrogates remain invalid.
  if (LONE_SURROGATE.test(body)) return no(400, "InvalidEncoding", "body is not valid UTF-8");
  if (Buffer.byteLength(body, "utf8") > maxBytes) return tooLarge(maxBytes);
  return ok(body);
}

/** Deepest accepted nesting of arrays and objects in a body (the command object itself is level 1). */
export const MAX_JSON_DEPTH = 32;

/** Parses `{ "type": "...", "data": { ... } }` with no other top-level keys, no repeated key anywhere and only finite numbers. */
export function parseCommand(text: string): Checked<EventCommand> {
  if (text.trim() === "") return no(400, "InvalidJson", 'body is empty; expected a JSON object { "type": ..., "data": { ... } }');
  // Pathological nesting parses, but cannot be serialised again (the envelope would fail with a 500) and burdens every reader downstream.
  // One pass measures the nesting and finds a repeated key (JSON.parse would keep the last one silently).
  const scan = scanJson(text, MAX_JSON_DEPTH);
  if (scan.depth > MAX_JSON_DEPTH) return no(400, "TooDeep", `body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`);
  if (scan.duplicateKey !== undefined) return no(400, "DuplicateKey", `body repeats the key ${scan.duplicateKey}: every key may appear once per object`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return no(400, "InvalidJson", `body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return no(400, "InvalidCommand", 'body must be a JSON object { "type": ..., "data": { ... } }');
  }
  const v = value as Record<string, unknown>;
  const extra = Object.keys(v).filter((k) => !COMMAND_KEYS.includes(k));
  if (extra.length > 0)
    return no(400, "InvalidCommand", `unexpected top-level keys: ${extra.map((k) => JSON.stringify(k)).join(", ")}; only "type" and "data" are allowed`);
  if (typeof v.type !== "string" || !TYPE_PATTERN.test(v.type)) {
    return no(400, "InvalidCommand", '"type" is missing or invalid: use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter');
  }
  if (typeof v.data !== "object" || v.data === null || Array.isArray(v.data)) {
    return no(400, "InvalidCommand", '"data" is missing or not a JSON object');
  }
  // 1e400 parses to Infinity, which the envelope's JSON would write as null.
  const nonFinite = nonFiniteNumberPath(v.data);
  if (nonFinite !== undefined) return no(400, "InvalidNumber", `${nonFinite} is not a finite number: JSON numbers must fit a double`);
  return ok({ type: v.type, data: v.data as Record<string, unknown> });
}

/**
 * The optional `minPosition` query parameter: a Kinesis sequence number (what the POST answered), or
 * `<sequence>.<sub-sequence>` for a user record of a KPL aggregate (as `position` shows it).
 */
export function parseMinPosition(value: string | undefined): Checked<Position | undefined> {
  if (value === undefined) return ok(undefined);
  const position = parsePosition(value);
  if (!position)
    return no(
      400,
      "InvalidMinPosition",
      `minPosition ${JSON.stringify(value)} is not a sequence number (1-129 decimal digits), optionally followed by "." and a sub-sequence number`,
    );
  return ok(position);
}

/** Checks a configured body limit: a positive integer no larger than MAX_BODY_BYTES_LIMIT. */
export function checkMaxBodyBytes(n: number): number {
  if (!Number.isInteger(n) || n <= 0 || n > MAX_BODY_BYTES_LIMIT) {
    throw new Error(`maxBodyBytes must be an integer in 1..${MAX_BODY_BYTES_LIMIT}, got ${n}`);
  }
  return n;
}
