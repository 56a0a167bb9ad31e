/**
 * What the IAM enforcer evaluates, read from the program itself: the roles
 * and resource policies the stacks' manifests record, found by their type
 * tokens, never by names. Pure functions of the manifests, so a redeploy is
 * seen as soon as its manifest replaces the old one.
 */
import { ManifestResource, StackManifest } from "../shared/manifest";
import { PolicyDocument } from "./policy";
import { TYPES } from "../../components/parts/typeTokens";

/** A role as the enforcer sees it: its ARN and identity policies. */
export interface EnforcerRole {
  arn: string;
  policies: { name: string; document: PolicyDocument }[];
}

/** Everything the enforcer evaluates; read on every request, so redeploys are seen. Never changed in place (decisions are kept per set): a change is a new set. */
export interface PolicySet {
  roles: EnforcerRole[];
  /** Resource-based policies by the ARN they are attached to (a Kinesis stream's, a DynamoDB table's). */
  resourcePolicies: { resourceArn: string; document: PolicyDocument }[];
}

const RESOURCE_POLICY_TYPES: readonly string[] = [TYPES.streamResourcePolicy, TYPES.tableResourcePolicy];

function parsePolicy(value: unknown): PolicyDocument {
  return (typeof value === "string" ? JSON.parse(value) : value) as PolicyDocument;
}

/**
 * The roles (inline policies declared on the role, and `aws.iam.RolePolicy`
 * resources) and resource policies (Kinesis and DynamoDB) of the given stack
 * manifests. Managed policy attachments are not read: a role relying on one
 * is denied locally (fail closed).
 */
export function policiesFromManifests(manifests: StackManifest[]): PolicySet {
  const resources: ManifestResource[] = manifests.flatMap((m) => m.resources);
  const roles = resources
    .filter((r) => r.type === TYPES.role)
    .map((r): EnforcerRole => ({
      arn: r.state.arn,
      policies: ((r.inputs.inlinePolicies ?? []) as { name?: string; policy: unknown }[])
        .filter((p) => p?.policy)
        .map((p, i) => ({ name: p.name ?? `${r.name}-inline-${i}`, document: parsePolicy(p.policy) })),
    }));
  for (const rp of resources.filter((r) => r.type === TYPES.rolePolicy)) {
    const role = roles.find((r) => r.arn.endsWith(`/${rp.inputs.role}`) || r.arn === rp.inputs.role);
    if (role) role.policies.push({ name: rp.inputs.name ?? rp.name, document: parsePolicy(rp.inputs.policy) });
  }
  const resourcePolicies = resources
    .filter((r) => RESOURCE_POLICY_TYPES.includes(r.type))
    .map((r) => ({ resourceArn: r.inputs.resourceArn as string, document: parsePolicy(r.inputs.policy) }));
  return { roles, resourcePolicies };
}

/**
 * {@link policiesFromManifests} over whatever manifests `current` returns now,
 * parsed again only when one of them was replaced (a redeploy).
 */
export function manifestPolicies(current: () => StackManifest[]): () => PolicySet {
  let seen: StackManifest[] = [];
  let set: PolicySet = { roles: [], resourcePolicies: [] };
  return () => {
    const now = current();
    if (now.length !== seen.length || now.some((m, i) => m !== seen[i])) {
      set = policiesFromManifests(now);
      seen = [...now];
    }
    return set;
  };
}
