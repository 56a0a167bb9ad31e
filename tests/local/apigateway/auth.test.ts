/**
 * The local HTTP API enforces the declared authorizers before invoking, as
 * API Gateway does, over real HTTP: JWT routes against the local OIDC
 * issuer (401 Unauthorized for a bad token, 403 Forbidden for a missing
 * scope), AWS_IAM routes by SigV4 verified with the SDK's signer and
 * `execute-api:Invoke` decided by the local IAM evaluator (API Gateway's
 * 403s), CORS preflights answered without a route or a token. Every hostile
 * request is counted, and none reaches the integration.
 */
import { expect } from "chai";
import { randomBytes } from "crypto";
import { LocalHttpApi, startHttpApi, HttpApiEventV2 } from "../../../local/apigateway/httpApi";
import { createRouteAccess, DeclaredAccess } from "../../../local/apigateway/routeAccess";
import { LocalIssuer, startLocalIssuer } from "../../../local/oidc/issuer";
import { sigv4Headers } from "../../../local/cloud/caller";
import { accountCredentials } from "../../../local/emulators/clients";
import { PolicySet } from "../../../local/iam/policySet";
import { CorsRules } from "../../../local/apigateway/cors";
import { PREFLIGHT_ROUTE } from "../../../handlers/api";

const ACCOUNT = "111111111111";
const REGION = "us-east-1";
const API_ID = "abc123";
const POST = "POST /aggregates/{id}/events";
const GET = "GET /aggregates/{id}";
const ROUTES = [POST, GET, "$default"];
const arn = (method: string, path: string) => `arn:aws:execute-api:${REGION}:${ACCOUNT}:${API_ID}/$default/${method}/${path}`;
const WRITER = `arn:aws:iam::${ACCOUNT}:role/order-writer`;
const NOBODY = `arn:aws:iam::${ACCOUNT}:role/nobody`;
const POLICIES: PolicySet = {
  roles: [
    {
      arn: WRITER,
      policies: [
        {
          name: "invoke",
          document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "execute-api:Invoke", Resource: arn("POST", "aggregates/*/events") }] },
        },
      ],
    },
    { arn: NOBODY, policies: [] },
  ],
  resourcePolicies: [],
};
const CORS: CorsRules = {
  allowOrigins: ["https://app.example.com"],
  allowMethods: ["GET", "POST", "OPTIONS"],
  allowHeaders: ["authorization", "content-type", "idempotency-key"],
  exposeHeaders: ["location"],
  maxAge: 300,
};

const b64url = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

