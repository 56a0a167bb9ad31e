/**
 * No config change replaces a resource that holds data, or renames one that
 * others know by name. For every stateful resource (streams, tables, buckets,
 * keys, queues, the stream consumer, Firehose, the mappings) and every named
 * one (roles, functions, key aliases, log groups, alarms: IDENTITY_FORCE_NEW),
 * the inputs the AWS provider replaces it for
 * ("forces new resource" in terraform-provider-aws) must be the same with
 * every optional key set, to the example value its stack file shows, as
 * with none: otherwise a `pulumi up` after setting the key would replace
 * the resource, and a bucket or stream with it (adding Object Lock to a
 * deployed archive once did). Resources only one of the runs has (a new
 * version's tables, a retired one's) are not compared: adding or removing
 * them is what the key asks for.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_KEYS } from "../../stacks/configKeys";
import { ProgramRun, runProgram } from "../support/pulumiMocks";
import { IDENTITY_FORCE_NEW, forceNewInputs } from "../support/forceNew";
import { CONSUMER, CONSUMER_STACK, PRODUCER } from "../support/producerRun";

/** Keys that choose what the stack is rather than how: not optional settings. */
const STRUCTURAL = ["role", "consumerStack", "producerAccountId", "externalId", "analyticsStreamArn", "analyticsKeyArn", "writerRoleArn"];

const REGION = "eu-west-1"; // the stack files' examples name this region and the accounts below
const ROOT = path.join(__dirname, "..", "..");

/** Every commented example `# event-sourced-pipeline:<key>: <value>` of a stack file, by key, in file order. */
function examples(file: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of fs.readFileSync(path.join(ROOT, file), "utf8").split("\n")) {
    const m = /^\s*#\s*event-sourced-pipeline:(\w+):\s*(\S.*)$/.exec(line);
    if (m) (out[m[1]] ??= []).push(String(parse(`v: ${m[2]}`).v));
  }
  return out;
}

/** What differs between two runs' replacement-forcing inputs, on the URNs both have. */
function replaced(base: ProgramRun, changed: ProgramRun): string[] {
  const after = forceNewInputs(changed, IDENTITY_FORCE_NEW);
  const out: string[] = [];
  for (const [urn, inputs] of forceNewInputs(base, IDENTITY_FORCE_NEW)) {
    const other = after.get(urn);
    if (other && JSON.stringify(other) !== JSON.stringify(inputs)) out.push(`${urn.split("::").pop()}: ${JSON.stringify(inputs)} -> ${JSON.stringify(other)}`);
  }
  return out;
}

const consumerBase = { role: "consumer", producerAccountId: PRODUCER, externalId: "test-external-id" };
/** The consumer stack with `extra` set (no ExternalId in resourcePolicy mode, which has no writer role). */
function consumer(extra: Record<string, string>): Promise<ProgramRun> {
  const { externalId, ...rest } = consumerBase;
  const config = extra.accessMode === "resourcePolicy" ? { ...rest, ...extra } : { ...rest, externalId, ...extra };
  return runProgram({ stack: "consumer", account: CONSUMER, region: REGION, config });
}
const producer = (outputs: Record<string, unknown>, extra: Record<string, string>) =>
  runProgram({
    stack: "producer",
    account: PRODUCER,
    region: REGION,
    config: { role: "producer", consumerStack: CONSUMER_STACK, ...extra },
    stackReferences: { [CONSUMER_STACK]: outputs },
  });

