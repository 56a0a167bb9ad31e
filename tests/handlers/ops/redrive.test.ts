import { expect } from "chai";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { execFile } from "child_process";
import { promisify } from "util";
import { map as domainMap } from "../../../domain";
import { BridgeConfig, createBridge } from "../../../handlers/bridge";
import { dynamoClient, kinesisClient } from "../../../handlers/shared/clients";
import { KinesisStreamRecord } from "../../../handlers/shared/kinesisEvent";
import { createProjector } from "../../../handlers/projector";
import { listParked, redriveAggregate, redriveBridge, redriveProjector, RedriveConfig } from "../../../handlers/ops/redrive";
import { accountCredentials, CONSUMER_ACCOUNT, createStream, createTable, testDynamo, testKinesis, toBatches, uniqueName } from "../../support/aws";
import { landed, recordingClock } from "../../support/bridge";
import { prng } from "../../support/faults";
import {
  append,
  beforeSend,
  buggyMap,
  buggyReduce,
  fastClock,
  fixedReduce,
  orderEvents,
  parkedEvents,
  Rig,
  setupRig,
  snapshot,
  EXPLODE_CENTS,
} from "../../support/projectorFixtures";
import { injectFaults, serviceError } from "../../support/sdkMiddleware";
import { Mapper } from "../../../handlers/shared/domain";
import { Reducer } from "../../../handlers/shared/domain";

const RETRY = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4 };
const { placed, line, explode } = orderEvents("rd");

/** Runs `hook` after the client's matching commands, whether they succeeded or failed. */
function afterSend(client: DynamoDBClient, commandName: string, hook: () => Promise<void>): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } finally {
        if (context.commandName === commandName) await hook();
      }
    },
    { step: "initialize", name: `testAfterSend${commandName}`, priority: "high" },
  );
}

function projector(rig: Pick<Rig, "table" | "parked">, reduce: Reducer<unknown>, dynamodb = dynamoClient()) {
  return createProjector({
    dynamodb,
    reduce,
    clock: fastClock(),
    log: () => {},
    config: { tableName: rig.table, parkedTableName: rig.parked, dedupWindow: 64, retry: RETRY, maxFoldAttempts: 5 },
  });
}
const config = (rig: Rig): RedriveConfig => ({ tableName: rig.table, parkedTableName: rig.parked, dedupWindow: 64, retry: RETRY });

/** The read model a projector with the fix would have built from the start, in fresh tables. */
async function projectedFromScratch(rig: Rig, records: KinesisStreamRecord[], reduce: Reducer<unknown>) {
  const fresh = { table: uniqueName("rd-fresh"), parked: uniqueName("rd-fresh-parked") };
  await createTable(rig.dynamo, fresh.table);
  await createTable(rig.dynamo, fresh.parked, "sk");
  await projector(fresh, reduce)({ Records: records });
  return { readModel: await snapshot(rig.dynamo, fresh.table), parked: await parkedEvents(rig.dynamo, fresh.parked) };
}

async function tables(rig: Rig) {
  return { readModel: await snapshot(rig.dynamo, rig.table), parked: await parkedEvents(rig.dynamo, rig.parked) };
}

