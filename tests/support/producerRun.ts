/**
 * The producer stack as the tests run it under mocks: account 111111111111,
 * reading a mocked consumer stack (account 222222222222) by StackReference.
 */
import { ProgramRun, runProgram } from "./pulumiMocks";

export const PRODUCER = "111111111111";
export const CONSUMER = "222222222222";
export const REGION = "us-east-1";
export const CONSUMER_STACK = "acme/event-sourced-pipeline/consumer";

/** The consumer stack's outputs, as the StackReference answers them. */
export const CONSUMER_OUTPUTS = {
  analyticsStreamArn: `arn:aws:kinesis:${REGION}:${CONSUMER}:stream/analytics-stream-0a1b2c3`,
  analyticsKeyArn: `arn:aws:kms:${REGION}:${CONSUMER}:key/11111111-2222-3333-4444-555555555555`,
  writerRoleArn: `arn:aws:iam::${CONSUMER}:role/analytics-writer-4d5e6f7`,
  externalId: "ext-7f3a9c",
};

/** Runs the producer stack; extra config overrides the defaults. */
export function runProducer(
  config: Record<string, string> = {},
  stackReferences: Record<string, Record<string, unknown>> = { [CONSUMER_STACK]: CONSUMER_OUTPUTS },
): Promise<ProgramRun> {
  return runProgram({
    stack: "producer",
    account: PRODUCER,
    region: REGION,
    config: { role: "producer", consumerStack: CONSUMER_STACK, ...config },
    stackReferences,
  });
}

/** The statements of a role's one inline policy. */
export function roleStatements(run: ProgramRun, roleNameSuffix: string): any[] {
  const role = run.one("aws:iam/role:Role", roleNameSuffix);
  const policies = role.inputs.inlinePolicies ?? [];
  if (policies.length !== 1) throw new Error(`${role.name} has ${policies.length} inline policies`);
  return JSON.parse(policies[0].policy).Statement;
}

/** Every (action, resource) pair a role's policy allows, as "action resource" strings. */
export function grants(statements: any[]): string[] {
  const out: string[] = [];
  for (const s of statements) {
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
    const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
    for (const a of actions) for (const r of resources) out.push(`${a} ${r}`);
  }
  return out.sort();
}
