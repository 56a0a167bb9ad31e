/**
 * Retiring read-model version 1 (issue 9), under mocks: listed as
 * `{"version":1,"retired":true}` once version 2 serves, the EventSourcedTable
 * keeps its stream and loses exactly version 1's resources (tables,
 * projector, its role and logs, mapping, queue, alarms); every other URN and
 * every other resource's inputs stay as they were (the dashboard only loses
 * v1's section); the read-model outputs follow the active version; v1's
 * tables are protected by default and the two-step is enforced; every bad
 * combination is refused naming the key, the rule and the value.
 */
import { expect } from "chai";
import { runProducer } from "../support/producerRun";
import type { ProgramRun } from "../support/pulumiMocks";
import { COMPONENT_TYPES } from "../../components/parts/typeTokens";

const TABLE = "aws:dynamodb/table:Table";
const FN = "aws:lambda/function:Function";
const DASHBOARD = "aws:cloudwatch/dashboard:Dashboard";
const LIVE = '{"version":2,"liveFrom":"2026-12-01T10:00:00Z"}';
const KEY = "arn:aws:kms:us-east-1:111111111111:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";

const fails = (config: Record<string, string>) =>
  runProducer(config).then(
    () => "ran",
    (err: Error) => err.message,
  );

describe("retiring read-model version 1 (mocks)", function () {
  this.timeout(120_000);
  let cutOver: ProgramRun;
  let unprotected: ProgramRun;
  let retired: ProgramRun;
  before(async () => {
    cutOver = await runProducer({ readModelVersions: `[${LIVE}]`, readModelActiveVersion: "2" });
    unprotected = await runProducer({ readModelVersions: `[{"version":1,"deletionProtection":false},${LIVE}]`, readModelActiveVersion: "2" });
    retired = await runProducer({ readModelVersions: `[{"version":1,"retired":true},${LIVE}]`, readModelActiveVersion: "2" });
  });

  it("version 1's tables are deletion-protected by default; the first step turns it off and changes nothing else", () => {
    for (const t of ["orders-read-model", "orders-parked"]) {
      expect(cutOver.one(TABLE, t).inputs.deletionProtectionEnabled, t).to.equal(true);
      expect(unprotected.one(TABLE, t).inputs.deletionProtectionEnabled, t).to.equal(false);
    }
    const differing = cutOver.resources
      .filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(unprotected.resources.find((u) => u.urn === r.urn)?.inputs))
      .map((r) => r.name);
    expect(differing.sort()).to.deep.equal(["orders-parked", "orders-read-model"]);
  });

  it("removes exactly version 1's resources: every other URN stays, with the same inputs (the dashboard loses v1's section)", () => {
    const now = new Map(retired.resources.map((r) => [r.urn, r]));
    const gone = unprotected.resources.filter((r) => !now.has(r.urn));
    const added = retired.resources.filter((r) => !unprotected.resources.some((u) => u.urn === r.urn));
    expect(added.map((r) => r.urn)).to.deep.equal([]);
    // Gone: everything under the EventSourcedTable but its stream (tables, projector, role, log group, mapping, queue, alarms).
    const underTable = (r: { urn: string }) => r.urn.includes(`${COMPONENT_TYPES.EventSourcedTable}$`);
    expect(gone.every(underTable), gone.map((r) => r.urn).join("\n")).to.equal(true);
    expect(
      unprotected.resources
        .filter(underTable)
        .filter((r) => now.has(r.urn))
        .map((r) => r.name),
    ).to.deep.equal(["orders-events"]);
    expect(gone.map((r) => r.name)).to.include.members([
      "orders-read-model",
      "orders-parked",
      "orders-projector",
      "orders-projector-role",
      "orders-projector-mapping",
      "orders-projector-failures",
    ]);
    expect(gone.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm")).to.have.length.at.least(4);
    const changed = retired.resources.filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(unprotected.resources.find((u) => u.urn === r.urn)!.inputs));
    expect(changed.map((r) => r.type)).to.deep.equal([DASHBOARD]);
    expect(retired.one(DASHBOARD).inputs.dashboardBody).to.not.include("orders projector");
    expect(unprotected.one(DASHBOARD).inputs.dashboardBody).to.include("orders projector");
  });

  it("the read-model outputs follow the active version, and the API keeps reading it", () => {
    const v2 = retired.outputs.readModelVersions["2"];
    expect(retired.outputs).to.include({
      readModelTableName: v2.tableName,
      parkedTableName: v2.parkedTableName,
      projectorFunctionName: v2.projectorFunctionName,
    });
    expect(retired.outputs.readModelActiveVersion).to.equal(2);
    expect(retired.one(FN, "commands-handler").inputs.environment.variables.TABLE_NAME).to.equal(v2.tableName);
    expect(retired.outputs.eventStreamArn).to.equal(cutOver.outputs.eventStreamArn);
    // While version 1 is deployed they name it, as before.
    expect(cutOver.outputs.readModelTableName).to.equal(cutOver.one(TABLE, "orders-read-model").state.name);
  });

  it("with a customer-managed stream key, the key's users are the API, v2's projector, the bridge and the archiver once v1's projector is gone", async () => {
    const run = await runProducer({ streamKmsKeyArn: KEY, readModelVersions: `[{"version":1,"retired":true},${LIVE}]`, readModelActiveVersion: "2" });
    const role = (name: string) => run.one("aws:iam/role:Role", name).state.arn;
    expect(run.outputs.streamKeyUserRoleArns).to.deep.equal([
      role("commands-handler-role"),
      role("orders-v2-projector-role"),
      role("bridge-forwarder-role"),
      role("events-archive-archiver-role"),
    ]);
  });

  it("refuses every bad combination with the key, the rule and the value", async () => {
    expect(await fails({ readModelVersions: '[{"version":1,"retired":true}]' })).to.include(
      "readModelVersions[0]: version 1 cannot be retired while it is the only read model",
    );
    expect(await fails({ readModelVersions: `[{"version":1,"retired":true},${LIVE}]` })).to.include(
      "readModelVersions[0]: version 1 cannot be retired while it is the active version (readModelActiveVersion unset, so 1)",
    );
    expect(await fails({ readModelVersions: `[${LIVE},{"version":1,"retired":true}]`, readModelActiveVersion: "1" })).to.include(
      "readModelVersions[1]: version 1 cannot be retired while it is the active version (readModelActiveVersion 1)",
    );
    expect(await fails({ readModelVersions: '[{"version":1,"retired":true},{"version":2}]', readModelActiveVersion: "2" })).to.include(
      "readModelActiveVersion 2 is still rebuilding",
    );
    expect(await fails({ readModelVersions: `[{"version":1,"retired":true,"deletionProtection":true},${LIVE}]`, readModelActiveVersion: "2" })).to.include(
      "readModelVersions[0]: version 1 cannot be retired with deletionProtection true",
    );
    expect(await fails({ readModelVersions: '[{"version":1,"liveFrom":"2026-12-01T10:00:00Z"}]' })).to.include(
      "readModelVersions[0].liveFrom is not for version 1",
    );
    expect(await fails({ readModelVersions: '[{"version":2,"retired":true}]' })).to.include(
      "readModelVersions[0].retired is for version 1 only: retire version 2 by removing it from the list",
    );
    expect(await fails({ readModelVersions: '[{"version":1,"retired":"yes"}]' })).to.include('readModelVersions[0].retired must be true or false, got "yes"');
    expect(await fails({ readModelVersions: '[{"version":1,"retire":true}]' })).to.include(
      "readModelVersions[0] has unknown key(s) retire; allowed: version, liveFrom, deletionProtection, retired",
    );
    expect(await fails({ readModelVersions: '[{"version":0}]' })).to.include("readModelVersions[0].version must be an integer 1–999, got 0");
  });
});
