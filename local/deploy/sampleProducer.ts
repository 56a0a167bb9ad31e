/**
 * The producer stack under mocks that create nothing, in account
 * 111111111111, reading a sample consumer stack (account 222222222222) by
 * StackReference: what `npm run artifacts`, the bench and the stack tests
 * take the program's functions and resources from, without a cloud.
 */
import { ProgramRun, runProgram } from "./program";
import { mockResources } from "./resourceState";
import { LOCAL_ACCOUNTS, LOCAL_REGION } from "../shared/manifest";
import { projectName } from "../shared/project";

export const PRODUCER = LOCAL_ACCOUNTS.producer;
export const CONSUMER = LOCAL_ACCOUNTS.consumer;
export const REGION = LOCAL_REGION;
/** The consumer stack's fully qualified name, as `consumerStack` config names it. */
export const CONSUMER_STACK = `acme/${projectName()}/consumer`;

/** The consumer stack's outputs, as the StackReference answers them. */
export const CONSUMER_OUTPUTS = {
  analyticsStreamArn: `arn:aws:kinesis:${REGION}:${CONSUMER}:stream/analytics-stream-0a1b2c3`,
  analyticsKeyArn: `arn:aws:kms:${REGION}:${CONSUMER}:key/11111111-2222-3333-4444-555555555555`,
  writerRoleArn: `arn:aws:iam::${CONSUMER}:role/analytics-writer-4d5e6f7`,
  externalId: "ext-7f3a9c",
};

/** Every function the producer stack deploys (tests/artifacts/runtimeLayout.test.ts checks the list against the run). */
export const PRODUCER_FUNCTIONS = ["orders-projector", "commands-handler", "analytics-bridge-forwarder", "events-archive-archiver"];

/** Runs the producer stack; extra config overrides the defaults. */
export function runProducer(
  config: Record<string, string> = {},
  stackReferences: Record<string, Record<string, unknown>> = { [CONSUMER_STACK]: CONSUMER_OUTPUTS },
): Promise<ProgramRun> {
  return runProgram({
    stack: "producer",
    region: REGION,
    config: { role: "producer", consumerStack: CONSUMER_STACK, ...config },
    stackReferences,
    handler: mockResources({ account: PRODUCER, region: REGION }),
  });
}
