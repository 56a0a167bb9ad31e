/**
 * Deployed stacks must never be replaced by a refactor. Pulumi identifies a
 * resource by its URN (stack, project, the chain of parent type tokens, its
 * type token and logical name): a changed URN without an alias is a delete
 * and a create on the next `pulumi up`. This test records the URN and type of
 * every resource of both stacks, in both access modes, under mocks, and
 * compares them with `urns.snapshot.json`:
 * - every recorded URN must still be registered, with the same type, or be
 *   covered by an `aliases` entry of a registered resource;
 * - a URN the snapshot does not hold fails too, so additions are deliberate:
 *   `UPDATE_URN_SNAPSHOT=1 npx mocha tests/stacks/urns.test.ts` adds them
 *   (it never removes one).
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { runProgram } from "../support/pulumiMocks";
import { CONSUMER_OUTPUTS, CONSUMER_STACK, runProducer } from "../support/producerRun";

const SNAPSHOT = path.join(__dirname, "urns.snapshot.json");

type Snapshot = Record<string, Record<string, string>>;

const SCENARIOS: Record<string, () => Promise<{ resources: { urn: string; type: string }[]; aliases: string[] }>> = {
  "producer assumeRole": () => runProducer({ accessMode: "assumeRole" }),
  "producer resourcePolicy": () =>
    runProducer({ accessMode: "resourcePolicy" }, { [CONSUMER_STACK]: { ...CONSUMER_OUTPUTS, writerRoleArn: undefined, externalId: undefined } }),
  "producer jwt": () => runProducer({ apiAuth: "jwt", jwtIssuer: "https://login.example.com", jwtAudiences: "orders-api" }),
  "consumer assumeRole": () =>
    runProgram({
      stack: "consumer",
      account: "222222222222",
      region: "us-east-1",
      config: { role: "consumer", producerAccountId: "111111111111", externalId: "test-external-id" },
    }),
  "consumer resourcePolicy": () =>
    runProgram({
      stack: "consumer",
      account: "222222222222",
      region: "us-east-1",
      config: { role: "consumer", producerAccountId: "111111111111", accessMode: "resourcePolicy" },
    }),
};

function readSnapshot(): Snapshot {
  return fs.existsSync(SNAPSHOT) ? JSON.parse(fs.readFileSync(SNAPSHOT, "utf8")) : {};
}

describe("resource URNs and type tokens (mocks): nothing deployed is replaced", function () {
  this.timeout(120_000);
  const snapshot = readSnapshot();
  const update = process.env.UPDATE_URN_SNAPSHOT === "1";

  for (const [scenario, run] of Object.entries(SCENARIOS)) {
    it(`${scenario}: every recorded URN is still registered with its type (or aliased), and nothing unrecorded is added`, async () => {
      const result = await run();
      const now: Record<string, string> = {};
      for (const r of result.resources) {
        expect(r.urn, `a resource of type ${r.type} has no URN`).to.be.a("string").and.not.equal("");
        now[r.urn] = r.type;
      }
      const recorded = snapshot[scenario] ?? {};
      const aliased = new Set(result.aliases);
      const missing = Object.keys(recorded).filter((urn) => now[urn] === undefined && !aliased.has(urn));
      const retyped = Object.keys(recorded).filter((urn) => now[urn] !== undefined && now[urn] !== recorded[urn]);
      const added = Object.keys(now).filter((urn) => recorded[urn] === undefined);
      if (update && added.length) {
        const fresh = readSnapshot();
        fresh[scenario] = Object.fromEntries(
          Object.entries({ ...recorded, ...Object.fromEntries(added.map((u) => [u, now[u]])) }).sort(([a], [b]) => a.localeCompare(b)),
        );
        fs.writeFileSync(SNAPSHOT, `${JSON.stringify(fresh, null, 2)}\n`);
      }
      expect(missing, "URNs that would be replaced (add an alias, or keep the name and parent)").to.deep.equal([]);
      expect(retyped, "URNs whose type token changed").to.deep.equal([]);
      if (!update) expect(added, "URNs not in urns.snapshot.json (run with UPDATE_URN_SNAPSHOT=1 if deliberate)").to.deep.equal([]);
      expect(Object.keys(now).length, "resources registered").to.be.greaterThan(10);
    });
  }
});
