/**
 * The local provider: Pulumi mocks whose `newResource` creates the real
 * resource in the emulators (streams, tables, buckets), records what the
 * local runtime drives (functions, mappings, routes, roles…), and records the
 * rest as not emulated. Every answer carries realistic state (names and ARNs
 * in the stack's account), so the program's policies and environment read as
 * they will on AWS. Inputs an emulated or driven type can't honour fail the
 * run (see providerSupport.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import type { LocalEndpoints, ManifestResource, StackRole } from "../shared/manifest";
import { emulatorClients, ensureBucket, ensureStream, ensureTable } from "./emulatorResources";
import { checkInputs, supportOf } from "./support";
import { realisticCall, realisticId, realisticState } from "./resourceState";
import { TYPES } from "../../components/parts/typeTokens";

/** Options of {@link localProvider}. */
export interface LocalProviderOptions {
  stack: StackRole;
  account: string;
  region: string;
  endpoints: LocalEndpoints;
  /** Outputs answered for `pulumi.StackReference`s, by referenced stack name. */
  stackReferences?: Record<string, Record<string, unknown>>;
}

/** One registered resource as the provider recorded it. */
export interface ProviderRecord extends ManifestResource {
  /** False for component resources. */
  custom: boolean;
  /** Physical id answered. */
  id: string;
}

/** The mocks to install and what they recorded. */
export interface LocalProvider {
  mocks: pulumi.runtime.Mocks;
  /** Every resource registered so far, in registration order. */
  recorded: ProviderRecord[];
  /** Custom resource types with no row in providerSupport.ts, with counts. */
  notEmulated(): Record<string, number>;
  /**
   * Rejects with the first error any `newResource` threw. Pulumi turns such an
   * error into rejected outputs, which may never settle an `apply`: race the
   * program against this to fail fast.
   */
  failure: Promise<never>;
  /** Closes the emulator clients. */
  close(): void;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Replaces Pulumi's secret wrappers by their values; leaves assets and archives as they are. */
export function reveal(value: any): any {
  if (Array.isArray(value)) return value.map(reveal);
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    if (value[SECRET_SIG] !== undefined && "value" in value) return reveal(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  }
  return value;
}

/** Builds the local provider for one stack run. */
export function localProvider(options: LocalProviderOptions): LocalProvider {
  const ctx = { account: options.account, region: options.region };
  const clients = emulatorClients(options.endpoints, options.account, options.region);
  const recorded: ProviderRecord[] = [];
  let fail!: (err: unknown) => void;
  const failure = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failure.catch(() => undefined); // observed by whoever races it; never an unhandled rejection

  async function create(type: string, inputs: Record<string, any>, state: Record<string, any>): Promise<void> {
    if (type === TYPES.stream) await ensureStream(clients.kinesis, state.name, inputs);
    else if (type === TYPES.table) await ensureTable(clients.dynamodb, state.name, inputs);
    else if (type === TYPES.bucket || type === TYPES.bucketV2) await ensureBucket(clients.s3, state.bucket);
    else throw new Error(`local cloud: ${type} is marked emulated but has no emulator call`);
  }

  async function newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
    if (args.type === TYPES.stackReference) {
      const name = args.inputs.name as string;
      const outputs = options.stackReferences?.[name];
      if (!outputs)
        throw new Error(
          `local cloud: no outputs for StackReference "${name}" (known: ${Object.keys(options.stackReferences ?? {}).join(", ") || "none"}); run that stack first`,
        );
      return { id: name, state: { name, outputs, secretOutputNames: [] } };
    }
    const inputs = reveal(args.inputs);
    if (args.custom === false) {
      recorded.push({ type: args.type, name: args.name, custom: false, id: "", inputs, state: {} });
      return { id: undefined, state: {} };
    }
    checkInputs(args.type, args.name, inputs);
    // Secret inputs stay secret in the state Pulumi sees; the record holds them revealed.
    const state = { ...args.inputs, ...realisticState(args.type, args.name, inputs, ctx) };
    const revealed = reveal(state);
    if (supportOf(args.type)?.kind === "emulated") await create(args.type, inputs, revealed);
    const id = realisticId(args.type, args.name, revealed);
    recorded.push({ type: args.type, name: args.name, custom: true, id, inputs, state: revealed });
    return { id, state };
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
        return realisticCall(args.token, args.inputs, ctx);
      } catch (err) {
        fail(err);
        throw err;
      }
    },
  };

  return {
    mocks,
    recorded,
    failure,
    notEmulated() {
      const counts: Record<string, number> = {};
      for (const r of recorded) if (r.custom && !supportOf(r.type)) counts[r.type] = (counts[r.type] ?? 0) + 1;
      return counts;
    },
    close: () => clients.destroy(),
  };
}
