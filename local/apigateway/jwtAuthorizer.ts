/**
 * An HTTP API JWT authorizer, as API Gateway runs one: the token from the
 * identity source (alone or after `Bearer `), its RSA signature checked with
 * the key its `kid` names in the issuer's JWKS (found through the issuer's
 * discovery document), `iss` equal to the issuer, `aud` (or `client_id`
 * when there is no `aud`) among the audiences, `exp` ahead and `nbf` behind,
 * and one of the route's scopes in `scope` or `scp`. A bad token is 401
 * `{"message":"Unauthorized"}`, a missing scope 403 `{"message":"Forbidden"}`,
 * each with the `www-authenticate` reason; a good one passes its claims and
 * scopes on as payload 2.0's `requestContext.authorizer`. A token verified
 * once is known by its text afterwards: its time claims are checked again on
 * every request, its signature not (the local issuer's key never rotates
 * within a run; API Gateway, too, caches the issuer's keys).
 */
import type { JWTPayload } from "jose";

/** What the declared authorizer says. */
export interface JwtAuthorizerConfig {
  issuer: string;
  audiences: string[];
  /** e.g. `$request.header.Authorization`. */
  identitySources: string[];
}

/** The authorizer's verdict on one request. */
export type AuthorizerVerdict =
  { ok: true; authorizer: Record<string, unknown> } | { ok: false; status: 401 | 403; message: string; headers: Record<string, string>; reason: string };

// "Currently, only RSA-based algorithms are supported" (API Gateway, JWT authorizers for HTTP APIs): `none`, HS* and ES* fail.
const ALGORITHMS = ["RS256", "RS384", "RS512"];
/** Verified tokens kept (only good ones: a flood of bad tokens is verified each time and grows nothing). */
const VERIFIED_KEPT = 10_000;

function challenge(status: 401 | 403, error: string, description: string, scopes: string[] = []): AuthorizerVerdict {
  return {
    ok: false,
    status,
    message: status === 401 ? "Unauthorized" : "Forbidden",
    headers: { "www-authenticate": `Bearer scope="${scopes.join(" ")}" error="${error}" error_description="${description}"` },
    reason: description,
  };
}

/** The header an identity source names, e.g. `$request.header.Authorization` → `authorization`. */
export function identityHeader(sources: string[]): string {
  const m = /^\$request\.header\.([\w-]+)$/.exec(sources[0] ?? "");
  if (!m || sources.length !== 1)
    throw new Error(`local HTTP API: a JWT authorizer takes one $request.header.<name> identity source, got ${JSON.stringify(sources)}`);
  return m[1].toLowerCase();
}

/** API Gateway passes claims as strings: arrays as `[a b]`, other values as text. */
export function claimStrings(payload: JWTPayload): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload)) {
    out[k] = typeof v === "string" ? v : Array.isArray(v) ? `[${v.join(" ")}]` : typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
  }
  return out;
}

const scopesOf = (p: JWTPayload): string[] => {
  const raw = p.scope ?? p.scp;
  return Array.isArray(raw) ? raw.map(String) : typeof raw === "string" ? raw.split(" ").filter(Boolean) : [];
};

/** Why jose refused a token, in the authorizer's words. */
function describe(err: unknown): string {
  const e = err as { code?: string; claim?: string; message?: string };
  switch (e.code) {
    case "ERR_JWT_EXPIRED":
      return "the token has expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return e.claim === "iss"
        ? "the token does not have a valid issuer"
        : e.claim === "nbf"
          ? "the token is not valid yet"
          : `the token's ${e.claim} claim is not valid`;
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "the token is not signed with an RSA algorithm";
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "the token's signature is not valid for any key of the issuer";
    default:
      return `the token is not a valid JWT (${e.message ?? String(err)})`;
  }
}

/** Builds the authorizer; the issuer's discovery document and keys are fetched on first use and kept. */
export function createJwtAuthorizer(
  config: JwtAuthorizerConfig,
): (headers: Record<string, string>, routeScopes: string[] | undefined) => Promise<AuthorizerVerdict> {
  const jose = require("jose") as typeof import("jose");
  const header = identityHeader(config.identitySources);
  let keys: ReturnType<typeof jose.createRemoteJWKSet> | undefined;
  const keySet = async () => {
    if (keys) return keys;
    const discovery = `${config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const res = await fetch(discovery);
    if (!res.ok) throw new Error(`the issuer's discovery document ${discovery} answered ${res.status}`);
    const doc = (await res.json()) as { jwks_uri?: string };
    if (typeof doc.jwks_uri !== "string") throw new Error(`the issuer's discovery document ${discovery} names no jwks_uri`);
    keys = jose.createRemoteJWKSet(new URL(doc.jwks_uri));
    return keys;
  };

  // Tokens whose signature checked out, by their text: a client sends the same token for most of its hour, and an RSA verify per request was a tenth of the local cloud's CPU under load.
  const verified = new Map<string, JWTPayload>();

  return async (headers, routeScopes) => {
    const raw = headers[header];
    if (!raw) return challenge(401, "invalid_token", `the ${header} header carries no token`);
    const token = raw.startsWith("Bearer ") ? raw.slice("Bearer ".length).trim() : raw.trim();
    let payload: JWTPayload | undefined = verified.get(token);
    if (payload) {
      // The signature and issuer of these exact bytes were checked; only the clock has moved since.
      const now = Math.floor(Date.now() / 1000);
      if (now >= (payload.exp as number)) return challenge(401, "invalid_token", describe({ code: "ERR_JWT_EXPIRED" }));
      if (typeof payload.nbf === "number" && payload.nbf > now)
        return challenge(401, "invalid_token", describe({ code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "nbf" }));
    } else {
      try {
        ({ payload } = await jose.jwtVerify(token, await keySet(), { issuer: config.issuer, algorithms: ALGORITHMS, requiredClaims: ["exp"] }));
      } catch (err) {
        return challenge(401, "invalid_token", describe(err));
      }
      if (verified.size >= VERIFIED_KEPT) verified.clear();
      verified.set(token, payload);
    }
    // aud when present, else client_id (API Gateway evaluates aud when both are there).
    const aud = payload.aud !== undefined ? [payload.aud].flat() : typeof payload.client_id === "string" ? [payload.client_id] : [];
    if (!aud.some((a) => config.audiences.includes(a))) return challenge(401, "invalid_token", "the token does not have a valid audience");
    const granted = scopesOf(payload);
    if (routeScopes?.length && !routeScopes.some((s) => granted.includes(s))) {
      return challenge(403, "insufficient_scope", `the token has none of the route's scopes [${routeScopes.join(" ")}]`, routeScopes);
    }
    return {
      ok: true,
      authorizer: { principalId: "", integrationLatency: 0, jwt: { claims: claimStrings(payload), scopes: routeScopes?.length ? granted : null } },
    };
  };
}
