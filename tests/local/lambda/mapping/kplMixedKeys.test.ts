/**
 * A KPL record that packs several aggregates' events under one partition key
 * (as the KPL's aggregation and aws-kinesis-agg write them), then a later
 * plain event of one of those aggregates, through the mapping poller with the
 * projector's declared settings against kinesis-local: Lambda (and the poller)
 * choose a batch's lane by the Kinesis record's key, so with more than one
 * lane the later event was applied first and the earlier one dropped by the
 * position guard. With the default one batch per shard both apply, in order.
 */
import { expect } from "chai";
import { resolveProjector } from "../../../../components/readModelVersion";
import { ArgCheck } from "../../../../components/parts/validation";
import { startMappingPoller } from "../../../../local/lambda/mapping/poller";
import { laneOf } from "../../../../local/lambda/mapping/records";
import { kplAggregate, PRODUCER_ACCOUNT, REGION } from "../../../support/aws";
import { append, appliedIds, envelope, newProjector, setupRig } from "../../../support/projectorFixtures";

const json = (aggregate: string, id: string) => JSON.stringify(envelope(aggregate, id));

describe("mapping lanes and KPL records of several aggregates", function () {
  this.timeout(120_000);

  it("at the projector's declared parallelization factor, an aggregate's event inside another key's KPL record is applied before its later plain event", async () => {
    const declared = resolveProjector(new ArgCheck("Test", "t"), undefined, {}, 24).mapping;
    const rig = await setupRig();
    // An outer key whose lane, were there 6, differs from aggregate a's (the former default).
    let outer = "x0";
    for (let i = 1; laneOf(outer, 6) === laneOf("a", 6); i++) outer = `x${i}`;
    await append(rig, [
      kplAggregate([
        { partitionKey: outer, data: json(outer, `${outer}-1`) },
        { partitionKey: "a", data: json("a", "a1") },
      ]),
      { partitionKey: "a", bytes: Buffer.from(json("a", "a2")) },
    ]);
    const { project } = newProjector(rig);
    let delivered = 0;
    const poller = startMappingPoller(
      {
        eventSourceArn: `arn:aws:kinesis:${REGION}:${PRODUCER_ACCOUNT}:stream/${rig.stream}`,
        functionName: `arn:aws:lambda:${REGION}:${PRODUCER_ACCOUNT}:function:projector`,
        ...declared,
        maximumBatchingWindowInSeconds: 0,
        functionResponseTypes: ["ReportBatchItemFailures"],
      },
      {
        kinesis: rig.kinesis,
        invoke: async (event) => {
          // The batch holding the KPL record runs a little later (a slower or colder environment).
          if (event.Records.some((r) => r.kinesis.partitionKey === outer)) await new Promise((r) => setTimeout(r, 300));
          const out = await project(event);
          delivered += event.Records.length;
          return out;
        },
        sendToOnFailure: async () => undefined,
        pollIntervalMs: 20,
      },
    );
    const deadline = Date.now() + 20_000;
    while (delivered < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await poller.stop();
    expect((await appliedIds(rig.dynamo, rig.table)).a).to.deep.equal(["a1", "a2"]);
  });
});
