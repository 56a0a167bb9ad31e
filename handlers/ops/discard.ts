/**
 * Discarding a parked event that can never apply (`npm run redrive --
 * --discard`): the event is skipped for good (its position passed, never
 * applied) and kept as an audit row in the parked table (who, when, why, its
 * data; see parkedTable.ts). A block it holds is lifted by re-driving its
 * aggregate with the current `reduce` (projectorRedrive.ts): what waited
 * behind it is applied, or blocks again at the next event that fails. The
 * event is named by its eventId (every parked copy of it in its aggregate:
 * producer retries too) or, when it has none (not JSON, a corrupt KPL
 * aggregate), by `<aggregateId>@<position>`. Idempotent: once discarded, a
 * second run finds the audit rows and changes nothing; a run that stopped
 * half-way completes.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Reducer } from "../shared/domain";
import { DiscardedEvent, ParkedEvent, parkedPosition, parkedPositionText, parkedTable } from "../shared/parkedTable";
import { readModelStore } from "../shared/readModelStore";
import { realClock, RetryClock } from "../shared/retry";
import { encodePosition, parsePosition, Position } from "../shared/sequence";
import { ID_PATTERN } from "../shared/envelope";
import { rowStatus } from "./parkedRows";
import { redriveAggregate, RedriveConfig, RedriveResult } from "./projectorRedrive";

/** What to discard: an event by its id, or the event at a position of an aggregate. */
export type DiscardTarget = { eventId: string } | { aggregateId: string; position: Position };

/** Parses `<eventId>` or `<aggregateId>@<sequence>[.<sub-sequence>]`; undefined when it is neither. */
export function parseDiscardTarget(text: string): DiscardTarget | undefined {
  const at = text.lastIndexOf("@");
  if (at < 0) return ID_PATTERN.test(text) ? { eventId: text } : undefined;
  const position = parsePosition(text.slice(at + 1));
  return at > 0 && position ? { aggregateId: text.slice(0, at), position } : undefined;
}

/** Who discards (or how to find out, asked only once there is something to discard), and why; `at` defaults to now. */
export interface DiscardAuthor {
  by: string | (() => Promise<string>);
  reason: string;
  at?: string;
}

/** What a discard did. */
export interface DiscardOutcome {
  aggregateId: string;
  /** Discarded by this run, each with its audit row. */
  discarded: DiscardedEvent[];
  /** Found discarded already (a second run): nothing changed. */
  alreadyDiscarded: DiscardedEvent[];
  /** Copies of the event still parked: they wait behind an earlier event that still fails (discard that one first). */
  stillParked: ParkedEvent[];
  /** The re-drive of the aggregate, when the event waited in its backlog. */
  redrive?: RedriveResult;
}

/** A discard refused before anything was written: the message says why. */
export class DiscardRefused extends Error {
  override name = "DiscardRefused";
}

const describe = (t: DiscardTarget) => ("eventId" in t ? `eventId ${t.eventId}` : `${t.aggregateId}@${t.position.sequenceNumber}`);
const matches = (t: DiscardTarget) => (r: ParkedEvent) =>
  "eventId" in t
    ? r.eventId === t.eventId
    : r.aggregateId === t.aggregateId && parkedPosition(r) === encodePosition(t.position.sequenceNumber, t.position.subSequenceNumber);

