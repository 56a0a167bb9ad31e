/**
 * One stack run of `npm start`: runs the Pulumi program (index.ts) through
 * the harness (program.ts) under the local provider, then writes each
 * function's archive and the stack's manifest for the orchestrator. One
 * process per stack, since Pulumi's mocks, its config and the module cache
 * are process-wide.
 *
 * CLI: `node -r ./local/shared/transpileCache.js local/deploy/runStack.ts [job-json]`
 * (the {@link StackJob} as the argument or on stdin); exits non-zero with the
 * error on stderr if the program or the provider fails.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LocalEndpoints, ManifestFunction, ManifestResource, StackManifest, StackRole } from "../shared/manifest";
// Types only: the orchestrator imports this file for startStackChild, and Pulumi (about 0.7 s to load) belongs to the child.
import type { ProgramOptions, ProgramResource } from "./program";
import { PROJECT_ROOT, TRANSPILE_CACHE } from "../shared/project";
import { TYPES } from "../../components/parts/typeTokens";
import { installClosureCache } from "./closureCache";

/** What one stack run needs: the harness's options (config, StackReference outputs, program), and where the stack lives and writes. */
export interface StackJob extends Pick<ProgramOptions, "region" | "config" | "stackReferences" | "program"> {
  stack: StackRole;
  account: string;
  endpoints: LocalEndpoints;
  /** Writes `<outputDir>/<stack>/manifest.json` and `<outputDir>/<stack>/functions/<name>/`. */
  outputDir: string;
  /** Stack name Pulumi sees. Default: the role. */
  stackName?: string;
}

/** Where a stack's manifest is written. */
export function manifestPath(outputDir: string, stack: StackRole): string {
  return path.join(outputDir, stack, "manifest.json");
}

/** Assets and archives become a short description in the manifest's JSON. */
function jsonSafe(value: any): any {
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === "object") {
    if (Object.getPrototypeOf(value) !== Object.prototype) return { kind: value.constructor?.name ?? "object" };
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}

// Registration order varies from run to run; the manifest should not.
const byTypeAndName = (a: { type?: string; name: string }, b: { type?: string; name: string }) =>
  (a.type ?? "").localeCompare(b.type ?? "") || a.name.localeCompare(b.name);

function manifestResources(resources: ProgramResource[]): ManifestResource[] {
  return resources
    .map((r) => ({ type: r.type, name: r.name, id: r.id, parentType: r.parentType, inputs: jsonSafe(r.inputs), state: jsonSafe(r.state) }))
    .sort(byTypeAndName);
}

async function functionsOf(resources: ProgramResource[], functionsDir: string): Promise<ManifestFunction[]> {
  const out: ManifestFunction[] = [];
  for (const fn of resources.filter((r) => r.type === TYPES.function)) {
    const role = resources.find((r) => r.type === TYPES.role && r.state.arn === fn.inputs.role);
    if (!role) throw new Error(`local cloud: function ${fn.name}'s role must be a role of this stack, got ${fn.inputs.role}`);
    const { writeArtifact } = require("./artifacts") as typeof import("./artifacts");
    const artifact = await writeArtifact(fn.inputs.code, fn.name, path.join(functionsDir, fn.name));
    const variables: Record<string, unknown> = fn.inputs.environment?.variables ?? {};
    out.push({
      name: fn.name,
      functionName: fn.state.name,
      arn: fn.state.arn,
      roleArn: role.state.arn,
      dir: artifact.dir,
      environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
      // AWS's defaults when unset.
      timeout: fn.inputs.timeout ?? 3,
      memorySize: fn.inputs.memorySize ?? 128,
      zipBytes: artifact.zipBytes,
      // -1 (the provider's default) and unset both mean unreserved.
      ...(fn.inputs.reservedConcurrentExecutions >= 0 ? { reservedConcurrency: fn.inputs.reservedConcurrentExecutions } : {}),
    });
  }
  return out.sort(byTypeAndName);
}

/** Runs the program for one stack in this process under the local provider and writes its manifest and artifacts. Call once per process. */
export async function runStack(job: StackJob): Promise<StackManifest> {
  // Loaded here, in the stack-run process (see the imports).
  const { runProgram } = require("./program") as typeof import("./program");
  const { localProvider } = require("./provider") as typeof import("./provider");
  const { notEmulated } = require("./support") as typeof import("./support");
  const provider = localProvider(job);
  try {
    const run = await runProgram({
      stack: job.stackName ?? job.stack,
      region: job.region,
      config: job.config,
      stackReferences: job.stackReferences,
      handler: provider,
      program: job.program,
    });
    const stackDir = path.join(job.outputDir, job.stack);
    fs.mkdirSync(stackDir, { recursive: true });
    const manifest: StackManifest = {
      stack: job.stack,
      account: job.account,
      region: job.region,
      outputs: jsonSafe(run.outputs),
      resources: manifestResources(run.resources),
      functions: await functionsOf(run.resources, path.join(stackDir, "functions")),
      notEmulated: notEmulated(run.resources),
    };
    fs.writeFileSync(manifestPath(job.outputDir, job.stack), JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    provider.close();
  }
}

/** A stack run that ended badly; its message holds what the run printed (a refusal's problems, or a bug's trace). */
export class StackRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackRunError";
  }
}

