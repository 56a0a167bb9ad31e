/**
 * Who may call CommandApi's HTTP API: the `auth` and `cors` args, their
 * defaults (as data) and checks, and the API Gateway pieces they become —
 * the route settings, the JWT authorizer, the CORS configuration and the
 * route ARNs an IAM caller's policy names. Resolved before anything is
 * registered, so a bad issuer fails `pulumi preview`, not the first request.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AUTH_MODES, AuthMode } from "../../handlers/api/access";
import { ArgCheck, withDefaults } from "../parts/validation";

/** How callers authenticate. Every field but `mode` is for `jwt`. */
export interface CommandApiAuth {
  /** `iam` (SigV4, `execute-api:Invoke` per route), `jwt` (a JWT authorizer with scopes per route) or `none`. Default iam: closed unless a caller's policy grants it, as AWS Solutions Constructs default, and deployable with no other setting. */
  mode?: AuthMode;
  /** The token issuer: exactly the tokens' `iss`, an https URL serving `/.well-known/openid-configuration`. Required for jwt. */
  issuer?: string;
  /** Accepted `aud` (or `client_id`) values, 1–10 of them. Required for jwt. */
  audiences?: string[];
  /** Scopes of which a token needs one to POST events. Default ["events:write"]: writing is its own grant. */
  writeScopes?: string[];
  /** Scopes of which a token needs one to GET an aggregate. Default ["aggregates:read"]: reading is its own grant. */
  readScopes?: string[];
}

/** CORS for browser clients; off unless `allowOrigins` is set. */
export interface CommandApiCors {
  /** Origins allowed, e.g. `https://app.example.com`, or "*". Default none: CORS off, browsers on other origins are refused. */
  allowOrigins?: string[];
  /** Default GET, POST, OPTIONS: the API's methods and the preflight. */
  allowMethods?: string[];
  /** Added to the headers the API needs (Authorization, Content-Type, Idempotency-Key, and the SigV4 ones in iam mode). Default none. */
  allowHeaders?: string[];
  /** Seconds a browser caches a preflight, 0–86400. Default 300: five minutes, so a policy change reaches browsers soon. */
  maxAge?: number;
}

