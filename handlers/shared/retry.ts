/**
 * Retry with exponential backoff and full jitter, inside one invocation and
 * within a budget. Only transient errors are retried; the caller decides what
 * to report once the budget is spent.
 */
export interface RetryBudget {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** First backoff ceiling in milliseconds. */
  baseDelayMs: number;
  /** Largest backoff ceiling in milliseconds. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudget = { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 2000 };

/** Injected so tests run without waiting and with a seeded random source. */
export interface RetryClock {
  sleep(ms: number): Promise<void>;
  random(): number;
}

export const realClock: RetryClock = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** Full-jitter delay before retry number `attempt` (1-based). */
export function backoffDelay(attempt: number, budget: RetryBudget, random: () => number): number {
  const ceiling = Math.min(budget.maxDelayMs, budget.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

// Plain arrays, not Sets: closure serialisation does not preserve Set internals.
const TRANSIENT_NAMES = [
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "RequestLimitExceeded",
  "LimitExceededException",
  "InternalServerError",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "KMSThrottlingException",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
];
const TRANSIENT_CODES = ["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ECONNABORTED"];

/** True for throttling, 5xx and network errors: worth another attempt. */
export function isTransient(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e.name && TRANSIENT_NAMES.includes(e.name)) return true;
  if (e.code && TRANSIENT_CODES.includes(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && (status >= 500 || status === 429);
}

/** Runs `op` until it succeeds, a non-transient error occurs, or the budget is spent. */
export function withRetry<T>(op: () => Promise<T>, budget: RetryBudget, clock: RetryClock = realClock): Promise<T> {
  // The first attempt without an async frame of its own: nearly every call succeeds at once, and the
  // projector makes one per aggregate written (an async loop here was a third of a write's CPU beside the request).
  let first: Promise<T>;
  try {
    first = Promise.resolve(op());
  } catch (err) {
    first = Promise.reject(err);
  }
  return first.catch((err: unknown) => retryAfter(err, op, budget, clock));
}

/** The attempts after a first one that failed with `err` (see withRetry): throws `err` at once when it is not transient. */
export async function retryAfter<T>(err: unknown, op: () => Promise<T>, budget: RetryBudget, clock: RetryClock): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (attempt >= budget.maxAttempts || !isTransient(err)) throw err;
    await clock.sleep(backoffDelay(attempt, budget, clock.random));
    try {
      return await op();
    } catch (next) {
      err = next;
    }
  }
}

/**
 * The error `drainBatch` raises once the budget is spent with work left:
 * retryable, as throttling is what leaves work unprocessed.
 */
export function leftoverError(name: string, message: string): Error {
  const err = new Error(message) as Error & { $retryable: { throttling: boolean } };
  err.name = name;
  err.$retryable = { throttling: true };
  return err;
}

/**
 * Sends a batch and re-sends what the service leaves unprocessed
 * (UnprocessedItems, UnprocessedKeys), with backoff, within the budget.
 * `send` returns the leftover; `exhausted` builds the error once the budget
 * is spent with work left (see `leftoverError`).
 */
export async function drainBatch<T>(
  initial: T[],
  send: (pending: T[]) => Promise<T[]>,
  budget: RetryBudget,
  clock: RetryClock,
  exhausted: (left: number) => Error,
): Promise<void> {
  let pending = initial;
  for (let attempt = 1; ; attempt++) {
    try {
      pending = await send(pending);
      if (pending.length === 0) return;
      if (attempt >= budget.maxAttempts) throw exhausted(pending.length);
    } catch (err) {
      if (attempt >= budget.maxAttempts || !isTransient(err)) throw err;
    }
    await clock.sleep(backoffDelay(attempt, budget, clock.random));
  }
}
