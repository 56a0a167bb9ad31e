/**
 * Step 7 of the local cloud: the producer's HTTP API, served on localhost
 * from its declared routes, each invoking the function its integration
 * targets, with the integration's timeout.
 */
import { TYPES } from "../../../components/parts/typeTokens";
import { startHttpApi } from "../../apigateway/httpApi";
import { StackManifest } from "../../shared/manifest";
import { ofType, Service } from "../context";
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

/** Serves the producer's API on `port` (0: any free one); `log` receives one entry per 5xx answer. */
export async function startApi(producer: StackManifest, functions: FunctionsService, port: number, log?: (entry: object) => void): Promise<ApiService> {
  const api = declaredApi(producer);
  let accepted = 0;
  const http = await startHttpApi({
    routes: Object.keys(api.targets),
    port,
    timeoutMs: api.timeoutMs,
    accountId: producer.account,
    apiId: api.apiId,
    log,
    invoke: async (routeKey, event) => {
      const result = (await functions.invoke(api.targets[routeKey], event)) as { statusCode?: number } | undefined;
      if (result?.statusCode === 202) accepted += 1;
      return result;
    },
  });
  return { url: http.url, accepted: () => accepted, stop: () => http.stop() };
}
