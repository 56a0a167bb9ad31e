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

/**
 * Who calls the command API, as API Gateway verified it (payload 2.0
 * `requestContext.authorizer`): a JWT's claims and scopes, an IAM caller's
 * ARN and account, or nobody when the stack chose `apiAuth: none`.
 */
export type Principal =
  | { kind: "jwt"; /** The `sub` claim, when present. */ subject?: string; scopes: string[]; claims: Record<string, unknown> }
  | { kind: "iam"; userArn: string; accountId: string; /** e.g. `AROA…:session`. */ callerId?: string }
  | { kind: "anonymous" };

/** What a caller asks to do to one aggregate: append a command, or read the read model. */
export type AccessAction = { kind: "write"; type: string; data: unknown } | { kind: "read" };

/**
 * Per-aggregate authorization, run in the API function after the command is
 * validated and before anything is written or answered: a message refuses the
 * request with 403. `state` is the aggregate's read model as the API last saw
 * it (undefined while absent or deleted); it lags the stream by the projection
 * delay, so a rule that must hold exactly belongs in `reduce`.
 */
export type AccessRule<S = unknown> = (principal: Principal, action: AccessAction, aggregateId: string, state?: S) => string | undefined;
