/**
 * Both stacks in the AWS GovCloud (US) and China partitions under mocks: every
 * ARN a policy names is of the stack's partition, and every `kms:ViaService`
 * is a host of that partition (`amazonaws.com.cn` in China), so no policy
 * names a principal or resource IAM would refuse as malformed. An ISO region
 * is refused by the preflight, before anything is registered.
 */
import { expect } from "chai";
import { policyDocument, ProgramRun, runProgram } from "../support/pulumiMocks";
import { CONSUMER, CONSUMER_STACK, PRODUCER } from "../support/producerRun";

const PARTITIONS = [
  { region: "us-gov-west-1", partition: "aws-us-gov", suffix: "amazonaws.com" },
  { region: "cn-north-1", partition: "aws-cn", suffix: "amazonaws.com.cn" },
];

/** Every policy document of a run (resource policies, trust policies, inline policies). */
function policies(run: ProgramRun): { where: string; doc: unknown }[] {
  const docs: { where: string; doc: unknown }[] = [];
  for (const r of run.resources) {
    for (const field of ["policy", "assumeRolePolicy"])
      if (typeof r.inputs[field] === "string") docs.push({ where: `${r.name}.${field}`, doc: policyDocument(r.inputs[field]) });
    for (const inline of (r.inputs.inlinePolicies ?? []) as { name: string; policy: string }[])
      docs.push({ where: `${r.name}.${inline.name}`, doc: policyDocument(inline.policy) });
  }
  return docs;
}

/** Every string in a document, with the key it sits under (array items under their array's key). */
function strings(value: unknown, key = ""): { key: string; value: string }[] {
  if (typeof value === "string") return [{ key, value }];
  if (Array.isArray(value)) return value.flatMap((v) => strings(v, key));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => strings(v, k));
  return [];
}

/** What in `run`'s policies is not of the partition: ARNs of another, service hosts of another. */
function foreign(run: ProgramRun, partition: string, suffix: string): string[] {
  const out: string[] = [];
  for (const { where, doc } of policies(run)) {
    for (const { key, value } of strings(doc)) {
      if (value.startsWith("arn:") && !value.startsWith(`arn:${partition}:`)) out.push(`${where}: ${key} ${value}`);
      if (key === "kms:ViaService" && !value.endsWith(`.${suffix}`)) out.push(`${where}: ${key} ${value}`);
    }
  }
  return out;
}

describe("partitions (GovCloud, China)", function () {
  this.timeout(180_000);

  for (const { region, partition, suffix } of PARTITIONS) {
    for (const accessMode of ["assumeRole", "resourcePolicy"]) {
      it(`${region}, ${accessMode}: every ARN and service host in both stacks' policies is of ${partition}`, async () => {
        const consumer = await runProgram({
          stack: "consumer",
          account: CONSUMER,
          region,
          config: { role: "consumer", producerAccountId: PRODUCER, accessMode, ...(accessMode === "assumeRole" ? { externalId: "test-external-id" } : {}) },
        });
        expect(consumer.outputs.bridgeRoleArn).to.equal(`arn:${partition}:iam::${PRODUCER}:role/event-pipeline-bridge`);
        const producer = await runProgram({
          stack: "producer",
          account: PRODUCER,
          region,
          config: { role: "producer", consumerStack: CONSUMER_STACK, accessMode },
          stackReferences: { [CONSUMER_STACK]: consumer.outputs as Record<string, unknown> },
        });
        expect(policies(consumer).length).to.be.greaterThan(3);
        expect(policies(producer).length).to.be.greaterThan(5);
        expect(foreign(consumer, partition, suffix), "consumer").to.deep.equal([]);
        expect(foreign(producer, partition, suffix), "producer").to.deep.equal([]);
      });
    }
  }

  it("the check finds an ARN of the aws partition (it can fail)", async () => {
    const consumer = await runProgram({
      stack: "consumer",
      account: CONSUMER,
      region: "us-east-1",
      config: { role: "consumer", producerAccountId: PRODUCER, externalId: "x-1" },
    });
    expect(foreign(consumer, "aws-us-gov", "amazonaws.com").length).to.be.greaterThan(0);
    expect(foreign(consumer, "aws", "amazonaws.com.cn").some((f) => f.includes("kms:ViaService"))).to.equal(true);
  });

  it("refuses an ISO region before registering anything, naming the partitions it deploys to", async () => {
    const run = runProgram({
      stack: "consumer",
      account: CONSUMER,
      region: "us-iso-east-1",
      config: { role: "consumer", producerAccountId: PRODUCER, externalId: "x-1" },
    });
    const err = await run.then(
      () => undefined,
      (e: Error) => e,
    );
    expect(String(err)).to.include(
      "config aws:region us-iso-east-1 is in the aws-iso partition, which this program does not deploy to (aws, aws-us-gov, aws-cn)",
    );
  });
});
