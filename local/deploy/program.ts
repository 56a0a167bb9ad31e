/**
 * The one harness that runs the Pulumi program (index.ts) for one stack under
 * Pulumi mocks, without the CLI: the stack tests, `npm run artifacts`, the
 * bench and the local cloud's stack runs all go through it. It sets the
 * stack's config (project keys prefixed with the name in Pulumi.yaml),
 * installs mocks built from a pluggable {@link ResourceHandler} (one that only
 * answers realistic state, or the local provider, which creates the real
 * thing in the emulators), answers StackReferences, runs the program, waits
 * for its RPCs, unwraps its outputs, and records every resource with its URN,
 * parent type and aliases. Pulumi's mocks, config and module cache are
 * process-wide: run one stack at a time in a process.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_ROOT, projectName } from "../shared/project";
import { TYPES } from "../../components/parts/typeTokens";
import { captureRegistrations, parentTypeOf, Registration } from "./registrations";

/** A handler's answer for one custom resource. */
export interface HandlerAnswer {
  /** The physical id (what `resource.id` resolves to). */
  id: string;
  /** The state Pulumi sees (secret inputs may stay wrapped; the record holds them revealed). */
  state: Record<string, any>;
}

/** What answers the program's custom resources and provider functions; the harness answers components and StackReferences. */
export interface ResourceHandler {
  /** Answers one custom resource; `inputs` are `args.inputs` with secrets revealed. Throwing fails the run. */
  newResource(args: pulumi.runtime.MockResourceArgs, inputs: Record<string, any>): HandlerAnswer | Promise<HandlerAnswer>;
  /** Answers a provider function (`aws:index/getCallerIdentity:getCallerIdentity`…). Throwing fails the run. */
  call(token: string, inputs: Record<string, any>): Record<string, unknown>;
}

/** One resource the program registered. */
export interface ProgramResource {
  type: string;
  /** Logical name. */
  name: string;
  urn: string;
  /** Type of the parent resource (from the URN), or undefined for the stack's direct children. */
  parentType?: string;
  /** False for component resources. */
  custom: boolean;
  /** The physical id answered; "" for components. */
  id: string;
  /** Inputs with secrets revealed (see `secretInputs`). */
  inputs: Record<string, any>;
  /** Top-level input names whose value was a secret. */
  secretInputs: string[];
  /** State as answered, secrets revealed; {} for components. */
  state: Record<string, any>;
  /** URNs the resource's `aliases` name (what `pulumi up` would treat as the same resource). */
  aliases: string[];
  /** Inputs the resource's `ignoreChanges` names: a change to them is neither an update nor a replacement. */
  ignoreChanges: string[];
  /** Its `protect`: `pulumi destroy`, or an update that would delete or replace it, fails. */
  protect: boolean;
}

/** A resource as the mocks recorded it, before its URN is known. */
export type MockRecord = Omit<ProgramResource, "urn" | "parentType" | "aliases" | "ignoreChanges" | "protect"> & {
  /** Registration order: answers may complete out of order. */
  seq: number;
  /** Which registration of this type and name it was (0 for the first): joins it to its URN. */
  occurrence: number;
};

/** The mocks to install, what they recorded, and the first error they threw. */
export interface ProgramMocks {
  mocks: pulumi.runtime.Mocks;
  /** Every resource answered so far (StackReferences excepted), in the order the answers completed. */
  recorded: MockRecord[];
  /**
   * Rejects with the first error the handler threw. Pulumi turns such an error
   * into rejected outputs, which may never settle an `apply`: race the program
   * against this to fail fast.
   */
  failure: Promise<never>;
}

/** Replaces Pulumi's secret wrappers by their values; leaves assets, archives and other class instances as they are. */
export function reveal(value: any): any {
  if (Array.isArray(value)) return value.map(reveal);
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    if (pulumi.runtime.isRpcSecret(value)) return reveal(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  }
  return value;
}

/** Resolves outputs, nested objects, arrays and secrets to plain values (an apply never runs for an unknown, so mocks always resolve). */
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

/** The answer to a StackReference: the outputs given for that stack, or an error naming the stacks that have some. */
function stackReference(name: string, stackReferences: Record<string, Record<string, unknown>>): HandlerAnswer {
  const outputs = stackReferences[name];
  if (!outputs)
    throw new Error(
      `StackReference "${name}": no outputs given for that stack (outputs given for: ${Object.keys(stackReferences).join(", ") || "none"}); run that stack first`,
    );
  return { id: name, state: { name, outputs, secretOutputNames: [] } };
}

