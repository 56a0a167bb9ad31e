/**
 * Step 2 of the local cloud: both stacks of the program, each deployed by
 * running index.ts in its own process under the local provider (consumer
 * first: the producer reads its outputs through a StackReference). The
 * manifests they leave are all the later steps know of the topology.
 */
import * as path from "path";
import { manifestPath, StackChild, startStackChild } from "../../deploy/runStack";
import { deleteDepartedTables, previousManifest } from "../../deploy/departed";
import { emulatorDynamo } from "../../emulators/clients";
import { LOCAL_ACCOUNTS, LOCAL_REGION, LocalEndpoints, StackManifest, StackRole } from "../../shared/manifest";
import { LocalRole } from "../../sts/sts";
import { TYPES } from "../../../components/parts/typeTokens";
import { projectName } from "../../shared/project";
import { CloudContext, ofType, Service } from "../context";

/** The consumer stack's name as the producer's StackReference names it locally. */
export const LOCAL_CONSUMER_STACK = `local/${projectName()}/consumer`;
/** The ExternalId both local stacks share unless config overrides it. */
export const LOCAL_EXTERNAL_ID = "local-external-id";

/** The manifests of both stacks, as last deployed; later steps read them when they act, so a redeploy is seen. */
export type Manifests = Record<StackRole, StackManifest>;

/** The deployed stacks. */
export interface StacksService extends Service {
  manifests: Manifests;
  /** Re-runs one stack's program with extra config, like `pulumi up`, and replaces its manifest. */
  deploy(stack: StackRole, extra: Record<string, string>): Promise<void>;
}

function baseConfig(stack: StackRole): Record<string, string> {
  return stack === "consumer"
    ? { role: "consumer", producerAccountId: LOCAL_ACCOUNTS.producer, externalId: LOCAL_EXTERNAL_ID }
    : { role: "producer", consumerStack: LOCAL_CONSUMER_STACK };
}

/** The roles both stacks declare, with their trust policies, as the local STS checks them. */
export function declaredRoles(manifests: Partial<Manifests>): LocalRole[] {
  return Object.values(manifests).flatMap((m) => ofType(m, TYPES.role).map((r) => ({ arn: r.state.arn, assumeRolePolicy: r.inputs.assumeRolePolicy })));
}

/**
 * Step 0: one stack-run process per stack, started first so that loading
 * Pulumi and the program (a second or two each) overlaps the emulators'
 * start and, for the producer, the consumer's run; stopping ends those never used.
 */
export function prewarmStacks(): Partial<Record<StackRole, StackChild>> & Service {
  const children: Partial<Record<StackRole, StackChild>> = { consumer: startStackChild(), producer: startStackChild() };
  return Object.assign(children, {
    stop: async () => {
      for (const stack of ["consumer", "producer"] as StackRole[]) children[stack]?.cancel();
    },
  });
}

/** Config over `base`; base's JWT keys are dropped once the stack authenticates otherwise (they would contradict it). */
export function stackConfig(base: Record<string, string>, ...over: Record<string, string>[]): Record<string, string> {
  const merged = Object.assign({ ...base }, ...over);
  if (merged.apiAuth !== "jwt") for (const key of ["jwtIssuer", "jwtAudiences"]) if (merged[key] === base[key]) delete merged[key];
  return merged;
}

/**
 * Deploys the consumer, then the producer, into `manifests` (filled in place:
 * the emulators' STS already reads it); `producerDefaults` (the local
 * issuer's auth config) sit under the caller's config. Each stack's first
 * run takes its process from `prewarmed` when given (started before the
 * emulators, see {@link prewarmStacks}), a redeploy starts a new one.
 */
export async function deployStacks(
  ctx: CloudContext,
  endpoints: LocalEndpoints,
  config: Partial<Record<StackRole, Record<string, string>>>,
  manifests: Manifests,
  producerDefaults: Record<string, string> = {},
  prewarmed: Partial<Record<StackRole, StackChild>> = {},
): Promise<StacksService> {
  const deploy = async (stack: StackRole, extra: Record<string, string>) => {
    ctx.progress(`deploying the ${stack} stack (account ${LOCAL_ACCOUNTS[stack]}): running index.ts under the local provider`);
    const base = { ...baseConfig(stack), ...(stack === "producer" ? producerDefaults : {}) };
    const child = prewarmed[stack] ?? startStackChild();
    delete prewarmed[stack];
    const outputDir = path.join(ctx.workDir, "stacks");
    // The previous deploy (this run's, or a data dir's last one): tables that leave the program are deleted, as `pulumi up` would.
    const file = manifestPath(outputDir, stack);
    const previous = manifests[stack]
      ? { manifest: manifests[stack], text: JSON.stringify(manifests[stack], null, 2) }
      : ctx.persistDir("stacks")
        ? previousManifest(file)
        : undefined;
    const next = await child.run({
      stack,
      account: LOCAL_ACCOUNTS[stack],
      region: LOCAL_REGION,
      endpoints,
      config: stackConfig(base, config[stack] ?? {}, extra),
      stackReferences: stack === "producer" ? { [LOCAL_CONSUMER_STACK]: manifests.consumer.outputs } : {},
      outputDir,
    });
    if (previous) {
      const dynamodb = emulatorDynamo({ endpoint: endpoints.dynamodb });
      try {
        for (const line of await deleteDepartedTables(dynamodb, stack, previous, next, file)) ctx.progress(line);
      } finally {
        dynamodb.destroy();
      }
    }
    manifests[stack] = next;
  };
  await deploy("consumer", {});
  await deploy("producer", {});
  // What was deployed lives in the emulators, which stop on their own.
  return { manifests, deploy, stop: async () => undefined };
}
