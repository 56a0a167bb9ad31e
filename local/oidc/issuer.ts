/**
 * The local cloud's OpenID Connect issuer: what a JWT authorizer needs from
 * an identity provider — the discovery document at
 * `/.well-known/openid-configuration` and its JWKS — served on loopback,
 * with an RSA signing key made at start, or kept in a key file (with
 * `npm start -- --data-dir`, so a token outlives a restart as it would an
 * identity provider's), and a token endpoint that mints a token for any
 * subject and scopes asked for.
 * That endpoint is a developer tool (`npm run token`): it answers only on
 * 127.0.0.1, and only this run's API trusts its key.
 */
import { randomBytes, randomUUID } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { LocalService, startLoopbackServer } from "../shared/loopback";

/** A token to mint. */
export interface TokenRequest {
  /** The `sub` claim (a customer id in the example domain). Default "local-user". */
  sub?: string;
  /** Granted scopes, put in the `scope` claim space-separated. Default none. */
  scopes?: string[];
  /** The `aud` claim. Default the issuer's audience. */
  audience?: string;
  /** Lifetime, 1–86400 s. Default 3600. */
  expiresInSeconds?: number;
  /** Claims set last, over the standard ones (in-process callers only, e.g. a test forging another `iss`); the token endpoint never takes them. */
  override?: Record<string, unknown>;
}

/** A running issuer. */
export interface LocalIssuer extends LocalService {
  /** `http://127.0.0.1:<port>`: the tokens' `iss`, and the JWT authorizer's issuer. */
  issuer: string;
  /** The audience tokens get unless asked otherwise (the local stack's `jwtAudiences`). */
  audience: string;
  /** Signs a token with this run's key. */
  token(request?: TokenRequest): Promise<string>;
  /** "kept": the key was read from the key file; "made": made at this start (and written there, when given). */
  key: "kept" | "made";
}

/** Options of {@link startLocalIssuer}. */
export interface LocalIssuerOptions {
  /** Default "local-api". */
  audience?: string;
  /** Clock for `iat`/`exp`, ms. */
  now?: () => number;
  /** Listen here if it is free, else on any free port. Default: any free port. */
  preferredPort?: number;
  /** Keep the signing key here (made on first use, owner-only): tokens then verify across restarts. Default: a key for this run only. */
  keyFile?: string;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const SUBJECT = /^[\x21-\x7e]{1,255}$/;

/** Checks what the token endpoint was asked; the first problem, in OAuth's words. */
export function tokenRequestProblem(r: TokenRequest): string | undefined {
  if (r.sub !== undefined && !SUBJECT.test(r.sub)) return `sub must be 1–255 printable ASCII characters without spaces, got ${JSON.stringify(r.sub)}`;
  const bad = (r.scopes ?? []).find((s) => !SCOPE_TOKEN.test(s));
  if (bad !== undefined) return `each scope must be printable ASCII without spaces, quotes or backslashes, got ${JSON.stringify(bad)}`;
  if (r.audience !== undefined && !SUBJECT.test(r.audience)) return `audience must be 1–255 printable ASCII characters, got ${JSON.stringify(r.audience)}`;
  const ttl = r.expiresInSeconds;
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > 86400)) return `expires_in must be 1–86400 seconds, got ${ttl}`;
  return undefined;
}

/** The token endpoint's form (`grant_type=client_credentials&sub=…&scope=a b&audience=…&expires_in=…`) as a request, or its problem. */
export function parseTokenForm(body: string): TokenRequest | { error: string } {
  const form = new URLSearchParams(body);
  if (form.get("grant_type") !== "client_credentials") return { error: `grant_type must be client_credentials, got ${JSON.stringify(form.get("grant_type"))}` };
  const scope = form.get("scope");
  const expires = form.get("expires_in");
  const request: TokenRequest = {
    ...(form.get("sub") !== null ? { sub: form.get("sub")! } : {}),
    ...(scope !== null ? { scopes: scope.split(" ").filter(Boolean) } : {}),
    ...(form.get("audience") !== null ? { audience: form.get("audience")! } : {}),
    ...(expires !== null ? { expiresInSeconds: Number(expires) } : {}),
  };
  const problem = tokenRequestProblem(request);
  return problem ? { error: problem } : request;
}

type Jose = typeof import("jose");

