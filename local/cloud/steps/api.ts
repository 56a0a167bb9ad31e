/**
 * Step 7 of the local cloud: the producer's HTTP API, served on localhost
 * from its declared routes, each invoking the function its integration
 * targets, with the integration's timeout; each route's declared
 * authorization (JWT against its issuer, or SigV4 and `execute-api:Invoke`
 * over the stacks' identity policies) and the API's CORS configuration are
 * enforced first, read from the manifest at each request so a redeploy is seen.
 */
import { TYPES } from "../../../components/parts/typeTokens";
import { invokePolicy } from "../../../components/commandApi/callers";
import { startHttpApi } from "../../apigateway/httpApi";
import { CorsRules } from "../../apigateway/cors";
import { createRouteAccess, DeclaredAccess, RouteAuth } from "../../apigateway/routeAccess";
import { EnforcerRole, PolicySet } from "../../iam/policySet";
import { StackManifest } from "../../shared/manifest";
import { ofType, Service } from "../context";
import { localApiCallerRole } from "../caller";
import { FunctionsService } from "./functions";

/** The served API. */
export interface ApiService extends Service {
  /** Base URL with a trailing slash. */
  url: string;
  /** Requests answered 202 (events accepted) so far. */
  accepted(): number;
}

/** What the stack declares for its HTTP API: the function ARN behind each route key, and the integration timeout. */
export interface DeclaredApi {
  apiId: string;
  targets: Record<string, string>;
  timeoutMs: number;
}

/** Reads the stack's HTTP API, its routes and their integrations. */
export function declaredApi(m: StackManifest): DeclaredApi {
  const api = ofType(m, TYPES.httpApi)[0];
  if (!api) throw new Error(`local cloud: the ${m.stack} stack must declare an ${TYPES.httpApi} to serve, got none`);
  const integrations = ofType(m, TYPES.integration);
  const targets: Record<string, string> = {};
  let timeoutMs = 30_000;
  for (const r of ofType(m, TYPES.route).filter((route) => route.inputs.apiId === api.id)) {
    const integration = integrations.find((i) => `integrations/${i.id}` === r.inputs.target);
    if (!integration) throw new Error(`route ${r.inputs.routeKey} targets ${r.inputs.target}, which the program did not declare`);
    targets[r.inputs.routeKey] = integration.inputs.integrationUri;
    timeoutMs = integration.inputs.timeoutMilliseconds ?? timeoutMs;
  }
  return { apiId: api.id, targets, timeoutMs };
}

/** Who may call the stack's HTTP API: each route's declared authorization, its JWT authorizers, and its CORS configuration. */
export function declaredAccess(m: StackManifest): DeclaredAccess & { cors?: CorsRules } {
  const api = ofType(m, TYPES.httpApi)[0];
  const mine = <T>(type: string, read: (inputs: Record<string, any>) => T) =>
    Object.fromEntries(
      ofType(m, type)
        .filter((r) => r.inputs.apiId === api?.id)
        .map((r) => [type === TYPES.route ? r.inputs.routeKey : r.id, read(r.inputs)]),
    );
  const routes = mine<RouteAuth>(TYPES.route, (i) => ({
    authorizationType: i.authorizationType ?? "NONE",
    ...(i.authorizerId ? { authorizerId: i.authorizerId } : {}),
    ...(i.authorizationScopes ? { scopes: i.authorizationScopes } : {}),
  }));
  const authorizers = mine(TYPES.authorizer, (i) => ({
    issuer: i.jwtConfiguration.issuer,
    audiences: i.jwtConfiguration.audiences,
    identitySources: i.identitySources,
  }));
  const c = api?.inputs.corsConfiguration;
  const lower = (xs?: string[]) => (xs ?? []).map((x) => x.toLowerCase());
  const cors = c?.allowOrigins?.length
    ? {
        allowOrigins: c.allowOrigins,
        allowMethods: c.allowMethods ?? [],
        allowHeaders: lower(c.allowHeaders),
        exposeHeaders: lower(c.exposeHeaders),
        maxAge: c.maxAge,
        allowCredentials: c.allowCredentials,
      }
    : undefined;
  return { routes, authorizers, cors };
}

/**
 * The local stand-in for a caller a platform team granted, in iam mode: a
 * role allowed `execute-api:Invoke` on exactly the route ARNs the stack
 * exports (the README's example caller policy). Callers are outside the
 * program on AWS too; locally this one signs the demo's and the banner's requests.
 */
export function localCaller(m: StackManifest): EnforcerRole | undefined {
  const arns = m.outputs.apiRouteArns as string[] | undefined;
  if (!arns?.length) return undefined;
  return { arn: localApiCallerRole(m.account), policies: [{ name: "invoke-command-api", document: invokePolicy(arns) }] };
}

/** What the API's authorizers read at each request. */
export interface ApiAccessSources {
  /** The producer's manifest as last deployed. */
  current: () => StackManifest;
  /** The identity policies of every role the stacks declare. */
  policies: () => PolicySet;
  /** Refusals, with why, for the runtime log. */
  log?: (line: string) => void;
  /** One entry per 5xx answer: status, request id, route, cause (and the function's request id when it has one). */
  errors?: (entry: Record<string, unknown>) => void;
}

/** Serves the producer's API on `port` (0: any free one); with `access`, each route's authorization and CORS are enforced as declared. */
export async function startApi(producer: StackManifest, functions: FunctionsService, port: number, access?: ApiAccessSources): Promise<ApiService> {
  const api = declaredApi(producer);
  let accepted = 0;
  let seen: StackManifest | undefined;
  let declared: ReturnType<typeof declaredAccess> = { routes: {}, authorizers: {} };
  const now = () => {
    const m = access!.current();
    if (m !== seen) [seen, declared] = [m, declaredAccess(m)];
    return declared;
  };
  const policies = (): PolicySet => {
    const set = access!.policies();
    const caller = localCaller(access!.current());
    return caller ? { ...set, roles: [...set.roles, caller] } : set;
  };
  const http = await startHttpApi({
    routes: Object.keys(api.targets),
    port,
    timeoutMs: api.timeoutMs,
    accountId: producer.account,
    apiId: api.apiId,
    ...(access
      ? {
          access: createRouteAccess(now, { region: producer.region, account: producer.account, apiId: api.apiId, policies }),
          cors: () => now().cors,
          onRefused: (line: string) => access.log?.(`[api] refused ${line}`),
        }
      : {}),
    log: access?.errors,
    invoke: async (routeKey, event) => {
      const result = (await functions.invoke(api.targets[routeKey], event)) as { statusCode?: number } | undefined;
      if (result?.statusCode === 202) accepted += 1;
      return result;
    },
  });
  return { url: http.url, accepted: () => accepted, stop: () => http.stop() };
}
