/**
 * Who may write and read, in the function: the caller API Gateway verified
 * (payload 2.0 `requestContext.authorizer`), checked against the mode the
 * stack declared, and the domain's per-aggregate rule (`authorize`). API
 * Gateway has refused unauthenticated requests before the function runs;
 * these checks are the second wall, so a route deployed without its
 * authorizer still lets nobody in, and they carry what only the domain can
 * decide (whose aggregate it is).
 */
import type { AccessAction, AccessRule, Principal } from "../shared/domain";
import { ApiRejection, reject } from "./responses";
import type { HttpApiEvent } from "./types";

/** How the API authenticates callers: SigV4 with `execute-api:Invoke` (iam), a JWT authorizer (jwt), or not at all (none, only when chosen). */
export const AUTH_MODES = ["iam", "jwt", "none"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

type Checked<T> = { ok: true; value: T } | { ok: false; rejection: ApiRejection };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : []);

/** The scopes of a verified JWT: the authorizer's list, else the `scope` (space-separated) or `scp` claim. */
function scopesOf(jwt: Record<string, unknown>, claims: Record<string, unknown>): string[] {
  if (Array.isArray(jwt.scopes)) return strings(jwt.scopes);
  if (typeof claims.scope === "string") return claims.scope.split(" ").filter(Boolean);
  return Array.isArray(claims.scp) ? strings(claims.scp) : typeof claims.scp === "string" ? claims.scp.split(" ").filter(Boolean) : [];
}

/** The principal in the request's authorizer context; anonymous when there is none. */
export function principalFrom(event: HttpApiEvent): Principal {
  const authorizer = event.requestContext?.authorizer;
  if (!isRecord(authorizer)) return { kind: "anonymous" };
  const jwt = authorizer.jwt;
  if (isRecord(jwt) && isRecord(jwt.claims)) {
    const claims = jwt.claims;
    return { kind: "jwt", subject: typeof claims.sub === "string" ? claims.sub : undefined, scopes: scopesOf(jwt, claims), claims };
  }
  const iam = authorizer.iam;
  if (isRecord(iam) && typeof iam.userArn === "string" && typeof iam.accountId === "string") {
    return { kind: "iam", userArn: iam.userArn, accountId: iam.accountId, ...(typeof iam.callerId === "string" ? { callerId: iam.callerId } : {}) };
  }
  return { kind: "anonymous" };
}

/**
 * The caller, refused when the declared mode expects a verified identity the
 * request does not carry (a route without its authorizer, a direct invoke).
 * Without a declared mode (handler tests, old environments) any context passes.
 */
export function principalOf(event: HttpApiEvent, mode: AuthMode | undefined): Checked<Principal> {
  const principal = principalFrom(event);
  const expected = mode === "jwt" ? "jwt" : mode === "iam" ? "iam" : undefined;
  if (expected && principal.kind !== expected) {
    const what = expected === "jwt" ? "verified JWT (requestContext.authorizer.jwt)" : "verified SigV4 identity (requestContext.authorizer.iam)";
    return {
      ok: false,
      rejection: reject(403, "Forbidden", `this API authenticates callers by ${mode} (API_AUTH=${mode}), but the request carries no ${what}; nothing was done`),
    };
  }
  return { ok: true, value: principal };
}

/** Reads the API's auth mode from its environment value; undefined when unset. */
export function authModeOf(value: string | undefined): AuthMode | undefined {
  if (value === undefined || value === "") return undefined;
  if (!(AUTH_MODES as readonly string[]).includes(value))
    throw new Error(`environment variable API_AUTH must be one of ${AUTH_MODES.join(", ")}, got ${value}`);
  return value as AuthMode;
}

/** Runs the domain's rule: only `undefined` allows; a message (or any other answer) refuses with 403. */
export function checkAccess(
  rule: AccessRule | undefined,
  principal: Principal,
  action: AccessAction,
  aggregateId: string,
  state: unknown,
): ApiRejection | undefined {
  if (!rule) return undefined;
  const verdict = rule(principal, action, aggregateId, state);
  if (verdict === undefined) return undefined;
  const what = action.kind === "write" ? `write ${action.type} to` : "read";
  const why = typeof verdict === "string" && verdict !== "" ? verdict : "refused by the domain's authorize rule";
  return reject(403, "Forbidden", `may not ${what} aggregate ${aggregateId}: ${why}${action.kind === "write" ? "; nothing was written" : ""}`);
}
