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
import { LocalEndpoints, StackRole } from "../../shared/manifest";
import { accountOf, CloudContext, mappedFunction, ofType, Service } from "../context";
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
