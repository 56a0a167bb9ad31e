/**
 * A client of a running local issuer's token endpoint, for processes other
 * than the local cloud's own (`npm run token`, `npm run smoke`, tests that
 * spawn `npm start`): it speaks the form parseTokenForm reads, so the two
 * ends are written once, here and in issuer.ts.
 */
import { TokenRequest } from "./issuer";

/** The token endpoint's form for a request. */
export function tokenForm(r: TokenRequest): URLSearchParams {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (r.sub !== undefined) form.set("sub", r.sub);
  if (r.scopes) form.set("scope", r.scopes.join(" "));
  if (r.audience !== undefined) form.set("audience", r.audience);
  if (r.expiresInSeconds !== undefined) form.set("expires_in", String(r.expiresInSeconds));
  return form;
}

/** Tokens from the issuer at `issuer` (its `iss`, e.g. `http://127.0.0.1:<port>`), with the same `token()` as the in-process issuer. */
export function issuerClient(issuer: string): { token(request?: TokenRequest): Promise<string> } {
  return {
    async token(r = {}) {
      const res = await fetch(`${issuer}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: tokenForm(r) });
      const body = (await res.json().catch(() => ({}))) as { access_token?: string; error_description?: string };
      if (!res.ok || !body.access_token) throw new Error(`the local issuer answered ${res.status}: ${body.error_description ?? JSON.stringify(body)}`);
      return body.access_token;
    },
  };
}
