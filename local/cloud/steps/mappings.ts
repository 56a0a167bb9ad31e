/**
 * Step 5 of the local cloud: every event-source mapping the stacks declare,
 * polled with its declared settings, invoking its function by ARN, and
 * sending what it gives up on to the on-failure queues (kept on disk with
 * the data, so a restart shows them). With a data dir each mapping's shard
 * checkpoints persist too, so a restart resumes where it stopped; a stop
 * lets the invocations in flight finish first (up to DRAIN_MS).
 */
import { TYPES } from "../../../components/parts/typeTokens";
import { MappingPoller, MappingSpec, startMappingPoller } from "../../lambda/mapping/poller";
import { createQueues, OnFailureQueues } from "../../lambda/mapping/onFailureQueue";
import { emulatorKinesis } from "../../emulators/clients";
import { checkpointStore } from "../../shared/checkpoints";
import { LocalEndpoints, ManifestFunction, ManifestResource, StackManifest, StackRole } from "../../shared/manifest";
import { accountOf, CloudContext, ofType, Service } from "../context";
import { Manifests } from "./stacks";
import { FunctionsService } from "./functions";

/** How long a stop waits for a mapping's invocations in flight, so their batches are checkpointed rather than delivered again. */
export const DRAIN_MS = 10_000;

/** One polled mapping, with the type of the component that declared it (what its records are for). */
export interface RunningMapping {
  name: string;
  parentType?: string;
  /** The environment of the function it invokes (what the counts find a projector's table by). */
  environment: Record<string, string>;
  poller: MappingPoller;
}

/** The running mappings and their on-failure queues. */
export interface MappingsService extends Service {
  mappings: RunningMapping[];
  queues: OnFailureQueues;
}

/** The function a mapping's `functionName` input names: by ARN or by physical name, as Lambda resolves it. */
function mappedFunction(m: StackManifest, mapping: ManifestResource): ManifestFunction {
  const name = mapping.inputs.functionName;
  const resource = ofType(m, TYPES.function).find((f) => f.state.arn === name || f.state.name === name);
  const fn = resource && m.functions.find((f) => f.arn === resource.state.arn);
  if (!fn) throw new Error(`local cloud: mapping ${mapping.name} must name a function of the ${m.stack} stack, got functionName ${name}`);
  return fn;
}

/** Starts polling every mapping of both stacks. */
export async function startMappings(ctx: CloudContext, manifests: Manifests, endpoints: LocalEndpoints, functions: FunctionsService): Promise<MappingsService> {
  const queues = createQueues({ dir: ctx.persistDir("queues") });
  const checkpointsDir = ctx.persistDir("checkpoints");
  const mappings: RunningMapping[] = [];
  const stop = async () => {
    await Promise.all(mappings.map((p) => p.poller.stop(DRAIN_MS)));
  };
  try {
    for (const stack of ["consumer", "producer"] as StackRole[]) {
      for (const m of ofType(manifests[stack], TYPES.mapping)) {
        const fn = mappedFunction(manifests[stack], m);
        const poller = startMappingPoller(m.inputs as MappingSpec, {
          kinesis: emulatorKinesis({ account: accountOf(m.inputs.eventSourceArn), endpoint: endpoints.kinesis }),
          invoke: (event) => functions.invoke(fn.arn, event),
          invokeIdentityArn: fn.roleArn,
          sendToOnFailure: (destinationArn, message) => queues.send(destinationArn, message),
          log: (e) => ctx.runtime.write(`[${m.name}] ${JSON.stringify(e)}`),
          writes: ctx.writes,
          checkpoints: checkpointsDir ? checkpointStore(checkpointsDir, "mapping", m.name, m.inputs.eventSourceArn) : undefined,
        });
        mappings.push({ name: m.name, parentType: m.parentType, environment: fn.environment, poller });
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { mappings, queues, stop };
}
