/**
 * An HTTP API's CORS configuration, as API Gateway applies it: it answers a
 * preflight (OPTIONS with Origin and Access-Control-Request-Method) itself,
 * before any authorizer, unless `$default` catches it (no route names it:
 * then `$default`'s authorizer runs, see httpApi.ts), and adds the
 * configured headers to every answer for an allowed origin, ignoring CORS
 * headers the integration sets.
 */

/** The declared `corsConfiguration` (header names lower-cased). */
export interface CorsRules {
  allowOrigins: string[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAge?: number;
  allowCredentials?: boolean;
}

const allows = (list: string[], value: string, ignoreCase = false) =>
  list.includes("*") || list.some((x) => (ignoreCase ? x.toLowerCase() === value.toLowerCase() : x === value));

/** Whether the request is a CORS preflight. */
export function isPreflight(method: string, headers: Record<string, string>): boolean {
  return method === "OPTIONS" && !!headers.origin && !!headers["access-control-request-method"];
}

/** The origin header to answer with, or undefined when the origin is not allowed. */
function allowedOrigin(rules: CorsRules, origin: string | undefined): string | undefined {
  if (!origin || !allows(rules.allowOrigins, origin, true)) return undefined;
  return rules.allowOrigins.includes("*") && !rules.allowCredentials ? "*" : origin;
}

/** The preflight's answer headers; only `vary` when the origin, method or a header is not allowed (the browser then refuses). */
export function preflightHeaders(rules: CorsRules, headers: Record<string, string>): Record<string, string> {
  const origin = allowedOrigin(rules, headers.origin);
  const method = headers["access-control-request-method"] ?? "";
  const asked = (headers["access-control-request-headers"] ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  if (!origin || !allows(rules.allowMethods, method) || !asked.every((h) => allows(rules.allowHeaders, h, true))) return { vary: "origin" };
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-methods": rules.allowMethods.join(","),
    "access-control-allow-headers": rules.allowHeaders.join(","),
    ...(rules.maxAge !== undefined ? { "access-control-max-age": String(rules.maxAge) } : {}),
    ...(rules.allowCredentials ? { "access-control-allow-credentials": "true" } : {}),
    vary: "origin",
  };
}

/** The headers of an actual (non-preflight) answer: the integration's CORS headers dropped, the configured ones added for an allowed origin. */
export function withCors(rules: CorsRules, origin: string | undefined, headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const out = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith("access-control-")));
  const allowed = allowedOrigin(rules, origin);
  if (!allowed) return out;
  return {
    ...out,
    "access-control-allow-origin": allowed,
    ...(rules.exposeHeaders.length ? { "access-control-expose-headers": rules.exposeHeaders.join(",") } : {}),
    ...(rules.allowCredentials ? { "access-control-allow-credentials": "true" } : {}),
    vary: "origin",
  };
}
