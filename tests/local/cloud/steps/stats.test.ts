/**
 * The local cloud counts resources by what they are (local/cloud/steps/stats.ts):
 * parked tables by the functions' declared environment, mapping records by the
 * component that declared the mapping; names never decide.
 */
import { expect } from "chai";
import { COMPONENT_TYPES, TYPES } from "../../../../components/parts/typeTokens";
import { ENV } from "../../../../handlers/shared/env";
import { MappingPoller, MappingStats } from "../../../../local/lambda/mapping/poller";
import { ManifestFunction, ManifestResource } from "../../../../local/shared/manifest";
import { parkedTables, projectedInto, servedTable, succeededUnder } from "../../../../local/cloud/steps/stats";
import { RunningMapping } from "../../../../local/cloud/steps/mappings";
import { producerManifest } from "../../../support/manifests";

const table = (name: string, physical: string, parentType?: string): ManifestResource => ({
  type: TYPES.table,
  id: physical,
  name,
  parentType,
  inputs: {},
  state: { name: physical },
});

const fn = (name: string, environment: Record<string, string>): ManifestFunction => ({
  name,
  functionName: `${name}-fn`,
  arn: `arn:aws:lambda:us-east-1:111111111111:function:${name}-fn`,
  roleArn: `arn:aws:iam::111111111111:role/${name}`,
  dir: "/nowhere",
  environment,
  timeout: 3,
  memorySize: 128,
  zipBytes: 0,
});

const poller = (succeeded: number): MappingPoller =>
  ({ ready: Promise.resolve(), stats: () => ({ succeeded }) as MappingStats, stop: async () => undefined }) as MappingPoller;

describe("local cloud stats: resources found by what they are", () => {
  it("counts as parked tables those a function names in PARKED_TABLE_NAME, whatever they are called", () => {
    const m = producerManifest(
      [table("quarantine", "quarantine-1a2b"), table("orders-parked", "orders-parked-3c4d"), table("orders-read-model", "orders-read-model-5e6f")],
      [
        fn("projector", { [ENV.TABLE_NAME]: "orders-read-model-5e6f", [ENV.PARKED_TABLE_NAME]: "quarantine-1a2b" }),
        fn("api", { [ENV.TABLE_NAME]: "orders-read-model-5e6f" }),
      ],
    );
    expect(parkedTables(m)).to.deep.equal(["quarantine-1a2b"]);
  });

  it("names each parked table once, even when several functions park into it", () => {
    const m = producerManifest(
      [table("shared", "shared-1")],
      [fn("a", { [ENV.PARKED_TABLE_NAME]: "shared-1" }), fn("b", { [ENV.PARKED_TABLE_NAME]: "shared-1" })],
    );
    expect(parkedTables(m)).to.deep.equal(["shared-1"]);
  });

  it("sums processed records by the type of the component that declared the mapping", () => {
    const mappings = [
      { name: "bridge-mapping-called-projector", parentType: COMPONENT_TYPES.CrossAccountBridge, environment: {}, poller: poller(5) },
      { name: "a", parentType: COMPONENT_TYPES.EventSourcedTable, environment: {}, poller: poller(7) },
      { name: "b", parentType: COMPONENT_TYPES.EventSourcedTable, environment: {}, poller: poller(1) },
      { name: "projector-without-parent", parentType: undefined, environment: {}, poller: poller(100) },
    ];
    expect(succeededUnder(mappings, COMPONENT_TYPES.EventSourcedTable)).to.equal(8);
    expect(succeededUnder(mappings, COMPONENT_TYPES.CrossAccountBridge)).to.equal(5);
  });

  it("counts as projected the mappings of the read model the API serves: version 1's, or the cut-over version's", () => {
    const resource = (type: string, id: string, inputs: Record<string, unknown>): ManifestResource => ({ type, id, name: id, inputs, state: {} });
    const served = (tableName: string) =>
      producerManifest(
        [
          resource(TYPES.httpApi, "api-1", {}),
          resource(TYPES.integration, "int-1", { integrationUri: fn("api", {}).arn }),
          resource(TYPES.route, "route-1", { apiId: "api-1", routeKey: "GET /aggregates/{id}", target: "integrations/int-1" }),
        ],
        [fn("api", { [ENV.TABLE_NAME]: tableName })],
      );
    const mappings: RunningMapping[] = [
      { name: "v1", parentType: COMPONENT_TYPES.EventSourcedTable, environment: { [ENV.TABLE_NAME]: "read-model-v1" }, poller: poller(7) },
      { name: "v2", parentType: COMPONENT_TYPES.ReadModelVersion, environment: { [ENV.TABLE_NAME]: "read-model-v2" }, poller: poller(3) },
      { name: "bridge", parentType: COMPONENT_TYPES.CrossAccountBridge, environment: {}, poller: poller(5) },
    ];
    expect(servedTable(served("read-model-v2"))).to.equal("read-model-v2");
    expect(projectedInto(mappings, servedTable(served("read-model-v1")))).to.equal(7);
    expect(projectedInto(mappings, servedTable(served("read-model-v2")))).to.equal(3);
    // Version 1 retired: its mapping is gone, and the count follows the version served.
    expect(projectedInto(mappings.slice(1), servedTable(served("read-model-v2")))).to.equal(3);
  });
});
