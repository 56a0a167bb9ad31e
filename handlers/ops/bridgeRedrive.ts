/**
 * Operator re-drive of the bridge's parked events, after a fix to `map`: an
 * event that decodes and maps now (the bridge's own mapRecord decides) is
 * re-sent through the bridge itself (same wire format, same PutRecords
 * retries; the consumer dedups on `id`), then its row is deleted; one that
 * still fails stays parked. A row parked before deaggregation that holds a
 * whole KPL aggregate is split: every user record is handed to the bridge,
 * which sends what maps and parks the rest one by one under its own key;
 * then the old row goes. A rejected duplicate (an Idempotency-Key reused with
 * other data: its eventId was forwarded with the first data) is never re-sent:
 * it maps, but sending it would give the analytics account the losing body
 * under the winner's `id`. It stays parked, listed apart, as the projector's
 * re-drive keeps its own.
 */
import type { DynamoDBClient, WriteRequest } from "@aws-sdk/client-dynamodb";
import { BridgeDeps, createForwarder } from "../bridge";
import { mapRecord } from "../bridge/decode";
import type { SourceRecord } from "../kpl/sourceRecords";
import { decodeParkedItem, ParkedEvent, parkedPosition, parkedPositionText, parkedTable } from "../shared/parkedTable";
import { IDEMPOTENCY_CONFLICT } from "../shared/readModelItem";
import { legacyAggregateSize, rowSources } from "./parkedRows";

/** What a bridge re-drive did. */
export interface BridgeRedriveResult {
  /** Rows whose events were sent (and deleted). */
  resent: number;
  deleted: number;
  stillParked: { aggregateId: string; sequenceNumber: string; position: string; reason: string }[];
  /** Rejected duplicates, kept parked and never sent: not a failure of the re-drive. */
  rejected: { aggregateId: string; position: string; eventId?: string }[];
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
  const ready: { row: ParkedEvent; sources: SourceRecord[]; whole: boolean }[] = [];
  const stillParked: BridgeRedriveResult["stillParked"] = [];
  const still = (row: ParkedEvent, reason: string) =>
    stillParked.push({ aggregateId: row.aggregateId, sequenceNumber: row.sequenceNumber, position: parkedPositionText(row), reason });
  const rejected: BridgeRedriveResult["rejected"] = [];
  for (const row of await parked.list()) {
    if (row.reason === IDEMPOTENCY_CONFLICT) {
      rejected.push({ aggregateId: row.aggregateId, position: parkedPositionText(row), ...(row.eventId ? { eventId: row.eventId } : {}) });
      continue;
    }
    const sources = rowSources(row);
    const whole = legacyAggregateSize(row) !== undefined;
    const failing = sources.map((s) => mapRecord(s, 0, map)).find((m) => !m.ok);
    if (whole || !failing) ready.push({ row, sources, whole });
    else still(row, failing.ok ? "" : failing.reason);
  }
  if (ready.length === 0) return { resent: 0, deleted: 0, stillParked, rejected };
  // Should the bridge park one again all the same (a map that answers differently the second time, or a user record of
  // a split aggregate that does not map), it parks it under its own key: note those rows, so that they are not deleted.
  const reparked: ParkedEvent[] = [];
  const watching = {
    send: (command: { input?: { RequestItems?: Record<string, WriteRequest[]> } }) => {
      for (const w of command.input?.RequestItems?.[config.parkedTableName] ?? []) if (w.PutRequest?.Item) reparked.push(decodeParkedItem(w.PutRequest.Item));
      return dynamodb.send(command as never);
    },
  } as unknown as DynamoDBClient;
  const forward = createForwarder({ ...deps, dynamodb: watching, log: deps.log ?? (() => {}) });
  const response = await forward(ready.flatMap((r) => r.sources));
  if (response.batchItemFailures.length > 0) {
    // Partly sent at most: delete nothing, the next run re-sends (the consumer dedups on id).
    for (const { row } of ready) still(row, "re-send did not complete; run the re-drive again");
    return { resent: 0, deleted: 0, stillParked, rejected };
  }
  const reparkedKeys = new Set(reparked.map(rowKey));
  const sent: ParkedEvent[] = [];
  const split: ParkedEvent[] = [];
  for (const { row, whole } of ready) {
    if (whole) split.push(row);
    else if (!reparkedKeys.has(rowKey(row))) sent.push(row);
    else still(row, "the bridge parked it again");
  }
  for (const r of reparked) if (split.some((s) => s.sequenceNumber === r.sequenceNumber)) still(r, r.reason);
  await parked.delete(sent);
  // Only while the old row still holds the whole aggregate: a user record parked under its key stays.
  await parked.deleteWholeRecords(split);
  return { resent: sent.length + split.length, deleted: sent.length + split.length, stillParked, rejected };
}

function rowKey(r: ParkedEvent): string {
  return `${r.aggregateId}\u0000${parkedPosition(r)}`;
}