/** The signing key and its id: from `keyFile` when it holds one, else made now (and written there, when given). */
async function signingKey(
  jose: Jose,
  keyFile: string | undefined,
): Promise<{ kid: string; privateKey: import("jose").CryptoKey; publicJwk: import("jose").JWK; key: LocalIssuer["key"] }> {
  if (keyFile && fs.existsSync(keyFile)) {
    try {
      const { kid, jwk } = JSON.parse(fs.readFileSync(keyFile, "utf8")) as { kid: string; jwk: import("jose").JWK };
      if (typeof kid !== "string" || !jwk?.d) throw new Error("no RSA private key in it");
      const privateKey = (await jose.importJWK(jwk, "RS256")) as import("jose").CryptoKey;
      return { kid, privateKey, publicJwk: { kty: jwk.kty, n: jwk.n, e: jwk.e }, key: "kept" };
    } catch (err) {
      throw new Error(
        `the local issuer's key file ${keyFile} cannot be read (${(err as Error).message}): delete it, and a new key is made (tokens minted before then stop verifying)`,
        {
          cause: err,
        },
      );
    }
  }
  const { publicKey, privateKey } = await jose.generateKeyPair("RS256", { modulusLength: 2048, extractable: keyFile !== undefined });
  const kid = randomBytes(8).toString("hex");
  if (keyFile) {
    fs.mkdirSync(path.dirname(keyFile), { recursive: true });
    const tmp = `${keyFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ kid, jwk: await jose.exportJWK(privateKey) }), { mode: 0o600 });
    fs.renameSync(tmp, keyFile);
  }
  return { kid, privateKey, publicJwk: await jose.exportJWK(publicKey), key: "made" };
}

/** Starts the issuer on 127.0.0.1 (the preferred port when free, else any free one) with its RS256 key (see `keyFile`). */
export async function startLocalIssuer(options: LocalIssuerOptions = {}): Promise<LocalIssuer> {
  // jose is ESM-only; Node 20.19+ loads it with require(), and only the local cloud pays for it.
  const jose = require("jose") as Jose;
  const { kid, privateKey, publicJwk, key } = await signingKey(jose, options.keyFile);
  const jwks = { keys: [{ ...publicJwk, kid, alg: "RS256", use: "sig" }] };
  const audience = options.audience ?? "local-api";
  const now = options.now ?? Date.now;
  let issuer = "";

  const token = async (r: TokenRequest = {}): Promise<string> => {
    const problem = tokenRequestProblem(r);
    if (problem) throw new Error(`local issuer: ${problem}`);
    const iat = Math.floor(now() / 1000);
    const claims = {
      iss: issuer,
      sub: r.sub ?? "local-user",
      aud: r.audience ?? audience,
      ...(r.scopes?.length ? { scope: r.scopes.join(" ") } : {}),
      client_id: "local-cli",
      iat,
      nbf: iat,
      exp: iat + (r.expiresInSeconds ?? 3600),
      jti: randomUUID(),
      ...r.override,
    };
    return new jose.SignJWT(claims).setProtectedHeader({ alg: "RS256", kid, typ: "JWT" }).sign(privateKey);
  };

  const json = (res: import("http").ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  };
  const handle = async (req: import("http").IncomingMessage, body: Buffer, res: import("http").ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/.well-known/openid-configuration") {
      return json(res, 200, {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        token_endpoint: `${issuer}/token`,
        grant_types_supported: ["client_credentials"],
        response_types_supported: ["token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
      });
    }
    if (req.method === "GET" && path === "/.well-known/jwks.json") return json(res, 200, jwks);
    if (req.method === "POST" && path === "/token") {
      const parsed = parseTokenForm(body.toString("utf8"));
      if ("error" in parsed) return json(res, 400, { error: "invalid_request", error_description: parsed.error });
      const expires = parsed.expiresInSeconds ?? 3600;
      return json(res, 200, { access_token: await token(parsed), token_type: "Bearer", expires_in: expires, scope: (parsed.scopes ?? []).join(" ") });
    }
    return json(res, 404, {
      error: "not_found",
      error_description: `the local issuer serves GET /.well-known/openid-configuration, GET /.well-known/jwks.json and POST /token, not ${req.method} ${path}`,
    });
  };
  const listen = (port: number) => startLoopbackServer({ port, maxBodyBytes: 16 * 1024, handle });
  // A taken preferred port (another cloud, another program) only costs the stable URL.
  const server = options.preferredPort ? await listen(options.preferredPort).catch(() => listen(0)) : await listen(0);
  issuer = server.endpoint;
  return { issuer, audience, token, key, stop: server.stop };
}
