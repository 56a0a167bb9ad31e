/**
 * A content-addressed cache on disk for the two slow steps of a
 * CallbackFunction: serialising its closure (`pulumi.runtime.serializeFunction`,
 * about 2 s of the producer's stack run) and listing the packages its archive
 * carries (`pulumi.runtime.computeCodePaths`, an npm tree walk per function).
 * Installed in a stack run's process only (runStack.ts), never in the program.
 *
 * What a closure serialises to is decided by its source and the values it
 * captures, and those are computed by the program from its code, its packages,
 * its config and environment. The key hashes all of those inputs, never an
 * mtime: every project file (any source or data the program could read,
 * package.json and package-lock.json among them), the installed packages as
 * npm records them (node_modules/.package-lock.json, rewritten by every
 * install), the stack job without its per-run endpoints and directories,
 * process.env (but the terminal session's own variables), Node's version and
 * the cwd, then the function's own text and options. So any change to code, packages or config is a miss, and only a
 * run whose inputs are all equal reads the first run's answer. Not seen: a
 * file edited by hand inside node_modules (delete the folder after patching
 * a package), and a closure capturing the clock or randomness, which keeps
 * the first run's value. A closure that captures a secret is not cached (its
 * text would hold the value). Deleting the folder is always safe.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/** Directories the world hash does not read: installed packages (hashed through their lockfiles), VCS, and what the tools write (git-ignored). */
const SKIPPED_DIRS = new Set(["node_modules", ".git", ".local-cloud", ".rebuild", ".pulumi", "dist", "bench-results"]);
/** Variables that name the terminal session, not the program's input (they differ in every new terminal or SSH login). */
const SESSION_VARIABLES = /^(SSH_CLIENT|SSH_CONNECTION|SSH_TTY|TERM_SESSION_ID|ITERM_SESSION_ID|WINDOWID|TMUX_PANE|STY|OLDPWD|SHLVL|_)$/;
/** Bumped when the entry format or the key's recipe changes. */
const FORMAT = "closure-cache-2";

/** Options of {@link installClosureCache}. */
export interface ClosureCacheOptions {
  /** Where entries live (one JSON file per key). */
  dir: string;
  /** The project whose files are hashed (every file below it but {@link SKIPPED_DIRS}). */
  root: string;
  /** The run's own inputs (the stack job without endpoints and directories), read when the first key is made. */
  inputs: () => unknown;
}

/** What the cache did, for the tests and the progress line. */
export interface ClosureCacheStats {
  hits: number;
  misses: number;
}

type Runtime = { serializeFunction: (...args: any[]) => Promise<any>; computeCodePaths: (...args: any[]) => Promise<Map<string, any>> };

const sha256 = () => createHash("sha256");

/** Every file below `dir` (sorted, relative), skipping {@link SKIPPED_DIRS}. */
function projectFiles(root: string, dir = root, out: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (SKIPPED_DIRS.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) projectFiles(root, full, out);
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** The hash of everything a stack run's closures can depend on besides their own text (see the file's comment). */
export function worldHash(root: string, inputs: unknown): string {
  const h = sha256().update(FORMAT).update("\0").update(process.version).update("\0").update(process.cwd());
  const file = (f: string) => {
    h.update("\0").update(f).update("\0");
    try {
      h.update(fs.readFileSync(f));
    } catch {
      h.update("(unreadable)");
    }
  };
  // package.json and package-lock.json among them.
  for (const f of projectFiles(root)) file(f);
  // The installed tree as npm records it on every install (each package's version and integrity).
  file(path.join(root, "node_modules", ".package-lock.json"));
  const env = Object.entries(process.env).filter(([k]) => !SESSION_VARIABLES.test(k));
  h.update("\0env\0").update(JSON.stringify(env.sort(([a], [b]) => a.localeCompare(b))));
  h.update("\0inputs\0").update(JSON.stringify(inputs) ?? "undefined");
  return h.digest("hex");
}

/** An options object as text: functions by their source, resources (logResource) left out. */
function optionsText(value: unknown): string {
  return JSON.stringify(value ?? null, (key, v) => (key === "logResource" ? undefined : typeof v === "function" ? `fn:${v.toString()}` : v));
}

function readEntry(file: string): any {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

/** Entries kept: every change of code or config writes a new set, so the oldest (by write time; this is eviction, never validity) go. */
export const MAX_ENTRIES = 256;

function writeEntry(file: string, value: unknown): void {
  try {
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(value));
    fs.renameSync(tmp, file);
    const entries = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
    if (entries.length > MAX_ENTRIES)
      for (const old of entries
        .map((f) => ({ f, at: fs.statSync(path.join(dir, f)).mtimeMs }))
        .sort((a, b) => a.at - b.at)
        .slice(0, entries.length - MAX_ENTRIES))
        fs.rmSync(path.join(dir, old.f), { force: true });
  } catch {
    // A cache that cannot be written only costs the next start its speed.
  }
}

/**
 * Wraps `runtime.serializeFunction` and `runtime.computeCodePaths` (the
 * `@pulumi/pulumi` runtime CallbackFunction calls) with the cache. Call
 * before the program runs; returns live counters.
 */
export function installClosureCache(runtime: Runtime, options: ClosureCacheOptions): ClosureCacheStats {
  const stats: ClosureCacheStats = { hits: 0, misses: 0 };
  let world: string | undefined;
  const entryFile = (kind: string, ...parts: string[]) => {
    world ??= worldHash(options.root, options.inputs());
    const h = sha256().update(world).update("\0").update(kind);
    for (const p of parts) h.update("\0").update(p);
    return path.join(options.dir, `${h.digest("hex")}.json`);
  };
  const asset = require("@pulumi/pulumi/asset");

  const serializeFunction = runtime.serializeFunction;
  // Closures of one text may capture different values in one run (each read-model version's projector captures its
  // own reduce), which neither the text nor the world tells apart: the key counts the text's occurrences in the run,
  // in the program's order of construction, which the world (code and config) fixes.
  const seen = new Map<string, number>();
  runtime.serializeFunction = async (func: (...a: unknown[]) => unknown, args?: Record<string, unknown>) => {
    const text = String(func);
    const occurrence = seen.get(text) ?? 0;
    seen.set(text, occurrence + 1);
    const file = entryFile("serializeFunction", text, optionsText(args), String(occurrence));
    const held = readEntry(file);
    if (held && typeof held.text === "string") {
      stats.hits += 1;
      return held;
    }
    stats.misses += 1;
    const serialised = await serializeFunction(func, args);
    if (!serialised.containsSecrets) writeEntry(file, serialised);
    return serialised;
  };

  const computeCodePaths = runtime.computeCodePaths;
  runtime.computeCodePaths = async (...args: unknown[]) => {
    const file = entryFile("computeCodePaths", optionsText(args));
    const held = readEntry(file);
    if (Array.isArray(held)) {
      stats.hits += 1;
      return new Map(
        held.map(([at, kind, from]: [string, string, string]) => [at, kind === "archive" ? new asset.FileArchive(from) : new asset.FileAsset(from)]),
      );
    }
    stats.misses += 1;
    const paths = await computeCodePaths(...args);
    const entries: [string, string, string][] = [];
    for (const [at, a] of paths) {
      // Only what codePaths.js makes today: anything else is answered, not cached.
      if (!(a instanceof asset.FileArchive || a instanceof asset.FileAsset)) return paths;
      entries.push([at, a instanceof asset.FileArchive ? "archive" : "file", await a.path]);
    }
    writeEntry(file, entries);
    return paths;
  };
  return stats;
}
