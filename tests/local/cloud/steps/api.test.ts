/** The HTTP API the local cloud serves, read from the declared routes and integrations (local/cloud/steps/api.ts). */
import { expect } from "chai";
import { TYPES } from "../../../../components/parts/typeTokens";
import { ManifestResource, StackManifest } from "../../../../local/shared/manifest";
import { declaredApi } from "../../../../local/cloud/steps/api";

const resource = (type: string, name: string, id: string, inputs: Record<string, unknown>): ManifestResource => ({ type, id, name, inputs, state: {} });
const producer = (resources: ManifestResource[]): StackManifest => ({
  stack: "producer",
  account: "111111111111",
  region: "us-east-1",
  outputs: {},
  resources,
  functions: [],
  notEmulated: {},
});
const FN = "arn:aws:lambda:us-east-1:111111111111:function:commands";

describe("local cloud API step: declaredApi", () => {
  it("maps each route of the API to the function its integration targets, with the integration's timeout", () => {
    const api = declaredApi(
      producer([
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
      producer([
        resource(TYPES.httpApi, "http", "api-1", {}),
        resource(TYPES.integration, "integration", "int-1", { integrationUri: FN }),
        resource(TYPES.route, "post", "r-1", { apiId: "api-1", routeKey: "$default", target: "integrations/int-1" }),
      ]),
    );
    expect(api.timeoutMs).to.equal(30_000);
  });

  it("refuses a route whose integration was not declared, and a stack without an API", () => {
    const dangling = producer([
      resource(TYPES.httpApi, "http", "api-1", {}),
      resource(TYPES.route, "post", "r-1", { apiId: "api-1", routeKey: "POST /x", target: "integrations/missing" }),
    ]);
    expect(() => declaredApi(dangling)).to.throw("route POST /x targets integrations/missing, which the program did not declare");
    expect(() => declaredApi(producer([]))).to.throw(`the producer stack must declare an ${TYPES.httpApi} to serve, got none`);
  });
});
