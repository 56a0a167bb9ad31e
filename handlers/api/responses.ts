/**
 * JSON responses of the command API: every answer is JSON, never cached,
 * never content-sniffed; errors share one shape.
 */
import type { HttpApiResult } from "./types";

/** The body of every error response. */
export interface ApiErrorBody {
  error: { code: string; message: string; requestId?: string };
}

/** A JSON response with the common headers, plus `headers`. */
export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpApiResult {
  return {
    statusCode,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

/** An error response `{ error: { code, message } }`; `extra` adds top-level fields (e.g. `visible`). */
export function errorResponse(
  statusCode: number,
  code: string,
  message: string,
  options: { headers?: Record<string, string>; extra?: Record<string, unknown>; requestId?: string } = {},
): HttpApiResult {
  const error: ApiErrorBody["error"] = { code, message };
  if (options.requestId !== undefined) error.requestId = options.requestId;
  return jsonResponse(statusCode, { error, ...options.extra }, options.headers);
}

/** A rejected request: the status and the error to answer with. */
export interface ApiRejection {
  status: number;
  code: string;
  message: string;
  /** Headers the answer carries besides the common ones (e.g. `accept-encoding` on a 415). */
  headers?: Record<string, string>;
}

/** Builds a rejection (validation results carry these instead of throwing). */
export function reject(status: number, code: string, message: string, headers?: Record<string, string>): ApiRejection {
  return headers ? { status, code, message, headers } : { status, code, message };
}

/** Turns a rejection into its response. */
export function rejectionResponse(r: ApiRejection): HttpApiResult {
  return errorResponse(r.status, r.code, r.message, { headers: r.headers });
}
