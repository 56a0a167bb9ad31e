/**
 * The closures a domain author writes (see domain/index.ts), as types: the
 * components serialise them into the functions, and the handlers call them.
 * Keep them pure and self-contained: no I/O, no module-level Set or Map.
 */
import type { EventEnvelope } from "./envelope";

/** Folds one event into an aggregate's state (the read model); `null` deletes it (a tombstone). */
export type Reducer<S = unknown> = (state: S | undefined, event: EventEnvelope) => S | null;

/** One record of the versioned analytics contract. */
export interface AnalyticsRecord {
  /** Contract name and version, e.g. `order-lifecycle.v1`. */
  contract: string;
  data: unknown;
}

/** Turns an internal event into contract records; undefined or [] forwards nothing. */
export type Mapper = (event: EventEnvelope) => AnalyticsRecord | AnalyticsRecord[] | undefined;

/** Checks a command before anything is written: a message rejects it with 400. */
export type Validator = (type: string, data: unknown) => string | undefined;
