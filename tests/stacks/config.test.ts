/**
 * The config keys each stack's program reads are exactly stacks/config.ts's
 * CONFIG_KEYS, which `npm start -- --config` checks keys against: every key
 * the program reads (recorded under mocks, through Pulumi's Config) is listed,
 * and every listed key is read by one of the runs below.
 */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS } from "../../stacks/config";
import { projectName } from "../../local/shared/project";
import { runProgram } from "../support/pulumiMocks";
import { CONSUMER_OUTPUTS, runProducer } from "../support/producerRun";

type ConfigImpl = { getImpl: (this: pulumi.Config, key: string, ...rest: unknown[]) => unknown };

/** The project keys the program reads while `run` runs. */
async function keysRead(run: () => Promise<unknown>): Promise<Set<string>> {
  const proto = pulumi.Config.prototype as unknown as ConfigImpl;
  const original = proto.getImpl;
  const keys = new Set<string>();
  proto.getImpl = function (this: pulumi.Config, key: string, ...rest: unknown[]) {
    if (this.name === projectName()) keys.add(key);
    return original.call(this, key, ...rest);
  };
  try {
    await run();
  } finally {
    proto.getImpl = original;
  }
  return keys;
}

describe("stack config keys (CONFIG_KEYS)", () => {
  it("the consumer's program reads only listed keys, and every listed key in one of its modes", async () => {
    const base = { role: "consumer", producerAccountId: "111111111111", externalId: "test-external-id" };
    const read = new Set<string>();
    for (const extra of [{}, { accessMode: "resourcePolicy" }] as Record<string, string>[]) {
      for (const k of await keysRead(() => runProgram({ stack: "consumer", account: "222222222222", region: "us-east-1", config: { ...base, ...extra } })))
        read.add(k);
    }
    expect([...read].filter((k) => !(CONFIG_KEYS.consumer as readonly string[]).includes(k))).to.deep.equal([]);
    expect([...CONFIG_KEYS.consumer].filter((k) => !read.has(k))).to.deep.equal([]);
  });

  it("the producer's program reads only listed keys, and every listed key with a StackReference or explicit outputs", async () => {
    const read = new Set<string>();
    const explicit = { consumerStack: "", ...CONSUMER_OUTPUTS } as Record<string, string>;
    for (const run of [() => runProducer(), () => runProducer(explicit, {})]) for (const k of await keysRead(run)) read.add(k);
    expect([...read].filter((k) => !(CONFIG_KEYS.producer as readonly string[]).includes(k))).to.deep.equal([]);
    expect([...CONFIG_KEYS.producer].filter((k) => !read.has(k))).to.deep.equal([]);
  });
});
