/**
 * Operator re-drive of the bridge's parked events, after a fix to `map`: an
 * event that decodes and maps now (the bridge's own mapRecord decides) is
 * re-sent through the bridge itself (same wire format, same PutRecords
 * retries; the consumer dedups on `id`), then its row is deleted; one that
 * still fails stays parked.
 */
import type { DynamoDBClient, WriteRequest } from "@aws-sdk/client-dynamodb";
import { BridgeDeps, createBridge } from "../bridge";
import { mapRecord } from "../bridge/decode";
import type { KinesisStreamRecord } from "../shared/kinesisEvent";
import { ParkedEvent, parkedTable } from "../shared/parkedTable";
import { parkedToRecord } from "./parkedRows";

/** What a bridge re-drive did. */
export interface BridgeRedriveResult {
  resent: number;
  deleted: number;
  stillParked: { aggregateId: string; sequenceNumber: string; reason: string }[];
}

/**
 * Re-sends the bridge's parked events that decode and map now, through the
 * bridge itself (deps.config.parkedTableName is the parked table), and deletes
 * their rows once acknowledged; the others stay parked. Re-sending twice is
 * harmless: the consumer dedups on `id`.
 */
export async function redriveBridge(deps: BridgeDeps): Promise<BridgeRedriveResult> {
  const { dynamodb, map, config } = deps;
  const parked = parkedTable({ dynamodb, tableName: config.parkedTableName, retry: config.retry, clock: deps.clock });
  const ready: { row: ParkedEvent; record: KinesisStreamRecord }[] = [];
  const stillParked: BridgeRedriveResult["stillParked"] = [];
  for (const row of await parked.list()) {
    const record = parkedToRecord(row);
    const mapped = mapRecord(record, 0, map);
    if (mapped.ok) ready.push({ row, record });
    else stillParked.push({ aggregateId: row.aggregateId, sequenceNumber: row.sequenceNumber, reason: mapped.reason });
  }
  if (ready.length === 0) return { resent: 0, deleted: 0, stillParked };
  // Should the bridge park one again all the same (a map that answers differently the second time), it parks it
  // under the same key: note those keys, so that its row is not deleted.
  const reparked: string[] = [];
  const watching = {
    send: (command: { input?: { RequestItems?: Record<string, WriteRequest[]> } }) => {
      for (const w of command.input?.RequestItems?.[config.parkedTableName] ?? []) {
        const item = w.PutRequest?.Item;
        if (item) reparked.push(rowKey({ aggregateId: item.pk?.S ?? "", sequenceNumber: item.sequenceNumber?.S ?? "" }));
      }
      return dynamodb.send(command as never);
    },
  } as unknown as DynamoDBClient;
  const bridge = createBridge({ ...deps, dynamodb: watching, log: deps.log ?? (() => {}) });
  const response = await bridge({ Records: ready.map((r) => r.record) });
  if (response.batchItemFailures.length > 0) {
    // Partly sent at most: delete nothing, the next run re-sends (the consumer dedups on id).
    const reason = "re-send did not complete; run the re-drive again";
    return {
      resent: 0,
      deleted: 0,
      stillParked: stillParked.concat(ready.map(({ row }) => ({ aggregateId: row.aggregateId, sequenceNumber: row.sequenceNumber, reason }))),
    };
  }
  const sent: ParkedEvent[] = [];
  for (const { row } of ready) {
    if (!reparked.includes(rowKey(row))) sent.push(row);
    else stillParked.push({ aggregateId: row.aggregateId, sequenceNumber: row.sequenceNumber, reason: "the bridge parked it again" });
  }
  await parked.delete(sent);
  return { resent: sent.length, deleted: sent.length, stillParked };
}

function rowKey(r: Pick<ParkedEvent, "aggregateId" | "sequenceNumber">): string {
  return `${r.aggregateId}\u0000${r.sequenceNumber}`;
}
