import { expect } from "chai";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { dynamoClient } from "../../../handlers/shared/clients";
import { ParkedEvent, parkedTable } from "../../../handlers/shared/parkedTable";
import { padSequence } from "../../../handlers/shared/sequence";
import { createTable, scanAll, uniqueName, testDynamo } from "../../support/aws";
import { countRequests, injectFaults, rewriteOutput, serviceError } from "../../support/sdkMiddleware";
import { fastClock } from "../../support/projectorFixtures";

const RETRY = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 };

/** A parked row with the raw bytes `raw`. */
function parkedRow(aggregateId: string, sequenceNumber: string, raw: string, eventId?: string): ParkedEvent {
  return {
    aggregateId,
    sequenceNumber,
    reason: "test",
    data: Buffer.from(raw).toString("base64"),
    arrivedAt: "2025-01-01T00:00:00.000Z",
    shardEventId: `shardId-000000000000:${sequenceNumber}`,
    ...(eventId === undefined ? {} : { eventId }),
  };
}

/** A fresh parked table, through a client of its own (so middleware stays per test). */
async function freshTable() {
  const tableName = uniqueName("parked");
  await createTable(testDynamo(), tableName, "sk");
  const dynamodb = dynamoClient();
  return { tableName, dynamodb, table: parkedTable({ dynamodb, tableName, retry: RETRY, clock: fastClock() }) };
}

describe("parkedTable: park", () => {
  const event = (i: number): ParkedEvent => parkedRow(`agg${i % 7}`, String(1000 + i), `raw ${i}`, i % 2 ? `e${i}` : undefined);

  it("writes in chunks of 25, retries unprocessed items, and is idempotent by key", async () => {
    const dynamo = testDynamo();
    const { tableName: table, dynamodb: client, table: parked } = await freshTable();
    const counts = countRequests(client);
    let calls = 0;
    rewriteOutput(client, "BatchWriteItemCommand", (output, input) => {
      if (calls++ > 0) return output;
      return { ...output, UnprocessedItems: { [table]: input.RequestItems[table].slice(0, 5) } };
    });
    const events = Array.from({ length: 60 }, (_, i) => event(i));

    await parked.park([...events, events[0]]);
    await parked.park(events);

    expect(counts.BatchWriteItemCommand).to.equal(4 + 3);
    const items = await scanAll(dynamo, table);
    expect(items).to.have.length(60);
    const one = await dynamo.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "agg3" }, sk: { S: padSequence("1003") } } }));
    expect(one.Item!.eventId.S).to.equal("e3");
    expect(one.Item!.data.S).to.equal(Buffer.from("raw 3").toString("base64"));
  });

  it("throws a retryable error when unprocessed items remain after the budget", async () => {
    const { dynamodb: client, table: parked } = await freshTable();
    const counts = countRequests(client);
    rewriteOutput(client, "BatchWriteItemCommand", (output, input) => ({ ...output, UnprocessedItems: input.RequestItems }));

    const err = await parked.park([event(1)]).then(
      () => undefined,
      (e) => e,
    );

    expect(err).to.have.property("name", "UnprocessedItemsException");
    expect(counts.BatchWriteItemCommand).to.equal(3);
  });
});

describe("parkedTable: list, listOf, delete", () => {
  const row = (aggregateId: string, sequenceNumber: string) => parkedRow(aggregateId, sequenceNumber, `raw ${aggregateId} ${sequenceNumber}`);
  // Sequence numbers of different lengths: numeric order is not string order.
  const rows = [row("b", "100"), row("a", "20"), row("b", "9"), row("a", "3"), row("c", "1")];

  async function filled() {
    const fresh = await freshTable();
    await fresh.table.park(rows);
    return fresh;
  }
  const keys = (events: ParkedEvent[]) => events.map((e) => `${e.aggregateId}/${e.sequenceNumber}`);

  it("lists every row by aggregate and numeric sequence order, and one aggregate's rows in sequence order", async () => {
    const { table } = await filled();
    expect(keys(await table.list())).to.deep.equal(["a/3", "a/20", "b/9", "b/100", "c/1"]);
    expect(await table.list()).to.deep.include(rows[0]);
    expect(keys(await table.listOf("b"))).to.deep.equal(["b/9", "b/100"]);
    expect(await table.listOf("nobody")).to.deep.equal([]);
  });

  it("retries a throttled page of a listing within the budget", async () => {
    const { tableName } = await filled();
    const dynamodb = dynamoClient();
    const faults = injectFaults(dynamodb, (name, _input, attempt) =>
      name === "ScanCommand" && attempt === 1 ? serviceError("ThrottlingException") : undefined,
    );
    const clock = fastClock();
    expect(keys(await parkedTable({ dynamodb, tableName, retry: RETRY, clock }).list())).to.deep.equal(["a/3", "a/20", "b/9", "b/100", "c/1"]);
    expect(faults.injected).to.equal(1);
    expect(clock.sleeps).to.have.length(1);
  });

  it("deletes rows by key (twice named, once deleted), re-sending unprocessed items", async () => {
    const { tableName, dynamodb, table } = await filled();
    const counts = countRequests(dynamodb);
    let calls = 0;
    rewriteOutput(dynamodb, "BatchWriteItemCommand", (output, input) => {
      if (calls++ > 0) return output;
      return { ...output, UnprocessedItems: { [tableName]: input.RequestItems[tableName].slice(0, 1) } };
    });
    await table.delete([rows[0], rows[2], rows[0]]);
    expect(counts.BatchWriteItemCommand).to.equal(2);
    expect(keys(await table.list())).to.deep.equal(["a/3", "a/20", "c/1"]);
    await table.delete([rows[0]]); // already gone: a no-op
    expect(await scanAll(testDynamo(), tableName)).to.have.length(3);
  });

  it("throws a retryable error naming what is left when unprocessed deletes remain after the budget", async () => {
    const { dynamodb, table } = await filled();
    rewriteOutput(dynamodb, "BatchWriteItemCommand", (output, input) => ({ ...output, UnprocessedItems: input.RequestItems }));
    const err = await table.delete(rows.slice(0, 2)).then(
      () => undefined,
      (e) => e,
    );
    expect(err).to.have.property("name", "UnprocessedItemsException");
    expect(err.message).to.equal("2 parked rows left undeleted after the retry budget");
    expect(err.$retryable).to.deep.equal({ throttling: true });
  });
});
