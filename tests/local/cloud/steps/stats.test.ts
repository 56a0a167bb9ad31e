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
import { parkedTables, succeededUnder } from "../../../../local/cloud/steps/stats";
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
      { name: "bridge-mapping-called-projector", parentType: COMPONENT_TYPES.CrossAccountBridge, poller: poller(5) },
      { name: "a", parentType: COMPONENT_TYPES.EventSourcedTable, poller: poller(7) },
      { name: "b", parentType: COMPONENT_TYPES.EventSourcedTable, poller: poller(1) },
      { name: "projector-without-parent", parentType: undefined, poller: poller(100) },
    ];
    expect(succeededUnder(mappings, COMPONENT_TYPES.EventSourcedTable)).to.equal(8);
    expect(succeededUnder(mappings, COMPONENT_TYPES.CrossAccountBridge)).to.equal(5);
  });
});