describe("config changes replace no stateful resource", function () {
  this.timeout(300_000);
  const producerExamples = examples("Pulumi.producer.yaml");
  const consumerExamples = examples("Pulumi.consumer.yaml");
  const one = (key: string) => producerExamples[key][0];

  it("the stack files show an example for every optional key (so the runs below set every one)", () => {
    const missing = (stack: "producer" | "consumer", shown: Record<string, string[]>) =>
      CONFIG_KEYS[stack].filter((k) => !STRUCTURAL.includes(k) && !shown[k]).map((k) => `${stack}: ${k}`);
    expect([...missing("producer", producerExamples), ...missing("consumer", consumerExamples)]).to.deep.equal([]);
  });

  it("the consumer: each optional key at its example value", async () => {
    const base = await consumer({});
    const found: string[] = [];
    for (const key of CONFIG_KEYS.consumer.filter((k) => !STRUCTURAL.includes(k))) {
      const extra: Record<string, string> = { [key]: consumerExamples[key][0] };
      found.push(...replaced(base, await consumer(extra)).map((d) => `${key}: ${d}`));
    }
    expect(found).to.deep.equal([]);
  });

  it("the producer: the optional keys in groups, each at its example value", async () => {
    const outputs = (await consumer({})).outputs as Record<string, unknown>;
    const base = await producer(outputs, {});
    // The optional keys by what they configure (each group in one run: the keys of a group depend on each other), the
    // read-model versions and the keys both stacks must agree on apart (below); a key added later falls in "the rest".
    const SEPARATE = ["readModelVersions", "readModelActiveVersion", "accessMode", "bridgeRoleName"];
    const optional = CONFIG_KEYS.producer.filter((k) => !STRUCTURAL.includes(k) && !SEPARATE.includes(k));
    const kinds = [/^(stream|shardCount$)/, /^(apiAuth|jwt|cors|maxBodyBytes)/, /^archive/];
    const grouped = kinds.map((kind) => optional.filter((k) => kind.test(k)));
    grouped.push(optional.filter((k) => !kinds.some((kind) => kind.test(k))));
    const groups: Record<string, string>[] = [
      ...grouped.map((keys) => Object.fromEntries(keys.map((k) => [k, one(k)]))),
      // Each read-model example as the stack file shows it, the live ones served.
      ...producerExamples.readModelVersions.map((v) => ({
        readModelVersions: v,
        ...(v.includes("liveFrom") ? { readModelActiveVersion: one("readModelActiveVersion") } : {}),
      })),
    ];
    const found: string[] = [];
    for (const extra of groups) found.push(...replaced(base, await producer(outputs, extra)).map((d) => `${Object.keys(extra).join("+")}: ${d}`));
    // The keys both stacks must agree on, set in both. Renaming the bridge role is what bridgeRoleName is for.
    for (const key of ["accessMode", "bridgeRoleName"]) {
      const extra = { [key]: one(key) };
      const theirs = (await consumer(extra)).outputs as Record<string, unknown>;
      const diffs = replaced(base, await producer(theirs, extra));
      const renamed = key === "bridgeRoleName" ? diffs.filter((d) => d.startsWith("analytics-bridge-forwarder-role: ")) : [];
      if (key === "bridgeRoleName") expect(renamed, "bridgeRoleName renames the bridge role").to.have.length(1);
      found.push(...diffs.filter((d) => !renamed.includes(d)).map((d) => `${key}: ${d}`));
    }
    const covered = new Set(groups.flatMap((g) => Object.keys(g)).concat("accessMode", "bridgeRoleName"));
    expect(
      CONFIG_KEYS.producer.filter((k) => !STRUCTURAL.includes(k) && !covered.has(k)),
      "keys no run sets",
    ).to.deep.equal([]);
    expect(found).to.deep.equal([]);
  });

  it("a live version's liveFrom moved (as a rebuild run again prints) replaces no mapping: every mapping keeps the start it was created with", async () => {
    const outputs = (await consumer({})).outputs as Record<string, unknown>;
    const live = (at: string) => producer(outputs, { readModelVersions: JSON.stringify([{ version: 2, liveFrom: at }]) });
    const [before, after] = [await live("2026-12-01T10:00:00Z"), await live("2026-12-02T10:00:00Z")];
    const mappings = after.resources.filter((r) => r.type === "aws:lambda/eventSourceMapping:EventSourceMapping");
    expect(mappings.map((r) => r.name)).to.include("orders-v2-projector-mapping");
    const moved = mappings.find((r) => r.name === "orders-v2-projector-mapping")!;
    expect(moved.inputs.startingPositionTimestamp, "the new time is what a new mapping would get").to.equal("2026-12-02T10:00:00Z");
    for (const m of mappings) expect(m.ignoreChanges, m.name).to.include.members(["startingPosition", "startingPositionTimestamp"]);
    expect(replaced(before, after)).to.deep.equal([]);
  });

  it("the check sees a replacement (it can fail): another hash key, another stream name", async () => {
    const base = await consumer({});
    const changed = await consumer({});
    const stream = changed.resources.find((r) => r.type === "aws:kinesis/stream:Stream")!;
    stream.inputs = { ...stream.inputs, name: "renamed" };
    expect(replaced(base, changed)).to.have.length(1);
  });
});
