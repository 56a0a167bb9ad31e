import { expect } from "chai";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { execFile } from "child_process";
import { promisify } from "util";
import { createProjector } from "../../../handlers/projector";
import { dynamoClient } from "../../../handlers/shared/clients";
import { PARKED_EVENTS_FILTER, parkedTable } from "../../../handlers/shared/parkedTable";
import { blockSummaries, discardParked, DiscardRefused, listParked, parseDiscardTarget, RedriveConfig } from "../../../handlers/ops/redrive";
import { startLocalSts } from "../../../local/sts/sts";
import { sessionToken } from "../../../local/shared/identity";
import { carryOverDiscards } from "../../../handlers/ops/discard";
import { createTable, uniqueName } from "../../support/aws";
import { append, buggyReduce, fastClock, fixedReduce, orderEvents, parkedEvents, Rig, setupRig, snapshot, views } from "../../support/projectorFixtures";

const RETRY = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4 };
/** `explode` can never apply: buggyReduce throws on it, and here no fix is deployed. */
const reduce = buggyReduce;
const { placed, line, explode } = orderEvents("dc");

const config = (rig: Rig): RedriveConfig => ({ tableName: rig.table, parkedTableName: rig.parked, dedupWindow: 64, retry: RETRY });
const project = (rig: Rig) =>
  createProjector({ dynamodb: dynamoClient(), reduce, clock: fastClock(), log: () => {}, config: { ...config(rig), maxFoldAttempts: 5 } });
const tables = async (rig: Rig) => ({ readModel: await snapshot(rig.dynamo, rig.table), parked: await parkedEvents(rig.dynamo, rig.parked) });
const AUTHOR = { by: "arn:aws:iam::111111111111:user/ops", reason: "imported with a negative amount; compensated by hand", at: "2025-06-01T12:00:00.000Z" };

