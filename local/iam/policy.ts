/**
 * The enforcer's decision for one action on one resource by a role session:
 * the role's identity policies and, where one exists, the resource's policy,
 * each read by the one evaluator (statement.ts), combined the way AWS
 * combines them within one account and across accounts. Not covered: SCPs,
 * RCPs, permission boundaries, session policies, managed policy attachments.
 */
import { evaluatePolicies, NamedPolicy, PolicyDocument, PolicyVerdict, RequestContext } from "./statement";

export type { PolicyDocument, RequestContext } from "./statement";

/** Who makes the request: a session of a role. */
export interface SessionPrincipal {
  /** The role's IAM ARN (`aws:PrincipalArn`). */
  roleArn: string;
  /** The session's ARN, `arn:aws:sts::<account>:assumed-role/<name>/<session>` (the `User:` of a denial). */
  sessionArn: string;
  account: string;
}

/** The decision for one action on one resource. */
export interface Decision {
  allowed: boolean;
  /** Which side decided, for the message AWS gives. */
  basis: "identityAllow" | "resourceAllow" | "explicitDenyIdentity" | "explicitDenyResource" | "noIdentityAllow" | "noResourceAllow";
  /** Why, in words (statement labels, unsupported elements). */
  reason: string;
}

/** What {@link evaluate} needs. */
export interface EvaluationInput {
  principal: SessionPrincipal;
  action: string;
  resource: string;
  /** The account owning the resource. */
  resourceAccount: string;
  identityPolicies: { name: string; document: PolicyDocument }[];
  /** The resource's own policy, if it has one. */
  resourcePolicy?: PolicyDocument;
  /**
   * True when the service itself evaluates the resource side (STS with the
   * trust policy): then only the identity side is decided here, and a
   * cross-account request needs no resource policy from this evaluator.
   */
  resourceSideUpstream?: boolean;
  context: RequestContext;
}

/**
 * The global condition keys of a request by a role session, as AWS sets them
 * for a function calling over TLS (only the local hop is plain HTTP). Keys set
 * to undefined are known to be absent (no organisation, no calling service);
 * request-specific keys are the caller's to add.
 */
export function sessionContext(principal: { roleArn: string; account: string }): RequestContext {
  return {
    "aws:PrincipalArn": principal.roleArn,
    "aws:PrincipalAccount": principal.account,
    "aws:PrincipalType": "AssumedRole",
    "aws:PrincipalOrgID": undefined,
    "aws:SecureTransport": "true",
    "aws:ViaAWSService": "false",
    "aws:SourceAccount": undefined,
    "aws:SourceArn": undefined,
  };
}

const noIdentityAllow = (identity: PolicyVerdict): Decision => ({
  allowed: false,
  basis: "noIdentityAllow",
  reason: `no identity-based policy allows it: ${identity.notes.join("; ") || "the role has no statements"}`,
});

/** Decides one request the way AWS does for a role session, in the policy grammar the evaluator knows. */
export function evaluate(input: EvaluationInput): Decision {
  const request = { principal: input.principal, action: input.action, resource: input.resource, context: input.context };
  const identity = evaluatePolicies("identity", input.identityPolicies, request);
  if (identity.verdict === "deny") return { allowed: false, basis: "explicitDenyIdentity", reason: `explicitly denied by ${identity.label}` };
  const resourcePolicies: NamedPolicy[] = input.resourcePolicy ? [{ document: input.resourcePolicy }] : [];
  const resource: PolicyVerdict = input.resourcePolicy
    ? evaluatePolicies("resource", resourcePolicies, request)
    : { verdict: "none", notes: ["the resource has no policy"] };
  if (resource.verdict === "deny") return { allowed: false, basis: "explicitDenyResource", reason: `explicitly denied by ${resource.label}` };

  const crossAccount = input.resourceAccount !== input.principal.account;
  if (!crossAccount || input.resourceSideUpstream) {
    if (identity.verdict === "allow") return { allowed: true, basis: "identityAllow", reason: `allowed by ${identity.label}` };
    // In the role's own account a resource policy naming the role (not just the account) grants by itself.
    if (!crossAccount && resource.verdict === "allow" && resource.allowedByPrincipalName)
      return { allowed: true, basis: "resourceAllow", reason: `allowed by ${resource.label}` };
    return noIdentityAllow(identity);
  }
  // Across accounts both sides must allow.
  if (identity.verdict !== "allow") return noIdentityAllow(identity);
  if (resource.verdict !== "allow")
    return { allowed: false, basis: "noResourceAllow", reason: `cross-account, and no resource-based policy allows it: ${resource.notes.join("; ")}` };
  return { allowed: true, basis: "identityAllow", reason: `allowed across accounts by ${identity.label} and ${resource.label}` };
}

/** The message AWS gives for a denial of `action` on `resource`. */
export function denialMessage(principal: SessionPrincipal, action: string, resource: string, decision: Decision): string {
  const head = `User: ${principal.sessionArn} is not authorized to perform: ${action} on resource: ${resource}`;
  switch (decision.basis) {
    case "explicitDenyIdentity":
      return `${head} with an explicit deny in an identity-based policy`;
    case "explicitDenyResource":
      return `${head} with an explicit deny in a resource-based policy`;
    case "noResourceAllow":
      return `${head} because no resource-based policy allows the ${action} action`;
    default:
      return `${head} because no identity-based policy allows the ${action} action`;
  }
}
