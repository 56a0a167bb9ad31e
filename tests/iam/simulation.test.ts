/**
 * Least privilege, proven by simulation: every case of tests/iam/cases.ts is
 * evaluated by @cloud-copilot/iam-simulate against the policies the program
 * emits for both stacks (captured under mocks), in each access mode.
 */
import { expect } from "chai";
import type { AccessMode } from "../../handlers/bridge/contract";
import { buildWorld, emittedGrants, globMatches, simulate, World } from "../support/iamSimulation";
import { casesFor, IamCase } from "./cases";
import { KINESIS_ENCRYPTION_CONTEXT, S3_ENCRYPTION_CONTEXT } from "../../components/parts/iam";

const MODES: AccessMode[] = ["assumeRole", "resourcePolicy"];

/** Runs one case and checks the decision, and for a cross-account request both sides. */
export async function checkCase(world: World, c: IamCase): Promise<void> {
  const outcome = await simulate(world, c);
  const supplied = Object.keys(c.context ?? {});
  expect(
    outcome.ignoredContextKeys.filter((k) => supplied.includes(k)),
    "context keys the case relies on were ignored as not applicable",
  ).to.deep.equal([]);
  const label = `${c.principal} ${c.action} ${c.resource} → ${outcome.result}`;
  if (c.expect === "allow") {
    expect(outcome.allowed, label).to.equal(true);
    if (outcome.crossAccount) {
      expect(outcome.identityAllows, `${label}: the caller's identity policy`).to.equal(true);
      expect(outcome.resourceAllows, `${label}: the resource-side policy`).to.equal(true);
    }
    return;
  }
  expect(outcome.allowed, label).to.equal(false);
  if (c.deniedBy) {
    expect(outcome.crossAccount, `${label}: deniedBy is for cross-account cases`).to.equal(true);
    const side = !outcome.identityAllows && outcome.resourceAllows !== true ? "both" : !outcome.identityAllows ? "identity" : "resource";
    expect(side, `${label}: which side refuses`).to.equal(c.deniedBy);
  }
}

for (const mode of MODES) {
  describe(`IAM simulation (${mode})`, function () {
    this.timeout(120_000);
    let world: World;
    before(async () => {
      world = await buildWorld(mode);
    });

    const cases = casesFor(mode);
    it("has unique case titles", () => {
      expect(new Set(cases.map((c) => c.title)).size).to.equal(cases.length);
    });

    for (const c of cases) it(`${c.expect === "allow" ? "allows" : "denies"}: ${c.title}`, () => checkCase(world, c));

    it("exercises every grant of every role the program emits with an allowed case", () => {
      const allowed = cases.filter((c) => c.expect === "allow");
      const missing = emittedGrants(world).filter(
        (g) =>
          !allowed.some(
            (c) =>
              c.principal === g.principal &&
              c.action.toLowerCase() === g.action.toLowerCase() &&
              g.resources.some((pattern) => globMatches(pattern, world.resources[c.resource]!.arn)),
          ),
      );
      expect(missing.map((g) => `${g.principal} (${g.sid}): ${g.action} on ${g.resources.join(", ")}`)).to.deep.equal([]);
    });

    it("has a simulated principal for every role the program emits", () => {
      const roles = [...world.producer.ofType("aws:iam/role:Role"), ...world.consumer.ofType("aws:iam/role:Role")].map((r) => r.state.arn);
      const simulated = Object.values(world.principals)
        .filter((p) => !p.synthetic)
        .map((p) => p.principalArn);
      expect(simulated.sort()).to.deep.equal(roles.sort());
    });
  });
}

/**
 * A case that cannot fail proves nothing: break one emitted policy at a time
 * (after capture, as a scratch copy) and check the cases guarding it flip.
 */
type Doc = { Version: string; Statement: any[] };
const editStatements = (doc: Doc, edit: (s: any) => any): Doc => ({ ...doc, Statement: doc.Statement.map((s) => edit(JSON.parse(JSON.stringify(s)))) });
const dropCondition = (key: string) => (doc: Doc) =>
  editStatements(doc, (s) => {
    for (const op of Object.keys(s.Condition ?? {})) {
      delete s.Condition[op][key];
      if (Object.keys(s.Condition[op]).length === 0) delete s.Condition[op];
    }
    return s;
  });