describe("re-drive --discard", function () {
  this.timeout(120_000);

  it("lists why each aggregate is blocked and what waits behind it; discarding the blocker (and its producer retry) skips it for good, writes the audit row and applies the backlog", async () => {
    const rig = await setupRig();
    const bad = explode("a");
    const records = await append(rig, [placed("a"), bad, line("a"), bad, line("a"), placed("b")]);
    const seq = (i: number) => records[i].kinesis.sequenceNumber;
    await project(rig)({ Records: records });

    const listing = await listParked(rig.dynamo, rig.parked, rig.table);
    expect(blockSummaries(listing)).to.deep.equal([
      { aggregateId: "a", blockedAt: seq(1), eventId: bad.eventId, reason: "reduce threw Error: explode", waiting: 3, waitingFrom: seq(2), waitingTo: seq(4) },
    ]);

    const out = await discardParked(rig.dynamo, reduce, config(rig), { eventId: bad.eventId }, AUTHOR);
    expect(out.redrive).to.include({ outcome: "applied", applied: 2, stillParked: 0 });
    expect(out.stillParked).to.deep.equal([]);
    expect(out.discarded.map((d) => [d.aggregateId, d.sequenceNumber, d.eventId, d.discardedBy, d.discardedAt, d.discardReason])).to.deep.equal([
      ["a", seq(1), bad.eventId, AUTHOR.by, AUTHOR.at, AUTHOR.reason],
      ["a", seq(3), bad.eventId, AUTHOR.by, AUTHOR.at, AUTHOR.reason],
    ]);
    const audit = await parkedTable({ dynamodb: rig.dynamo, tableName: rig.parked, retry: RETRY }).listDiscarded();
    expect(audit).to.deep.equal(out.discarded);
    expect(audit[0].data).to.equal(records[1].kinesis.data); // the event's data is kept
    expect(audit[0].reason).to.equal("reduce threw Error: explode"); // and why it was parked
    expect(await parkedEvents(rig.dynamo, rig.parked)).to.deep.equal([]); // audit rows are not parked events
    // What the local cloud's status line counts as parked leaves them out too.
    const count = await rig.dynamo.send(new ScanCommand({ TableName: rig.parked, Select: "COUNT", FilterExpression: PARKED_EVENTS_FILTER }));
    expect([count.Count, count.ScannedCount]).to.deep.equal([0, 2]);
    const a = (await views(rig.dynamo, rig.table)).a;
    expect(a).to.include({ parked: false, version: 3, position: seq(4) });
    expect(a.state).to.deep.include({ totalCents: 100 + 2 * 100, paidCents: 0 });

    // The event's position is passed: a replay of the whole stream neither applies nor parks it again.
    const after = await tables(rig);
    expect(await project(rig)({ Records: records })).to.deep.equal({ batchItemFailures: [] });
    expect(await tables(rig)).to.deep.equal(after);
    // Idempotent: a second discard finds the audit rows and changes nothing.
    const again = await discardParked(rig.dynamo, reduce, config(rig), { eventId: bad.eventId }, { ...AUTHOR, at: "2025-06-02T00:00:00.000Z" });
    expect(again.discarded).to.deep.equal([]);
    expect(again.alreadyDiscarded.map((d) => d.discardedAt)).to.deep.equal([AUTHOR.at, AUTHOR.at]);
    expect(await tables(rig)).to.deep.equal(after);
    // An eventId that is not parked (never was, or applied) is refused, and nothing is written.
    for (const eventId of ["no-such-event", records[0].kinesis.partitionKey, JSON.parse(Buffer.from(records[0].kinesis.data, "base64").toString()).eventId]) {
      let refused: unknown;
      await discardParked(rig.dynamo, reduce, config(rig), { eventId }, AUTHOR).catch((e) => (refused = e));
      expect(refused, eventId).to.be.instanceOf(DiscardRefused);
      expect((refused as Error).message).to.equal(`eventId ${eventId} is not parked in ${rig.parked}: nothing to discard (npm run redrive lists what is)`);
    }
    expect(await tables(rig)).to.deep.equal(after);
    expect(await parkedTable({ dynamodb: rig.dynamo, tableName: rig.parked, retry: RETRY }).listDiscarded()).to.deep.equal(audit);
  });

  it("a rebuilt version honours the discards made in another: what it parked too is discarded there by the same operator, what its reduce applied is reported", async () => {
    const rig = await setupRig();
    const bad = explode("r");
    const records = await append(rig, [placed("r"), bad, line("r"), placed("s")]);
    await project(rig)({ Records: records });
    await discardParked(rig.dynamo, reduce, config(rig), { eventId: bad.eventId }, AUTHOR);
    const discards = await parkedTable({ dynamodb: rig.dynamo, tableName: rig.parked, retry: RETRY }).listDiscarded();
    // Two rebuilt versions of the same history: one whose reduce fails on the event as well, one whose reduce applies it.
    const version = async (r: typeof reduce) => {
      const v = { tableName: uniqueName("v-read"), parkedTableName: uniqueName("v-parked"), dedupWindow: 64, retry: RETRY };
      await createTable(rig.dynamo, v.tableName);
      await createTable(rig.dynamo, v.parkedTableName, "sk");
      await createProjector({ dynamodb: dynamoClient(), reduce: r, clock: fastClock(), log: () => {}, config: { ...v, maxFoldAttempts: 5 } })({
        Records: records,
      });
      return v;
    };
    const same = await version(reduce);
    expect((await views(rig.dynamo, same.tableName)).r).to.include({ parked: true });
    const carried = await carryOverDiscards(rig.dynamo, reduce, same, discards, rig.parked, fastClock());
    expect([carried.carried.map((d) => d.eventId), carried.notParked]).to.deep.equal([[bad.eventId], []]);
    const served = await views(rig.dynamo, rig.table);
    const rebuilt = await views(rig.dynamo, same.tableName);
    for (const id of ["r", "s"])
      expect([rebuilt[id].state, rebuilt[id].parked, rebuilt[id].position], id).to.deep.equal([served[id].state, false, served[id].position]);
    const audit = await parkedTable({ dynamodb: rig.dynamo, tableName: same.parkedTableName, retry: RETRY }).listDiscarded();
    expect(audit.map((d) => [d.eventId, d.discardedBy, d.discardReason])).to.deep.equal([
      [bad.eventId, AUTHOR.by, `${AUTHOR.reason} (carried over from ${rig.parked})`],
    ]);
    // Run again (a resumed rebuild): found discarded already, nothing changes.
    expect((await carryOverDiscards(rig.dynamo, reduce, same, discards, rig.parked, fastClock())).carried).to.have.length(1);
    expect(await parkedTable({ dynamodb: rig.dynamo, tableName: same.parkedTableName, retry: RETRY }).listDiscarded()).to.deep.equal(audit);

    const fixed = await version(fixedReduce);
    const reported = await carryOverDiscards(rig.dynamo, fixedReduce, fixed, discards, rig.parked, fastClock());
    expect([reported.carried, reported.notParked.map((d) => d.eventId)]).to.deep.equal([[], [bad.eventId]]);
  });

  it("discards an event without an id by <aggregate>@<position>; one waiting behind another failing event stays parked, unaudited", async () => {
    const rig = await setupRig();
    const later = explode("d");
    const records = await append(rig, [{ partitionKey: "c", bytes: Buffer.from("not json") }, placed("c"), placed("d"), explode("d"), later, line("d")]);
    await project(rig)({ Records: records });
    const target = parseDiscardTarget(`c@${records[0].kinesis.sequenceNumber}`)!;
    expect(target).to.deep.equal({ aggregateId: "c", position: { sequenceNumber: records[0].kinesis.sequenceNumber, subSequenceNumber: 0 } });
    const c = await discardParked(rig.dynamo, reduce, config(rig), target, AUTHOR);
    expect(c.discarded.map((d) => [d.aggregateId, d.sequenceNumber, d.eventId])).to.deep.equal([["c", records[0].kinesis.sequenceNumber, undefined]]);
    expect((await views(rig.dynamo, rig.table)).c).to.include({ parked: false, version: 1 });

    const d = await discardParked(rig.dynamo, reduce, config(rig), { eventId: later.eventId }, AUTHOR);
    expect(d.discarded).to.deep.equal([]);
    expect(d.stillParked.map((r) => r.sequenceNumber)).to.deep.equal([records[4].kinesis.sequenceNumber]);
    expect(d.redrive).to.include({ outcome: "stillBlocked" });
    const audits = await parkedTable({ dynamodb: rig.dynamo, tableName: rig.parked, retry: RETRY }).listDiscarded();
    expect(audits.map((x) => x.aggregateId)).to.deep.equal(["c"]);
    expect((await parkedEvents(rig.dynamo, rig.parked)).map((p) => [p.aggregateId, p.sequenceNumber])).to.deep.equal(
      [3, 4, 5].map((i) => ["d", records[i].kinesis.sequenceNumber]),
    );
    for (const bad of ["", "a b", "@1", "c@", "c@1.x", "c@-1"]) expect(parseDiscardTarget(bad), bad).to.equal(undefined);
  });

  it("the CLI discards with the caller from STS GetCallerIdentity, lists the audit row, and answers a bad request in one line with a non-zero exit", async () => {
    const rig = await setupRig();
    const bad = explode("a");
    const records = await append(rig, [placed("a"), bad, line("a")]);
    await project(rig)({ Records: records });
    const role = "arn:aws:iam::111111111111:role/operator";
    const sts = await startLocalSts({ roles: () => [{ arn: role, assumeRolePolicy: "{}" }] });
    // NODE_NO_WARNINGS: the SDK's Node-version notice would add lines to stderr, which the one-line checks count.
    const env = { ...process.env, AWS_ENDPOINT_URL_STS: sts.endpoint, AWS_SESSION_TOKEN: sessionToken(role), NODE_NO_WARNINGS: "1" };
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/redrive.ts", ...args], { env, cwd: process.cwd() }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    try {
      const base = ["--table", rig.table, "--parked", rig.parked];
      const listed = await run(base);
      expect(listed.stdout).to.contain(
        `  a\tblocked at ${records[1].kinesis.sequenceNumber} (${bad.eventId}): reduce threw Error: explode; 1 waiting behind it`,
      );
      const discarded = await run([...base, "--discard", bad.eventId, "--reason", "never valid"]);
      expect(discarded.code, discarded.stderr).to.equal(0);
      expect(discarded.stdout).to.match(
        new RegExp(`discarded\\ta\\t${records[1].kinesis.sequenceNumber}\\t${bad.eventId}\\tby arn:aws:sts::111111111111:assumed-role/operator/`),
      );
      expect(discarded.stdout).to.contain("0 parked event(s)");
      expect(discarded.stdout).to.match(
        /1 discarded event\(s\)\n {2}a\t\d+\tdc\S+\tby arn:aws:sts::111111111111:assumed-role\/operator\/\S+ at \S+: never valid \(parked as: reduce threw Error: explode\)/,
      );
      expect((await views(rig.dynamo, rig.table)).a).to.include({ parked: false, version: 2 });

      // The refusals and --help are independent: run at once.
      const [unknown, noReason, badOption, help] = await Promise.all([
        run([...base, "--discard", "no-such-event", "--reason", "x", "--by", "me"]),
        run([...base, "--discard", bad.eventId]),
        run([...base, "--frobnicate"]),
        run(["--help"]),
      ]);
      expect([unknown.code, unknown.stderr.trim().split("\n").length]).to.deep.equal([2, 1]);
      expect(unknown.stderr).to.contain(`eventId no-such-event is not parked in ${rig.parked}`);
      for (const [r, message] of [
        [noReason, '--discard needs --reason "…"'],
        [badOption, "Unknown option '--frobnicate'"],
      ] as const) {
        expect([r.code, r.stderr.trim().split("\n").length], message).to.deep.equal([64, 1]);
        expect(r.stderr).to.contain(message);
      }
      for (const option of [
        "--table",
        "--parked",
        "--apply",
        "--discard",
        "--reason",
        "--by",
        "--dedup-window",
        "--bridge-parked",
        "--target-stream-arn",
        "--help",
      ])
        expect(help.stdout).to.contain(option);
    } finally {
      await sts.stop();
    }
  });
});
