/**
 * Defaults shared by every function the components create, as data: the
 * runtime is set explicitly, the archive carries only what the runtime
 * lacks, and memory, timeout and log retention are checked against Lambda's
 * ranges before anything is registered.
 */
import * as fs from "fs";
import * as path from "path";
import { ArgCheck, withDefaults } from "./validation";

/** Set explicitly: a CallbackFunction otherwise picks the SDK's default. */
export const LAMBDA_RUNTIME = "nodejs22.x";
/** Graviton: about 20% cheaper per GB-second than x86 for the same work. */
export const LAMBDA_ARCHITECTURE = "arm64";

/**
 * Every dependency is left out of the archives: `@aws-sdk/*` (and the HTTP
 * handler the handlers resolve through it) ships with the nodejs22.x runtime,
 * and `@pulumi/*` is only needed to deploy. CallbackFunction would otherwise
 * package every dependency (tens of MB); the artifact tests prove the
 * functions run with nothing but the runtime's SDK beside them.
 */
export function excludedPackages(packageJsonPath = path.join(__dirname, "..", "..", "package.json")): string[] {
  const pkg = JSON.parse(fs.readFileSync(packageJsonPath, "utf8")) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {});
}

/** A function's sizing, resolved. */
export interface FunctionSettings {
  /** Memory in MB; CPU scales with it. */
  memorySize: number;
  /** Seconds an invocation may run. */
  timeout: number;
  /** Days to keep logs. */
  logRetentionDays: number;
}

/**
 * Function defaults: 256 MB, room for the SDK clients and a batch in memory
 * (CPU scales with memory, so raise it for a heavy `reduce`); 60 s, well
 * above a batch's work yet short enough that a hung call is retried soon;
 * logs kept 30 days, long enough to investigate an incident.
 */
export const FUNCTION_DEFAULTS: FunctionSettings = { memorySize: 256, timeout: 60, logRetentionDays: 30 };

/** Lambda's memory range, in MB. */
export const MEMORY_MB = { min: 128, max: 10_240 } as const;
/** Lambda's longest invocation, in seconds. */
export const MAX_TIMEOUT_SECONDS = 900;

/** FUNCTION_DEFAULTS applied and checked: memory in Lambda's range, timeout 1–`maxTimeout` s (lower where a caller waits less). */
export function resolveFunction(check: ArgCheck, args: Partial<FunctionSettings>, maxTimeout: number = MAX_TIMEOUT_SECONDS): FunctionSettings {
  const s = withDefaults(FUNCTION_DEFAULTS, args);
  check.integer("memorySize", s.memorySize, MEMORY_MB.min, MEMORY_MB.max, " MB");
  check.integer("timeout", s.timeout, 1, maxTimeout, " s");
  return s;
}