/** Builds the mocks over `handler`: StackReferences answered from `stackReferences`, components answered and recorded here. */
export function programMocks(handler: ResourceHandler, stackReferences: Record<string, Record<string, unknown>> = {}): ProgramMocks {
  const recorded: MockRecord[] = [];
  const occurrences = new Map<string, number>();
  let seq = 0;
  let fail!: (err: unknown) => void;
  const failure = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failure.catch(() => undefined); // observed by whoever races it; never an unhandled rejection

  async function newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
    // Counted on entry, which follows the registration synchronously, so the count matches the monitor's order.
    const key = `${args.type}::${args.name}`;
    const occurrence = occurrences.get(key) ?? 0;
    occurrences.set(key, occurrence + 1);
    const order = seq++;
    if (args.type === TYPES.stackReference) return stackReference(args.inputs.name, stackReferences);
    const inputs = reveal(args.inputs);
    const secretInputs = Object.keys(args.inputs).filter((k) => pulumi.runtime.isRpcSecret(args.inputs[k]));
    const base = { type: args.type, name: args.name, seq: order, occurrence, inputs, secretInputs };
    if (args.custom === false) {
      recorded.push({ ...base, custom: false, id: "", state: {} });
      return { id: undefined, state: {} };
    }
    const answer = await handler.newResource(args, inputs);
    recorded.push({ ...base, custom: true, id: answer.id, state: reveal(answer.state) });
    return answer;
  }

  const mocks: pulumi.runtime.Mocks = {
    async newResource(args) {
      try {
        return await newResource(args);
      } catch (err) {
        fail(err);
        throw err;
      }
    },
    call(args) {
      try {
        return handler.call(args.token, args.inputs);
      } catch (err) {
        fail(err);
        throw err;
      }
    },
  };
  return { mocks, recorded, failure };
}

/** What one stack run needs. */
export interface ProgramOptions {
  /** Stack name Pulumi sees. */
  stack: string;
  /** Set as `aws:region`. */
  region: string;
  /** Project config without the project prefix; keys with a `:` (`aws:…`) are passed as they are. */
  config: Record<string, string>;
  /** Outputs answered for StackReferences, by referenced stack name. */
  stackReferences?: Record<string, Record<string, unknown>>;
  /** Answers the custom resources. */
  handler: ResourceHandler;
  /** Default: the name in Pulumi.yaml. */
  project?: string;
  /** Program module (absolute, or relative to the project root). Default: index.ts. */
  program?: string;
}

/** The stack's outputs and resources. */
export interface ProgramRun {
  outputs: Record<string, any>;
  resources: ProgramResource[];
  /** Every URN named by the `aliases` of registered resources. */
  aliases: string[];
  /** Every resource of one type. */
  ofType(type: string): ProgramResource[];
  /** The one resource of a type whose logical name ends with `suffix`. */
  one(type: string, suffix?: string): ProgramResource;
}

/** Config as Pulumi keys it: project keys prefixed with the project name. */
function stackConfig(project: string, region: string, config: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { "aws:region": region };
  for (const [key, value] of Object.entries(config)) out[key.includes(":") ? key : `${project}:${key}`] = value;
  return out;
}

/** Each recorded resource with the URN, parent type, aliases, ignoreChanges and protect of its registration. */
function withUrns(recorded: MockRecord[], registrations: Registration[]): ProgramResource[] {
  const byKey = new Map<string, Registration[]>();
  for (const r of registrations) byKey.set(`${r.type}::${r.name}`, [...(byKey.get(`${r.type}::${r.name}`) ?? []), r]);
  return [...recorded]
    .sort((a, b) => a.seq - b.seq)
    .map(({ seq: _seq, occurrence, ...r }) => {
      const registration = byKey.get(`${r.type}::${r.name}`)?.[occurrence];
      const urn = registration?.urn ?? "";
      return {
        ...r,
        urn,
        parentType: parentTypeOf(urn),
        aliases: registration?.aliases ?? [],
        ignoreChanges: registration?.ignoreChanges ?? [],
        protect: registration?.protect ?? false,
      };
    });
}

/** The run's lookups over its resources. */
function programRun(outputs: Record<string, any>, resources: ProgramResource[], aliases: string[]): ProgramRun {
  return {
    outputs,
    resources,
    aliases,
    ofType: (type) => resources.filter((r) => r.type === type),
    one(type, suffix) {
      const matches = resources.filter((r) => r.type === type && (suffix === undefined || r.name.endsWith(suffix)));
      if (matches.length !== 1)
        throw new Error(
          `expected exactly one ${type}${suffix ? ` named *${suffix}` : ""}, found ${matches.length}${matches.length ? `: ${matches.map((m) => m.name).join(", ")}` : ""}`,
        );
      return matches[0];
    },
  };
}

/** Runs the program for one stack under mocks built from `options.handler` and returns its outputs and resources. */
export async function runProgram(options: ProgramOptions): Promise<ProgramRun> {
  const project = options.project ?? projectName();
  pulumi.runtime.setAllConfig(stackConfig(project, options.region, options.config));
  const { mocks, recorded, failure } = programMocks(options.handler, options.stackReferences);
  await pulumi.runtime.setMocks(mocks, project, options.stack, false);
  const registrations = captureRegistrations(project, options.stack);

  const run = async () => {
    const main: () => unknown = require(path.resolve(PROJECT_ROOT, options.program ?? "index"));
    const outputs = reveal(await unwrap(await main())) as Record<string, any>;
    await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
    return outputs;
  };
  const outputs = await Promise.race([run(), failure]);
  const resources = withUrns(recorded, registrations);
  return programRun(
    outputs,
    resources,
    registrations.flatMap((r) => r.aliases),
  );
}
