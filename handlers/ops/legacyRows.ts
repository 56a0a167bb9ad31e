/**
 * Rows parked before the functions deaggregated KPL records: such a row holds
 * a whole aggregate under its outer partition key (the first user record's),
 * parked as "not UTF-8 JSON", while the other aggregates named inside it got
 * nothing. `unpackLegacyRows` hands the rebuilt record to the projector
 * itself (the current `reduce`), so every user record goes where the
 * projector sends it now: applied to its own aggregate, or parked behind that
 * aggregate's block (which advances its `parkedThrough`, so a re-drive takes
 * it). A user record the projector passes over (its aggregate is at or past
 * it, or it is the very event the old row blocks at) gets a row of its own,
 * so nothing leaves the operator's view; then the old row is deleted unless
 * a user record took over its key. Idempotent: the projector's writes are.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createProjector } from "../projector";
import type { Reducer } from "../shared/domain";
import { parseEnvelope } from "../shared/envelope";
import { ParkedEvent, parkedEventOf, parkedTable } from "../shared/parkedTable";
import { readModelStore } from "../shared/readModelStore";
import { RetryClock } from "../shared/retry";
import { legacyAggregateSize, parkedToRecord, rowSources } from "./parkedRows";
import type { RedriveConfig } from "./projectorRedrive";

/** Unpacks the rows among `rows` that hold a whole KPL aggregate; returns how many it unpacked. Throws, deleting nothing, if the projector gives up. */
export async function unpackLegacyRows<S>(
  dynamodb: DynamoDBClient,
  reduce: Reducer<S>,
  config: RedriveConfig,
  rows: ParkedEvent[],
  clock: RetryClock,
): Promise<number> {
  const legacy = rows.filter((r) => legacyAggregateSize(r) !== undefined);
  if (legacy.length === 0) return 0;
  const access = { dynamodb, retry: config.retry, clock };
  const store = readModelStore({ ...access, tableName: config.tableName });
  const parked = parkedTable({ ...access, tableName: config.parkedTableName });
  const users = legacy.flatMap(rowSources);
  // The items before the projector runs: what it will pass over is what they are at or past, or blocked at.
  const before = new Map<string, { position: string; parkedAt?: string }>();
  for (const id of new Set(users.map((u) => u.partitionKey))) {
    const item = await store.read(id);
    if (item) before.set(id, item);
  }
  const project = createProjector({
    dynamodb,
    reduce,
    clock,
    log: () => {},
    config: {
      tableName: config.tableName,
      parkedTableName: config.parkedTableName,
      dedupWindow: config.dedupWindow,
      retry: config.retry,
      maxFoldAttempts: config.maxAttempts ?? 5,
    },
  });
  const response = await project({ Records: legacy.map(parkedToRecord) });
  if (response.batchItemFailures.length > 0) {
    throw new Error(
      `could not unpack ${legacy.length} parked KPL aggregate(s): the projector gave up at ${response.batchItemFailures[0].itemIdentifier}; nothing deleted, run again`,
    );
  }
  const passedOver = users.filter((u) => {
    const item = before.get(u.partitionKey);
    return item !== undefined && (u.position <= item.position || u.position === item.parkedAt);
  });
  await parked.park(
    passedOver.map((u) => {
      const parsed = parseEnvelope(u.data);
      const from = legacy.find((r) => r.sequenceNumber === u.sequenceNumber);
      return parkedEventOf(u, `parked before KPL deaggregation as: ${from?.reason ?? "a whole aggregate"}`, parsed.ok ? parsed.event.eventId : undefined);
    }),
  );
  // A row keyed like the old one now holds a user record (the projector's or the one just written): the conditional delete keeps it.
  await parked.deleteWholeRecords(legacy);
  return legacy.length;
}
