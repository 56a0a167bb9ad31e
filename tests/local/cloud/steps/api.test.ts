/** The HTTP API the local cloud serves, read from the declared routes and integrations (local/cloud/steps/api.ts). */
import { expect } from "chai";
import { TYPES } from "../../../../components/parts/typeTokens";
import { ManifestResource } from "../../../../local/shared/manifest";
import { declaredAccess, declaredApi, localCaller } from "../../../../local/cloud/steps/api";
import { stackConfig } from "../../../../local/cloud/steps/stacks";
import { producerManifest } from "../../../support/manifests";

const resource = (type: string, name: string, id: string, inputs: Record<string, unknown>): ManifestResource => ({ type, id, name, inputs, state: {} });
const FN = "arn:aws:lambda:us-east-1:111111111111:function:commands";

describe("local cloud API step: declaredApi", () => {
  it("maps each route of the API to the function its integration targets, with the integration's timeout", () => {
    const api = declaredApi(
      producerManifest([
        resource(TYPES.httpApi, "http", "api-1", {}),
        resource(TYPES.integration, "integration", "int-1", { integrationUri: FN, timeoutMilliseconds: 10_000 }),
        resource(TYPES.route, "post", "r-1", { apiId: "api-1", routeKey: "POST /aggregates/{id}/events", target: "integrations/int-1" }),
        resource(TYPES.route, "get", "r-2", { apiId: "api-1", routeKey: "GET /aggregates/{id}", target: "integrations/int-1" }),
        resource(TYPES.route, "elsewhere", "r-3", { apiId: "api-2", routeKey: "GET /other", target: "integrations/int-9" }),
      ]),
    );
    expect(api).to.deep.equal({ apiId: "api-1", targets: { "POST /aggregates/{id}/events": FN, "GET /aggregates/{id}": FN }, timeoutMs: 10_000 });
  });

  it("keeps API Gateway's 30 s when the integration declares no timeout", () => {
    const api = declaredApi(
      producerManifest([
        resource(TYPES.httpApi, "http", "api-1", {}),
        resource(TYPES.integration, "integration", "int-1", { integrationUri: FN }),
        resource(TYPES.route, "post", "r-1", { apiId: "api-1", routeKey: "$default", target: "integrations/int-1" }),
      ]),
    );
    expect(api.timeoutMs).to.equal(30_000);
  });

  it("refuses a route whose integration was not declared, and a stack without an API", () => {
    const dangling = producerManifest([
      resource(TYPES.httpApi, "http", "api-1", {}),
      resource(TYPES.route, "post", "r-1", { apiId: "api-1", routeKey: "POST /x", target: "integrations/missing" }),
    ]);
    expect(() => declaredApi(dangling)).to.throw("route POST /x targets integrations/missing, which the program did not declare");
    expect(() => declaredApi(producerManifest([]))).to.throw(`the producer stack must declare an ${TYPES.httpApi} to serve, got none`);
  });
});

describe("local cloud API step: declaredAccess and the local caller", () => {
  const ISSUER = "http://127.0.0.1:4444";
  it("reads each route's authorization, the API's JWT authorizers and its CORS configuration", () => {
    const m = producerManifest([
      resource(TYPES.httpApi, "http", "api-1", {
        corsConfiguration: { allowOrigins: ["https://app"], allowMethods: ["GET"], allowHeaders: ["Authorization"], exposeHeaders: ["Location"], maxAge: 60 },
      }),
      resource(TYPES.authorizer, "jwt", "auth-1", {
        apiId: "api-1",
        identitySources: ["$request.header.Authorization"],
        jwtConfiguration: { issuer: ISSUER, audiences: ["a"] },
      }),
      resource(TYPES.authorizer, "elsewhere", "auth-9", { apiId: "api-2", identitySources: [], jwtConfiguration: { issuer: "x", audiences: [] } }),
      resource(TYPES.route, "post", "r-1", {
        apiId: "api-1",
        routeKey: "POST /x",
        authorizationType: "JWT",
        authorizerId: "auth-1",
        authorizationScopes: ["w"],
      }),
      resource(TYPES.route, "get", "r-2", { apiId: "api-1", routeKey: "GET /x", authorizationType: "AWS_IAM" }),
      resource(TYPES.route, "default", "r-3", { apiId: "api-1", routeKey: "$default" }),
    ]);
    expect(declaredAccess(m)).to.deep.equal({
      routes: {
        "POST /x": { authorizationType: "JWT", authorizerId: "auth-1", scopes: ["w"] },
        "GET /x": { authorizationType: "AWS_IAM" },
        $default: { authorizationType: "NONE" },
      },
      authorizers: { "auth-1": { issuer: ISSUER, audiences: ["a"], identitySources: ["$request.header.Authorization"] } },
      cors: {
        allowOrigins: ["https://app"],
        allowMethods: ["GET"],
        allowHeaders: ["authorization"],
        exposeHeaders: ["location"],
        maxAge: 60,
        allowCredentials: undefined,
      },
    });
  });

  it("grants the local caller execute-api:Invoke on exactly the route ARNs the stack exports, and nothing without them", () => {
    const arns = ["arn:aws:execute-api:us-east-1:111111111111:api-1/$default/POST/x"];
    const caller = localCaller({ ...producerManifest([]), outputs: { apiRouteArns: arns } });
    expect(caller?.arn).to.equal("arn:aws:iam::111111111111:role/local-api-caller");
    expect(caller?.policies[0].document.Statement).to.deep.equal([{ Sid: "InvokeCommandApi", Effect: "Allow", Action: "execute-api:Invoke", Resource: arns }]);
    expect(localCaller(producerManifest([]))).to.equal(undefined);
  });
});

describe("local cloud stacks step: stackConfig", () => {
  const base = { role: "producer", apiAuth: "jwt", jwtIssuer: "http://127.0.0.1:4444", jwtAudiences: "local-api" };
  it("keeps the local issuer under jwt, and drops it once the config chooses another mode", () => {
    expect(stackConfig(base, {}, {})).to.deep.equal(base);
    expect(stackConfig(base, { apiAuth: "iam" }, {})).to.deep.equal({ role: "producer", apiAuth: "iam" });
    expect(stackConfig(base, {}, { apiAuth: "none" })).to.deep.equal({ role: "producer", apiAuth: "none" });
    // An issuer of the caller's own is kept, so the component can say it contradicts the mode.
    expect(stackConfig(base, { apiAuth: "iam", jwtIssuer: "https://login.example.com" }, {})).to.include({ jwtIssuer: "https://login.example.com" });
  });
});
