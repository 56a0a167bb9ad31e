/**
 * One stack run of `npm start`: runs the Pulumi program (index.ts) under the
 * local provider, then writes each function's archive and the stack's
 * manifest for the orchestrator. One process per stack, since Pulumi's mocks,
 * its config and the module cache are process-wide.
 *
 * CLI: `node -r ts-node/register/transpile-only local/runStack.ts [job-json]`
 * (the {@link StackJob} as the argument or on stdin); exits non-zero with the
 * error on stderr if the program or the provider fails.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { writeArtifact } from "./artifacts";
import { LocalEndpoints, ManifestFunction, ManifestResource, StackManifest, StackRole } from "../shared/manifest";
import { localProvider, ProviderRecord, reveal } from "./provider";
import { PROJECT_ROOT, projectName } from "../shared/project";
import { TYPES } from "../../components/parts/typeTokens";

/** What one stack run needs. */
export interface StackJob {
  stack: StackRole;
  account: string;
  region: string;
  endpoints: LocalEndpoints;
  /** Project config without the project prefix (`role`, `producerAccountId`, `externalId`, `consumerStack`…); keys with a `:` are passed as they are. */
  config: Record<string, string>;
  /** Outputs answered for StackReferences, by stack name (the producer gets the consumer's outputs). */
  stackReferences?: Record<string, Record<string, unknown>>;
  /** Writes `<outputDir>/<stack>/manifest.json` and `<outputDir>/<stack>/functions/<name>/`. */
  outputDir: string;
  /** Stack name Pulumi sees. Default: the role. */
  stackName?: string;
  /** Program module (absolute, or relative to the project root). Default: index.ts. */
  program?: string;
}

/** Where a stack's manifest is written. */
export function manifestPath(outputDir: string, stack: StackRole): string {
  return path.join(outputDir, stack, "manifest.json");
}

/** Resolves outputs, nested objects and secrets to plain values (an apply never runs for an unknown, so mocks always resolve). */
async function unwrap(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) return unwrap(await new Promise((resolve) => (value as pulumi.Output<unknown>).apply(resolve)));
  if (Array.isArray(value)) return Promise.all(value.map(unwrap));
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await unwrap(v);
    return out;
  }
  return value;
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

/**
 * A manifest resource with the physical id answered (what `resource.id`
 * resolved to: routes name `integrations/<id>`, stages the API's id).
 * TODO(manifest.ts owner): make `id` a field of ManifestResource.
 */
export type ManifestResourceWithId = ManifestResource & { id: string };

/** The recorded resources, each with its parent's type from the URNs the mock monitor registered. */
function parentTypes(recorded: ProviderRecord[]): ManifestResourceWithId[] {
  const monitor = pulumi.runtime.getMonitor() as unknown as { getRegisteredResources(): Map<string, unknown> };
  const urns = [...monitor.getRegisteredResources().keys()];
  return recorded
    .map((r) => {
      const urn = urns.find((u) => u.endsWith(`::${r.name}`) && u.split("::")[2].split("$").pop() === r.type);
      const chain = urn ? urn.split("::")[2].split("$") : [];
      return {
        type: r.type,
        name: r.name,
        id: r.id,
        parentType: chain.length > 1 ? chain[chain.length - 2] : undefined,
        inputs: jsonSafe(r.inputs),
        state: jsonSafe(r.state),
      };
    })
    .sort(byTypeAndName);
}

// Registration order varies from run to run; the manifest should not.
const byTypeAndName = (a: { type?: string; name: string }, b: { type?: string; name: string }) =>
  (a.type ?? "").localeCompare(b.type ?? "") || a.name.localeCompare(b.name);

async function functionsOf(recorded: ProviderRecord[], functionsDir: string): Promise<ManifestFunction[]> {
  const out: ManifestFunction[] = [];
  for (const fn of recorded.filter((r) => r.type === TYPES.function)) {
    const role = recorded.find((r) => r.type === TYPES.role && r.state.arn === fn.inputs.role);
    if (!role) throw new Error(`local cloud: function ${fn.name}'s role ${fn.inputs.role} is not a role of this stack`);
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
    });
  }
  return out.sort(byTypeAndName);
}

/** Runs the program for one stack in this process and writes its manifest and artifacts. Call once per process. */
export async function runStack(job: StackJob): Promise<StackManifest> {
  const project = projectName();
  const config: Record<string, string> = { "aws:region": job.region };
  for (const [key, value] of Object.entries(job.config)) config[key.includes(":") ? key : `${project}:${key}`] = value;
  pulumi.runtime.setAllConfig(config);

  const provider = localProvider(job);
  try {
    await pulumi.runtime.setMocks(provider.mocks, project, job.stackName ?? job.stack, false);
    const program = async () => {
      const main: () => unknown = require(path.resolve(PROJECT_ROOT, job.program ?? "index"));
      const outputs = reveal(await unwrap(await main())) as Record<string, unknown>;
      await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
      return outputs;
    };
    const outputs = await Promise.race([program(), provider.failure]);

    const stackDir = path.join(job.outputDir, job.stack);
    fs.mkdirSync(stackDir, { recursive: true });
    const manifest: StackManifest = {
      stack: job.stack,
      account: job.account,
      region: job.region,
      outputs: jsonSafe(outputs),
      resources: parentTypes(provider.recorded),
      functions: await functionsOf(provider.recorded, path.join(stackDir, "functions")),
      notEmulated: provider.notEmulated(),
    };
    fs.writeFileSync(manifestPath(job.outputDir, job.stack), JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    provider.close();
  }
}

/** Options of {@link runStackInChild}. */
export interface ChildOptions {
  /** Kill the child after this long. Default 5 minutes. */
  timeoutMs?: number;
  /** Receives the child's output (stderr and the program's stdout) as it comes. */
  onStderr?: (text: string) => void;
}

/**
 * Runs a stack job in a child process (its own mocks, config and module
 * cache) and returns the manifest it wrote. Rejects with the child's stderr
 * if it exits non-zero or outlives `timeoutMs`.
 */
export function runStackInChild(job: StackJob, options: ChildOptions = {}): Promise<StackManifest> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.relative(PROJECT_ROOT, __filename)], {
      cwd: PROJECT_ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    // The program's own stdout (console.log) goes with stderr: the child has nothing else to say.
    let stderr = "";
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      stderr = (stderr + text).slice(-20_000);
      options.onStderr?.(text);
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`local cloud: the ${job.stack} stack run took longer than ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`local cloud: the ${job.stack} stack run failed (${signal ?? `exit ${code}`}):\n${stderr.trim()}`));
      try {
        resolve(JSON.parse(fs.readFileSync(manifestPath(job.outputDir, job.stack), "utf8")));
      } catch (err) {
        reject(err);
      }
    });
    child.stdin!.end(JSON.stringify(job));
  });
}

async function readJob(): Promise<StackJob> {
  if (process.argv[2]) return JSON.parse(process.argv[2]);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

if (require.main === module) {
  readJob()
    .then(runStack)
    .then(
      // Explicit exit: nothing of the program (timers, sockets) may keep the process alive.
      () => process.exit(0),
      (err) => {
        process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exit(1);
      },
    );
}
