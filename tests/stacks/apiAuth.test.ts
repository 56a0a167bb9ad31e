/**
 * Who may call the command API, as the producer stack declares it under
 * mocks, in each `apiAuth` mode: every route's authorization, the JWT
 * authorizer and its scopes, the function's API_AUTH, the route ARNs an IAM
 * caller's policy names, CORS, and the stack config that drives them.
 */
import { expect } from "chai";
import { ProgramRun } from "../support/pulumiMocks";
import { PRODUCER, REGION, runProducer } from "../support/producerRun";

const ISSUER = "https://login.example.com/oauth2/default";
const JWT = { apiAuth: "jwt", jwtIssuer: ISSUER, jwtAudiences: '["orders-api","orders-web"]' };
const ROUTE = "aws:apigatewayv2/route:Route";
const AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer";

const routes = (run: ProgramRun) => Object.fromEntries(run.ofType(ROUTE).map((r) => [r.inputs.routeKey as string, r.inputs]));
const apiEnv = (run: ProgramRun) => run.one("aws:lambda/function:Function", "commands-handler").inputs.environment.variables;

async function failure(config: Record<string, string>): Promise<string | undefined> {
  try {
    await runProducer(config);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

describe("command API auth (mocks)", function () {
  this.timeout(120_000);
  let iam: ProgramRun;
  let jwt: ProgramRun;
  before(async () => {
    iam = await runProducer();
    jwt = await runProducer({ ...JWT, corsAllowOrigins: "https://app.example.com,https://admin.example.com", corsAllowHeaders: "X-Trace-Id" });
  });

  describe("iam (the default: no config needed)", () => {
    it("puts AWS_IAM on every route, $default included, and creates no authorizer", () => {
      const r = routes(iam);
      expect(Object.keys(r).sort()).to.deep.equal(["$default", "GET /aggregates/{id}", "POST /aggregates/{id}/events"]);
      for (const [key, inputs] of Object.entries(r)) {
        expect(inputs.authorizationType, key).to.equal("AWS_IAM");
        expect(inputs, key).to.not.have.any.keys("authorizerId", "authorizationScopes");
      }
      expect(iam.ofType(AUTHORIZER)).to.deep.equal([]);
    });

    it("tells the function its mode, tags the API with it, and exports the route ARNs a caller's policy names", () => {
      expect(apiEnv(iam).API_AUTH).to.equal("iam");
      expect(iam.one("aws:apigatewayv2/api:Api").inputs.tags).to.deep.equal({ "eventsourced:auth": "iam" });
      const execution = iam.one("aws:apigatewayv2/api:Api").state.executionArn as string;
      expect(execution).to.match(new RegExp(`^arn:aws:execute-api:${REGION}:${PRODUCER}:\\w+$`));
      expect(iam.outputs.apiAuth).to.equal("iam");
      expect(iam.outputs.apiRouteArns).to.deep.equal([`${execution}/$default/POST/aggregates/*/events`, `${execution}/$default/GET/aggregates/*`]);
    });

    it("leaves CORS off", () => {
      expect(iam.one("aws:apigatewayv2/api:Api").inputs).to.not.have.property("corsConfiguration");
    });
  });

  describe("jwt", () => {
    it("creates one JWT authorizer on the Authorization header with the configured issuer and audiences", () => {
      const a = jwt.one(AUTHORIZER);
      expect(a.inputs).to.include({ authorizerType: "JWT", apiId: jwt.one("aws:apigatewayv2/api:Api").id });
      expect(a.inputs.identitySources).to.deep.equal(["$request.header.Authorization"]);
      expect(a.inputs.jwtConfiguration).to.deep.equal({ issuer: ISSUER, audiences: ["orders-api", "orders-web"] });
      expect(a.parentType).to.equal("eventsourced:api:CommandApi");
    });

    it("puts it on every route but CORS's preflight one: POST needs events:write, GET aggregates:read, $default any valid token", () => {
      const { "OPTIONS /{proxy+}": preflight, ...r } = routes(jwt);
      const id = jwt.one(AUTHORIZER).id;
      expect(preflight, "this stack has CORS on").to.include({ authorizationType: "NONE" });
      for (const inputs of Object.values(r)) expect(inputs).to.include({ authorizationType: "JWT", authorizerId: id });
      expect(r["POST /aggregates/{id}/events"].authorizationScopes).to.deep.equal(["events:write"]);
      expect(r["GET /aggregates/{id}"].authorizationScopes).to.deep.equal(["aggregates:read"]);
      expect(r.$default).to.not.have.property("authorizationScopes");
      expect(apiEnv(jwt).API_AUTH).to.equal("jwt");
      expect(jwt.outputs.apiAuth).to.equal("jwt");
    });

    it("takes the scopes from config, as lists or comma-separated", async () => {
      const run = await runProducer({ ...JWT, jwtWriteScopes: "orders/write, admin", jwtReadScopes: '["orders/read"]' });
      const r = routes(run);
      expect(r["POST /aggregates/{id}/events"].authorizationScopes).to.deep.equal(["orders/write", "admin"]);
      expect(r["GET /aggregates/{id}"].authorizationScopes).to.deep.equal(["orders/read"]);
    });
  });

  describe("none (only when chosen)", () => {
    it("leaves every route open, says so in the function's mode and the API's tag, and warns at deploy time", async () => {
      const warnings: string[] = [];
      const original = console.warn;
      console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
      let run: ProgramRun;
      try {
        run = await runProducer({ apiAuth: "none" });
      } finally {
        console.warn = original;
      }
      for (const inputs of Object.values(routes(run))) expect(inputs.authorizationType).to.equal("NONE");
      expect(run.ofType(AUTHORIZER)).to.deep.equal([]);
      expect(apiEnv(run).API_AUTH).to.equal("none");
      expect(run.one("aws:apigatewayv2/api:Api").inputs.tags).to.deep.equal({ "eventsourced:auth": "none" });
      expect(warnings.join("\n")).to.include("CommandApi commands: auth mode none — every route is open to anyone who finds the URL");
    });
  });

  describe("CORS", () => {
    it("is configured from config: the origins and methods given, the API's headers always allowed, Location exposed", () => {
      expect(jwt.one("aws:apigatewayv2/api:Api").inputs.corsConfiguration).to.deep.equal({
        allowOrigins: ["https://app.example.com", "https://admin.example.com"],
        allowMethods: ["GET", "POST", "OPTIONS"],
        allowHeaders: ["authorization", "content-type", "idempotency-key", "x-trace-id"],
        exposeHeaders: ["location"],
        maxAge: 300,
      });
    });

    it("declares an open OPTIONS /{proxy+} route, so $default (with the authorizer) never takes a browser's preflight; none without CORS", () => {
      const r = routes(jwt);
      expect(r["OPTIONS /{proxy+}"]).to.include({ authorizationType: "NONE" });
      expect(r["OPTIONS /{proxy+}"].target).to.equal(r.$default.target);
      expect(r.$default).to.include({ authorizationType: "JWT" });
      expect(jwt.ofType(ROUTE).find((x) => x.inputs.routeKey === "OPTIONS /{proxy+}")!.name, "after the others: their URNs stay").to.equal("commands-route-3");
      expect(routes(iam)).to.not.have.property("OPTIONS /{proxy+}");
    });

    it("allows the SigV4 headers too in iam mode, and takes the methods and max age from config", async () => {
      const run = await runProducer({ corsAllowOrigins: '["https://app.example.com"]', corsAllowMethods: "GET,OPTIONS", corsMaxAge: "60" });
      const cors = run.one("aws:apigatewayv2/api:Api").inputs.corsConfiguration;
      expect(cors.allowHeaders).to.include.members(["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]);
      expect(cors).to.include({ maxAge: 60 });
      expect(cors.allowMethods).to.deep.equal(["GET", "OPTIONS"]);
    });
  });

  describe("stack config, checked before anything is registered", () => {
    const cases: [Record<string, string>, string][] = [
      [{ apiAuth: "open" }, 'apiAuth must be one of iam, jwt, none, got "open"'],
      [{ apiAuth: "jwt", jwtAudiences: "orders-api" }, "CommandApi commands: auth.issuer is required for auth.mode jwt"],
      [{ apiAuth: "jwt", jwtIssuer: ISSUER }, "CommandApi commands: auth.audiences is required for auth.mode jwt"],
      [{ jwtIssuer: ISSUER }, "CommandApi commands: auth.issuer is only for auth.mode jwt, got auth.mode iam"],
      [{ ...JWT, jwtAudiences: '["a", 1]' }, 'jwtAudiences must be a list of strings, got ["a", 1]'],
      [{ corsAllowMethods: "GET" }, "CommandApi commands: cors.allowOrigins is required to turn CORS on"],
    ];
    for (const [config, message] of cases) {
      it(`refuses ${JSON.stringify(config)}: ${message}`, async () => {
        expect(await failure(config)).to.include(message);
      });
    }
  });
});
