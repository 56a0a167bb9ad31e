/**
 * What the projector logs: one JSON-able entry per line, naming the table,
 * the aggregate and the sequence number, never the event's data.
 */
import { isTransient } from "../shared/retry";
import type { FoldResult } from "./fold";
import type { AggregateBatch } from "./records";

/** The projector's log lines, bound once to the sink and the table. */
export interface ProjectorLog {
  /** The poison and rejected duplicates a fold parked, and how many events wait behind them. */
  parked(result: FoldResult): void;
  /** A stage gave up on these aggregates: they are reported as batch item failures. */
  gaveUp(stage: string, err: unknown, batches: AggregateBatch[]): void;
  /** Lambda is told to resume the batch from `resumeFrom`. */
  resumes(resumeFrom: string, failedAggregates: number): void;
}

export type LogSink = (entry: Record<string, unknown>) => void;

function errorFields(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; message?: string };
  return { errorName: e?.name ?? "Error", errorMessage: e?.message ?? String(err), transient: isTransient(err) };
}

/** The log lines of the projector of `table`, written to `log`. */
export function projectorLog(log: LogSink, table: string): ProjectorLog {
  return {
    parked: (result) => {
      for (const p of result.poison) {
        const msg = p.kind === "idempotency-conflict" ? "parked rejected duplicate (eventId applied before with other data)" : "parked poison event";
        log({ level: "warn", msg, table, aggregateId: p.aggregateId, sequenceNumber: p.sequenceNumber, eventId: p.eventId, kind: p.kind, detail: p.detail });
      }
      if (result.parked.length > result.poison.length) {
        log({
          level: "info",
          msg: "parked events behind poison",
          table,
          aggregateId: result.next.aggregateId,
          count: result.parked.length - result.poison.length,
        });
      }
    },
    gaveUp: (stage, err, batches) =>
      log({
        level: "error",
        msg: `projector gave up (${stage})`,
        table,
        aggregates: batches.length,
        aggregateIds: batches.slice(0, 10).map((b) => b.aggregateId),
        ...errorFields(err),
      }),
    resumes: (resumeFrom, failedAggregates) => log({ level: "error", msg: "projector reports batch item failure", table, resumeFrom, failedAggregates }),
  };
}
