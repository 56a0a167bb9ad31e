/**
 * The preflight as the program runs it, at `pulumi preview` and `pulumi up`
 * time, before it registers any resource (only the StackReference read of
 * the consumer comes first): it reads the stack's config, the consumer's
 * outputs and the caller's account, runs the checks, and fails with one
 * line per problem. Without it a bad value fails halfway through `up`,
 * after the resources before it were created, and a disagreement between
 * the stacks deploys green and denies every batch.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { CONSUMER_OUTPUT_KEYS, ConsumerView, StackConfig, Target } from "./inputs";
import { producerProblems } from "./producer";
import { consumerProblems } from "./consumer";

/** The preflight's refusal: every problem, one per line. A RunError, so `pulumi up` and `preview` print the problems alone, without a trace. */
export class PreflightError extends pulumi.RunError {
  constructor(
    // Not `stack`: that is Error's own trace, which Pulumi prints, and shadowing it printed only the stack's name.
    readonly stackName: string,
    readonly problems: string[],
  ) {
    super(`preflight: ${problems.length} problem(s) in stack ${stackName}; nothing was deployed:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "PreflightError";
  }
}

/** The running program's config as the checks read it: project keys without the prefix (secrets decrypted), `aws:` keys as they are. */
function programConfig(): StackConfig {
  const project = pulumi.getProject();
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    out[key.startsWith(`${project}:`) ? key.slice(project.length + 1) : key] = value;
  }
  return out;
}

async function programTarget(): Promise<Target> {
  const identity = await aws.getCallerIdentity({});
  return { stack: pulumi.getStack(), project: pulumi.getProject(), accountId: identity.accountId, region: pulumi.runtime.getConfig("aws:region") };
}

/** The consumer's outputs through the StackReference (secrets included, never printed), or the producer's explicit config. */
async function consumerView(config: StackConfig, ref: pulumi.StackReference | undefined): Promise<ConsumerView> {
  if (!ref) {
    const outputs: ConsumerView["outputs"] = {
      analyticsStreamArn: config.analyticsStreamArn,
      analyticsKeyArn: config.analyticsKeyArn,
      writerRoleArn: config.writerRoleArn,
      externalId: config.externalId,
    };
    return { source: "the producer's config (consumerStack unset)", deployed: false, outputs };
  }
  const outputs: ConsumerView["outputs"] = {};
  for (const key of CONSUMER_OUTPUT_KEYS) {
    const details = await ref.getOutputDetails(key);
    const value = details.value ?? details.secretValue;
    if (value !== undefined && value !== null) outputs[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { source: `consumer stack ${String(config.consumerStack)}`, deployed: true, outputs };
}

function refuse(stack: string, problems: string[]): void {
  if (problems.length) throw new PreflightError(stack, problems);
}

/** Checks the producer stack; throws {@link PreflightError} listing every problem. */
export async function preflightProducer(ref: pulumi.StackReference | undefined): Promise<void> {
  const config = programConfig();
  const target = await programTarget();
  refuse(target.stack, producerProblems(config, await consumerView(config, ref), target));
}

/** Checks the consumer stack; throws {@link PreflightError} listing every problem. */
export async function preflightConsumer(): Promise<void> {
  const target = await programTarget();
  refuse(target.stack, consumerProblems(programConfig(), target));
}
