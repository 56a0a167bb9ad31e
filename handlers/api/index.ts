/**
 * The HTTP command API (API Gateway HTTP API, payload format 2.0): writes go
 * only to the source stream, reads come from the read model. Plain functions
 * with injected clients, safe for closure serialisation: call `createApi`
 * once per container (in a `callbackFactory`) and serve its result.
 */
import { ENV, intEnv, requireEnv } from "../shared/env";
import { errorResponse, rejectionResponse } from "./responses";
import type { ApiConfig, ApiDeps, HttpApiEvent, HttpApiResult } from "./types";
import { PREFLIGHT_ROUTE } from "./types";
import { checkMaxBodyBytes } from "./validation";
import { postEvent } from "./postEvent";
import { getAggregate } from "./getAggregate";
import { createUlidGenerator } from "../producer/ulid";
import { createProducer } from "../producer";
import { defaultMetricsSink } from "../observability/emf";
import { API_METRICS, METRIC, MetricsRecorder, metricsRecorder } from "../observability/metrics";
import { authModeOf, principalOf } from "./access";

export type { ApiConfig, ApiDeps, HttpApiEvent, HttpApiResult } from "./types";
export { PREFLIGHT_ROUTE };
export { AUTH_MODES } from "./access";
export type { AuthMode } from "./access";

/** The routes the component declares on the HTTP API (plus "$default", which this handler answers with 404). */
export const API_ROUTES: readonly string[] = ["POST /aggregates/{id}/events", "GET /aggregates/{id}"];

/** Default largest request body, in bytes. */
export const DEFAULT_MAX_BODY_BYTES = 65536;

// Kinesis throttling: the client should retry after a pause, so 503, not 500.
const THROTTLE_NAMES = ["ProvisionedThroughputExceededException", "LimitExceededException", "ThrottlingException", "KMSThrottlingException"];
// The SDK's per-attempt timeout, an abort, or the handler's own deadline: the service may yet have acted, so 503 with an honest message.
const TIMEOUT_NAMES = ["TimeoutError", "AbortError", "RequestTimeout", "RequestTimeoutException", "DeadlineExceeded"];

/** The two answers that ask the client to retry after a second. */
const RETRY_LATER = {
  throttled: {
    code: "Throttled",
    log: "throttled",
    message: "the event stream is busy right now; nothing was written, retry after 1 second (with the same Idempotency-Key)",
  },
  timeout: {
    code: "Timeout",
    log: "timed out",
    message:
      "the event stream or read model did not answer in time; a write may have been accepted: retry after 1 second with the same Idempotency-Key (a retried event is applied once)",
  },
};

/** Resolves as `work`, or rejects with a DeadlineExceeded error after `ms` (the timer never outlives the request). */
async function withinDeadline<T>(work: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { name: "DeadlineExceeded" })), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the API's configuration from the function's environment (fails the cold start when incomplete). */
export function apiConfigFromEnv(env: NodeJS.ProcessEnv): ApiConfig {
  const auth = authModeOf(env[ENV.API_AUTH]);
  return {
    streamName: requireEnv(env, ENV.STREAM_NAME),
    tableName: requireEnv(env, ENV.TABLE_NAME),
    maxBodyBytes: checkMaxBodyBytes(intEnv(env, ENV.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)),
    ...(auth ? { auth } : {}),
  };
}

function defaultLog(e: Record<string, unknown>): void {
  console.log(JSON.stringify(e));
}

/** Counts one answer by its status class (503 is only ever the throttled stream) and publishes it. */
export function countAnswer(metrics: MetricsRecorder, statusCode: number): void {
  metrics.add(METRIC.requests2xx, statusCode < 300 ? 1 : 0);
  metrics.add(METRIC.requests4xx, statusCode >= 400 && statusCode < 500 ? 1 : 0);
  metrics.add(METRIC.requests5xx, statusCode >= 500 ? 1 : 0);
  metrics.add(METRIC.throttles, statusCode === 503 ? 1 : 0);
  metrics.add(METRIC.eventsAccepted, statusCode === 202 ? 1 : 0);
  metrics.publish();
}

/** Builds the Lambda handler. State (the monotonic ULID generator) lives in this closure. */
export function createApi(deps: ApiDeps): (event: HttpApiEvent) => Promise<HttpApiResult> {
  checkMaxBodyBytes(deps.config.maxBodyBytes);
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? defaultLog;
  const metrics = deps.metrics ?? metricsRecorder(API_METRICS, defaultMetricsSink(process.env));
  const full = { ...deps, now, log };
  const nextUlid = createUlidGenerator({ now: () => now().getTime() });
  // Unbatched: one PutRecord per request, answered before the function returns.
  const producer = createProducer({ kinesis: deps.kinesis, streamName: deps.config.streamName });

  const answer = async (event: HttpApiEvent): Promise<HttpApiResult> => {
    const requestId = event.requestContext?.requestId ?? "unknown";
    try {
      const principal = principalOf(event, deps.config.auth);
      if (!principal.ok) return rejectionResponse(principal.rejection);
      if (event.routeKey === API_ROUTES[0]) return await withinDeadline(postEvent(full, nextUlid, producer, event, principal.value), deps.deadlineMs);
      if (event.routeKey === API_ROUTES[1]) return await withinDeadline(getAggregate(full, event, principal.value), deps.deadlineMs);
      const method = event.requestContext?.http?.method ?? "?";
      return errorResponse(404, "RouteNotFound", `no route for ${method} ${event.rawPath}; routes are: ${API_ROUTES.join(", ")}`);
    } catch (err) {
      const e = err as { name?: string; message?: string; stack?: string };
      // Both 503s tell the client to come back in a second; the message says whether anything may have been written.
      const retryLater = TIMEOUT_NAMES.includes(String(e?.name))
        ? RETRY_LATER.timeout
        : THROTTLE_NAMES.includes(String(e?.name))
          ? RETRY_LATER.throttled
          : undefined;
      if (retryLater) {
        log({ level: "warn", msg: retryLater.log, requestId, routeKey: event.routeKey, error: e.name });
        return errorResponse(503, retryLater.code, retryLater.message, { headers: { "retry-after": "1" }, requestId });
      }
      log({ level: "error", msg: "request failed", requestId, routeKey: event.routeKey, error: e?.name, message: e?.message, stack: e?.stack });
      return errorResponse(500, "InternalError", `internal error; quote request id ${requestId} when reporting it`, { requestId });
    }
  };

  return async (event: HttpApiEvent): Promise<HttpApiResult> => {
    // Before any principal is asked for (the route is open), and not counted: an OPTIONS outside a preflight, which
    // anyone may send to it, is no request of the API's.
    if (event.routeKey === PREFLIGHT_ROUTE) return { statusCode: 204, headers: {}, body: "" };
    const result = await answer(event);
    // A 500 is returned, not thrown, so Lambda's Errors never sees it: this (and the gateway's 5xx) does.
    countAnswer(metrics, result.statusCode);
    return result;
  };
}
