/**
 * A client of the running local cloud's API, authenticated the way the
 * producer stack's `apiAuth` asks: a bearer token from the local issuer in
 * jwt mode (subject and scopes as asked, by default every scope the routes
 * declare), a SigV4 signature as the local API caller role in iam mode,
 * nothing in none mode. The demo, the bench and the tests call through it;
 * the banner prints the same by hand.
 */
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { TYPES } from "../../components/parts/typeTokens";
import { accountCredentials } from "../emulators/clients";
import { LocalIssuer } from "../oidc/issuer";
import { StackManifest } from "../shared/manifest";
import { ofType } from "./context";

/** The role an IAM caller of the local API signs as (`execute-api:Invoke` on the stack's route ARNs; see steps/api.ts). */
export const localApiCallerRole = (account: string) => `arn:aws:iam::${account}:role/local-api-caller`;

/** Every scope a route of the stack requires. */
export function declaredScopes(m: StackManifest): string[] {
  return [...new Set(ofType(m, TYPES.route).flatMap((r) => (r.inputs.authorizationScopes ?? []) as string[]))];
}

/** Headers that sign a request with SigV4 for `execute-api` (the host header is the URL's, which fetch sends). */
export async function sigv4Headers(
  url: URL,
  init: { method: string; headers?: Record<string, string>; body?: string },
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  region: string,
): Promise<Record<string, string>> {
  const signer = new SignatureV4({ service: "execute-api", region, credentials, sha256: Hash.bind(null, "sha256"), applyChecksum: false });
  const query: Record<string, string> = Object.fromEntries(url.searchParams);
  const signed = await signer.sign({
    method: init.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers: { ...(init.headers ?? {}), host: url.host },
    body: init.body,
  });
  const { host: _host, ...headers } = signed.headers;
  return headers;
}

/** What the caller needs from the running cloud. */
export interface CallerSources {
  apiUrl: string;
  region: string;
  producer: () => StackManifest;
  /** The local issuer in-process, or {@link issuerClient} of a running one's URL. */
  issuer?: Pick<LocalIssuer, "token">;
}

/** Options of one call. */
export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The JWT's subject (jwt mode). Default "local-user". */
  as?: string;
  /** The JWT's scopes (jwt mode). Default every scope the routes declare. */
  scopes?: string[];
}

/** `fetch` on the API (`path` relative to its URL), authenticated as the stack's mode asks. */
export function apiCaller(sources: CallerSources): (path: string, options?: CallOptions) => Promise<Response> {
  // One token per subject and scopes for most of its hour, as a real client keeps one: signing is RSA work, per request it would skew the demo's figures.
  const tokens = new Map<string, { token: Promise<string>; until: number }>();
  const tokenFor = (issuer: Pick<LocalIssuer, "token">, sub: string | undefined, scopes: string[]) => {
    const key = `${sub ?? ""}|${scopes.join(" ")}`;
    const held = tokens.get(key);
    if (held && held.until > Date.now()) return held.token;
    const token = issuer.token({ sub, scopes });
    tokens.set(key, { token, until: Date.now() + 50 * 60_000 });
    return token;
  };
  return async (path, options = {}) => {
    const m = sources.producer();
    const url = new URL(path.replace(/^\//, ""), sources.apiUrl);
    const method = options.method ?? "GET";
    let headers = { ...(options.headers ?? {}) };
    if (m.outputs.apiAuth === "jwt") {
      if (!sources.issuer) throw new Error("local cloud: the API is in jwt mode but no local issuer runs");
      headers.authorization = `Bearer ${await tokenFor(sources.issuer, options.as, options.scopes ?? declaredScopes(m))}`;
    } else if (m.outputs.apiAuth === "iam") {
      const credentials = accountCredentials(m.account, localApiCallerRole(m.account));
      headers = await sigv4Headers(url, { method, headers, body: options.body }, credentials, sources.region);
    }
    return fetch(url, { method, headers, body: options.body });
  };
}