/** Options of {@link runStackInChild}. */
export interface ChildOptions {
  /** Kill the child after this long. Default 5 minutes. */
  timeoutMs?: number;
  /** Receives the child's output (stderr and the program's stdout) as it comes. */
  onStderr?: (text: string) => void;
}

/** A stack-run process started ahead of its job: it loads Pulumi and the program while the emulators start. */
export interface StackChild {
  /** Sends the job (once) and resolves with the manifest the child wrote; rejects with its output if it fails or outlives `timeoutMs`. */
  run(job: StackJob): Promise<StackManifest>;
  /** Ends a child that was never given its job. */
  cancel(): void;
}

/**
 * Starts a stack-run process (its own mocks, config and module cache) that
 * preloads the program and waits for its job on stdin: the seconds of
 * loading Pulumi and the program overlap whatever the caller does meanwhile.
 */
export function startStackChild(options: ChildOptions = {}): StackChild {
  const timeoutMs = options.timeoutMs ?? 300_000;
  // ts-node's output, cached (transpileCache.js): the compiler loads only when a source changed.
  const child = spawn(process.execPath, ["-r", TRANSPILE_CACHE, path.relative(PROJECT_ROOT, __filename), "--preload"], {
    cwd: PROJECT_ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin!.on("error", () => undefined);
  // The program's own stdout (console.log) goes with stderr: the child has nothing else to say.
  let stderr = "";
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    stderr = (stderr + text).slice(-20_000);
    options.onStderr?.(text);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  let started = false;
  return {
    async run(job) {
      if (started) throw new Error("local cloud: a stack child runs one job");
      started = true;
      child.stdin!.end(JSON.stringify(job));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const end = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (end === "timeout") {
        child.kill("SIGKILL");
        throw new Error(`local cloud: the ${job.stack} stack run took longer than ${timeoutMs} ms\n${stderr}`);
      }
      if (end.error) throw end.error;
      if (end.code !== 0) throw new StackRunError(`local cloud: the ${job.stack} stack run failed (${end.signal ?? `exit ${end.code}`}):\n${stderr.trim()}`);
      return JSON.parse(fs.readFileSync(manifestPath(job.outputDir, job.stack), "utf8"));
    },
    cancel() {
      if (!started && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/**
 * Runs a stack job in a child process (its own mocks, config and module
 * cache) and returns the manifest it wrote. Rejects with the child's stderr
 * if it exits non-zero or outlives `timeoutMs`.
 */
export function runStackInChild(job: StackJob, options: ChildOptions = {}): Promise<StackManifest> {
  return startStackChild(options).run(job);
}

async function readJob(): Promise<StackJob> {
  if (process.argv[2]) return JSON.parse(process.argv[2]);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/** Where the stack runs keep serialised closures and code paths (closureCache.ts); deleting it is always safe. */
export const CLOSURE_CACHE_DIR = path.join(PROJECT_ROOT, ".local-cloud", "closure-cache");

/** What of a job can reach the program: all of it but the emulators' endpoints and the output directory (the provider's, chosen per run). */
export function programInputs(job: StackJob): Omit<StackJob, "endpoints" | "outputDir"> {
  const { endpoints: _endpoints, outputDir: _outputDir, ...inputs } = job;
  return inputs;
}

/** What every run of the default program loads: loaded before the job arrives, so a child started early has it ready. */
function preload(): void {
  require(path.join(PROJECT_ROOT, "index"));
}

if (require.main === module) {
  if (process.argv[2] === "--preload") {
    process.argv.splice(2, 1);
    preload();
  }
  let job: StackJob | undefined;
  const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  installClosureCache(pulumi.runtime, { dir: CLOSURE_CACHE_DIR, root: PROJECT_ROOT, inputs: () => job && programInputs(job) });
  readJob()
    .then((j) => runStack((job = j)))
    .then(
      // Explicit exit: nothing of the program (timers, sockets) may keep the process alive.
      () => process.exit(0),
      (err) => {
        // As Pulumi prints it: a RunError (the preflight's refusal) as its message alone, anything else with its trace.
        const refusal = Boolean(pulumi.RunError.isInstance(err));
        const text = err instanceof Error ? (refusal ? err.message : (err.stack ?? err.message)) : String(err);
        process.stderr.write(`${text}\n`);
        process.exit(1);
      },
    );
}
