/**
 * A reused Idempotency-Key with other data (issue 10): the rule "per eventId,
 * the first record in stream order defines its data" applied by both
 * consumers. Through the API: a race both get 202, the loser's poll says
 * rejected and why, the landing holds only the winner; once projected, a
 * reuse answers 422 and writes nothing. As a property: for random keyed and
 * unkeyed writes and random batch splits, the read model and the analytics
 * landing agree on the data behind every eventId.
 */
import { expect } from "chai";
import fc from "fast-check";
import { validate as domainValidate, reduce as domainReduce, map as domainMap } from "../../../domain";
import { createApi } from "../../../handlers/api";
import { BridgeConfig, createBridge } from "../../../handlers/bridge";
import { createProjector } from "../../../handlers/projector";
import { redriveBridge } from "../../../handlers/ops/bridgeRedrive";
import { dynamoClient, kinesisClient } from "../../../handlers/shared/clients";
import type { Mapper, Reducer } from "../../../handlers/shared/domain";
import { ENVELOPE_SCHEMA_VERSION, EventEnvelope } from "../../../handlers/shared/envelope";
import type { KinesisStreamRecord } from "../../../handlers/shared/kinesisEvent";
import { idempotentEventId } from "../../../handlers/producer/ulid";
import { accountCredentials, CONSUMER_ACCOUNT, createStream, createTable, readStream, testDynamo, testKinesis, uniqueName } from "../../support/aws";
import { getAggregateRequest, postEventRequest } from "../../support/apiFixtures";
import { landed, recordingClock, sourceRecords } from "../../support/bridge";
import { buggyMap, EXPLODE_CENTS, fastClock, parkedEvents, setupRig, views } from "../../support/projectorFixtures";

const RETRY = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 };

async function consumers(table: string, parked: string, reduce: Reducer<unknown>, map: Mapper, dedupWindow = 64) {
  const target = uniqueName("conflict-landing");
  const forwarded = uniqueName("forwarded");
  await createTable(testDynamo(), forwarded);
  const bridgeParked = uniqueName("bridge-parked");
  await createTable(testDynamo(), bridgeParked, "sk");
  const config: BridgeConfig = {
    targetStreamArn: await createStream(testKinesis(CONSUMER_ACCOUNT), target),
    parkedTableName: bridgeParked,
    forwardedTableName: forwarded,
    retry: RETRY,
    maxRecordsPerCall: 500,
    maxBytesPerCall: 5 << 20,
  };
  const bridge = createBridge({
    kinesis: kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) }),
    dynamodb: dynamoClient(),
    map,
    config,
    clock: recordingClock(),
    log: () => {},
  });
  const projector = createProjector({
    dynamodb: dynamoClient(),
    reduce,
    clock: fastClock(),
    log: () => {},
    config: { tableName: table, parkedTableName: parked, dedupWindow, retry: RETRY, maxFoldAttempts: 5 },
  });
  return { projector, bridge, target, bridgeParked, config };
}

/** The command API over a rig's stream and read model, with the example domain's validate. */
function apiOver(rig: { stream: string; table: string }) {
  return createApi({
    kinesis: kinesisClient(),
    dynamodb: dynamoClient(),
    config: { streamName: rig.stream, tableName: rig.table, maxBodyBytes: 4096 },
    validate: domainValidate,
    log: () => {},
  });
}

