/**
 * The command API's time budget, from the outside in: the HTTP API waits at
 * most 30 s for its integration (init included), the function's timeout sits
 * at least a cold start inside that, the handler's deadline leaves room
 * inside the function's timeout to answer 503 + Retry-After, and every SDK
 * attempt with its connection and request timeouts fits inside the deadline.
 * Before, 3 attempts × 10 s outlasted the function's and the integration's
 * 10 s, so the gateway answered instead of the designed 503. The component
 * computes the budget at deploy time and the closure captures it.
 */

/** The fixed parts of the budget. */
export const API_TIME = {
  /** HTTP APIs wait for an integration 50–30,000 ms; the most, so the function always answers first. */
  integrationTimeoutMs: 30_000,
  /** What a cold start may add before the handler runs: Lambda limits the Init phase to 10 s, and it is not part of the function's timeout. */
  initAllowanceMs: 10_000,
  /** The longest function timeout that still leaves the init allowance: 30 − 10 s. */
  maxFunctionTimeoutSeconds: 20,
  /** Between the deadline and the function's timeout: building and returning the 503. */
  responseReserveMs: 500,
  /** SDK attempts when there is time for them: a brief throttle is absorbed before the client sees a 503. */
  maxAttempts: 3,
  /** A connection to Kinesis or DynamoDB in the function's region takes milliseconds; one second means it is not coming. */
  connectionTimeoutMs: 1_000,
  /** Below this per attempt, fewer attempts are better than attempts that cannot succeed. */
  minAttemptMs: 1_000,
} as const;

/** The budget for one function timeout. */
export interface ApiTimeBudget {
  /** Milliseconds after an invocation starts at which the handler stops waiting and answers 503. */
  deadlineMs: number;
  maxAttempts: number;
  connectionTimeoutMs: number;
  /** Per attempt, after the connection: the SDK's socket timeout. */
  requestTimeoutMs: number;
}

/** The budget inside a function timeout of `functionTimeoutSeconds` (1–20). */
export function apiTimeBudget(functionTimeoutSeconds: number): ApiTimeBudget {
  const deadlineMs = functionTimeoutSeconds * 1000 - API_TIME.responseReserveMs;
  const maxAttempts = Math.max(1, Math.min(API_TIME.maxAttempts, Math.floor(deadlineMs / API_TIME.minAttemptMs)));
  const perAttemptMs = Math.floor(deadlineMs / maxAttempts);
  const connectionTimeoutMs = Math.min(API_TIME.connectionTimeoutMs, Math.floor(perAttemptMs / 2));
  return { deadlineMs, maxAttempts, connectionTimeoutMs, requestTimeoutMs: perAttemptMs - connectionTimeoutMs };
}
