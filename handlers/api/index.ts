/**
 * The HTTP command API (API Gateway HTTP API, payload format 2.0): writes go
 * only to the source stream, reads come from the read model. Plain functions
 * with injected clients, safe for closure serialisation: call `createApi`
 * once per container (in a `callbackFactory`) and serve its result.
 */
import { ENV, intEnv, requireEnv } from "../shared/env";
import { errorResponse, rejectionResponse } from "./responses";
import type { ApiConfig, ApiDeps, HttpApiEvent, HttpApiResult } from "./types";
import { checkMaxBodyBytes } from "./validation";
import { postEvent } from "./postEvent";
import { getAggregate } from "./getAggregate";
import { createUlidGenerator } from "./ulid";
import { authModeOf, principalOf } from "./access";

export type { ApiConfig, ApiDeps, HttpApiEvent, HttpApiResult } from "./types";
export { AUTH_MODES } from "./access";
export type { AuthMode } from "./access";

/** The routes the component declares on the HTTP API (plus "$default", which this handler answers with 404). */
export const API_ROUTES: readonly string[] = ["POST /aggregates/{id}/events", "GET /aggregates/{id}"];

/** Default largest request body, in bytes. */
export const DEFAULT_MAX_BODY_BYTES = 65536;

// Kinesis throttling: the client should retry after a pause, so 503, not 500.
const THROTTLE_NAMES = ["ProvisionedThroughputExceededException", "LimitExceededException", "ThrottlingException", "KMSThrottlingException"];

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

/** Builds the Lambda handler. State (the monotonic ULID generator) lives in this closure. */
export function createApi(deps: ApiDeps): (event: HttpApiEvent) => Promise<HttpApiResult> {
  checkMaxBodyBytes(deps.config.maxBodyBytes);
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? defaultLog;
  const full = { ...deps, now, log };
  const nextUlid = createUlidGenerator({ now: () => now().getTime() });

  return async (event: HttpApiEvent): Promise<HttpApiResult> => {
    const requestId = event.requestContext?.requestId ?? "unknown";
    try {
      const principal = principalOf(event, deps.config.auth);
      if (!principal.ok) return rejectionResponse(principal.rejection);
      if (event.routeKey === API_ROUTES[0]) return await postEvent(full, nextUlid, event, principal.value);
      if (event.routeKey === API_ROUTES[1]) return await getAggregate(full, event, principal.value);
      const method = event.requestContext?.http?.method ?? "?";
      return errorResponse(404, "RouteNotFound", `no route for ${method} ${event.rawPath}; routes are: ${API_ROUTES.join(", ")}`);
    } catch (err) {
      const e = err as { name?: string; message?: string; stack?: string };
      if (e && typeof e.name === "string" && THROTTLE_NAMES.includes(e.name)) {
        log({ level: "warn", msg: "throttled", requestId, routeKey: event.routeKey, error: e.name });
        return errorResponse(
          503,
          "Throttled",
          "the event stream is busy right now; nothing was written, retry after 1 second (with the same Idempotency-Key)",
          {
            headers: { "retry-after": "1" },
            requestId,
          },
        );
      }
      log({ level: "error", msg: "request failed", requestId, routeKey: event.routeKey, error: e?.name, message: e?.message, stack: e?.stack });
      return errorResponse(500, "InternalError", `internal error; quote request id ${requestId} when reporting it`, { requestId });
    }
  };
}