describe("local HTTP API: authorizers and CORS", function () {
  this.timeout(60_000);
  let issuer: LocalIssuer;
  let stranger: LocalIssuer;
  let clock = Date.now();
  let jwtApi: LocalHttpApi;
  let iamApi: LocalHttpApi;
  const invoked: HttpApiEventV2[] = [];
  let hostile = 0;

  const serve = (declared: DeclaredAccess, cors?: CorsRules) =>
    startHttpApi({
      routes: Object.keys(declared.routes),
      accountId: ACCOUNT,
      apiId: API_ID,
      access: createRouteAccess(() => declared, { region: REGION, account: ACCOUNT, apiId: API_ID, policies: () => POLICIES }),
      cors: () => cors,
      invoke: async (_routeKey, event) => {
        invoked.push(event);
        return { statusCode: 202, headers: { "content-type": "application/json", "access-control-allow-origin": "https://evil.example" }, body: "{}" };
      },
    });

  before(async () => {
    issuer = await startLocalIssuer({ audience: "orders-api", now: () => clock });
    stranger = await startLocalIssuer({ audience: "orders-api" });
    const jwt = { issuer: issuer.issuer, audiences: ["orders-api"], identitySources: ["$request.header.Authorization"] };
    jwtApi = await serve(
      {
        routes: {
          [POST]: { authorizationType: "JWT", authorizerId: "jwt-1", scopes: ["events:write"] },
          [GET]: { authorizationType: "JWT", authorizerId: "jwt-1", scopes: ["aggregates:read"] },
          $default: { authorizationType: "JWT", authorizerId: "jwt-1" },
          // As CommandApi declares it with CORS on: open, so that $default (with the authorizer) never takes a preflight.
          [PREFLIGHT_ROUTE]: { authorizationType: "NONE" },
        },
        authorizers: { "jwt-1": jwt },
      },
      CORS,
    );
    iamApi = await serve({ routes: Object.fromEntries(ROUTES.map((r) => [r, { authorizationType: "AWS_IAM" as const }])), authorizers: {} });
  });
  after(async () => {
    await Promise.all([jwtApi, iamApi, issuer, stranger].map((s) => s?.stop()));
    // Every hostile request tried (16 tokens, 11 signatures, 5 cross-origin) was answered before the integration.
    expect(hostile).to.equal(32);
  });
  beforeEach(() => {
    invoked.length = 0;
    clock = Date.now();
  });

  const post = (api: LocalHttpApi, headers: Record<string, string>, body = '{"type":"OrderPlaced","data":{}}') =>
    fetch(`${api.url}aggregates/o-1/events`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

  /** A request that must be answered `status` with `message` before the integration. */
  async function refusedBefore(res: Response, status: number, message: string, header?: [string, RegExp]): Promise<void> {
    hostile += 1;
    const body = (await res.json()) as { message: string };
    expect(res.status, JSON.stringify(body)).to.equal(status);
    expect(body.message).to.include(message);
    if (header) expect(res.headers.get(header[0]) ?? "").to.match(header[1]);
    expect(invoked, "the integration was invoked").to.have.length(0);
  }

  describe("JWT routes", () => {
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    it("passes a valid token's claims and scopes on as API Gateway's payload 2.0 does, with or without Bearer", async () => {
      const token = await issuer.token({ sub: "c-1", scopes: ["events:write", "aggregates:read"] });
      expect((await post(jwtApi, bearer(token))).status).to.equal(202);
      expect((await post(jwtApi, { authorization: token })).status).to.equal(202);
      const ctx = invoked[0].requestContext.authorizer as any;
      expect(ctx.jwt.scopes).to.deep.equal(["events:write", "aggregates:read"]);
      expect(ctx.jwt.claims).to.include({ sub: "c-1", iss: issuer.issuer, aud: "orders-api", scope: "events:write aggregates:read" });
      expect(ctx.jwt.claims.exp).to.be.a("string").and.match(/^\d+$/);
    });

    it("answers 401 Unauthorized without a token, and with one that is not a JWT", async () => {
      await refusedBefore(await post(jwtApi, {}), 401, "Unauthorized", ["www-authenticate", /error="invalid_token"/]);
      await refusedBefore(await post(jwtApi, bearer("not.a.jwt")), 401, "Unauthorized");
      await refusedBefore(await fetch(`${jwtApi.url}nowhere`), 401, "Unauthorized");
    });

    it("answers 401 for an expired token, a wrong audience, a wrong issuer and a token not valid yet", async () => {
      clock = Date.now() - 2 * 3600_000;
      const expired = await issuer.token({ sub: "c-1", scopes: ["events:write"] });
      clock = Date.now();
      await refusedBefore(await post(jwtApi, bearer(expired)), 401, "Unauthorized", ["www-authenticate", /has expired/]);
      await refusedBefore(await post(jwtApi, bearer(await issuer.token({ scopes: ["events:write"], audience: "other-api" }))), 401, "Unauthorized", [
        "www-authenticate",
        /valid audience/,
      ]);
      const wrongIss = await issuer.token({ scopes: ["events:write"], override: { iss: "https://login.example.com" } });
      await refusedBefore(await post(jwtApi, bearer(wrongIss)), 401, "Unauthorized", ["www-authenticate", /valid issuer/]);
      const early = await issuer.token({ scopes: ["events:write"], override: { nbf: Math.floor(Date.now() / 1000) + 600 } });
      await refusedBefore(await post(jwtApi, bearer(early)), 401, "Unauthorized", ["www-authenticate", /not valid yet/]);
      const noExp = await issuer.token({ scopes: ["events:write"], override: { exp: undefined } });
      await refusedBefore(await post(jwtApi, bearer(noExp)), 401, "Unauthorized");
    });

    it("refuses a token that expires after it was accepted (a verified token is known by its text, its exp is checked on every request)", async () => {
      // exp about 1.5 s ahead.
      clock = Date.now() - 3600_000 + 1500;
      const token = await issuer.token({ sub: "c-1", scopes: ["events:write"] });
      clock = Date.now();
      expect((await post(jwtApi, bearer(token))).status).to.equal(202);
      expect((await post(jwtApi, bearer(token))).status).to.equal(202);
      invoked.length = 0;
      await new Promise((r) => setTimeout(r, 2600));
      await refusedBefore(await post(jwtApi, bearer(token)), 401, "Unauthorized", ["www-authenticate", /has expired/]);
    });

    it("answers 401 for a token signed by another key, even under the issuer's kid and iss, and for alg none and HS256", async () => {
      const real = await issuer.token({ sub: "c-1", scopes: ["events:write"] });
      const [head, payload] = real.split(".");
      const forged = await stranger.token({ sub: "c-1", scopes: ["events:write"], override: { iss: issuer.issuer } });
      await refusedBefore(await post(jwtApi, bearer(forged)), 401, "Unauthorized", ["www-authenticate", /signature is not valid/]);
      // The stranger's signature under the real header (kid): the key that kid names does not verify it.
      await refusedBefore(await post(jwtApi, bearer(`${head}.${payload}.${forged.split(".")[2]}`)), 401, "Unauthorized");
      await refusedBefore(await post(jwtApi, bearer(`${b64url({ alg: "none", typ: "JWT" })}.${payload}.`)), 401, "Unauthorized");
      const jwks = (await (await fetch(`${issuer.issuer}/.well-known/jwks.json`)).json()) as { keys: { kid: string; n: string }[] };
      const { createHmac } = await import("crypto");
      const hsHead = b64url({ alg: "HS256", typ: "JWT", kid: jwks.keys[0].kid });
      const hs = createHmac("sha256", jwks.keys[0].n).update(`${hsHead}.${payload}`).digest("base64url");
      await refusedBefore(await post(jwtApi, bearer(`${hsHead}.${payload}.${hs}`)), 401, "Unauthorized", ["www-authenticate", /RSA/]);
      // One flipped bit of the payload breaks the real signature.
      const tampered = `${head}.${b64url({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: "c-2" })}.${real.split(".")[2]}`;
      await refusedBefore(await post(jwtApi, bearer(tampered)), 401, "Unauthorized");
    });

    it("answers 403 Forbidden for a valid token without the route's scope", async () => {
      const reader = await issuer.token({ sub: "c-1", scopes: ["aggregates:read"] });
      await refusedBefore(await post(jwtApi, bearer(reader)), 403, "Forbidden", ["www-authenticate", /insufficient_scope/]);
      await refusedBefore(await fetch(`${jwtApi.url}aggregates/o-1`, { headers: bearer(await issuer.token({ scopes: ["events:write"] })) }), 403, "Forbidden");
      expect((await fetch(`${jwtApi.url}aggregates/o-1`, { headers: bearer(reader) })).status).to.equal(202);
    });
  });

  describe("AWS_IAM routes", () => {
    const signed = async (role: string, opts: { method?: string; path?: string; body?: string; secret?: string; service?: string; date?: Date } = {}) => {
      const method = opts.method ?? "POST";
      const url = new URL(opts.path ?? "aggregates/o-1/events", iamApi.url);
      const body = method === "POST" ? (opts.body ?? '{"type":"OrderPlaced","data":{}}') : undefined;
      const credentials = { ...accountCredentials(ACCOUNT, role), ...(opts.secret ? { secretAccessKey: opts.secret } : {}) };
      const { SignatureV4 } = await import("@smithy/signature-v4");
      const { Hash } = await import("@smithy/hash-node");
      if (opts.service || opts.date) {
        const signer = new SignatureV4({
          service: opts.service ?? "execute-api",
          region: REGION,
          credentials,
          sha256: Hash.bind(null, "sha256"),
          applyChecksum: false,
        });
        const s = await signer.sign(
          {
            method,
            protocol: "http:",
            hostname: url.hostname,
            port: Number(url.port),
            path: url.pathname,
            query: {},
            headers: { host: url.host, "content-type": "application/json" },
            body,
          },
          { signingDate: opts.date },
        );
        const { host: _h, ...headers } = s.headers;
        return { url, method, headers, body };
      }
      const headers = await sigv4Headers(url, { method, headers: { "content-type": "application/json" }, body }, credentials, REGION);
      return { url, method, headers, body };
    };
    const send = (r: { url: URL; method: string; headers: Record<string, string>; body?: string }) => fetch(r.url, r);

    it("passes a signed request of a caller allowed execute-api:Invoke on the route, as requestContext.authorizer.iam", async () => {
      expect((await send(await signed(WRITER))).status).to.equal(202);
      const iam = (invoked[0].requestContext.authorizer as any).iam;
      expect(iam).to.include({ accountId: ACCOUNT, accessKey: ACCOUNT, userArn: `arn:aws:sts::${ACCOUNT}:assumed-role/order-writer/local` });
      expect(iam.callerId).to.match(/^AROA[0-9A-Z]{17}:local$/);
    });

    it("answers 403 Missing Authentication Token to an unsigned request, $default included", async () => {
      await refusedBefore(await post(iamApi, {}), 403, "Missing Authentication Token", ["x-amzn-errortype", /^MissingAuthenticationTokenException$/]);
      await refusedBefore(await fetch(`${iamApi.url}nowhere`), 403, "Missing Authentication Token");
    });

    it("answers 403 AccessDenied to a principal without execute-api:Invoke on the route", async () => {
      await refusedBefore(
        await send(await signed(NOBODY)),
        403,
        `User: arn:aws:sts::${ACCOUNT}:assumed-role/nobody/local is not authorized to perform: execute-api:Invoke on resource: ${arn("POST", "aggregates/o-1/events")}`,
        ["x-amzn-errortype", /^AccessDeniedException$/],
      );
      await refusedBefore(await send(await signed(WRITER, { method: "GET", path: "aggregates/o-1" })), 403, "is not authorized to perform: execute-api:Invoke");
    });

    it("answers 403 to a bad signature: a body changed after signing, a wrong secret, another service's scope, a stale date", async () => {
      const r = await signed(WRITER);
      await refusedBefore(await send({ ...r, body: '{"type":"OrderPlaced","data":{"x":1}}' }), 403, "The request signature we calculated does not match", [
        "x-amzn-errortype",
        /^InvalidSignatureException$/,
      ]);
      await refusedBefore(await send({ ...r, url: new URL("aggregates/o-2/events", iamApi.url) }), 403, "does not match");
      await refusedBefore(await send(await signed(WRITER, { secret: randomBytes(8).toString("hex") })), 403, "does not match");
      await refusedBefore(await send(await signed(WRITER, { service: "s3" })), 403, "Credential should be scoped to correct service: 'execute-api'.");
      await refusedBefore(await send(await signed(WRITER, { date: new Date(Date.now() - 10 * 60_000) })), 403, "Signature expired");
    });

    it("answers 403 to a session token that is not the local convention's, and to an access key of another account", async () => {
      const r = await signed(WRITER);
      await refusedBefore(
        await send({ ...r, headers: { ...r.headers, "x-amz-security-token": "FwoGZXIvYXdzEXAMPLE" } }),
        403,
        "The security token included in the request is invalid.",
      );
      const other = await sigv4Headers(
        r.url,
        { method: "POST", headers: { "content-type": "application/json" }, body: r.body },
        { ...accountCredentials("222222222222", WRITER) },
        REGION,
      );
      await refusedBefore(await send({ ...r, headers: other }), 403, "The security token included in the request is invalid.");
    });
  });

  describe("CORS", () => {
    const preflight = (origin: string, method = "POST", headers = "authorization,content-type,idempotency-key") =>
      fetch(`${jwtApi.url}aggregates/o-1/events`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
      });

    it("answers an allowed preflight itself, with no token and no integration", async () => {
      const res = await preflight("https://app.example.com");
      expect(res.status).to.equal(204);
      expect(res.headers.get("access-control-allow-origin")).to.equal("https://app.example.com");
      expect(res.headers.get("access-control-allow-headers")).to.equal("authorization,content-type,idempotency-key");
      expect(res.headers.get("access-control-max-age")).to.equal("300");
      expect(invoked).to.have.length(0);
    });

    it("without the open preflight route, $default takes the preflight with its authorizer and refuses it, as API Gateway does", async () => {
      const routes = {
        [POST]: { authorizationType: "JWT" as const, authorizerId: "jwt-1" },
        $default: { authorizationType: "JWT" as const, authorizerId: "jwt-1" },
      };
      const bare = await serve(
        { routes, authorizers: { "jwt-1": { issuer: issuer.issuer, audiences: ["orders-api"], identitySources: ["$request.header.Authorization"] } } },
        CORS,
      );
      try {
        const res = await fetch(`${bare.url}aggregates/o-1/events`, {
          method: "OPTIONS",
          headers: { origin: "https://app.example.com", "access-control-request-method": "POST" },
        });
        hostile += 1;
        expect(res.status).to.equal(401);
        expect(invoked).to.have.length(0);
      } finally {
        await bare.stop();
      }
    });

    it("gives no CORS headers to another origin, a method or a header not allowed", async () => {
      for (const res of [
        await preflight("https://evil.example"),
        await preflight("https://app.example.com", "DELETE"),
        await preflight("https://app.example.com", "POST", "x-secret"),
      ]) {
        hostile += 1;
        expect(res.headers.get("access-control-allow-origin")).to.equal(null);
      }
      expect(invoked).to.have.length(0);
    });

    it("adds the allowed origin and exposes Location on answers, dropping the integration's own CORS headers", async () => {
      const token = await issuer.token({ scopes: ["events:write"] });
      const res = await post(jwtApi, { origin: "https://app.example.com", authorization: `Bearer ${token}` });
      expect(res.status).to.equal(202);
      expect(res.headers.get("access-control-allow-origin")).to.equal("https://app.example.com");
      expect(res.headers.get("access-control-expose-headers")).to.equal("location");
      const denied = await post(jwtApi, { origin: "https://app.example.com" });
      hostile += 1;
      expect(denied.status).to.equal(401);
      expect(denied.headers.get("access-control-allow-origin"), "a browser can read the 401").to.equal("https://app.example.com");
      const elsewhere = await post(jwtApi, { origin: "https://evil.example", authorization: `Bearer ${token}` });
      expect(elsewhere.headers.get("access-control-allow-origin")).to.equal(null);
    });
  });
});