describe("re-drive", function () {
  this.timeout(60_000);

  describe("projector", () => {
    it("lists parked events (table, aggregate, sequence, reason, status) and, after the fix, applies the backlog in order and lifts the block", async () => {
      const rig = await setupRig();
      const records = await append(rig, [
        placed("a"),
        placed("b"),
        explode("a"),
        line("a", 3),
        line("b"),
        line("a", 4),
        { partitionKey: "c", bytes: Buffer.from("not json") },
        placed("c"),
      ]);
      await projector(rig, buggyReduce)({ Records: records });

      const listing = await listParked(rig.dynamo, rig.parked, rig.table);
      expect(listing.map((r) => [r.table, r.aggregateId, r.sequenceNumber, r.status])).to.deep.equal([
        [rig.parked, "a", records[2].kinesis.sequenceNumber, "blocked"],
        [rig.parked, "a", records[3].kinesis.sequenceNumber, "blocked"],
        [rig.parked, "a", records[5].kinesis.sequenceNumber, "blocked"],
        [rig.parked, "c", records[6].kinesis.sequenceNumber, "blocked"],
        [rig.parked, "c", records[7].kinesis.sequenceNumber, "blocked"],
      ]);
      expect(listing[0].reason).to.match(/reduce threw Error: explode/);
      expect(listing[1].reason).to.equal(`parked behind ${records[2].kinesis.sequenceNumber}`);
      expect(listing[3].reason).to.match(/not UTF-8 JSON/);

      const results = await redriveProjector(rig.dynamo, fixedReduce, config(rig));
      expect(results.map((r) => [r.aggregateId, r.outcome, r.applied, r.deleted, r.stillParked])).to.deep.equal([
        ["a", "applied", 3, 3, 0],
        ["c", "stillBlocked", 0, 0, 2],
      ]);

      // Aggregate a: as if the fix had been deployed from the start; c still waits behind its garbage; b untouched.
      const expected = await projectedFromScratch(rig, records, fixedReduce);
      const got = await tables(rig);
      expect(got.readModel).to.deep.equal(expected.readModel);
      expect(got.parked.map((p) => [p.aggregateId, p.sequenceNumber])).to.deep.equal(expected.parked.map((p) => [p.aggregateId, p.sequenceNumber]));
      const a = got.readModel.find((i) => i.pk.S === "a")!;
      expect(a.parkedAt).to.equal(undefined);
      expect(JSON.parse(a.state.S!)).to.deep.include({ status: "paid", paidCents: EXPLODE_CENTS, totalCents: 100 + 3 * 50 + 4 * 50 });
    });

    it("leaves a still-failing event parked with everything after it, applying what comes before it", async () => {
      const rig = await setupRig();
      const records = await append(rig, [placed("a"), explode("a"), line("a"), { partitionKey: "a", bytes: Buffer.from([0xff, 0xfe]) }, line("a")]);
      await projector(rig, buggyReduce)({ Records: records });
      const [r] = await redriveProjector(rig.dynamo, fixedReduce, config(rig));
      expect(r).to.include({ outcome: "stillBlocked", applied: 2, deleted: 2, stillParked: 2 });
      expect(r.reason).to.match(/not UTF-8 JSON/);
      const parked = await parkedEvents(rig.dynamo, rig.parked);
      expect(parked.map((p) => [p.sequenceNumber, p.parkedBehind])).to.deep.equal([
        [records[3].kinesis.sequenceNumber, undefined],
        [records[4].kinesis.sequenceNumber, records[3].kinesis.sequenceNumber],
      ]);
      const item = (await snapshot(rig.dynamo, rig.table))[0];
      expect(item.position.S!.replace(/^0+/, "")).to.equal(records[2].kinesis.sequenceNumber);
      expect(item.parkedAt.S!.replace(/^0+/, "")).to.equal(records[3].kinesis.sequenceNumber);
      expect(item.version.N).to.equal("3");
      // Without a fix nothing changes at all.
      const before = await tables(rig);
      expect((await redriveProjector(rig.dynamo, fixedReduce, config(rig)))[0]).to.include({ outcome: "stillBlocked", applied: 0, deleted: 0 });
      expect(await tables(rig)).to.deep.equal(before);
    });

    it("is idempotent: a second run, a run after a crash before clean-up, and a replay to the projector change nothing more", async () => {
      const rig = await setupRig();
      const records = await append(rig, [placed("a"), explode("a"), line("a"), line("a")]);
      await projector(rig, buggyReduce)({ Records: records });

      // The first run dies after its conditional write, before deleting the rows.
      const crashing = dynamoClient();
      injectFaults(crashing, (name) => (name === "BatchWriteItemCommand" ? serviceError("AccessDeniedException", 400) : undefined));
      let error: unknown;
      try {
        await redriveAggregate(crashing, fixedReduce, config(rig), "a");
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.match(/AccessDenied/);
      const afterCrash = await tables(rig);
      expect(afterCrash.parked).to.have.length(3); // applied but not yet cleaned up
      expect(afterCrash.readModel[0].parkedAt).to.equal(undefined);

      const second = await redriveAggregate(rig.dynamo, fixedReduce, config(rig), "a");
      expect(second).to.include({ outcome: "notBlocked", applied: 0, deleted: 3 });
      const done = await tables(rig);
      expect(done.parked).to.deep.equal([]);
      expect(done.readModel).to.deep.equal(afterCrash.readModel.map((i) => i)); // state untouched by the re-run
      expect(await redriveProjector(rig.dynamo, fixedReduce, config(rig))).to.deep.equal([]);
      await projector(rig, fixedReduce)({ Records: records }); // a replay from the start
      expect(await tables(rig)).to.deep.equal(done);
      expect(done.readModel).to.deep.equal((await projectedFromScratch(rig, records, fixedReduce)).readModel);
    });

    it("a re-drive racing the projector: events parked behind the block while it runs are applied in order, never overtaken by a later event", async () => {
      // 1. The re-drive has read the item and the parked rows; before its write lifts the block, the projector parks
      //    e behind the block (and finishes); right after that write attempt, f arrives.
      {
        const rig = await setupRig();
        const first = await append(rig, [placed("a"), explode("a"), line("a", 1)]);
        await projector(rig, buggyReduce)({ Records: first });
        const all = await append(rig, [line("a", 2), line("a", 3)]);
        const [e, f] = all.slice(first.length);
        const fixed = projector(rig, fixedReduce);
        const client = dynamoClient();
        let writes = 0;
        beforeSend(client, "PutItemCommand", async () => {
          if (writes++ === 0) expect(await fixed({ Records: [e] })).to.deep.equal({ batchItemFailures: [] });
        });
        let fDelivered = false;
        afterSend(client, "PutItemCommand", async () => {
          if (fDelivered) return;
          fDelivered = true;
          expect(await fixed({ Records: [f] })).to.deep.equal({ batchItemFailures: [] });
        });
        const result = await redriveAggregate(client, fixedReduce, config(rig), "a");
        expect(fDelivered).to.equal(true);
        expect(result).to.include({ outcome: "applied", applied: 4, deleted: 4, stillParked: 0 });
        expect(result.stranded).to.equal(undefined);
        expect(await tables(rig)).to.deep.equal({ readModel: (await projectedFromScratch(rig, all, fixedReduce)).readModel, parked: [] });
      }
      // 2. The projector has read the blocked item and parked e; the re-drive (which read the rows before e) lifts the
      //    block before the projector's write: that write fails, and the projector applies e itself, before f.
      {
        const rig = await setupRig();
        const first = await append(rig, [placed("a"), explode("a"), line("a", 1)]);
        await projector(rig, buggyReduce)({ Records: first });
        const all = await append(rig, [line("a", 2), line("a", 3)]);
        const [e, f] = all.slice(first.length);
        const client = dynamoClient();
        const redriveClient = dynamoClient();
        let redriven: Awaited<ReturnType<typeof redriveAggregate>> | undefined;
        let redriving: Promise<Awaited<ReturnType<typeof redriveAggregate>>> | undefined;
        let openGate = () => {};
        const gate = new Promise<void>((resolve) => {
          openGate = resolve;
        });
        beforeSend(client, "BatchWriteItemCommand", async () => {
          if (redriving) return;
          // The re-drive reads the item and the rows before e is parked, then waits at its write...
          let ready = () => {};
          const readyToWrite = new Promise<void>((resolve) => {
            ready = resolve;
          });
          beforeSend(redriveClient, "PutItemCommand", async () => {
            ready();
            await gate;
          });
          redriving = redriveAggregate(redriveClient, fixedReduce, config(rig), "a");
          await readyToWrite;
        });
        // ...and writes just before the projector does.
        beforeSend(client, "PutItemCommand", async () => {
          if (redriven) return;
          openGate();
          redriven = await redriving;
        });
        const fixed = projector(rig, fixedReduce, client);
        expect(await fixed({ Records: [e] })).to.deep.equal({ batchItemFailures: [] });
        expect(redriven).to.include({ outcome: "applied", applied: 2 });
        expect(await fixed({ Records: [f] })).to.deep.equal({ batchItemFailures: [] });
        const expected = await projectedFromScratch(rig, all, fixedReduce);
        expect((await tables(rig)).readModel).to.deep.equal(expected.readModel);
        // e's row, parked before the projector applied it, is listed as applied; the next re-drive deletes it.
        expect((await listParked(rig.dynamo, rig.parked, rig.table)).map((r) => [r.sequenceNumber, r.status])).to.deep.equal([
          [e.kinesis.sequenceNumber, "applied"],
        ]);
        expect(await redriveAggregate(rig.dynamo, fixedReduce, config(rig), "a")).to.include({ outcome: "notBlocked", deleted: 1, stillParked: 0 });
        expect(await tables(rig)).to.deep.equal({ readModel: expected.readModel, parked: [] });
      }
    });

    it("runs concurrently with the projector (redelivery, new events behind the block, random delays): nothing doubled, nothing lost, order preserved, in every round", async function () {
      this.timeout(300_000);
      const ROUNDS = Number(process.env.REDRIVE_ROUNDS ?? 40);
      const conflicts = { redrive: 0, projector: 0 };
      let parkedThroughWrites = 0;
      const random = prng(0x5eed);
      const pause = (maxMs: number) => new Promise((r) => setTimeout(r, Math.floor(random() * maxMs)));
      const jittered = (who: keyof typeof conflicts) => {
        const client = dynamoClient();
        client.middlewareStack.add(
          (next, context) => async (args) => {
            await pause(who === "redrive" ? 6 : 3);
            if (who === "projector" && context.commandName === "PutItemCommand" && (args.input as { Item?: Record<string, unknown> }).Item?.parkedThrough)
              parkedThroughWrites += 1;
            try {
              return await next(args);
            } catch (err) {
              if ((err as Error).name === "ConditionalCheckFailedException") conflicts[who] += 1;
              throw err;
            }
          },
          { step: "initialize", name: "jitter", priority: "high" },
        );
        return client;
      };
      for (let round = 0; round < ROUNDS; round++) {
        const rig = await setupRig();
        const first = await append(rig, [placed("a"), explode("a"), line("a", 1), placed("b")]);
        await projector(rig, buggyReduce)({ Records: first });
        const all = await append(rig, [line("a", 2), line("a", 3), line("b", 4), line("a", 5)]);
        const later = all.slice(first.length);
        // The fixed projector (one shard: one invocation at a time) redelivers the old batch (every other round) and
        // gets new events, starting at a random moment, while two re-drives run.
        const fixed = projector(rig, fixedReduce, jittered("projector"));
        const redrive = () => redriveProjector(jittered("redrive"), fixedReduce, config(rig));
        const concurrent = await Promise.all([
          redrive(),
          pause(8).then(redrive),
          (async () => {
            await pause(12);
            if (round % 2 === 0) await fixed({ Records: first });
            for (const b of toBatches(later, 1 + (round % 3))) expect(await fixed(b), `round ${round}`).to.deep.equal({ batchItemFailures: [] });
          })(),
        ]);
        for (const results of concurrent.slice(0, 2) as Awaited<ReturnType<typeof redriveProjector>>[]) {
          for (const r of results) expect(r.stranded, `round ${round}: nothing is ever skipped`).to.equal(undefined);
        }
        // One more re-drive applies whatever was parked behind a block the two left in place, and cleans up rows
        // parked again by the redelivery after they were applied; a replay changes nothing.
        await redriveProjector(rig.dynamo, fixedReduce, config(rig));
        await fixed({ Records: all });
        const results = await redriveProjector(rig.dynamo, fixedReduce, config(rig));
        expect(
          results.every((r) => r.outcome === "notBlocked" && r.stranded === undefined),
          `round ${round}`,
        ).to.equal(true);
        const expected = await projectedFromScratch(rig, all, fixedReduce);
        // Applied once each, in order (the state lists lines in the order applied; recentEventIds are in order too).
        expect(await tables(rig), `round ${round}`).to.deep.equal({ readModel: expected.readModel, parked: [] });
      }
      console.log(
        `      re-drive racing the projector: ${ROUNDS}/${ROUNDS} rounds in order; projector writes advancing parkedThrough: ${parkedThroughWrites}; conditional-write conflicts: re-drive ${conflicts.redrive}, projector ${conflicts.projector}`,
      );
    });

    it("keeps a rejected duplicate (an eventId applied before with other data) parked behind a block as rejected, and applies the rest", async () => {
      const rig = await setupRig();
      const l = line("a", 2);
      const records = await append(rig, [placed("a"), explode("a"), l, { ...l, data: { ...(l.data as Record<string, unknown>), quantity: 9 } }, line("a", 3)]);
      await projector(rig, buggyReduce)({ Records: records });
      const [r] = await redriveProjector(rig.dynamo, fixedReduce, config(rig));
      expect(r).to.include({ outcome: "applied", applied: 3, deleted: 3, stillParked: 1 });
      expect(r.rejected!.map((x) => x.sequenceNumber)).to.deep.equal([records[3].kinesis.sequenceNumber]);
      const listing = await listParked(rig.dynamo, rig.parked, rig.table);
      expect(listing.map((x) => [x.sequenceNumber, x.status, x.reason])).to.deep.equal([
        [records[3].kinesis.sequenceNumber, "rejected", "Idempotency-Key reused with different data"],
      ]);
      const expected = await projectedFromScratch(rig, records, fixedReduce);
      expect(await tables(rig)).to.deep.equal(expected);
      // Running it again changes nothing and never deletes the rejected row.
      expect(await redriveProjector(rig.dynamo, fixedReduce, config(rig))).to.deep.equal([
        {
          aggregateId: "a",
          outcome: "notBlocked",
          applied: 0,
          deleted: 0,
          stillParked: 1,
          rejected: listing.map(({ table: _table, status: _status, ...row }) => row),
        },
      ]);
      expect(await tables(rig)).to.deep.equal(expected);
    });

    it("the CLI lists with the flags and re-drives with --apply using domain.ts's reduce", async () => {
      const rig = await setupRig();
      const records = await append(rig, [placed("a"), explode("a"), line("a")]);
      await projector(rig, buggyReduce)({ Records: records });
      const run = (args: string[]) =>
        promisify(execFile)("npx", ["ts-node", "--transpile-only", "scripts/redrive.ts", ...args], { env: process.env, cwd: process.cwd() });
      const listed = await run(["--table", rig.table, "--parked", rig.parked]);
      expect(listed.stdout).to.contain("2 parked event(s)");
      expect(listed.stdout).to.contain(`${rig.parked}\ta\t${records[1].kinesis.sequenceNumber}\tblocked`);
      expect(await parkedEvents(rig.dynamo, rig.parked)).to.have.length(2); // listing alone changes nothing
      const applied = await run(["--table", rig.table, "--parked", rig.parked, "--apply"]);
      expect(applied.stdout).to.match(/applied\ta\tapplied 2, deleted 2, still parked 0/);
      expect(await parkedEvents(rig.dynamo, rig.parked)).to.deep.equal([]);
      expect(await snapshot(rig.dynamo, rig.table)).to.deep.equal((await projectedFromScratch(rig, records, fixedReduce)).readModel);
      // A table that does not exist: the SDK's message names none, the CLI names those it was given.
      const missing = await run(["--table", rig.table, "--parked", "no-such-parked-table"]).then(
        () => expect.fail("a missing table was not refused"),
        (err: { code: number; stderr: string }) => err,
      );
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.include(`a table named here does not exist`).and.include("--parked no-such-parked-table");
      // The two tables swapped, and nothing listening: one line naming what is wrong, not the SDK's bare text.
      const refused = (args: string[], env = process.env) =>
        promisify(execFile)("npx", ["ts-node", "--transpile-only", "scripts/redrive.ts", ...args], {
          env: { ...env, NODE_NO_WARNINGS: "1" },
          cwd: process.cwd(),
        }).then(
          () => expect.fail(`${args.join(" ")} was not refused`),
          (err: { code: number; stderr: string }) => [err.code, err.stderr.trim()],
        );
      const [swappedCode, swapped] = await refused(["--table", rig.parked, "--parked", rig.table]);
      expect(swappedCode).to.equal(1);
      expect(swapped).to.match(
        /^The provided key element does not match the schema: a table named here does not have the key it should \(--table .*, --parked .*\): --table takes the read model/,
      );
      const [downCode, down] = await refused(["--table", rig.table, "--parked", rig.parked], {
        ...process.env,
        AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:9",
        AWS_MAX_ATTEMPTS: "1",
      });
      expect(downCode).to.equal(1);
      expect(down).to.match(/: nothing answers at http:\/\/127\.0\.0\.1:9: is the local cloud running \(npm start\)\?$/);
    });
  });

  describe("bridge", () => {
    async function bridgeSetup() {
      const source = uniqueName("rd-src");
      const target = uniqueName("rd-analytics");
      const parked = uniqueName("rd-bparked");
      const [, arn] = await Promise.all([
        createStream(testKinesis(), source),
        createStream(testKinesis(CONSUMER_ACCOUNT), target),
        createTable(testDynamo(), parked, "sk"),
      ]);
      const cfg: BridgeConfig = { targetStreamArn: arn, parkedTableName: parked, retry: RETRY, maxRecordsPerCall: 500, maxBytesPerCall: 5 << 20 };
      const kinesis = kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) });
      return { source, target, parked, cfg, kinesis };
    }

    it("lists the bridge's parked events and re-sends those that map now, once; the rest stay parked", async () => {
      const s = await bridgeSetup();
      const rig = { kinesis: testKinesis(), dynamo: testDynamo(), stream: s.source, table: "", parked: s.parked };
      const events = [placed("x"), explode("x"), line("x")];
      const records = await append(rig, [...events, { partitionKey: "x", bytes: Buffer.from("garbage") }]);
      await createBridge({ kinesis: s.kinesis, dynamodb: testDynamo(), map: buggyMap, config: s.cfg, clock: recordingClock(), log: () => {} })({
        Records: records,
      });
      expect((await landed(s.target)).map((l) => l.wire.id).sort()).to.deep.equal([events[0].eventId, events[2].eventId].sort());

      const listing = await listParked(testDynamo(), s.parked);
      expect(listing.map((r) => [r.table, r.aggregateId, r.sequenceNumber, r.eventId])).to.deep.equal([
        [s.parked, "x", records[1].kinesis.sequenceNumber, events[1].eventId],
        [s.parked, "x", records[3].kinesis.sequenceNumber, undefined],
      ]);
      expect(listing[0].reason).to.match(/map threw Error: explode/);

      const deps = { kinesis: s.kinesis, dynamodb: testDynamo(), map: domainMap as Mapper, config: s.cfg, clock: recordingClock() };
      const first = await redriveBridge(deps);
      expect(first).to.deep.include({ resent: 1, deleted: 1 });
      expect(first.stillParked.map((p) => p.sequenceNumber)).to.deep.equal([records[3].kinesis.sequenceNumber]);
      const out = await landed(s.target);
      expect(out.map((l) => l.wire.id).sort()).to.deep.equal(events.map((e) => e.eventId).sort());
      expect(out.find((l) => l.wire.id === events[1].eventId)!.wire).to.deep.include({ contract: "order-lifecycle.v1", aggregateId: "x" });

      const second = await redriveBridge(deps);
      expect(second).to.deep.include({ resent: 0, deleted: 0 });
      expect(await landed(s.target)).to.have.length(3);
      expect((await listParked(testDynamo(), s.parked)).map((r) => r.sequenceNumber)).to.deep.equal([records[3].kinesis.sequenceNumber]);
    });

    it("keeps the rows when the re-send does not complete", async () => {
      const s = await bridgeSetup();
      const rig = { kinesis: testKinesis(), dynamo: testDynamo(), stream: s.source, table: "", parked: s.parked };
      const records = await append(rig, [explode("y")]);
      await createBridge({ kinesis: s.kinesis, dynamodb: testDynamo(), map: buggyMap, config: s.cfg, clock: recordingClock(), log: () => {} })({
        Records: records,
      });
      const broken = kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) });
      injectFaults(broken, () => serviceError("AccessDeniedException", 400));
      const r = await redriveBridge({
        kinesis: broken,
        dynamodb: testDynamo(),
        map: domainMap as Mapper,
        config: s.cfg,
        clock: recordingClock(),
        log: () => {},
      });
      expect(r).to.deep.include({ resent: 0, deleted: 0 });
      expect(await listParked(testDynamo(), s.parked)).to.have.length(1);
      expect(await landed(s.target)).to.deep.equal([]);
    });
  });
});
