/**
 * Runs the Pulumi program (index.ts) for one stack under Pulumi mocks and
 * records every resource it registers: type, name, inputs, the state the
 * mock answered, and its parent type from the URN. No CLI, no AWS.
 */
import * as pulumi from "@pulumi/pulumi";
import { AccountContext, realisticCall, realisticState } from "../../local/deploy/resourceState";

export interface RecordedResource {
  type: string;
  name: string;
  urn: string;
  /** Type of the parent resource (from the URN), or undefined for the stack's direct children. */
  parentType?: string;
  custom: boolean;
  /** Inputs with secrets revealed (see `secretInputs`). */
  inputs: Record<string, any>;
  /** Top-level input names whose value was a secret. */
  secretInputs: string[];
  state: Record<string, any>;
}

export interface ProgramRun {
  outputs: Record<string, any>;
  resources: RecordedResource[];
  /** URNs named by the `aliases` of registered resources (what `pulumi up` would treat as the same resource). */
  aliases: string[];
  /** Every resource of one type. */
  ofType(type: string): RecordedResource[];
  /** The one resource of a type whose logical name ends with `suffix`. */
  one(type: string, suffix?: string): RecordedResource;
}

export interface RunOptions extends AccountContext {
  project?: string;
  stack: string;
  /** Project config without the project prefix; `aws:`-prefixed keys are passed as they are. */
  config: Record<string, string>;
  /** Outputs answered for StackReferences, by referenced stack name. */
  stackReferences?: Record<string, Record<string, unknown>>;
}

export const PROJECT = "event-sourced-pipeline";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Replaces Pulumi's secret wrappers by their values. */
function reveal(value: any): any {
  if (Array.isArray(value)) return value.map(reveal);
  if (value && typeof value === "object" && value.constructor === Object) {
    if (value[SECRET_SIG] !== undefined && "value" in value) return reveal(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  }
  return value;
}

function isSecret(value: any): boolean {
  return Boolean(value && typeof value === "object" && value[SECRET_SIG] !== undefined);
}

async function unwrap(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) return new Promise((resolve) => (value as pulumi.Output<unknown>).apply(resolve));
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await unwrap(v);
    return out;
  }
  return value;
}

/**
 * Records the URNs the `aliases` of each registered resource name, computed
 * as the mock monitor computes URNs (its parent's type, then the type and
 * name); an alias spec's unset fields default to the resource's own.
 */
function captureAliases(project: string, stack: string): string[] {
  const monitor = pulumi.runtime.getMonitor() as any;
  const out: string[] = [];
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: unknown) => {
    for (const alias of req.getAliasesList?.() ?? []) {
      if (alias.getUrn?.()) {
        out.push(alias.getUrn());
        continue;
      }
      const spec = alias.getSpec?.();
      if (!spec) continue;
      const parentUrn: string = spec.getNoparent() ? "" : spec.getParenturn() || req.getParent();
      const type = spec.getType() || req.getType();
      const qualified = parentUrn ? `${parentUrn.split("::")[2].split("$").pop()}$${type}` : type;
      out.push(`urn:pulumi:${spec.getStack() || stack}::${spec.getProject() || project}::${qualified}::${spec.getName() || req.getName()}`);
    }
    for (const urn of req.getAliasurnsList?.() ?? []) out.push(urn);
    return register(req, callback);
  };
  return out;
}

/** Runs index.ts under mocks for one stack and returns its outputs and resources. */
export async function runProgram(options: RunOptions): Promise<ProgramRun> {
  const project = options.project ?? PROJECT;
  const recorded: Omit<RecordedResource, "urn" | "parentType">[] = [];
  const config: Record<string, string> = { "aws:region": options.region };
  for (const [key, value] of Object.entries(options.config)) config[key.includes(":") ? key : `${project}:${key}`] = value;
  pulumi.runtime.setAllConfig(config);

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.type === "pulumi:pulumi:StackReference") {
          const outputs = options.stackReferences?.[args.inputs.name];
          if (!outputs) throw new Error(`no outputs mocked for stack reference ${args.inputs.name}`);
          return { id: args.inputs.name, state: { name: args.inputs.name, outputs, secretOutputNames: [] } };
        }
        const inputs = reveal(args.inputs);
        const secretInputs = Object.keys(args.inputs).filter((k) => isSecret(args.inputs[k]));
        const state = args.custom === false ? {} : { ...args.inputs, ...realisticState(args.type, args.name, inputs, options) };
        recorded.push({ type: args.type, name: args.name, custom: args.custom !== false, inputs, secretInputs, state });
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        return realisticCall(args.token, args.inputs, options);
      },
    },
    project,
    options.stack,
    false,
  );

  const aliases = captureAliases(project, options.stack);
  const program: () => Promise<Record<string, unknown>> = require("../../index");
  const outputs = (await unwrap(await program())) as Record<string, any>;
  await require("@pulumi/pulumi/runtime/settings").waitForRPCs();

  const monitor = pulumi.runtime.getMonitor() as any;
  const urns: string[] = [...monitor.getRegisteredResources().keys()];
  const resources: RecordedResource[] = recorded.map((r) => {
    const urn = urns.find((u) => u.endsWith(`::${r.name}`) && u.split("::")[2].split("$").pop() === r.type) ?? "";
    const chain = urn ? urn.split("::")[2].split("$") : [];
    return { ...r, urn, parentType: chain.length > 1 ? chain[chain.length - 2] : undefined };
  });
  return {
    outputs,
    resources,
    aliases,
    ofType: (type) => resources.filter((r) => r.type === type),
    one(type, suffix) {
      const matches = resources.filter((r) => r.type === type && (suffix === undefined || r.name.endsWith(suffix)));
      if (matches.length !== 1)
        throw new Error(`expected one ${type}${suffix ? ` named *${suffix}` : ""}, found ${matches.length}: ${matches.map((m) => m.name).join(", ")}`);
      return matches[0];
    },
  };
}

/** Parses a policy document input (string or object) into an object. */
export function policyDocument(value: unknown): { Version: string; Statement: any[] } {
  return typeof value === "string" ? JSON.parse(value) : (value as any);
}
