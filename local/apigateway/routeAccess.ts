/**
 * Who may call each route of the local HTTP API, from the route settings the
 * program declared (`authorizationType`, `authorizerId`,
 * `authorizationScopes`): AWS_IAM routes go to the SigV4 authorizer, JWT
 * routes to their JWT authorizer, NONE routes through. Plain data in, so the
 * local cloud reads it from the manifest and tests write it by hand.
 */
import { AuthorizerVerdict, createJwtAuthorizer, JwtAuthorizerConfig } from "./jwtAuthorizer";
import { createIamAuthorizer, IamAuthorizerOptions, SignedRequest } from "./iamAuthorizer";

/** One route's declared authorization. */
export interface RouteAuth {
  authorizationType: "NONE" | "AWS_IAM" | "JWT";
  authorizerId?: string;
  scopes?: string[];
}

/** Everything declared about access: by route key, and the JWT authorizers by id. */
export interface DeclaredAccess {
  routes: Record<string, RouteAuth>;
  authorizers: Record<string, JwtAuthorizerConfig>;
}

/** A request to decide, with the route it matched. */
export interface AccessRequest extends SignedRequest {
  routeKey: string;
}

/** Let through with the authorizer context for the event, or answered here. */
export type AccessOutcome =
  { ok: true; authorizer?: Record<string, unknown> } | { ok: false; status: number; message: string; headers: Record<string, string>; reason: string };

/** Decides each request against what `declared()` says now (read per request, so a redeploy is seen). */
export function createRouteAccess(declared: () => DeclaredAccess, iam: IamAuthorizerOptions): (r: AccessRequest) => Promise<AccessOutcome> {
  const sigv4 = createIamAuthorizer(iam);
  const jwt = new Map<string, (h: Record<string, string>, scopes: string[] | undefined) => Promise<AuthorizerVerdict>>();
  return async (r) => {
    const d = declared();
    const route = d.routes[r.routeKey];
    // API Gateway's default authorizationType is NONE.
    if (!route || route.authorizationType === "NONE") return { ok: true };
    if (route.authorizationType === "AWS_IAM") {
      const v = await sigv4(r);
      return v.ok ? v : { ok: false, status: v.status, message: v.message, headers: { "x-amzn-errortype": v.errorType }, reason: v.reason };
    }
    const config = route.authorizerId ? d.authorizers[route.authorizerId] : undefined;
    if (!config) throw new Error(`local HTTP API: route ${r.routeKey} names JWT authorizer ${route.authorizerId}, which the program did not declare`);
    const key = `${route.authorizerId}|${JSON.stringify(config)}`;
    if (!jwt.has(key)) jwt.set(key, createJwtAuthorizer(config));
    return jwt.get(key)!(r.headers, route.scopes);
  };
}