describe("a reused Idempotency-Key with other data: first in stream order wins, in both consumers", function () {
  this.timeout(180_000);

  it("racing requests both get 202; the loser's poll says rejected and why, the landing holds only the winner; once projected, a reuse is 422 and writes nothing", async () => {
    const rig = await setupRig();
    const api = apiOver(rig);
    const send = (sku: string) =>
      api(
        postEventRequest("order-k", {
          body: { type: "OrderPlaced", data: { customerId: "c1", lines: [{ sku, quantity: 1, unitPriceCents: 100 }] } },
          headers: { "idempotency-key": "k-1" },
        }),
      );
    const answers = await Promise.all(["A", "B", "C"].map(send));
    expect(answers.map((a) => a.statusCode)).to.deep.equal([202, 202, 202]);
    const accepted = answers.map((a) => JSON.parse(a.body));
    const records = await readStream(rig.kinesis, rig.stream);
    const { projector, bridge, target, config } = await consumers(rig.table, rig.parked, domainReduce as Reducer<unknown>, domainMap);
    await projector({ Records: records });
    await bridge({ Records: records });

    const winner = JSON.parse(Buffer.from(records[0].kinesis.data, "base64").toString("utf8")).data.lines[0].sku;
    const polls = await Promise.all(accepted.map((a) => api(getAggregateRequest("order-k", a.sequenceNumber)).then((r) => JSON.parse(r.body))));
    for (let i = 0; i < 3; i++) {
      const won = records[0].kinesis.sequenceNumber === accepted[i].sequenceNumber;
      expect(polls[i].visible).to.equal(true);
      if (won) expect(polls[i]).to.not.have.property("rejected");
      else expect(polls[i].rejected).to.deep.equal({ eventId: accepted[i].eventId, reason: "Idempotency-Key reused with different data" });
    }
    const wires = (await landed(target)).map((l) => l.wire);
    expect(wires.map((w) => [w.eventId, w.data])).to.have.length(1);
    expect((wires[0].data as { amountCents: number }).amountCents).to.equal(100);
    expect(((await views(rig.dynamo, rig.table))["order-k"].state as { lines: { sku: string }[] }).lines.map((l) => l.sku)).to.deep.equal([winner]);

    // The operator's bridge re-drive (npm run redrive -- --bridge-parked … --apply, without the forwarded-ids table) keeps
    // the two losers parked and sends neither: the landing still holds the winner's body alone.
    const { forwardedTableName: _claims, ...redriveConfig } = config;
    const redriven = await redriveBridge({
      kinesis: kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) }),
      dynamodb: dynamoClient(),
      map: domainMap,
      config: redriveConfig,
    });
    expect([redriven.resent, redriven.stillParked, redriven.rejected.map((r) => r.eventId)]).to.deep.equal([0, [], [accepted[0].eventId, accepted[0].eventId]]);
    expect((await landed(target)).map((l) => (l.wire.data as { amountCents: number }).amountCents)).to.deep.equal([100]);

    // Projected now: the API sees the key's first body and refuses another at once; the same body is still a retry.
    const reuse = await send(winner === "A" ? "B" : "A");
    expect(reuse.statusCode, reuse.body).to.equal(422);
    expect(JSON.parse(reuse.body).error).to.deep.include({ code: "IdempotencyKeyReused" });
    expect(JSON.parse(reuse.body).error.message).to.match(/already used for event idem-.* with a different body; nothing was written/);
    expect(await readStream(rig.kinesis, rig.stream)).to.have.length(3);
    expect((await send(winner)).statusCode).to.equal(202);
  });

  for (const [title, first, second, liveMap] of [
    ["that map forwards nothing of (OrderErased)", { type: "OrderErased", data: {} }, { type: "OrderCancelled", data: {} }, domainMap],
    [
      "that makes map throw (parked by the bridge)",
      { type: "OrderPaid", data: { amountCents: EXPLODE_CENTS } },
      { type: "OrderPaid", data: { amountCents: 100 } },
      buggyMap,
    ],
  ] as const)
    it(`a first body ${title} still owns its id: the reused body is parked as rejected, never forwarded, and the re-drive after a fix sends the first alone`, async () => {
      const rig = await setupRig();
      const api = apiOver(rig);
      const post = (body: object, key?: string) => api(postEventRequest("order-z", { body, headers: key ? { "idempotency-key": key } : {} }));
      expect((await post({ type: "OrderPlaced", data: { customerId: "c1", lines: [{ sku: "A", quantity: 1, unitPriceCents: 100 }] } })).statusCode).to.equal(
        202,
      );
      // Both before either is projected: both accepted, the first in stream order owns the key's id.
      const answers = [await post(first, "k-close"), await post(second, "k-close")];
      expect(answers.map((a) => a.statusCode)).to.deep.equal([202, 202]);
      const eventId = JSON.parse(answers[0].body).eventId;
      const records = await readStream(rig.kinesis, rig.stream);
      const { projector, bridge, target, bridgeParked, config } = await consumers(rig.table, rig.parked, domainReduce as Reducer<unknown>, liveMap);
      await projector({ Records: records });
      await bridge({ Records: records });
      const rows = await parkedEvents(rig.dynamo, bridgeParked);
      expect(rows.filter((r) => r.reason === "Idempotency-Key reused with different data").map((r) => r.eventId)).to.deep.equal([eventId]);
      // The loser's poll says it lost, on a tombstone too (its winner erased the order).
      const poll = await api(getAggregateRequest("order-z", JSON.parse(answers[1].body).sequenceNumber));
      expect([poll.statusCode, JSON.parse(poll.body).rejected]).to.deep.equal([
        first.type === "OrderErased" ? 404 : 200,
        { eventId, reason: "Idempotency-Key reused with different data" },
      ]);
      const bodies = async () => (await landed(target)).filter((l) => l.wire.eventId === eventId).map((l) => l.wire.data as { stage: string });
      expect(await bodies(), "the rejected body never reaches analytics").to.deep.equal([]);
      // The map fixed, the operator's re-drive (without the forwarded-ids table, as npm run redrive runs it).
      const { forwardedTableName: _claims, ...redriveConfig } = config;
      await redriveBridge({
        kinesis: kinesisClient({ credentials: accountCredentials(CONSUMER_ACCOUNT) }),
        dynamodb: dynamoClient(),
        map: domainMap,
        config: redriveConfig,
      });
      const expected = liveMap === buggyMap ? [{ stage: "paid", amountCents: EXPLODE_CENTS }] : [];
      expect(
        (await bodies()).map((b) => ({ stage: b.stage, ...(b.stage === "paid" ? { amountCents: (b as { amountCents?: number }).amountCents } : {}) })),
      ).to.deep.equal(expected);
    });

  it("property: for random keyed retries and reuses, split into random batches, the read model and the landing agree on the data behind every eventId", async () => {
    // A domain that keeps every applied event's amount under its id (an id applied twice holds two), so the read model
    // can be compared with the landing.
    const reduce: Reducer<Record<string, number[]>> = (state, e) => ({
      ...(state ?? {}),
      [e.eventId]: [...(state?.[e.eventId] ?? []), (e.data as { amount: number }).amount],
    });
    const map: Mapper = (e) => ({ contract: "amounts.v1", data: { amount: (e.data as { amount: number }).amount } });
    // Histories long enough (up to 40 writes on 2 aggregates, windows of 2–4) that retries and reuses land far beyond the
    // projector's dedup window: only its claims can recognise them there.
    const write = fc.record({
      agg: fc.integer({ min: 0, max: 1 }),
      key: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined, freq: 2 }),
      amount: fc.integer({ min: 1, max: 3 }),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(write, { minLength: 1, maxLength: 40, size: "max" }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 2, max: 4 }),
        async (writes, pBatch, bBatch, dedupWindow) => {
          run += 1;
          const rig = await setupRig();
          const envelopes: EventEnvelope[] = writes.map((w, i) => {
            const aggregateId = `p${run}-a${w.agg}`;
            const eventId = w.key === undefined ? `p${run}-plain-${i}` : idempotentEventId(aggregateId, `key-${w.key}`);
            return {
              eventId,
              aggregateId,
              type: "Paid",
              occurredAt: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
              schemaVersion: ENVELOPE_SCHEMA_VERSION,
              data: { amount: w.amount },
            };
          });
          const records = await sourceRecords(
            rig.kinesis,
            rig.stream,
            envelopes.map((e) => ({ partitionKey: e.aggregateId, body: e })),
          );
          const { projector, bridge, target } = await consumers(rig.table, rig.parked, reduce as Reducer<unknown>, map, dedupWindow);
          const batches = (size: number): KinesisStreamRecord[][] =>
            records.reduce<KinesisStreamRecord[][]>((out, r, i) => (i % size === 0 ? [...out, [r]] : (out[out.length - 1].push(r), out)), []);
          for (const b of batches(pBatch)) expect((await projector({ Records: b })).batchItemFailures).to.deep.equal([]);
          for (const b of batches(bBatch)) expect((await bridge({ Records: b })).batchItemFailures).to.deep.equal([]);

          const applied: Record<string, number[]> = {};
          for (const v of Object.values(await views(rig.dynamo, rig.table))) Object.assign(applied, v.state as Record<string, number[]>);
          for (const [id, amounts] of Object.entries(applied)) expect(amounts, `${id} applied ${amounts.length} times`).to.have.length(1);
          const model: Record<string, number> = Object.fromEntries(Object.entries(applied).map(([id, amounts]) => [id, amounts[0]]));
          const landing: Record<string, number[]> = {};
          for (const { wire } of await landed(target)) (landing[wire.eventId] ??= []).push((wire.data as { amount: number }).amount);
          expect(Object.keys(landing).sort()).to.deep.equal(Object.keys(model).sort());
          for (const [id, amounts] of Object.entries(landing))
            expect(
              amounts.every((a) => a === model[id]),
              `${id}: landing ${amounts}, read model ${model[id]}`,
            ).to.equal(true);
          // And what they agree on is the first in stream order.
          const first: Record<string, number> = {};
          for (const e of envelopes) if (!(e.eventId in first)) first[e.eventId] = (e.data as { amount: number }).amount;
          expect(model).to.deep.equal(first);
          expect((await parkedEvents(rig.dynamo, rig.parked)).every((p) => p.reason === "Idempotency-Key reused with different data")).to.equal(true);
        },
      ),
      { numRuns: 20 },
    );
  });
});
