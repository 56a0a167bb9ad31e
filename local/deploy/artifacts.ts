/**
 * Lambda artifacts as `pulumi up` would upload them: the archive a
 * CallbackFunction declares is written out to a directory and zipped, and
 * its handler is loaded the way the nodejs22.x runtime loads it. Only the
 * runtime's own `@aws-sdk/*` is resolvable besides what the archive carries,
 * so a package the archive forgot fails here as it would on AWS.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yazl from "yazl";
import { PROJECT_MODULES } from "../shared/project";

/** A function's archive written out to disk. */
export interface Artifact {
  /** Plays /var/task. */
  dir: string;
  /** Files in the archive, relative to dir. */
  files: string[];
  /** Packages the archive carries under node_modules/. */
  packages: string[];
  /** Bytes of the deployment zip (deflate, fixed timestamps). */
  zipBytes: number;
}

async function copyTree(from: string, to: string, files: string[], prefix: string): Promise<void> {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) await copyTree(src, dst, files, `${prefix}${entry.name}/`);
    else if (entry.isFile()) {
      fs.copyFileSync(src, dst);
      files.push(`${prefix}${entry.name}`);
    }
  }
}

function zipSize(dir: string, files: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    const mtime = new Date(2020, 0, 1);
    for (const f of [...files].sort()) zip.addFile(path.join(dir, f), f, { mtime, mode: 0o644 });
    zip.end();
    let bytes = 0;
    zip.outputStream.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    zip.outputStream.on("end", () => resolve(bytes));
    zip.outputStream.on("error", reject);
  });
}

/**
 * Writes a CallbackFunction's `code` archive (as the mocks received it) to a
 * fresh directory, or to `targetDir` (emptied first, so no stale file of an
 * earlier run survives) when given.
 */
export async function writeArtifact(code: any, label: string, targetDir?: string): Promise<Artifact> {
  if (targetDir) {
    fs.rmSync(targetDir, { recursive: true, force: true });
    fs.mkdirSync(targetDir, { recursive: true });
  }
  const dir = targetDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `artifact-${label}-`));
  const assets: Record<string, any> = await code.assets;
  const files: string[] = [];
  const packages: string[] = [];
  for (const [name, asset] of Object.entries(assets)) {
    if (asset.text !== undefined) {
      fs.writeFileSync(path.join(dir, name), await asset.text);
      files.push(name);
    } else if (asset.path !== undefined) {
      await copyTree(path.resolve(await asset.path), path.join(dir, name), files, `${name}/`);
      packages.push(name.replace(/^node_modules\//, ""));
    } else {
      throw new Error(`unexpected asset kind in archive entry ${name}`);
    }
  }
  return { dir, files, packages, zipBytes: await zipSize(dir, files) };
}

/**
 * The zip bytes a CallbackFunction with default packaging uploads for a
 * trivial callback: the reference the archive sizes are read against. Needs
 * Pulumi's mocks installed (a program run in this process, see program.ts);
 * loaded lazily so the function runtime never loads Pulumi.
 */
export async function defaultPackagingBytes(): Promise<number> {
  const aws = require("@pulumi/aws");
  const fn = new aws.lambda.CallbackFunction("defaults-probe", {
    role: "arn:aws:iam::111111111111:role/probe",
    runtime: "nodejs22.x",
    callback: async () => ({ ok: true }),
  });
  const code = await new Promise<any>((resolve) => fn.code.apply(resolve));
  return (await writeArtifact(code, "defaults")).zipBytes;
}

/** Where runtimeModules() keeps its directory: a cache inside the project's node_modules, so no run leaves one behind. */
export const RUNTIME_MODULES = path.join(PROJECT_MODULES, ".cache", "lambda-runtime", "node_modules");

/**
 * A directory that plays /var/runtime/node_modules: only the runtime's
 * `@aws-sdk` scope (a symlink). Made once per checkout (`npm ci` removes it
 * with node_modules) and shared by every process: built aside and renamed
 * into place, so two processes starting at once both find it whole.
 */
export function runtimeModules(): string {
  if (fs.existsSync(path.join(RUNTIME_MODULES, "@aws-sdk"))) return RUNTIME_MODULES;
  const parent = path.dirname(RUNTIME_MODULES);
  fs.mkdirSync(parent, { recursive: true });
  const staging = fs.mkdtempSync(path.join(parent, "staging-"));
  fs.symlinkSync(path.join(PROJECT_MODULES, "@aws-sdk"), path.join(staging, "@aws-sdk"), "dir");
  try {
    fs.renameSync(staging, RUNTIME_MODULES);
  } catch (err: any) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(path.join(RUNTIME_MODULES, "@aws-sdk"))) throw err;
  }
  return RUNTIME_MODULES;
}

function applyEnv(environment: Record<string, string>): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, environment);
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}

/**
 * Loads `__index.js` as the runtime does and returns `exports.handler`. The
 * factory runs at load, as on a cold start. The function's declared
 * environment (plus what the caller adds, e.g. endpoint variables) is in
 * place at load and during every invocation, since the SDK reads some of it
 * lazily.
 */
export function loadHandler<E = any, R = any>(artifact: Artifact, environment: Record<string, string>): (event: E) => Promise<R> {
  const Module = require("module");
  const originalPaths = Module._nodeModulePaths;
  const runtime = runtimeModules();
  // Resolution from the artifact sees its own node_modules, then the runtime's
  // SDK, never the project's; kept installed, as modules also load lazily.
  Module._nodeModulePaths = (from: string) => (from.startsWith(artifact.dir) ? [path.join(artifact.dir, "node_modules"), runtime] : originalPaths(from));
  const restore = applyEnv(environment);
  let handler: (event: E) => Promise<R>;
  try {
    const entry = path.join(artifact.dir, "__index.js");
    const mod = new Module(entry, null);
    mod.filename = entry;
    mod.paths = Module._nodeModulePaths(artifact.dir);
    mod._compile(fs.readFileSync(entry, "utf8"), entry);
    handler = mod.exports.handler;
  } finally {
    restore();
  }
  return async (event: E) => {
    const restoreAfter = applyEnv(environment);
    try {
      return await handler(event);
    } finally {
      restoreAfter();
    }
  };
}
