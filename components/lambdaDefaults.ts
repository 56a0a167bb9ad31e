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
 * Packages that must travel in the archive. `@smithy/node-http-handler` is
 * not resolvable from function code in the Lambda runtime (aws-sdk-js-v3
 * #6169); the runtime's own SDK keeps resolving its own copy, so the two
 * never mix.
 */
export const BUNDLED_PACKAGES = ["@smithy/node-http-handler"];

/**
 * Every other dependency is left out: `@aws-sdk/*` ships with the nodejs22.x
 * runtime and `@pulumi/*` is only needed to deploy. CallbackFunction would
 * otherwise package every dependency (tens of MB).
 */
export function excludedPackages(packageJsonPath = path.join(__dirname, "..", "package.json")): string[] {
  const pkg = JSON.parse(fs.readFileSync(packageJsonPath, "utf8")) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {}).filter((name) => !BUNDLED_PACKAGES.includes(name));
}
