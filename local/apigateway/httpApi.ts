/**
 * The local cloud's API Gateway HTTP API: serves the declared routes on
 * 127.0.0.1, answers CORS preflights and runs each route's authorizer before
 * the integration (cors.ts, routeAccess.ts), builds payload-format-2.0 events
 * as API Gateway does (event.ts), and maps the integration's answer (or failure) to HTTP
 * the way API Gateway does. Every 5xx is logged with its request id and
 * cause; a stop answers the requests in flight before it closes.
 */
import * as http from "http";
import { randomBytes } from "crypto";
import type { HttpApiResult } from "../../handlers/api/types";
import { LocalService, startLoopbackServer } from "../shared/loopback";
import { matchRoute, parseRoutes } from "./routes";
import { CorsRules, isPreflight, preflightHeaders, withCors } from "./cors";
import type { AccessOutcome, AccessRequest } from "./routeAccess";
import { buildEvent, headersOf, HttpApiEventV2 } from "./event";

export { matchRoute, parseRoutes } from "./routes";
export type { HttpApiEventV2 } from "./event";

/** What an integration may answer: a structured result, or any JSON value (→ 200 application/json). */
export type IntegrationResult = (HttpApiResult & { isBase64Encoded?: boolean; cookies?: string[] }) | unknown;

/** Options of {@link startHttpApi}. */
export interface HttpApiOptions {
  /** Declared route keys, e.g. `POST /aggregates/{id}/events`, `ANY /{proxy+}`, `$default`. */
  routes: string[];
  invoke: (routeKey: string, event: HttpApiEventV2) => Promise<IntegrationResult>;
  /** Default 0: a free port. */
  port?: number;
  /** The only address: loopback (the local cloud serves nothing beyond this machine). */
  host?: "127.0.0.1";
  /** In the event's requestContext. Defaults: the producer account, "local". */
  accountId?: string;
  apiId?: string;
  /** API Gateway's payload limit: 10 MB. */
  maxBodyBytes?: number;
  /** Integration timeout; API Gateway answers 503 after it. Default 30,000 (the HTTP API maximum). */
  timeoutMs?: number;
  /** Runs the route's authorizer before the integration (see routeAccess.ts). Default: every route open. */
  access?: (request: AccessRequest) => Promise<AccessOutcome>;
  /** The API's CORS configuration, read per request. Default none: no preflight answers, no CORS headers. */
  cors?: () => CorsRules | undefined;
  /** Told each request an authorizer refused, with why (for the runtime log). */
  onRefused?: (line: string) => void;
  /** Receives one entry per 5xx answer: status, request id, route, cause (and the function's request id when it has one). */
  log?: (entry: Record<string, unknown>) => void;
}

/** A running HTTP API. */
export interface LocalHttpApi extends LocalService {
  /** Base URL with a trailing slash, like the stage's invoke URL. */
  url: string;
  stats(): { requests: number; byStatus: Record<number, number> };
}

const TEN_MB = 10 * 1024 * 1024;
interface Reply {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** Why it is a 5xx, for the log (never sent). */
  cause?: Record<string, unknown>;
}

const message = (status: number, text: string, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: Buffer.from(JSON.stringify({ message: text })),
});

/** API Gateway's reading of a payload-2.0 answer; a malformed one is its 500. */
function replyOf(result: IntegrationResult): Reply {
  const r = result as Record<string, unknown> | null;
  if (!r || typeof r !== "object" || !("statusCode" in r)) {
    return { status: 200, headers: { "content-type": "application/json" }, body: Buffer.from(JSON.stringify(result) ?? "") };
  }
  if (!Number.isInteger(r.statusCode) || (r.statusCode as number) < 100 || (r.statusCode as number) > 599)
    throw new Error(`bad statusCode ${String(r.statusCode)}`);
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries((r.headers ?? {}) as Record<string, unknown>)) headers[k.toLowerCase()] = String(v);
  if (Array.isArray(r.cookies) && r.cookies.length) headers["set-cookie"] = r.cookies.map(String);
  const body = typeof r.body === "string" ? r.body : r.body === undefined ? "" : JSON.stringify(r.body);
  return { status: r.statusCode as number, headers, body: r.isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8") };
}

