/**
 * Deployed stacks must never be replaced by a refactor. Pulumi identifies a
 * resource by its URN (stack, project, the chain of parent type tokens, its
 * type token and logical name): a changed URN without an alias is a delete
 * and a create on the next `pulumi up`. And a resource keeps its URN yet is
 * replaced, or renamed under another account's trust, when an input AWS knows
 * it by changes (a table's name, a role's name: IDENTITY_FORCE_NEW). This
 * test runs both stacks under mocks, in both access modes and under stack
 * names other than the defaults (names derive from them), and compares them
 * with two records of what is deployed:
 * - `urns.snapshot.json`, the URN and type of every resource: every recorded
 *   URN must still be registered, with the same type, or be covered by an
 *   `aliases` entry of a registered resource; a URN it does not hold fails
 *   too, so additions are deliberate;
 * - `identity.snapshot.json`, those inputs of every resource that has them:
 *   each must be what it was, on the URN or the resource aliasing it.
 * `UPDATE_URN_SNAPSHOT=1 npx mocha tests/stacks/urns.test.ts` adds new
 * resources to both; it never removes or changes a recorded one: a deliberate
 * rename is an edit to the file, seen in review.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { IDENTITY_FORCE_NEW, forceNewInputs } from "../support/forceNew";
import { ProgramRun, runProgram } from "../support/pulumiMocks";
import { CONSUMER, CONSUMER_OUTPUTS, CONSUMER_STACK, PRODUCER, REGION, runProducer } from "../support/producerRun";

const SNAPSHOT = path.join(__dirname, "urns.snapshot.json");
const IDENTITY = path.join(__dirname, "identity.snapshot.json");

type Snapshot<T> = Record<string, Record<string, T>>;

const SCENARIOS: Record<string, () => Promise<ProgramRun>> = {
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
  "producer named prod-orders": () =>
    runProgram({
      stack: "prod-orders",
      account: PRODUCER,
      region: REGION,
      config: { role: "producer", consumerStack: CONSUMER_STACK },
      stackReferences: { [CONSUMER_STACK]: CONSUMER_OUTPUTS },
    }),
  "consumer named prod-analytics": () =>
    runProgram({
      stack: "prod-analytics",
      account: CONSUMER,
      region: REGION,
      config: { role: "consumer", producerAccountId: PRODUCER, externalId: "test-external-id", producerStack: "prod-orders" },
    }),
};

function read<T>(file: string): Snapshot<T> {
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
}

/** Adds `entries` to `scenario`'s record in `file`, keeping every recorded entry as it is. */
function record<T>(file: string, scenario: string, entries: Record<string, T>): void {
  const fresh = read<T>(file);
  fresh[scenario] = Object.fromEntries(Object.entries({ ...entries, ...fresh[scenario] }).sort(([a], [b]) => a.localeCompare(b)));
  fs.writeFileSync(file, `${JSON.stringify(fresh, null, 2)}\n`);
}

describe("resource URNs, type tokens and identities (mocks): nothing deployed is replaced", function () {
  this.timeout(120_000);
  const urns = read<string>(SNAPSHOT);
  const identities = read<Record<string, unknown>>(IDENTITY);
  const update = process.env.UPDATE_URN_SNAPSHOT === "1";
  const runs = new Map<string, Promise<ProgramRun>>();
  const run = (scenario: string) => runs.get(scenario) ?? runs.set(scenario, SCENARIOS[scenario]()).get(scenario)!;

  for (const scenario of Object.keys(SCENARIOS)) {
    it(`${scenario}: every recorded URN is still registered with its type (or aliased), and nothing unrecorded is added`, async () => {
      const result = await run(scenario);
      const now: Record<string, string> = {};
      for (const r of result.resources) {
        expect(r.urn, `a resource of type ${r.type} has no URN`).to.be.a("string").and.not.equal("");
        now[r.urn] = r.type;
      }
      const recorded = urns[scenario] ?? {};
      const aliased = new Set(result.aliases);
      const missing = Object.keys(recorded).filter((urn) => now[urn] === undefined && !aliased.has(urn));
      const retyped = Object.keys(recorded).filter((urn) => now[urn] !== undefined && now[urn] !== recorded[urn]);
      const added = Object.keys(now).filter((urn) => recorded[urn] === undefined);
      if (update && added.length) record(SNAPSHOT, scenario, Object.fromEntries(added.map((u) => [u, now[u]])));
      expect(missing, "URNs that would be replaced (add an alias, or keep the name and parent)").to.deep.equal([]);
      expect(retyped, "URNs whose type token changed").to.deep.equal([]);
      if (!update) expect(added, "URNs not in urns.snapshot.json (run with UPDATE_URN_SNAPSHOT=1 if deliberate)").to.deep.equal([]);
      expect(Object.keys(now).length, "resources registered").to.be.greaterThan(10);
    });

    it(`${scenario}: every recorded resource keeps the inputs AWS knows it by (names, keys, sources)`, async () => {
      const result = await run(scenario);
      const now = forceNewInputs(result, IDENTITY_FORCE_NEW);
      const byAlias = new Map(result.resources.flatMap((r) => r.aliases.map((a) => [a, r.urn] as const)));
      const recorded = identities[scenario] ?? {};
      const changed: string[] = [];
      for (const [urn, inputs] of Object.entries(recorded)) {
        const current = now.get(urn) ?? now.get(byAlias.get(urn) ?? "");
        if (current && JSON.stringify(current) !== JSON.stringify(inputs)) {
          changed.push(`${urn.split("::").pop()}: ${JSON.stringify(inputs)} -> ${JSON.stringify(current)}`);
        }
      }
      const added = [...now.keys()].filter((urn) => recorded[urn] === undefined && ![...byAlias].some(([a, u]) => u === urn && recorded[a]));
      if (update && added.length) record(IDENTITY, scenario, Object.fromEntries(added.map((u) => [u, now.get(u)!])));
      expect(changed, "inputs that would replace or rename a deployed resource (edit identity.snapshot.json if deliberate)").to.deep.equal([]);
      if (!update) expect(added, "resources not in identity.snapshot.json (run with UPDATE_URN_SNAPSHOT=1 if deliberate)").to.deep.equal([]);
      expect(now.size, "resources with identity inputs").to.be.greaterThan(10);
    });
  }
});
