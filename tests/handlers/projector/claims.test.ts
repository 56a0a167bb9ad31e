/**
 * The projector's claims of keyed eventIds (handlers/projector/claims.ts) through the real projector against
 * dynalite: a keyed retry or a reused Idempotency-Key is recognised however many events lie between it and
 * the original (beyond the dedup window), and a crash between the claim and the item's write loses nothing.
 */
import { expect } from "chai";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { createApi } from "../../../handlers/api";
import { READ_MODEL_CLAIM_PREFIX } from "../../../handlers/claims/eventClaims";
import { eventDataHash } from "../../../handlers/projector/dedupWindow";
import { idempotentEventId } from "../../../handlers/producer/ulid";
import { dynamoClient, kinesisClient } from "../../../handlers/shared/clients";
import type { EventEnvelope } from "../../../handlers/shared/envelope";
import { padSequence } from "../../../handlers/shared/sequence";
import { toBatches } from "../../support/aws";
import { getAggregateRequest } from "../../support/apiFixtures";
import { countRequests, injectFaults, serviceError } from "../../support/sdkMiddleware";
import { append, deliver, envelope, newProjector, parkedEvents, setupRig, views } from "../../support/projectorFixtures";
import { DEFAULT_DEDUP_WINDOW } from "../../../handlers/projector";
import { RESERVED_KEY_REASON } from "../../../handlers/projector/claims";

const noFailures = { batchItemFailures: [] };
const KEYED = idempotentEventId("a", "key-1");

function keyed(note: string): EventEnvelope {
  return { ...envelope("a", KEYED), data: { note } };
}

/** The keyed event, 20 unkeyed ones on the same aggregate (beyond the default window of 16), then `late`. */
function history(late: EventEnvelope): EventEnvelope[] {
  return [keyed("first"), ...Array.from({ length: 20 }, (_, i) => envelope("a", `plain-${i}`)), late];
}