/** The defaults, as data. */
export const AUTH_DEFAULTS = { mode: "iam" as AuthMode, writeScopes: ["events:write"], readScopes: ["aggregates:read"] };
export const CORS_DEFAULTS = { allowMethods: ["GET", "POST", "OPTIONS"], allowHeaders: [] as string[], maxAge: 300 };
/** What every CORS configuration allows and exposes: the API's own headers, and the poll URL. */
const CORS_REQUIRED_HEADERS = ["authorization", "content-type", "idempotency-key"];
const SIGV4_HEADERS = ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];
const CORS_EXPOSED = ["location"];
const CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*"];
/** RFC 6749's scope-token characters. */
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** An https issuer, or plain http on loopback (only the local cloud can reach one; API Gateway would refuse it). */
const ISSUER = /^(https:\/\/[^\s?#/]+(\/[^\s?#]*)?|http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/[^\s?#]*)?)$/;
const ORIGIN = /^(\*|https?:\/\/[^\s/?#]+)$/;

/** Everything resolved and checked. */
export interface AuthSettings {
  mode: AuthMode;
  jwt?: { issuer: string; audiences: string[]; writeScopes: string[]; readScopes: string[] };
  cors?: { allowOrigins: string[]; allowMethods: string[]; allowHeaders: string[]; exposeHeaders: string[]; maxAge: number };
}

function stringList(check: ArgCheck, field: string, value: unknown, min: number, max: number, each?: (v: string) => string | undefined): string[] {
  const ok = Array.isArray(value) && value.length >= min && value.length <= max && value.every((v) => typeof v === "string" && v !== "");
  if (!ok) check.fail(`${field} must be a list of ${min}–${max} non-empty strings, got ${JSON.stringify(value)}`);
  for (const v of value as string[]) {
    const problem = each?.(v);
    if (problem) check.fail(`${field}: ${problem}, got ${JSON.stringify(v)}`);
  }
  return value as string[];
}

function resolveCors(check: ArgCheck, mode: AuthMode, cors: CommandApiCors | undefined): AuthSettings["cors"] {
  if (!cors || (cors.allowOrigins === undefined && Object.values(cors).every((v) => v === undefined))) return undefined;
  const c = withDefaults(CORS_DEFAULTS, cors);
  check.that(c.allowOrigins !== undefined, "cors.allowOrigins is required to turn CORS on (the other cors settings alone do nothing)");
  const allowOrigins = stringList(check, "cors.allowOrigins", c.allowOrigins, 1, 50, (o) =>
    ORIGIN.test(o) ? undefined : 'each origin is "*" or scheme://host[:port] with no path',
  );
  const allowMethods = stringList(check, "cors.allowMethods", c.allowMethods, 1, CORS_METHODS.length, (m) =>
    CORS_METHODS.includes(m) ? undefined : `each method is one of ${CORS_METHODS.join(", ")}`,
  );
  const extra = stringList(check, "cors.allowHeaders", c.allowHeaders, 0, 50).map((h) => h.toLowerCase());
  check.integer("cors.maxAge", c.maxAge, 0, 86400, " s");
  const needed = [...CORS_REQUIRED_HEADERS, ...(mode === "iam" ? SIGV4_HEADERS : [])];
  return { allowOrigins, allowMethods, allowHeaders: [...new Set([...needed, ...extra])], exposeHeaders: CORS_EXPOSED, maxAge: c.maxAge };
}

/** Applies the defaults and checks `auth` and `cors`; throws `CommandApi <name>: …` on the first bad one. */
export function resolveAuth(check: ArgCheck, auth: CommandApiAuth | undefined, cors: CommandApiCors | undefined): AuthSettings {
  const a = withDefaults(AUTH_DEFAULTS, auth);
  const mode = check.oneOf("auth.mode", a.mode, AUTH_MODES);
  const jwtOnly = (["issuer", "audiences"] as const).filter((k) => a[k] !== undefined);
  if (mode !== "jwt") {
    check.that(jwtOnly.length === 0, `auth.${jwtOnly[0]} is only for auth.mode jwt, got auth.mode ${mode}`);
    return { mode, cors: resolveCors(check, mode, cors) };
  }
  const issuer = check.present("auth.issuer", a.issuer, "for auth.mode jwt (the tokens' iss)");
  check.matches("auth.issuer", issuer, ISSUER, "an https URL with no query or fragment (API Gateway fetches <issuer>/.well-known/openid-configuration)");
  const audiences = stringList(check, "auth.audiences", check.present("auth.audiences", a.audiences, "for auth.mode jwt (the tokens' aud)"), 1, 10);
  const scope = (s: string) => (SCOPE.test(s) ? undefined : "each scope is printable ASCII without spaces, quotes or backslashes (RFC 6749)");
  const writeScopes = stringList(check, "auth.writeScopes", a.writeScopes, 1, 10, scope);
  const readScopes = stringList(check, "auth.readScopes", a.readScopes, 1, 10, scope);
  return { mode, jwt: { issuer, audiences, writeScopes, readScopes }, cors: resolveCors(check, mode, cors) };
}

/** The route settings for `routeKey` ($default carries the authorizer too, with no scopes: it only answers 404). */
export function routeAuthArgs(
  s: AuthSettings,
  routeKey: string,
  authorizer: aws.apigatewayv2.Authorizer | undefined,
): Pick<aws.apigatewayv2.RouteArgs, "authorizationType" | "authorizerId" | "authorizationScopes"> {
  if (s.mode === "iam") return { authorizationType: "AWS_IAM" };
  if (s.mode === "none" || !s.jwt || !authorizer) return { authorizationType: "NONE" };
  const scopes = routeKey.startsWith("POST ") ? s.jwt.writeScopes : routeKey.startsWith("GET ") ? s.jwt.readScopes : undefined;
  return { authorizationType: "JWT", authorizerId: authorizer.id, ...(scopes ? { authorizationScopes: scopes } : {}) };
}

/** The JWT authorizer, in jwt mode. */
export function jwtAuthorizer(
  name: string,
  s: AuthSettings,
  apiId: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): aws.apigatewayv2.Authorizer | undefined {
  if (!s.jwt) return undefined;
  return new aws.apigatewayv2.Authorizer(
    `${name}-jwt`,
    {
      apiId,
      name: `${name}-jwt`,
      authorizerType: "JWT",
      identitySources: ["$request.header.Authorization"],
      jwtConfiguration: { issuer: s.jwt.issuer, audiences: s.jwt.audiences },
    },
    opts,
  );
}

/** `arn:aws:execute-api:<region>:<account>:<apiId>/$default/<METHOD>/<path>` of each route, path parameters as `*`: what an IAM caller's policy names. */
export function routeArns(executionArn: pulumi.Output<string>, routeKeys: readonly string[]): pulumi.Output<string[]> {
  return executionArn.apply((arn) =>
    routeKeys.map((key) => {
      const [method, path] = key.split(" ");
      return `${arn}/$default/${method}/${path.slice(1).replace(/\{[^}]+\}/g, "*")}`;
    }),
  );
}
