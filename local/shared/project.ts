/**
 * Where the project is and what Pulumi calls it: the one place that reads
 * `Pulumi.yaml`, so the project name is never written twice.
 */
import * as fs from "fs";
import * as path from "path";

/** The repository root (where Pulumi.yaml and package.json are). */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** The require hook that loads TypeScript as ts-node compiles it, from a cache (see the file). */
export const TRANSPILE_CACHE = path.join(PROJECT_ROOT, "local", "shared", "transpileCache.js");

/** The project's `node_modules`. */
export const PROJECT_MODULES = path.join(PROJECT_ROOT, "node_modules");

/** What a running local cloud leaves for other commands (`current.json`) and its log when in memory; `LOCAL_CLOUD_DIR` moves it (tests do). */
export const LOCAL_CLOUD_DIR = process.env.LOCAL_CLOUD_DIR ? path.resolve(process.env.LOCAL_CLOUD_DIR) : path.join(PROJECT_ROOT, ".local-cloud");

let cached: string | undefined;

/** The project name from Pulumi.yaml (`name:`). */
export function projectName(): string {
  if (cached) return cached;
  const yaml = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8");
  const match = /^name:\s*(\S+)/m.exec(yaml);
  if (!match) throw new Error("Pulumi.yaml has no name");
  cached = match[1];
  return cached;
}
