/**
 * The API rules: every HTTP API route carries an authorizer (AWS_IAM, or a
 * JWT or Lambda authorizer it names), unless its API was left open by an
 * explicit choice (CommandApi's `auth.mode: none`, which tags the API
 * `eventsourced:auth: none`) or it is a CORS API's preflight route; and every
 * API open by choice is reported, so the choice shows in every preview
 * without blocking it.
 */
import type { PolicyResource, ReportViolation, StackValidationArgs } from "@pulumi/policy";
import { TYPES } from "../../components/parts/typeTokens";
import { known, ofType, stackPolicy } from "./shared";
import { PREFLIGHT_ROUTE } from "../../handlers/api/types";

/** The tag CommandApi puts on its API, and the value that says "open, on purpose". */
export const AUTH_TAG = "eventsourced:auth";
const OPEN_BY_CHOICE = "none";
const AUTHORIZED = ["AWS_IAM", "JWT", "CUSTOM"];

const openByChoice = (api: PolicyResource | undefined) => known(() => api?.props.tags?.[AUTH_TAG]) === OPEN_BY_CHOICE;

/** Each route with its API (undefined while a preview does not know the route's apiId yet). */
function routesWithApis(args: StackValidationArgs): { route: PolicyResource; api?: PolicyResource; apis: PolicyResource[] }[] {
  const apis = ofType(args.resources, TYPES.httpApi);
  return ofType(args.resources, TYPES.route).map((route) => {
    const apiId = known(() => route.props.apiId);
    return { route, api: apiId === undefined ? undefined : apis.find((a) => known(() => a.props.id) === apiId), apis };
  });
}

/** Why a route lets anyone in, or undefined when it carries an authorizer. */
export function openRouteProblem(props: Record<string, any>): string | undefined {
  const type = props.authorizationType ?? "NONE";
  if (!AUTHORIZED.includes(type)) return `authorizationType is ${JSON.stringify(type)}: anyone who finds the URL may call it`;
  if (type !== "AWS_IAM" && !props.authorizerId) return `authorizationType ${type} names no authorizerId`;
  return undefined;
}

/** An API with CORS configured (its corsConfiguration is known at preview: it comes from config). */
const hasCors = (api: PolicyResource) => known(() => api.props.corsConfiguration) !== undefined;

/**
 * A CORS API's open preflight route (CommandApi declares it: preflights carry no credentials, see PREFLIGHT_ROUTE).
 * A first preview may not know the route's API (both ids unknown): every API of the stack having CORS excuses it then.
 */
const isPreflightRoute = (route: PolicyResource, api: PolicyResource | undefined, apis: PolicyResource[]) =>
  known(() => route.props.routeKey) === PREFLIGHT_ROUTE && (api ? hasCors(api) : apis.length > 0 && apis.every(hasCors));

export const apiRoutesAuthorized = stackPolicy({
  name: "api-routes-authorized",
  description:
    "Every HTTP API route carries an authorizer (AWS_IAM, or a JWT/Lambda authorizer), unless its API is open by an explicit choice (tagged eventsourced:auth=none).",
  severity: "critical",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    for (const { route, api, apis } of routesWithApis(args)) {
      const problem = openRouteProblem(route.props);
      if (!problem || isPreflightRoute(route, api, apis)) continue;
      // A first preview may not know the route's API: only an open choice on every API of the stack excuses it then.
      const chosen = api ? openByChoice(api) : apis.length > 0 && apis.every(openByChoice);
      if (!chosen) report(`route ${known(() => route.props.routeKey) ?? route.name}: ${problem}; set apiAuth to iam or jwt`, route.urn);
    }
  },
});

export const apiOpenByChoice = {
  ...stackPolicy({
    name: "api-open-by-choice",
    description: "Reports every HTTP API left open by an explicit choice (apiAuth none): its routes let anyone in.",
    severity: "high",
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
      for (const api of ofType(args.resources, TYPES.httpApi).filter(openByChoice)) {
        const open = routesWithApis(args).filter((r) => r.api === api && openRouteProblem(r.route.props));
        report(`API ${api.name} is open to anyone by choice (apiAuth none): ${open.length} route(s) without an authorizer`, api.urn);
      }
    },
  }),
  // Reported, never blocking: `none` was chosen on purpose, and the deploy warns too.
  enforcementLevel: "advisory" as const,
};
