/**
 * Polling an idle shard at Lambda's base rate while still reading a put at
 * once: the puts the IAM proxy saw land (local/shared/streamWrites.ts) wake a
 * mapping's shard loop. Against kinesis-local; the idle interval is stretched
 * here so "read at once" and "read at the next idle poll" cannot be confused.
 */
import { expect } from "chai";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { MappingPoller, MappingSpec, startMappingPoller } from "../../../../local/lambda/mapping/poller";
import { KinesisStreamEvent } from "../../../../handlers/shared/kinesisEvent";
import { streamWrites, writeHint } from "../../../../local/shared/streamWrites";
import { countRequests } from "../../../../local/shared/sdkMiddleware";
import { createStream, PRODUCER_ACCOUNT, putJson, REGION, testKinesis, uniqueName } from "../../../support/aws";

const FUNCTION = `arn:aws:lambda:${REGION}:${PRODUCER_ACCOUNT}:function:hinted-fn`;

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("puts heard wake an idle mapping", function () {
  this.timeout(60_000);
  const writer: KinesisClient = testKinesis(PRODUCER_ACCOUNT);
  const pollers: MappingPoller[] = [];
  afterEach(async () => {
    await Promise.all(pollers.splice(0).map((p) => p.stop()));
  });

  async function started(idlePollIntervalMs: number) {
    const stream = uniqueName("hinted");
    const streamArn = await createStream(writer, stream, 1);
    const kinesis = testKinesis(PRODUCER_ACCOUNT);
    const requests = countRequests(kinesis);
    const writes = streamWrites();
    const events: KinesisStreamEvent[] = [];
    const spec: MappingSpec = {
      eventSourceArn: streamArn,
      functionName: FUNCTION,
      startingPosition: "TRIM_HORIZON",
      batchSize: 10,
      maximumBatchingWindowInSeconds: 0,
    };
    const poller = startMappingPoller(spec, {
      kinesis,
      invoke: async (e) => {
        events.push(e);
      },
      sendToOnFailure: async () => undefined,
      pollIntervalMs: 50,
      writes,
      idlePollIntervalMs,
    });
    pollers.push(poller);
    await poller.ready;
    return { stream, streamArn, writes, events, requests };
  }

  it("polls an idle shard at the idle interval, not the busy one, and reads a put heard at once", async () => {
    const { stream, streamArn, writes, events, requests } = await started(60_000);
    await new Promise((r) => setTimeout(r, 1000));
    // Busy polling (every 50 ms) would have read about 20 times by now.
    expect(requests.GetRecordsCommand ?? 0).to.be.at.most(2);
    const t0 = Date.now();
    await putJson(writer, stream, "k", { n: 1 });
    writes.landed(streamArn);
    await waitFor("the heard put delivered", () => events.length === 1, 10_000);
    // Long before the 60 s idle poll.
    expect(Date.now() - t0).to.be.below(10_000);
    // Puts to another stream wake nothing (once the finished batch's own re-reads are done).
    await new Promise((r) => setTimeout(r, 500));
    const reads = requests.GetRecordsCommand;
    writes.landed(`${streamArn}-other`);
    await new Promise((r) => setTimeout(r, 500));
    expect(requests.GetRecordsCommand).to.equal(reads);
  });

  it("reads a put nobody heard (a writer beside the proxy) at the next idle poll", async () => {
    const { stream, events } = await started(1000);
    await putJson(writer, stream, "k", { n: 1 });
    await waitFor("the unheard put delivered", () => events.length === 1, 10_000);
  });

  it("keeps a put heard between two waits for the next one", () => {
    const writes = streamWrites();
    const hint = writeHint(writes, "arn:s")!;
    expect(hint.take()).to.equal(false);
    writes.landed("arn:s");
    writes.landed("arn:other");
    expect(hint.take()).to.equal(true);
    expect(hint.take()).to.equal(false);
    hint.stop();
    writes.landed("arn:s");
    expect(hint.take()).to.equal(false);
    expect(writeHint(undefined, "arn:s")).to.equal(undefined);
  });
});
