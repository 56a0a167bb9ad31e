/**
 * `npm run preflight` as a user runs it: a stack file (and the consumer's
 * outputs for the producer) in, one line per problem and exit 1 out, exit 0
 * for a good pair, and a bad option answered in one line with exit 64 before
 * any work.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { expect } from "chai";
import { PROJECT_ROOT } from "../../local/shared/project";

function preflight(...args: string[]) {
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(PROJECT_ROOT, "scripts/preflight.ts"), ...args], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("npm run preflight", function () {
  this.timeout(120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"));
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const consumerFile = write(
    "Pulumi.consumer.yaml",
    `config:
  aws:region: eu-west-1
  aws:allowedAccountIds: ["222222222222"]
  event-sourced-pipeline:role: consumer
  event-sourced-pipeline:producerAccountId: "111111111111"
  event-sourced-pipeline:externalId:
    secure: AAABAOpaqueCiphertext
`,
  );
  const producerFile = write(
    "Pulumi.producer.yaml",
    `config:
  aws:region: eu-west-1
  aws:allowedAccountIds: ["111111111111"]
  event-sourced-pipeline:role: producer
  event-sourced-pipeline:consumerStack: acme/event-sourced-pipeline/consumer
  event-sourced-pipeline:maxBodyBytes: "0"
`,
  );
  const outputs = write(
    "consumer.json",
    JSON.stringify({
      analyticsStreamArn: "arn:aws:kinesis:eu-west-1:222222222222:stream/analytics-stream-0a1b2c3",
      analyticsKeyArn: "arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555",
      accessMode: "resourcePolicy",
      bridgeRoleArn: "arn:aws:iam::111111111111:role/event-pipeline-bridge",
      producerAccountId: "111111111111",
      region: "eu-west-1",
    }),
  );

  it("passes a good consumer file, secrets known only to be set, and checks its generated names", () => {
    const r = preflight("--stack", "consumer", "--file", consumerFile);
    expect(r.out).to.match(
      /preflight: stack consumer \(consumer, account 222222222222, eu-west-1\): no problem; \d+ resources, every name within AWS's limits/,
    );
    // No alarm topic: a note, not a problem (nothing is paged, and the AWS-reviewer audit found no one told).
    expect(r.out).to.include("preflight: note: alarmTopicArn is not set, so the stack's 4 alarms notify no one");
    expect(r.status).to.equal(0);
    const paged = write(
      "Pulumi.paged.yaml",
      fs.readFileSync(consumerFile, "utf8") + "  event-sourced-pipeline:alarmTopicArn: arn:aws:sns:eu-west-1:222222222222:ops\n",
    );
    const withTopic = preflight("--stack", "consumer", "--file", paged);
    expect(withTopic.status, withTopic.out).to.equal(0);
    expect(withTopic.out).not.to.include("alarmTopicArn is not set");
  });

  it("lists every problem of a producer file against the consumer's outputs (a bad value, the other access mode and what that mode lacks), and exits 1", () => {
    const r = preflight("--stack", "producer", "--file", producerFile, "--consumer-outputs", outputs);
    expect(r.status).to.equal(1);
    expect(r.out).to.include("preflight: 4 problem(s) in stack producer; nothing was deployed:");
    expect(r.out).to.include("  - config maxBodyBytes: CommandApi commands: maxBodyBytes must be 1–921600, got 0");
    expect(r.out).to.include('  - accessMode is "assumeRole" here but "resourcePolicy" in consumer stack acme/event-sourced-pipeline/consumer');
  });

  it("says --consumer-outputs is not read when the file sets no consumerStack (as the shipped Pulumi.producer.yaml)", () => {
    const bare = write("Pulumi.bare.yaml", fs.readFileSync(producerFile, "utf8").replace(/^.*consumerStack.*\n/m, ""));
    const r = preflight("--stack", "producer", "--file", bare, "--consumer-outputs", outputs);
    expect(r.out).to.include(`preflight: note: --consumer-outputs is not read: ${bare} sets no consumerStack`);
    expect(r.status, "the consumer's outputs are then missing").to.equal(1);
  });

  it("answers a bad option in one line with exit 64, and a producer without the consumer's outputs likewise", () => {
    const bogus = preflight("--stack", "producer", "--bogus");
    expect(bogus.status).to.equal(64);
    expect(bogus.out.trim().split("\n")).to.have.length(1);
    expect(bogus.out).to.match(/^preflight: Unknown option '--bogus'/);
    const missing = preflight("--stack", "producer", "--file", producerFile);
    expect(missing.status).to.equal(64);
    expect(missing.out).to.match(/^preflight: --consumer-outputs <file> is required/);
    const help = preflight("--help");
    for (const option of ["--stack", "--file", "--consumer-outputs", "--account", "--region", "--help"]) expect(help.out).to.include(option);
  });
});
