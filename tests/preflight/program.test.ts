/**
 * The preflight inside the program, under mocks: a bad value or a
 * disagreement between the stacks fails `pulumi preview` with every problem
 * listed and nothing registered (before, a bad maxBodyBytes failed only
 * after the EventSourcedTable's resources were registered, i.e. created
 * halfway through `up`); two stacks deployed as documented pass; and every
 * name the program generates is within AWS's limits, suffixes included.
 */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { runProgram } from "../../local/deploy/program";
import { mockResources } from "../../local/deploy/resourceState";
import { CONSUMER, CONSUMER_OUTPUTS, CONSUMER_STACK, PRODUCER, REGION, runProducer } from "../../local/deploy/sampleProducer";
import { nameProblems } from "../../preflight/limits";

/** The mock handler, counting what the program registers. */
function counting(account: string) {
  const inner = mockResources({ account, region: REGION });
  const registered: string[] = [];
  return {
    registered,
    handler: {
      newResource: (args: Parameters<typeof inner.newResource>[0], inputs: Record<string, any>) => {
        registered.push(`${args.type} ${args.name}`);
        return inner.newResource(args, inputs);
      },
      call: inner.call,
    },
  };
}

async function failure(run: Promise<unknown>): Promise<Error> {
  return run.then(
    () => {
      throw new Error("expected the run to fail");
    },
    (e: Error) => e,
  );
}

const consumerConfig = { role: "consumer", producerAccountId: PRODUCER, externalId: "test-external-id" };

describe("preflight in the program (mocks)", function () {
  this.timeout(120_000);

  it("producer: a bad maxBodyBytes fails before anything is registered, with the component's message", async () => {
    const c = counting(PRODUCER);
    const error = await failure(
      runProgram({
        stack: "producer",
        region: REGION,
        config: { role: "producer", consumerStack: CONSUMER_STACK, maxBodyBytes: "0", parallelizationFactor: "11" },
        stackReferences: { [CONSUMER_STACK]: CONSUMER_OUTPUTS },
        handler: c.handler,
      }),
    );
    expect(error.name).to.equal("PreflightError");
    // What Pulumi (and a stack run) prints is the trace, so it must carry the message, not just the stack's name.
    expect(error.stack).to.include("preflight: 2 problem(s) in stack producer; nothing was deployed:");
    // Pulumi prints a RunError's message alone: the problems, not the program's source and a trace.
    expect(pulumi.RunError.isInstance(error)).to.equal(true);
    expect(error.message).to.include("preflight: 2 problem(s) in stack producer; nothing was deployed:");
    expect(error.message).to.include("  - config parallelizationFactor: EventSourcedTable orders: mapping.parallelizationFactor must be 1–10, got 11");
    expect(error.message).to.include("  - config maxBodyBytes: CommandApi commands: maxBodyBytes must be 1–921600, got 0");
    expect(c.registered).to.deep.equal([]);
  });

  it("producer: a consumer deployed in the other access mode fails the preview, naming both values", async () => {
    const c = counting(PRODUCER);
    const error = await failure(
      runProgram({
        stack: "producer",
        region: REGION,
        config: { role: "producer", consumerStack: CONSUMER_STACK },
        stackReferences: { [CONSUMER_STACK]: { ...CONSUMER_OUTPUTS, accessMode: "resourcePolicy", writerRoleArn: undefined } },
        handler: c.handler,
      }),
    );
    expect(error.message).to.include(`accessMode is "assumeRole" here but "resourcePolicy" in consumer stack ${CONSUMER_STACK}`);
    expect(error.message).to.include(`writerRoleArn is missing from consumer stack ${CONSUMER_STACK}`);
    expect(c.registered).to.deep.equal([]);
  });

  it("producer: a consumer stack with no outputs (initialised, never deployed) is named as such", async () => {
    const error = await failure(runProducer({}, { [CONSUMER_STACK]: {} }));
    expect(error.message).to.include(`consumer stack ${CONSUMER_STACK} has no outputs: deploy the consumer stack (pulumi up --stack consumer)`);
  });

  it("consumer: a bad retentionHours fails before anything is registered", async () => {
    const c = counting(CONSUMER);
    const error = await failure(runProgram({ stack: "consumer", region: REGION, config: { ...consumerConfig, retentionHours: "9000" }, handler: c.handler }));
    expect(error.message).to.include("  - config retentionHours: AnalyticsSink analytics: retentionHours must be 24–8760 h, got 9000");
    expect(c.registered).to.deep.equal([]);
  });

  it("a consumer deployed as documented and the producer reading its real outputs agree, and every generated name fits AWS's limits", async () => {
    for (const mode of ["assumeRole", "resourcePolicy"]) {
      const consumer = await runProgram({
        stack: "consumer",
        region: REGION,
        config: { ...consumerConfig, accessMode: mode },
        handler: mockResources({ account: CONSUMER, region: REGION }),
      });
      expect(consumer.outputs).to.include({
        bridgeRoleArn: `arn:aws:iam::${PRODUCER}:role/event-pipeline-bridge`,
        producerAccountId: PRODUCER,
        region: REGION,
      });
      expect(nameProblems(consumer.resources), mode).to.deep.equal([]);
      const producer = await runProducer({ accessMode: mode }, { [CONSUMER_STACK]: consumer.outputs });
      expect(producer.outputs.bridgeRoleArn).to.equal(consumer.outputs.bridgeRoleArn);
      expect(nameProblems(producer.resources), mode).to.deep.equal([]);
    }
  });

  it("names a generated name over its limit, with the suffix counted", () => {
    const resources = [
      { type: "aws:sqs/queue:Queue", name: "q".repeat(73), custom: true, inputs: {} },
      { type: "aws:sqs/queue:Queue", name: "q".repeat(72), custom: true, inputs: {} },
      { type: "aws:s3/bucket:Bucket", name: "Landing_Bucket", custom: true, inputs: {} },
      { type: "aws:iam/role:Role", name: "r", custom: true, inputs: { name: "x".repeat(65) } },
    ];
    expect(nameProblems(resources)).to.deep.equal([
      `${"q".repeat(73)} (auto-named, with its 8-character suffix): aws:sqs/queue:Queue name "${"q".repeat(73)}-0000000" is 81 characters; AWS allows at most 80`,
      'Landing_Bucket (auto-named, with its 8-character suffix): aws:s3/bucket:Bucket name "landing_bucket-0000000" may hold only lower-case letters, digits, . and -',
      `r: aws:iam/role:Role name "${"x".repeat(65)}" is 65 characters; AWS allows at most 64`,
    ]);
  });
});
