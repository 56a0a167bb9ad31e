/**
 * Read-model versions and the event archive in the producer stack, under
 * mocks: a new version is an addition beside version 1 (tables and projector,
 * no mapping while it rebuilds; a mapping AT_TIMESTAMP `liveFrom` once live),
 * the API serves the active version and refuses one that is not live, and
 * bad config fails with the key, the rule and the value.
 */
import { expect } from "chai";
import { parseReadModelVersions } from "../../components/readModelVersion";
import { resolveArchiveSettings } from "../../components/eventArchive";
import { PRODUCER, runProducer } from "../support/producerRun";
import type { ProgramRun } from "../support/pulumiMocks";

const FN = "aws:lambda/function:Function";
const MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping";
const TABLE = "aws:dynamodb/table:Table";

describe("read-model versions and the event archive (mocks)", function () {
  this.timeout(120_000);
  let rebuilding: ProgramRun;
  let live: ProgramRun;
  before(async () => {
    rebuilding = await runProducer({ readModelVersions: '[{"version":2}]' });
    live = await runProducer({ readModelVersions: '[{"version":2,"liveFrom":"2026-12-01T10:00:00Z"}]', readModelActiveVersion: "2" });
  });

  it("a rebuilding version adds its own tables and projector, with no mapping, and the API keeps serving version 1", () => {
    const names = (run: ProgramRun, type: string) => run.ofType(type).map((r) => r.name);
    expect(names(rebuilding, TABLE)).to.include.members(["orders-v2-read-model", "orders-v2-parked", "orders-read-model"]);
    expect(names(rebuilding, FN)).to.include("orders-v2-projector");
    expect(names(rebuilding, MAPPING)).to.not.include("orders-v2-projector-mapping");
    for (const t of ["orders-v2-read-model", "orders-v2-parked"]) expect(rebuilding.one(TABLE, t).inputs.deletionProtectionEnabled).to.equal(true);
    const api = rebuilding.one(FN, "commands-handler").inputs.environment.variables;
    expect(api.TABLE_NAME).to.equal(rebuilding.outputs.readModelTableName);
    const v2 = (rebuilding.outputs.readModelVersions as Record<string, { tableName: string; live: boolean }>)["2"];
    expect(v2).to.deep.include({ tableName: rebuilding.one(TABLE, "orders-v2-read-model").state.name, live: false });
  });

  it("a live version's mapping starts AT_TIMESTAMP liveFrom, and the active version's table is what the API reads", () => {
    expect(live.one(MAPPING, "orders-v2-projector-mapping").inputs).to.include({
      startingPosition: "AT_TIMESTAMP",
      startingPositionTimestamp: "2026-12-01T10:00:00Z",
    });
    // Version 1 keeps its mapping from TRIM_HORIZON; the bridge is untouched by versions.
    expect(live.one(MAPPING, "orders-projector-mapping").inputs.startingPosition).to.equal("TRIM_HORIZON");
    expect(live.ofType(MAPPING).filter((m) => m.name.startsWith("analytics-bridge"))).to.have.length(1);
    const api = live.one(FN, "commands-handler").inputs.environment.variables;
    expect(api.TABLE_NAME).to.equal(live.one(TABLE, "orders-v2-read-model").state.name);
    expect(live.outputs.readModelActiveVersion).to.equal(2);
    // The output names the start the mapping has (from state: on AWS a later liveFrom in config leaves it as created).
    expect((live.outputs.readModelVersions as Record<string, { liveFrom?: string }>)["2"].liveFrom).to.equal("2026-12-01T10:00:00Z");
    expect(rebuilding.outputs.readModelVersions as Record<string, object>).to.not.have.nested.property("2.liveFrom");
  });

  it("warns at preview when a version not served goes live at a liveFrom near or past its mapping's record age (the records between would be given up)", async () => {
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    const warned = async (config: Record<string, string>) => {
      const warnings: string[] = [];
      const original = console.warn;
      console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
      try {
        await runProducer(config);
      } finally {
        console.warn = original;
      }
      return warnings.filter((w) => w.includes("liveFrom"));
    };
    const version = (at: string) => JSON.stringify([{ version: 2, liveFrom: at }]);
    // Record age half the retention: 84 h by default, 12 h with a 24 h stream.
    const old = await warned({ readModelVersions: version(hoursAgo(90)) });
    expect(old).to.have.length(1);
    expect(old[0]).to.match(/orders-v2: liveFrom \S+ is 90\.0 h old, within an hour of the mapping's maximum record age \(84 h\)/);
    expect(await warned({ readModelVersions: version(hoursAgo(12)), streamRetentionHours: "24" })).to.have.length(1);
    expect(await warned({ readModelVersions: version(hoursAgo(2)) }), "fresh").to.deep.equal([]);
    expect(await warned({ readModelVersions: version(hoursAgo(90)), readModelActiveVersion: "2" }), "served: its mapping exists").to.deep.equal([]);
  });

  it("a version's projector is sized as version 1's (memory, timeout, the mapping's settings), so the served version keeps up as version 1 did", () => {
    const fn = (name: string) => live.one(FN, name).inputs;
    expect([fn("orders-v2-projector").memorySize, fn("orders-v2-projector").timeout]).to.deep.equal([
      fn("orders-projector").memorySize,
      fn("orders-projector").timeout,
    ]);
    expect(fn("orders-v2-projector").memorySize).to.equal(1769);
    // Every setting of the mapping but what names its own function, queue and start.
    const own = new Set(["startingPosition", "startingPositionTimestamp", "eventSourceArn", "functionName", "destinationConfig", "name", "tags"]);
    const settings = (name: string) => Object.fromEntries(Object.entries(live.one(MAPPING, name).inputs).filter(([k]) => !own.has(k)));
    expect(settings("orders-v2-projector-mapping")).to.deep.equal(settings("orders-projector-mapping"));
    expect(settings("orders-v2-projector-mapping").parallelizationFactor).to.equal(1);
  });

  it("the v2 projector may touch only its own tables", () => {
    const role = live.one("aws:iam/role:Role", "orders-v2-projector-role");
    const doc = JSON.parse(role.inputs.inlinePolicies[0].policy);
    const tables = doc.Statement.filter((s: { Action: string | string[] }) => String(s.Action).includes("dynamodb")).map(
      (s: { Resource: string }) => s.Resource,
    );
    expect(tables.sort()).to.deep.equal([live.one(TABLE, "orders-v2-read-model").state.arn, live.one(TABLE, "orders-v2-parked").state.arn].sort());
    expect(JSON.stringify(doc)).to.not.include(live.one(TABLE, "orders-read-model").state.arn);
  });

  it("refuses to serve a version that is not deployed or still rebuilding", async () => {
    const fails = async (config: Record<string, string>) =>
      runProducer(config).then(
        () => "ran",
        (err: Error) => err.message,
      );
    expect(await fails({ readModelActiveVersion: "3" })).to.include("readModelActiveVersion 3 is not deployed");
    expect(await fails({ readModelVersions: '[{"version":2}]', readModelActiveVersion: "2" })).to.include("readModelActiveVersion 2 is still rebuilding");
    expect(await fails({ readModelVersions: '[{"version":7}]' })).to.include("no readModels[7] reduce");
  });

  it("parses readModelVersions strictly: key, rule and value in every message", () => {
    expect(parseReadModelVersions(undefined)).to.deep.equal([]);
    expect(parseReadModelVersions('[{"version":2,"deletionProtection":false}]')).to.deep.equal([
      { version: 2, liveFrom: undefined, deletionProtection: false },
    ]);
    const cases: [string, string][] = [
      ["{", "readModelVersions must be a JSON list"],
      ['{"version":2}', "readModelVersions must be a JSON list"],
      ['[{"version":1000}]', "readModelVersions[0].version must be an integer 1–999, got 1000"],
      ['[{"version":2},{"version":2}]', "readModelVersions[1].version 2 is listed twice"],
      ['[{"version":2,"liveFrom":"soon"}]', 'readModelVersions[0].liveFrom must be an ISO time (what npm run rebuild prints), got "soon"'],
      ['[{"version":2,"live":true}]', "readModelVersions[0] has unknown key(s) live"],
      ['[{"version":2,"deletionProtection":"no"}]', 'readModelVersions[0].deletionProtection must be true or false, got "no"'],
    ];
    for (const [raw, message] of cases) expect(() => parseReadModelVersions(raw), raw).to.throw(message);
  });

  it("the archive's settings: GLACIER_IR after 30 days by default, refused classes and ranges named", async () => {
    const base = { sourceStreamArn: "arn", sourceRetentionHours: 168 };
    expect(resolveArchiveSettings("a", base)).to.include({ storageClass: "GLACIER_IR", transitionDays: 30 });
    expect(() => resolveArchiveSettings("a", { ...base, storageClass: "DEEP_ARCHIVE" as never })).to.throw(
      'EventArchive a: storageClass must be one of STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, got "DEEP_ARCHIVE"',
    );
    expect(() => resolveArchiveSettings("a", { ...base, transitionDays: 7 })).to.throw("EventArchive a: transitionDays must be 30–36500 days, got 7");
    const locked = await runProducer({ archiveObjectLockMode: "COMPLIANCE", archiveObjectLockDays: "2555" });
    // The configuration turns Object Lock on; the bucket's own input (which would replace a deployed bucket) stays unset.
    expect(locked.one("aws:s3/bucket:Bucket", "events-archive-bucket").inputs.objectLockEnabled).to.equal(undefined);
    expect(locked.one("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration").inputs.objectLockEnabled).to.equal("Enabled");
    expect(locked.one("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration").inputs.rule.defaultRetention).to.deep.equal({
      mode: "COMPLIANCE",
      days: 2555,
    });
    const plain = await runProducer({});
    expect(plain.one("aws:s3/bucket:Bucket", "events-archive-bucket").inputs.objectLockEnabled).to.equal(undefined);
    const rule = plain.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "events-archive-bucket-lifecycle").inputs.rules[0];
    expect(rule.transitions).to.deep.equal([{ days: 30, storageClass: "GLACIER_IR" }]);
    expect(rule.expiration).to.equal(undefined);
    expect(plain.one("aws:kinesis/streamConsumer:StreamConsumer").inputs.streamArn).to.equal(plain.outputs.eventStreamArn);
    expect(plain.one(MAPPING, "events-archive-archiver-mapping").inputs.eventSourceArn).to.match(
      new RegExp(`^arn:aws:kinesis:[\\w-]+:${PRODUCER}:stream/.+/consumer/`),
    );
    const half = await runProducer({ archiveObjectLockMode: "COMPLIANCE" }).then(
      () => "ran",
      (err: Error) => err.message,
    );
    expect(half).to.include("archiveObjectLockMode and archiveObjectLockDays go together");
  });
});