describe("projector claims: keyed retries and reuses beyond the dedup window", function () {
  this.timeout(60_000);

  it("skips a keyed retry after 20 other events on the aggregate: version unchanged, applied once, position past it", async () => {
    expect(DEFAULT_DEDUP_WINDOW).to.be.below(20);
    const rig = await setupRig();
    const records = await append(rig, history(keyed("first")));
    const { project } = newProjector(rig, { dedupWindow: DEFAULT_DEDUP_WINDOW });

    expect(await deliver(project, toBatches(records, 5))).to.deep.equal(toBatches(records, 5).map(() => noFailures));

    const a = (await views(rig.dynamo, rig.table)).a;
    expect(a.version).to.equal(21);
    expect((a.state as { ids: string[] }).ids.filter((id) => id === KEYED)).to.have.length(1);
    expect(a.position).to.equal(records[21].kinesis.sequenceNumber);
    expect(await parkedEvents(rig.dynamo, rig.parked)).to.deep.equal([]);
  });

  it("rejects a reuse with another body after 20 other events: not applied, parked without blocking, its poll says rejected", async () => {
    const rig = await setupRig();
    const records = await append(rig, [...history(keyed("other")), envelope("a", "after")]);
    const { project } = newProjector(rig, { dedupWindow: DEFAULT_DEDUP_WINDOW });

    await deliver(project, toBatches(records, 7));

    const a = (await views(rig.dynamo, rig.table)).a;
    expect(a.version).to.equal(22); // the keyed event, 20 plain ones and "after"; not the reuse
    expect(a.parked).to.equal(false);
    expect((a.state as { ids: string[] }).ids.slice(-2)).to.deep.equal(["plain-19", "after"]);
    const parked = await parkedEvents(rig.dynamo, rig.parked);
    expect(parked.map((p) => [p.eventId, p.reason])).to.deep.equal([[KEYED, "Idempotency-Key reused with different data"]]);
    const api = createApi({
      kinesis: kinesisClient(),
      dynamodb: dynamoClient(),
      config: { streamName: rig.stream, tableName: rig.table, maxBodyBytes: 4096 },
      validate: () => undefined,
      log: () => {},
    });
    const poll = JSON.parse((await api(getAggregateRequest("a", records[21].kinesis.sequenceNumber))).body);
    expect(poll.visible).to.equal(true);
    expect(poll.rejected).to.deep.equal({ eventId: KEYED, reason: "Idempotency-Key reused with different data" });
  });

  it("a crash between the claim and the item's write: the redelivery applies the event once (the claim is its own)", async () => {
    const rig = await setupRig();
    const records = await append(rig, [keyed("first"), envelope("a", "e2")]);
    const { project, dynamodb } = newProjector(rig);
    // The item's PutItem fails once, after the claim's succeeded: the batch is reported failed, as after a crash.
    let failed = 0;
    injectFaults(dynamodb, (name, input) => {
      if (name !== "PutItemCommand" || input.Item?.pk?.S !== "a" || failed > 0) return undefined;
      failed += 1;
      return serviceError("ValidationException");
    });

    const first = await project({ Records: records });
    expect(failed).to.equal(1);
    expect(first.batchItemFailures).to.deep.equal([{ itemIdentifier: records[0].kinesis.sequenceNumber }]);
    expect((await views(rig.dynamo, rig.table)).a).to.equal(undefined);
    const claim = await rig.dynamo.send(
      new GetItemCommand({ TableName: rig.table, Key: { pk: { S: READ_MODEL_CLAIM_PREFIX + KEYED } }, ConsistentRead: true }),
    );
    expect(claim.Item).to.deep.equal({
      pk: { S: READ_MODEL_CLAIM_PREFIX + KEYED },
      dataHash: { S: eventDataHash(keyed("first")) },
      ownerPosition: { S: padSequence(records[0].kinesis.sequenceNumber) },
    });

    expect(await project({ Records: records })).to.deep.equal(noFailures);
    const a = (await views(rig.dynamo, rig.table)).a;
    expect(a.version).to.equal(2);
    expect((a.state as { ids: string[] }).ids).to.deep.equal([KEYED, "e2"]);
  });

  it("a raw record under a claim's key (a partition key no aggregate id can be) is parked; the claim stays as it was", async () => {
    const rig = await setupRig();
    const claimKey = READ_MODEL_CLAIM_PREFIX + KEYED;
    const records = await append(rig, [keyed("first"), { partitionKey: claimKey, bytes: Buffer.from("garbage") }, keyed("first")]);
    const { project } = newProjector(rig);
    const get = () => rig.dynamo.send(new GetItemCommand({ TableName: rig.table, Key: { pk: { S: claimKey } }, ConsistentRead: true }));
    await project({ Records: records.slice(0, 1) });
    const claim = (await get()).Item;

    expect(await project({ Records: records.slice(1) })).to.deep.equal(noFailures);
    expect((await get()).Item).to.deep.equal(claim);
    expect((await views(rig.dynamo, rig.table)).a.version).to.equal(1);
    const parked = await parkedEvents(rig.dynamo, rig.parked);
    expect(parked.map((p) => [p.aggregateId, p.reason])).to.deep.equal([[claimKey, RESERVED_KEY_REASON]]);
  });

  it("unkeyed events are never claimed; a keyed event costs one more PutItem, a late retry one PutItem and one GetItem", async () => {
    const rig = await setupRig();
    const records = await append(rig, history(keyed("first")));
    const { project, dynamodb } = newProjector(rig, { dedupWindow: DEFAULT_DEDUP_WINDOW });
    const counts = countRequests(dynamodb);
    await deliver(project, [{ Records: records.slice(0, 1) }]);
    expect(counts).to.deep.equal({ BatchGetItemCommand: 1, PutItemCommand: 2 });
    await deliver(project, [{ Records: records.slice(1, 21) }]);
    expect(counts).to.deep.equal({ BatchGetItemCommand: 2, PutItemCommand: 3 });
    await deliver(project, [{ Records: records.slice(21) }]);
    expect(counts).to.deep.equal({ BatchGetItemCommand: 3, PutItemCommand: 5, GetItemCommand: 1 });
  });
});