interface Mutation {
  title: string;
  mode: AccessMode;
  /** Which captured policy to break (see buildWorld's tamper labels). */
  where: string;
  mutate: (doc: Doc) => Doc;
  /** Titles of cases that must now fail. */
  flips: string[];
}

const MUTATIONS: Mutation[] = [
  {
    title: "writer trust without the ExternalId condition",
    mode: "assumeRole",
    where: "-writer.assumeRolePolicy",
    mutate: dropCondition("sts:ExternalId"),
    flips: ["bridge may not assume the writer role without an ExternalId", "bridge may not assume the writer role with a wrong ExternalId"],
  },
  {
    title: "writer trust without the aws:PrincipalArn condition",
    mode: "assumeRole",
    where: "-writer.assumeRolePolicy",
    mutate: dropCondition("aws:PrincipalArn"),
    flips: ["an administrator role of the producer account may not assume the writer role, even with the ExternalId"],
  },
  {
    title: "writer trust naming any account",
    mode: "assumeRole",
    where: "-writer.assumeRolePolicy",
    mutate: (d) => editStatements(dropCondition("aws:PrincipalArn")(d), (s) => ({ ...s, Principal: { AWS: "*" } })),
    flips: [`a role named like the bridge in another account (333333333333) may not assume the writer role`],
  },
  {
    title: "key policy letting the writer decrypt",
    mode: "assumeRole",
    where: "analytics-key-policy",
    mutate: (d) => editStatements(d, (s) => (s.Sid === "WriterEncryptsRecords" ? { ...s, Action: ["kms:GenerateDataKey", "kms:Decrypt"] } : s)),
    flips: ["writer may not decrypt with the analytics key via Kinesis"],
  },
  {
    title: "key policy without the aws:PrincipalArn condition",
    mode: "resourcePolicy",
    where: "analytics-key-policy",
    mutate: dropCondition("aws:PrincipalArn"),
    flips: ["an administrator role of the producer account may not generate data keys with the analytics key"],
  },
  {
    // Both keys: the encryption context alone also keeps a call outside Kinesis out, as it carries none.
    title: "key policy without kms:ViaService and the encryption context for the writer",
    mode: "resourcePolicy",
    where: "analytics-key-policy",
    mutate: (doc) => dropCondition(KINESIS_ENCRYPTION_CONTEXT)(dropCondition("kms:ViaService")(doc)),
    flips: ["bridge may not generate data keys outside Kinesis", "bridge may not generate data keys via S3"],
  },
  {
    title: "key policy without Kinesis's encryption context (the stream's ARN) for the writer",
    mode: "resourcePolicy",
    where: "analytics-key-policy",
    mutate: dropCondition(KINESIS_ENCRYPTION_CONTEXT),
    flips: ["bridge may not generate data keys for another stream through Kinesis"],
  },
  {
    title: "key policy without S3's encryption context (the landing bucket's ARN) for Firehose",
    mode: "resourcePolicy",
    where: "analytics-key-policy",
    mutate: dropCondition(S3_ENCRYPTION_CONTEXT),
    flips: ["Firehose role may not kms:GenerateDataKey via S3 for another bucket", "Firehose role may not kms:Decrypt via S3 for another bucket"],
  },
  {
    // The key policy lets the account's IAM policies apply (its root statement), so the role's own grant alone suffices.
    title: "Firehose role policy without S3's encryption context",
    mode: "assumeRole",
    where: "-delivery.inline",
    mutate: dropCondition(S3_ENCRYPTION_CONTEXT),
    flips: ["Firehose role may not kms:GenerateDataKey via S3 for another bucket", "Firehose role may not kms:Decrypt via S3 for another bucket"],
  },
  {
    title: "archiver policy without S3's encryption context (the archive bucket's ARN)",
    mode: "assumeRole",
    where: "events-archive-archiver-role.inline",
    mutate: dropCondition(S3_ENCRYPTION_CONTEXT),
    flips: ["archiver may not GenerateDataKey on the archive key for another bucket"],
  },
  {
    title: "stream resource policy without the aws:PrincipalArn condition",
    mode: "resourcePolicy",
    where: "analytics-stream-policy",
    mutate: dropCondition("aws:PrincipalArn"),
    flips: ["an administrator role of the producer account may not PutRecords on the analytics stream"],
  },
  {
    title: "stream resource policy granting kinesis:*",
    mode: "resourcePolicy",
    where: "analytics-stream-policy",
    mutate: (d) => editStatements(d, (s) => ({ ...s, Action: "kinesis:*" })),
    // The bridge's identity policy still refuses reads, so the request stays denied, but by one side only: deniedBy catches it.
    flips: ["bridge may not read the analytics stream"],
  },
  {
    title: "projector policy on every table",
    mode: "assumeRole",
    where: "orders-projector-role.inline",
    mutate: (d) => editStatements(d, (s) => (s.Sid === "ProjectReadModel" ? { ...s, Resource: "*" } : s)),
    flips: ["projector may not PutItem on another table of the account", "projector may not PutItem on the bridge's parked table"],
  },
  {
    title: "projector policy with dynamodb:*",
    mode: "resourcePolicy",
    where: "orders-projector-role.inline",
    mutate: (d) => editStatements(d, (s) => (s.Sid === "ProjectReadModel" ? { ...s, Action: "dynamodb:*" } : s)),
    flips: ["projector may not dynamodb:DeleteItem on the read-model table", "projector may not dynamodb:Scan on the read-model table"],
  },
  {
    title: "API policy able to read the parked table",
    mode: "assumeRole",
    where: "commands-handler-role.inline",
    mutate: (d) =>
      editStatements(d, (s) =>
        s.Sid === "ReadReadModel" ? { ...s, Resource: [s.Resource, s.Resource.replace(/orders-read-model-[0-9a-f]+$/, "orders-parked-*")] } : s,
      ),
    flips: ["API may not read the parked table"],
  },
  {
    title: "bucket policy without the TLS-only deny",
    mode: "assumeRole",
    where: "landing-tls-only",
    mutate: (d) => ({ ...d, Statement: [] }),
    flips: ["Firehose role may not put objects over plain HTTP (TLS-only bucket policy)"],
  },
  {
    title: "Firehose trust without its sts:ExternalId (the account id Firehose passes)",
    mode: "resourcePolicy",
    where: "-delivery.assumeRolePolicy",
    mutate: dropCondition("sts:ExternalId"),
    flips: ["Firehose may not assume its role on behalf of another account (confused deputy)"],
  },
  {
    title: "caller policy on every method and stage of the API",
    mode: "assumeRole",
    where: "api-caller.policy",
    mutate: (d) => editStatements(d, (s) => ({ ...s, Resource: s.Resource.map((r: string) => r.replace(/\/\$default\/(POST|GET)\//, "/*/*/")) })),
    flips: ["a granted caller may not invoke a method the API does not declare (DELETE)", "a granted caller may not invoke another stage of the API"],
  },
  {
    title: "caller policy on the whole API ($default's paths included)",
    mode: "resourcePolicy",
    where: "api-caller.policy",
    mutate: (d) => editStatements(d, (s) => ({ ...s, Resource: s.Resource.map((r: string) => r.replace(/\/\$default\/.*$/, "/*")) })),
    flips: ["a granted caller may not invoke paths only $default answers"],
  },
  {
    title: "invoke permission without a source ARN",
    mode: "assumeRole",
    where: "commands-invoke",
    mutate: dropCondition("AWS:SourceArn"),
    flips: ["API Gateway may not invoke the function from another API"],
  },
];

describe("IAM simulation (each guarding case fails when its policy is broken)", function () {
  this.timeout(120_000);
  for (const m of MUTATIONS) {
    it(`${m.title} (${m.mode}) flips ${m.flips.length} case(s)`, async () => {
      let tampered = 0;
      const world = await buildWorld(m.mode, { tamper: (where, doc) => (where === m.where ? (tampered++, m.mutate(doc)) : doc) });
      expect(tampered, `no policy captured as ${m.where}`).to.be.greaterThan(0);
      for (const title of m.flips) {
        const c = casesFor(m.mode).find((x) => x.title === title);
        expect(c, `case "${title}"`).to.not.equal(undefined);
        const error = await checkCase(world, c!).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(error, `"${title}" still passes with ${m.title}`).to.be.instanceOf(Error);
      }
    });
  }
});
