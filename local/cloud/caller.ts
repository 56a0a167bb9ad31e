/**
 * A client of the running local cloud's API, authenticated the way the
 * producer stack's `apiAuth` asks: a bearer token from the local issuer in
 * jwt mode (subject and scopes as asked, by default every scope the routes
 * declare), a SigV4 signature as the local API caller role in iam mode,
 * nothing in none mode. The demo, the bench and the tests call through it;
 * the banner prints the same by hand.
 */
import * as http from "http";
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
  const agent = new http.Agent({ keepAlive: true });
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
    return send(agent, url, method, headers, options.body);
  };
}

/** Statuses whose answer has no body (a Response refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * One request over `agent` (kept-alive connections), answered as fetch answers: a Response with the status,
 * the headers and the whole body. Node's http client rather than fetch: fetch's per-request machinery (streams,
 * its wasm parser) cost the demo's clients about a tenth of the orchestrator's CPU.
 */
function send(agent: http.Agent, url: URL, method: string, headers: Record<string, string>, body?: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const answer = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) answer.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        const status = res.statusCode ?? 0;
        resolve(new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage, headers: answer }));
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}
