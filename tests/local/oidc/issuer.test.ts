/**
 * The local OIDC issuer over HTTP: the discovery document and JWKS a JWT
 * authorizer reads, tokens that verify against them (with jose, as the local
 * HTTP API verifies them), and a token endpoint that refuses what it cannot
 * mint with OAuth's `invalid_request`.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalIssuer, parseTokenForm, startLocalIssuer } from "../../../local/oidc/issuer";
import { preferredIssuerPort } from "../../../local/cloud/steps/issuer";

describe("local OIDC issuer", () => {
  let issuer: LocalIssuer;
  before(async () => {
    issuer = await startLocalIssuer({ audience: "orders-api" });
  });
  after(async () => {
    await issuer?.stop();
  });

  it("listens on its preferred port when free (the same URL from one start to the next), and on another when it is taken", async () => {
    const port = preferredIssuerPort("/some/checkout");
    expect(port).to.equal(preferredIssuerPort("/some/checkout")).and.be.within(20000, 29999);
    expect(preferredIssuerPort("/another/checkout")).to.not.equal(port);
    const first = await startLocalIssuer({ preferredPort: port });
    const second = await startLocalIssuer({ preferredPort: port });
    try {
      expect(first.issuer).to.equal(`http://127.0.0.1:${port}`);
      expect(second.issuer)
        .to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
        .and.not.equal(first.issuer);
      expect((await fetch(`${second.issuer}/.well-known/jwks.json`)).status).to.equal(200);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });

  it("publishes a discovery document naming itself, its JWKS and its token endpoint, and one RS256 key", async () => {
    const doc = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(doc).to.include({ issuer: issuer.issuer, jwks_uri: `${issuer.issuer}/.well-known/jwks.json`, token_endpoint: `${issuer.issuer}/token` });
    expect(issuer.issuer).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    const jwks = (await (await fetch(doc.jwks_uri as string)).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys).to.have.length(1);
    expect(jwks.keys[0]).to.include({ kty: "RSA", alg: "RS256", use: "sig", e: "AQAB" });
    expect(jwks.keys[0]).to.not.have.any.keys("d", "p", "q");
  });

  it("mints tokens from the endpoint that verify against its keys, with the subject, scopes, audience and lifetime asked", async () => {
    const res = await fetch(`${issuer.issuer}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials&sub=c-1&scope=events%3Awrite+aggregates%3Aread&expires_in=600",
    });
    expect(res.status).to.equal(200);
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number; scope: string };
    expect(body).to.include({ token_type: "Bearer", expires_in: 600, scope: "events:write aggregates:read" });
    const jose = require("jose") as typeof import("jose");
    const { payload, protectedHeader } = await jose.jwtVerify(body.access_token, jose.createRemoteJWKSet(new URL(`${issuer.issuer}/.well-known/jwks.json`)), {
      issuer: issuer.issuer,
      audience: "orders-api",
    });
    expect(protectedHeader.alg).to.equal("RS256");
    expect(payload).to.include({ sub: "c-1", scope: "events:write aggregates:read" });
    expect(payload.exp! - payload.iat!).to.equal(600);
  });

  it("with a key file, keeps its key (owner-only) so a token minted before a restart verifies after it; an unreadable file is a clear error", async () => {
    const jose = require("jose") as typeof import("jose");
    const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "oidc-")), "oidc", "signing-key.json");
    const port = preferredIssuerPort(keyFile);
    const first = await startLocalIssuer({ preferredPort: port, keyFile });
    const token = await first.token({ sub: "c-1" });
    const firstKeys = await (await fetch(`${first.issuer}/.well-known/jwks.json`)).json();
    await first.stop();
    expect(fs.statSync(keyFile).mode & 0o777).to.equal(0o600);
    const again = await startLocalIssuer({ preferredPort: port, keyFile });
    const fresh = await startLocalIssuer({ preferredPort: port + 1 });
    try {
      expect([first.key, again.key, fresh.key]).to.deep.equal(["made", "kept", "made"]);
      expect(again.issuer).to.equal(first.issuer);
      const jwks = (await (await fetch(`${again.issuer}/.well-known/jwks.json`)).json()) as { keys: Record<string, string>[] };
      expect(jwks).to.deep.equal(firstKeys);
      expect(jwks.keys[0]).to.not.have.any.keys("d", "p", "q", "dp", "dq", "qi");
      const { payload } = await jose.jwtVerify(token, jose.createRemoteJWKSet(new URL(`${again.issuer}/.well-known/jwks.json`)), { issuer: again.issuer });
      expect(payload.sub).to.equal("c-1");
      // Without the file, another key: the same token does not verify.
      await jose.jwtVerify(token, jose.createRemoteJWKSet(new URL(`${fresh.issuer}/.well-known/jwks.json`))).then(
        () => expect.fail("a token verified against another run's key"),
        (err: Error) => expect(err.name).to.equal("JWKSNoMatchingKey"),
      );
    } finally {
      await Promise.all([again.stop(), fresh.stop()]);
    }
    fs.writeFileSync(keyFile, '{"kid":"x"');
    const refused = await startLocalIssuer({ keyFile }).then(
      async (i) => void (await i.stop()),
      (err: Error) => err.message,
    );
    expect(refused).to.include(keyFile).and.include("delete it, and a new key is made");
  });

  it("refuses a token request it cannot honour, and answers unknown paths with 404", async () => {
    const ask = (form: string) =>
      fetch(`${issuer.issuer}/token`, { method: "POST", body: form, headers: { "content-type": "application/x-www-form-urlencoded" } });
    for (const [form, message] of [
      ["grant_type=password&sub=c-1", 'grant_type must be client_credentials, got "password"'],
      ["grant_type=client_credentials&scope=a%22b", 'each scope must be printable ASCII without spaces, quotes or backslashes, got "a\\"b"'],
      ["grant_type=client_credentials&expires_in=0", "expires_in must be 1–86400 seconds, got 0"],
      ["grant_type=client_credentials&expires_in=abc", "expires_in must be 1–86400 seconds, got NaN"],
      ["grant_type=client_credentials&sub=", 'sub must be 1–255 printable ASCII characters without spaces, got ""'],
    ]) {
      const res = await ask(form);
      expect(res.status, form).to.equal(400);
      expect(await res.json(), form).to.deep.equal({ error: "invalid_request", error_description: message });
    }
    expect((await fetch(`${issuer.issuer}/admin`)).status).to.equal(404);
    // The endpoint never takes in-process overrides (a forged iss).
    expect(parseTokenForm("grant_type=client_credentials&override=%7B%22iss%22%3A%22x%22%7D")).to.deep.equal({});
  });
});
