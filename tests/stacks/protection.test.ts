/**
 * What holds events is Pulumi-protected (`protectData`, default true): in the
 * producer the event stream, the archive bucket and its key; in the consumer
 * the analytics stream, its key and the landing bucket. A `pulumi destroy`,
 * or an update that would delete or replace one, then fails instead of
 * deleting records (the AWS-reviewer audit found a destroy took the stream and
 * every record within its retention). Nothing else is protected (tables have
 * DynamoDB's own deletion protection), and `protectData: false` protects
 * nothing, so a stack can be torn down in two steps.
 */
import { expect } from "chai";
import { ProgramRun, runProgram } from "../support/pulumiMocks";
import { CONSUMER, PRODUCER, runProducer } from "../support/producerRun";

const consumer = (extra: Record<string, string> = {}) =>
  runProgram({
    stack: "consumer",
    account: CONSUMER,
    region: "us-east-1",
    config: { role: "consumer", producerAccountId: PRODUCER, externalId: "test-external-id", ...extra },
  });

/** "type name" of every protected resource, sorted. */
function protectedResources(run: ProgramRun): string[] {
  return run.resources
    .filter((r) => r.protect)
    .map((r) => `${r.type} ${r.name}`)
    .sort();
}

describe("protectData: what holds events is Pulumi-protected (mocks)", function () {
  this.timeout(120_000);

  it("the producer protects the event stream, the archive bucket and the archive key, and nothing else", async () => {
    expect(protectedResources(await runProducer())).to.deep.equal([
      "aws:kinesis/stream:Stream orders-events",
      "aws:kms/key:Key events-archive-key",
      "aws:s3/bucket:Bucket events-archive-bucket",
    ]);
  });

  it("the consumer protects the analytics stream, its key and the landing bucket, and nothing else", async () => {
    expect(protectedResources(await consumer())).to.deep.equal([
      "aws:kinesis/stream:Stream analytics-stream",
      "aws:kms/key:Key analytics-key",
      "aws:s3/bucket:Bucket analytics-landing",
    ]);
  });

  it("protectData false protects nothing (the first step of a teardown), and a value other than true or false is refused", async () => {
    expect(protectedResources(await runProducer({ protectData: "false" }))).to.deep.equal([]);
    expect(protectedResources(await consumer({ protectData: "false" }))).to.deep.equal([]);
    expect(protectedResources(await runProducer({ protectData: "true" }))).to.have.length(3);
    const refused = await runProducer({ protectData: "yes" }).then(
      () => "accepted",
      (err: Error) => err.message,
    );
    expect(refused).to.include('protectData must be true or false, got "yes"');
  });
});