/** Starts serving the declared routes; resolves once listening. */
export async function startHttpApi(opts: HttpApiOptions): Promise<LocalHttpApi> {
  const routes = parseRoutes(opts.routes);
  const limit = opts.maxBodyBytes ?? TEN_MB;
  const counters = { requests: 0, byStatus: {} as Record<number, number> };

  async function answer(req: http.IncomingMessage, body: Buffer, requestId: string): Promise<Reply> {
    const cors = opts.cors?.();
    const headers = headersOf(req).headers;
    // Preflights are API Gateway's own answer (no authorizer, no integration), except where `$default` catches them: it
    // takes every OPTIONS request no route names, with its authorizer ("Configure CORS for HTTP APIs").
    if (cors && isPreflight(req.method ?? "", headers) && matchRoute(routes, "OPTIONS", (req.url ?? "/").split("?")[0])?.routeKey !== "$default")
      return { status: 204, headers: preflightHeaders(cors, headers), body: Buffer.alloc(0) };
    const reply = await integrate(req, body, requestId);
    return cors ? { ...reply, headers: withCors(cors, headers.origin, reply.headers) } : reply;
  }

  async function integrate(req: http.IncomingMessage, body: Buffer, requestId: string): Promise<Reply> {
    const [path, ...query] = (req.url ?? "/").split("?");
    const match = matchRoute(routes, req.method ?? "GET", path);
    if (!match) return message(404, "Not Found");
    let authorizer: Record<string, unknown> | undefined;
    if (opts.access) {
      const method = req.method ?? "GET";
      const outcome = await opts.access({
        routeKey: match.routeKey,
        method,
        rawPath: path,
        rawQueryString: query.join("?"),
        headers: headersOf(req).headers,
        body,
      });
      if (!outcome.ok) {
        opts.onRefused?.(`${method} ${path} (${match.routeKey}): ${outcome.status} ${outcome.message} — ${outcome.reason}`);
        return message(outcome.status, outcome.message, outcome.headers);
      }
      authorizer = outcome.authorizer;
    }
    const event = buildEvent(req, body, match.routeKey, match.pathParameters, requestId, opts, authorizer);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), opts.timeoutMs ?? 30_000);
    });
    const routeKey = match.routeKey;
    try {
      const result = await Promise.race([opts.invoke(routeKey, event), timeout]);
      if (result === "timeout")
        return { ...message(503, "Service Unavailable"), cause: { routeKey, cause: `integration timeout after ${opts.timeoutMs ?? 30_000} ms` } };
      return { ...replyOf(result), cause: { routeKey, cause: "the function answered a 5xx" } };
    } catch (err) {
      const e = err as Error & { requestId?: string };
      return {
        ...message(500, "Internal Server Error"),
        cause: { routeKey, cause: `${e?.name ?? "Error"}: ${e?.message ?? String(err)}`, ...(e?.requestId ? { functionRequestId: e.requestId } : {}) },
      };
    } finally {
      clearTimeout(timer);
    }
  }

  const log = opts.log ?? (() => undefined);
  let inFlight = 0;
  let stopping = false;
  let drained: () => void = () => undefined;
  const send = (res: http.ServerResponse, r: Reply, requestId: string) => {
    counters.requests += 1;
    counters.byStatus[r.status] = (counters.byStatus[r.status] ?? 0) + 1;
    if (r.status >= 500) log({ event: "5xx", status: r.status, requestId, ...(r.cause ?? {}) });
    res.writeHead(r.status, { ...r.headers, "content-length": String(r.body.length), "apigw-requestid": requestId });
    res.end(r.body);
  };
  // API Gateway's request ids look like "JKJaXmPLIAMEJCA="; the same one goes in the event and the answer.
  const newRequestId = () => `${randomBytes(10).toString("base64").slice(0, 14)}=`;
  const server = await startLoopbackServer({
    port: opts.port,
    // Browsers are the HTTP API's clients too: its CORS settings decide what a page may do, as API Gateway's do.
    browsers: true,
    maxBodyBytes: limit,
    onTooLarge: (_req, res) => send(res, message(413, "Request Entity Too Large"), newRequestId()),
    handle: async (req, body, res) => {
      const requestId = newRequestId();
      // Stopping: a request on a kept-alive connection is refused, not started.
      if (stopping) {
        res.setHeader("connection", "close");
        return send(res, { ...message(503, "Service Unavailable"), cause: { cause: "the local cloud is stopping" } }, requestId);
      }
      inFlight += 1;
      try {
        const reply = await answer(req, body, requestId).catch((err) => ({ ...message(500, "Internal Server Error"), cause: { cause: String(err) } }));
        send(res, reply, requestId);
      } finally {
        inFlight -= 1;
        if (inFlight === 0) drained();
      }
    },
  });
  return {
    url: `${server.endpoint}/`,
    stats: () => ({ requests: counters.requests, byStatus: { ...counters.byStatus } }),
    // Stop accepting, answer what is in flight (each within the integration timeout), then close.
    stop: async () => {
      stopping = true;
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      await server.stop();
    },
  };
}