/** Discards the parked event `target` from the projector's parked table (see the file's comment). Throws DiscardRefused when it is not parked. */
export async function discardParked<S>(
  dynamodb: DynamoDBClient,
  reduce: Reducer<S>,
  config: RedriveConfig,
  target: DiscardTarget,
  author: DiscardAuthor,
  clock: RetryClock = realClock,
): Promise<DiscardOutcome> {
  const access = { dynamodb, retry: config.retry, clock };
  const parked = parkedTable({ ...access, tableName: config.parkedTableName });
  const match = matches(target);
  const rows = ("eventId" in target ? await parked.list() : await parked.listOf(target.aggregateId)).filter(match);
  if (rows.length === 0) {
    const audits = ("eventId" in target ? await parked.listDiscarded() : await parked.listDiscarded(target.aggregateId)).filter(match);
    if (audits.length) return { aggregateId: audits[0].aggregateId, discarded: [], alreadyDiscarded: audits, stillParked: [] };
    throw new DiscardRefused(`${describe(target)} is not parked in ${config.parkedTableName}: nothing to discard (npm run redrive lists what is)`);
  }
  const aggregates = [...new Set(rows.map((r) => r.aggregateId))];
  if (aggregates.length > 1)
    throw new DiscardRefused(
      `${describe(target)} is parked under ${aggregates.length} aggregates (${aggregates.join(", ")}): name one as <aggregateId>@<position>`,
    );
  const aggregateId = aggregates[0];
  const item = await readModelStore({ ...access, tableName: config.tableName }).read(aggregateId);
  const status = (r: ParkedEvent) => rowStatus(r, item);
  const refuse = rows.find((r) => status(r) === "applied" || status(r) === "pending");
  if (refuse) {
    const why =
      status(refuse) === "applied"
        ? "was applied (the row is a leftover that npm run redrive -- --apply deletes)"
        : "is not behind a block yet (a projector is still handling it); try again";
    throw new DiscardRefused(`${describe(target)} at ${parkedPositionText(refuse)} ${why}: not discarded`);
  }
  const by = typeof author.by === "string" ? author.by : await author.by();
  const at = author.at ?? new Date().toISOString();
  const audit = (r: ParkedEvent): DiscardedEvent => ({ ...r, discardedAt: at, discardedBy: by, discardReason: author.reason });
  // Past the position already (a rejected duplicate, a stranded or half-discarded row): nothing to skip, only record and remove.
  const past = rows.filter((r) => status(r) !== "blocked").map(audit);
  if (past.length) {
    await parked.recordDiscarded(past);
    await parked.delete(past);
  }
  const waiting = rows.filter((r) => status(r) === "blocked");
  if (waiting.length === 0) return { aggregateId, discarded: past, alreadyDiscarded: [], stillParked: [] };
  const redrive = await redriveAggregate(dynamodb, reduce, config, aggregateId, clock, { rows: waiting, by, reason: author.reason, at });
  const done = new Set((redrive.discarded ?? []).map(parkedPosition));
  return {
    aggregateId,
    discarded: past.concat(redrive.discarded ?? []),
    alreadyDiscarded: [],
    stillParked: waiting.filter((r) => !done.has(parkedPosition(r))),
    redrive,
  };
}

/** What carrying other versions' discards into a rebuilt version did. */
export interface CarriedDiscards {
  /** Discarded in the rebuilt version too (or found discarded there already). */
  carried: DiscardedEvent[];
  /** Not parked in the rebuilt version: its reduce applied the event (or the rebuild has not reached it). */
  notParked: DiscardedEvent[];
}

/**
 * A rebuilt read-model version honours the discards operators made in the others: each discarded event (in stream
 * order per aggregate) that the version parked too is discarded there as well, by the same operator and for the same
 * reason (noted as carried over), so the version is not blocked where the served one was unblocked.
 */
export async function carryOverDiscards<S>(
  dynamodb: DynamoDBClient,
  reduce: Reducer<S>,
  config: RedriveConfig,
  discards: DiscardedEvent[],
  from: string,
  clock: RetryClock = realClock,
): Promise<CarriedDiscards> {
  const out: CarriedDiscards = { carried: [], notParked: [] };
  const ordered = [...discards].sort((a, b) =>
    a.aggregateId === b.aggregateId ? compareText(parkedPosition(a), parkedPosition(b)) : compareText(a.aggregateId, b.aggregateId),
  );
  for (const d of ordered) {
    const target: DiscardTarget = { aggregateId: d.aggregateId, position: { sequenceNumber: d.sequenceNumber, subSequenceNumber: d.subSequenceNumber ?? 0 } };
    try {
      await discardParked(dynamodb, reduce, config, target, { by: d.discardedBy, reason: `${d.discardReason} (carried over from ${from})` }, clock);
      out.carried.push(d);
    } catch (err) {
      if (!(err instanceof DiscardRefused)) throw err;
      out.notParked.push(d);
    }
  }
  return out;
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
