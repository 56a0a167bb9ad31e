/**
 * `npm run redrive` on a later read-model version's tables applies that
 * version's reduce (readModels[n] of domain/index.ts), as its projector does:
 * with version 1's, a re-drive of version 2 wrote version 1's state into the
 * table the API serves after the cut-over (found by the operator audit). The
 * version comes from the tables' names (stacks/naming.ts) or `--version`;
 * names and `--version` that disagree are refused before anything is done.
 */
import { expect } from "chai";
import { execFile } from "child_process";
import * as path from "path";
import { readModels } from "../../domain";
import type { EventEnvelope } from "../../handlers/shared/envelope";
import { readModelVersionName, readModelVersionOfTable } from "../../stacks/naming";
import { append, createTables, newProjector, setupRig, views } from "../support/projectorFixtures";

const ROOT = path.join(__dirname, "..", "..");

function redrive(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      ["--no-warnings", "-r", "ts-node/register/transpile-only", "scripts/redrive.ts", ...args],
      { cwd: ROOT, env: process.env, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

const event = (eventId: string, type: string, data: unknown): EventEnvelope => ({
  eventId,
  aggregateId: "o-1",
  type,
  occurredAt: "2026-12-03T10:00:00.000Z",
  schemaVersion: 1,
  data,
});

describe("npm run redrive: the tables' read-model version decides the reduce", function () {
  this.timeout(120_000);

  it("the names the stack gives a version's tables say its version; version 1's say none", () => {
    const v2 = readModelVersionName("orders", 2);
    expect(readModelVersionOfTable(`${v2}-read-model-14ea993`)).to.equal(2);
    expect(readModelVersionOfTable(`${v2}-parked-706b364`)).to.equal(2);
    expect(readModelVersionOfTable("orders-read-model-7794817")).to.equal(1);
    expect(readModelVersionOfTable("orders-parked-6d27ef3")).to.equal(1);
  });

  it("re-drives version 2's parked event with readModels[2]", async () => {
    const rig = await setupRig();
    const suffix = rig.table
      .split("-")
      .pop()!
      .replace(/[^0-9a-z]/g, "");
    const tables = { ...rig, table: `orders-v2-read-model-${suffix}`, parked: `orders-v2-parked-${suffix}` };
    await createTables(tables);
    // Version 2's projector, its reduce failing on LineAdded for a while (a bug since fixed): the line is parked.
    let broken = true;
    const { project } = newProjector(tables, {
      dedupWindow: 16,
      reduce: ((s: unknown, e: EventEnvelope) => {
        if (broken && e.type === "LineAdded") throw new Error("a bug since fixed");
        return readModels[2](s as never, e);
      }) as never,
    });
    const records = await append(rig, [
      event("01JREDRIVE0000000000000001", "OrderPlaced", { customerId: "c-1", lines: [{ sku: "A", quantity: 3, unitPriceCents: 100 }] }),
      event("01JREDRIVE0000000000000002", "LineAdded", { sku: "B", quantity: 2, unitPriceCents: 50 }),
    ]);
    await project({ Records: records });
    expect((await views(rig.dynamo, tables.table))["o-1"].parked).to.equal(true);
    broken = false;

    const refused = await redrive("--table", tables.table, "--parked", tables.parked, "--version", "1", "--apply");
    expect(refused.code, refused.stderr).to.equal(64);
    expect(refused.stderr).to.include(`--table ${tables.table} is read-model version 2's, not version 1's`);
    expect((await views(rig.dynamo, tables.table))["o-1"].parked, "a refused run changes nothing").to.equal(true);

    const out = await redrive("--table", tables.table, "--parked", tables.parked, "--apply");
    expect(out.code, out.stderr + out.stdout).to.equal(0);
    expect(out.stdout).to.include("read-model version 2: readModels[2] of domain/index.ts applies");
    const view = (await views(rig.dynamo, tables.table))["o-1"];
    expect([view.parked, view.version]).to.deep.equal([false, 2]);
    expect((view.state as { unitCount?: number }).unitCount, "version 2's reduce counts the units").to.equal(5);
  });
});
