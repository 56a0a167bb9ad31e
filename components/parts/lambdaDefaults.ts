/**
 * Defaults shared by every function the components create: the runtime is
 * set explicitly, and the archive carries only what the runtime lacks.
 */
import * as fs from "fs";
import * as path from "path";

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
