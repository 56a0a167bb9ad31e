/**
 * The producer stack as the tests run it under mocks (local/deploy/sampleProducer.ts:
 * account 111111111111, reading a mocked consumer stack in 222222222222 by
 * StackReference), and readers of its roles' policies.
 */
import { ProgramRun } from "./pulumiMocks";

export { CONSUMER, CONSUMER_OUTPUTS, CONSUMER_STACK, PRODUCER, REGION, runProducer } from "../../local/deploy/sampleProducer";

/** The statements of a role's one inline policy. */
export function roleStatements(run: ProgramRun, roleNameSuffix: string): any[] {
  const role = run.one("aws:iam/role:Role", roleNameSuffix);
  const policies = role.inputs.inlinePolicies ?? [];
  if (policies.length !== 1) throw new Error(`role ${role.name} must have exactly one inline policy, got ${policies.length}`);
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
