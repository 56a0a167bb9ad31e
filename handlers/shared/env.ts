/**
 * Names of the environment variables the components set on each function and
 * the handlers read. One list, so the two sides cannot drift apart.
 */
export const ENV = {
  /** Read-model table (projector, API). */
  TABLE_NAME: "TABLE_NAME",
  /** Where poison events and the events parked behind them are kept, with their data. */
  PARKED_TABLE_NAME: "PARKED_TABLE_NAME",
  /** Event ids remembered per aggregate to drop producer-retry duplicates. */
  DEDUP_WINDOW: "DEDUP_WINDOW",
  /** Source stream (API). */
  STREAM_NAME: "STREAM_NAME",
  /** Largest accepted request body in bytes (API). */
  MAX_BODY_BYTES: "MAX_BODY_BYTES",
  /** How API Gateway authenticates the API's callers: `iam`, `jwt` or `none` (API). */
  API_AUTH: "API_AUTH",
  /** Analytics stream ARN in the consumer account (bridge). */
  TARGET_STREAM_ARN: "TARGET_STREAM_ARN",
  /** `assumeRole` or `resourcePolicy` (bridge). */
  ACCESS_MODE: "ACCESS_MODE",
  /** Writer role in the consumer account (bridge, assumeRole mode). */
  WRITER_ROLE_ARN: "WRITER_ROLE_ARN",
  /** ExternalId the writer role's trust requires (bridge, assumeRole mode). */
  EXTERNAL_ID: "EXTERNAL_ID",
  /** KPL aggregation of the analytics records: `off` (default), `sourceShard` or `partitionKey` (bridge). */
  AGGREGATE_RECORDS: "AGGREGATE_RECORDS",
  /** The event archive's bucket and key prefix (archiver). */
  ARCHIVE_BUCKET: "ARCHIVE_BUCKET",
  ARCHIVE_PREFIX: "ARCHIVE_PREFIX",
  /** Ids derived from an Idempotency-Key the bridge has claimed, with their data digest (bridge; optional). */
  FORWARDED_TABLE_NAME: "FORWARDED_TABLE_NAME",
  /** Retry budget in attempts, all handlers. */
  RETRY_MAX_ATTEMPTS: "RETRY_MAX_ATTEMPTS",
} as const;

/** Reads a required variable, failing the cold start loudly when it is absent. */
export function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === "") throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** Reads an optional positive integer variable. */
export function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`environment variable ${name} must be a positive integer, got ${value}`);
  return n;
}
