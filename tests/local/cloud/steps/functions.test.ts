/** The functions step's local cap on environments (local/cloud/steps/functions.ts). */
import { expect } from "chai";
import { TYPES } from "../../../../components/parts/typeTokens";
import { localEnvironmentCap } from "../../../../local/cloud/steps/functions";
import { LOCAL_CONCURRENCY } from "../../../../local/lambda/functionHost";
import { ManifestFunction, ManifestResource } from "../../../../local/shared/manifest";
import { producerManifest } from "../../../support/manifests";

const fn = (name: string): ManifestFunction => ({
  name,
  functionName: `${name}-0123abc`,
  arn: `arn:aws:lambda:us-east-1:111111111111:function:${name}-0123abc`,
  roleArn: "arn:aws:iam::111111111111:role/r",
  dir: "/nowhere",
  environment: {},
  timeout: 3,
  memorySize: 128,
  zipBytes: 0,
});
/** The function's resource as the deploy records it (what a mapping's functionName resolves through). */
const fnResource = (f: ManifestFunction): ManifestResource => ({
  type: TYPES.function,
  name: f.name,
  id: f.functionName,
  inputs: {},
  state: { arn: f.arn, name: f.functionName },
});
const mapping = (name: string, functionName: string, parallelizationFactor?: number): ManifestResource => ({
  type: TYPES.mapping,
  id: name,
  name,
  inputs: { functionName, eventSourceArn: "arn:aws:kinesis:us-east-1:111111111111:stream/s", ...(parallelizationFactor ? { parallelizationFactor } : {}) },
  state: {},
});

describe("the local cap on a function's environments", () => {
  it("is two per core, at least 4", () => {
    expect(LOCAL_CONCURRENCY).to.be.at.least(4);
    expect(localEnvironmentCap(producerManifest([fnResource(fn("api"))], [fn("api")]), fn("api"))).to.equal(LOCAL_CONCURRENCY);
  });

  it("grows to the lanes of the mappings that feed the function (by ARN or by name), and only theirs", () => {
    const projector = fn("projector");
    const other = fn("bridge");
    const m = producerManifest(
      [
        mapping("a", projector.arn, LOCAL_CONCURRENCY + 2),
        mapping("b", projector.functionName, 3),
        mapping("c", other.arn, LOCAL_CONCURRENCY + 5),
        // No factor declared: Lambda's default of 1.
        mapping("d", projector.arn),
        fnResource(projector),
        fnResource(other),
      ],
      [projector, other],
    );
    expect(localEnvironmentCap(m, projector)).to.equal(LOCAL_CONCURRENCY + 6);
    expect(localEnvironmentCap(m, other)).to.equal(LOCAL_CONCURRENCY + 5);
  });
});
