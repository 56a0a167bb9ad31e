/**
 * The local provider: the resource handler (see program.ts) of `npm start`'s
 * stack runs. It creates the real resource in the emulators (streams,
 * tables, buckets) and answers everything with realistic state (names and
 * ARNs in the stack's account), so the program's policies and environment
 * read as they will on AWS; what the local runtime drives (functions,
 * mappings, routes, roles…) and what it does not emulate are recorded by the
 * harness. Inputs an emulated or driven type can't honour fail the run
 * before anything is created (see support.ts).
 */
import type { LocalEndpoints } from "../shared/manifest";
import { emulatorClients, ensureBucket, ensureStream, ensureTable } from "./emulatorResources";
import { reveal, ResourceHandler } from "./program";
import { checkInputs, supportOf } from "./support";
import { AccountContext, realisticCall, realisticId, realisticState } from "./resourceState";
import { TYPES } from "../../components/parts/typeTokens";

/** Options of {@link localProvider}. */
export interface LocalProviderOptions extends AccountContext {
  endpoints: LocalEndpoints;
}

/** The handler, and a way to close its emulator clients. */
export interface LocalProvider extends ResourceHandler {
  /** Closes the emulator clients. */
  close(): void;
}

/** Builds the local provider for one stack run. */
export function localProvider(options: LocalProviderOptions): LocalProvider {
  const ctx = { account: options.account, region: options.region };
  const clients = emulatorClients(options.endpoints, options.account, options.region);

  async function create(type: string, inputs: Record<string, any>, state: Record<string, any>): Promise<void> {
    if (type === TYPES.stream) await ensureStream(clients.kinesis, state.name, inputs);
    else if (type === TYPES.table) await ensureTable(clients.dynamodb, state.name, inputs);
    else if (type === TYPES.bucket || type === TYPES.bucketV2) await ensureBucket(clients.s3, state.bucket);
    else throw new Error(`local cloud: ${type} is marked emulated in support.ts but has no emulator call in provider.ts`);
  }

  return {
    async newResource(args, inputs) {
      checkInputs(args.type, args.name, inputs);
      // Secret inputs stay secret in the state Pulumi sees.
      const state = { ...args.inputs, ...realisticState(args.type, args.name, inputs, ctx) };
      const revealed = reveal(state);
      if (supportOf(args.type)?.kind === "emulated") await create(args.type, inputs, revealed);
      return { id: realisticId(args.type, args.name, revealed), state };
    },
    call: (token, inputs) => realisticCall(token, inputs, ctx),
    close: () => clients.destroy(),
  };
}
