/**
 * Payload-format-2.0 events as API Gateway's HTTP API builds them from a
 * request: headers lower-cased and comma-joined, cookies apart, the query
 * string decoded, the forwarding headers added, a text body passed as text
 * only when it is valid UTF-8 (base64 otherwise), and the request context.
 */
import { isUtf8 } from "node:buffer";
import type * as http from "http";
import { randomBytes } from "crypto";
import type { HttpApiEvent } from "../../handlers/api/types";
import { LOCAL_ACCOUNTS } from "../shared/manifest";

/** The full payload-2.0 event (the handler's HttpApiEvent is the subset it reads). */
export interface HttpApiEventV2 extends HttpApiEvent {
  cookies?: string[];
  headers: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: string;
    stage: string;
    time: string;
    timeEpoch: number;
    /** What the route's authorizer verified (`{ jwt: … }` or `{ iam: … }`); absent on an open route. */
    authorizer?: Record<string, unknown>;
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** API Gateway passes these as text; every other content type (or none) arrives base64-encoded. */
function isText(contentType: string | undefined): boolean {
  const media = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return media.startsWith("text/") || /^application\/(json|javascript|xml|[\w.+-]+\+(json|xml))$/.test(media);
}

/** `12/Mar/2020:19:03:58 +0000`, API Gateway's requestContext.time. */
function clf(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

/** Lower-cased names, repeats comma-joined; the cookie header moves to `cookies`, as in payload 2.0. */
export function headersOf(req: http.IncomingMessage): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1];
    if (name === "cookie")
      cookies.push(
        ...value
          .split(";")
          .map((c) => c.trim())
          .filter(Boolean),
      );
    else headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return { headers, cookies };
}

export function buildEvent(
  req: http.IncomingMessage,
  body: Buffer,
  routeKey: string,
  pathParameters: Record<string, string> | undefined,
  requestId: string,
  opts: { accountId?: string; apiId?: string },
  authorizer?: Record<string, unknown>,
): HttpApiEventV2 {
  const [rawPath, ...rest] = (req.url ?? "/").split("?");
  const rawQueryString = rest.join("?");
  const query: Record<string, string> = {};
  for (const pair of rawQueryString.split("&").filter(Boolean)) {
    const [k, ...v] = pair.split("=");
    const [key, value] = [decode(k), decode(v.join("="))];
    query[key] = key in query ? `${query[key]},${value}` : value;
  }
  const { headers, cookies } = headersOf(req);
  const sourceIp = (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  Object.assign(headers, {
    "x-forwarded-for": headers["x-forwarded-for"] ? `${headers["x-forwarded-for"]}, ${sourceIp}` : sourceIp,
    "x-forwarded-port": String(req.socket.localPort ?? ""),
    "x-forwarded-proto": "http",
    "x-amzn-trace-id": `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString("hex")}`,
  });
  const now = new Date();
  const host = headers.host ?? "127.0.0.1";
  // A text body that is not valid UTF-8 goes as base64, never decoded lossily (U+FFFD would hide it): the handler then refuses it.
  const asText = isText(headers["content-type"]) && isUtf8(body);
  return {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(pathParameters && Object.keys(pathParameters).length ? { pathParameters } : {}),
    requestContext: {
      accountId: opts.accountId ?? LOCAL_ACCOUNTS.producer,
      apiId: opts.apiId ?? "local",
      domainName: host,
      domainPrefix: host.split(".")[0],
      http: { method: req.method ?? "GET", path: rawPath, protocol: `HTTP/${req.httpVersion}`, sourceIp, userAgent: headers["user-agent"] ?? "" },
      requestId,
      routeKey,
      stage: "$default",
      time: clf(now),
      timeEpoch: now.getTime(),
      ...(authorizer ? { authorizer } : {}),
    },
    ...(body.length ? { body: asText ? body.toString("utf8") : body.toString("base64") } : {}),
    isBase64Encoded: body.length > 0 && !asText,
  };
}
