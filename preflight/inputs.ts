/**
 * What the preflight reads, the same at `pulumi preview` time (preflight/
 * program.ts) and standalone (`npm run preflight`): a stack's config, the
 * consumer's outputs as the producer sees them, and the account and region
 * the stack deploys to. Plain values, so every check is a pure function.
 */

/** A secret the preflight may not read (standalone: the stack file holds only its ciphertext). */
export const OPAQUE: unique symbol = Symbol("opaque secret");

/** A config value: a string, a secret known only to be set, or unset. */
export type ConfigValue = string | typeof OPAQUE | undefined;

/** A stack's config: project keys without the project prefix, `aws:` keys as they are. */
export type StackConfig = Readonly<Record<string, ConfigValue>>;

/** Where the stack deploys. */
export interface Target {
  /** The stack's short name (`producer`, `producer-eu`…). */
  stack: string;
  /** The project name (Pulumi.yaml). */
  project: string;
  /** The account the credentials (or `aws:allowedAccountIds`) name, when known. */
  accountId?: string;
  /** `aws:region`, when known. */
  region?: string;
}

/** The consumer outputs the producer reads. */
export const CONSUMER_OUTPUT_KEYS = [
  "analyticsStreamArn",
  "analyticsKeyArn",
  "writerRoleArn",
  "externalId",
  "accessMode",
  "bridgeRoleArn",
  "producerAccountId",
  "region",
] as const;

/** The consumer's outputs as the producer sees them. */
export interface ConsumerView {
  /** Where they come from, for messages: `stack reference <name>`, `the producer's config`, `file <path>`. */
  source: string;
  /** True when read from the deployed consumer stack (which then exports accessMode, bridgeRoleArn…). */
  deployed: boolean;
  outputs: Partial<Record<(typeof CONSUMER_OUTPUT_KEYS)[number], ConfigValue>>;
}

/** A string value, or undefined for unset and opaque secrets. */
export function plain(value: ConfigValue): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A number key: the number, or undefined when unset; `problems` gets a message when it is not a number. */
export function numberKey(config: StackConfig, key: string, problems: string[]): number | undefined {
  const raw = plain(config[key]);
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (Number.isFinite(n)) return n;
  problems.push(`config ${key} must be a number, got ${JSON.stringify(raw)}`);
  return undefined;
}

/** The message `check` throws, or undefined when it passes: each probe yields at most one problem. */
export function firstProblem(check: () => unknown, prefix: string): string | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    return `${prefix}: ${(err as Error).message}`;
  }
}

/** Checks one choice key against the accepted values. */
export function choiceProblem(config: StackConfig, key: string, allowed: readonly string[]): string | undefined {
  const value = plain(config[key]);
  if (value === undefined || allowed.includes(value)) return undefined;
  return `config ${key} must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`;
}
