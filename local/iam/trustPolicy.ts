/**
 * The local STS's question: may this caller assume the role whose trust
 * policy this is? Answered by the one policy evaluator (statement.ts) reading
 * the trust policy, with the context keys of a role session's AssumeRole
 * request. Only the trust side: the caller's identity policies are the IAM
 * enforcer's to check (policy.ts), as AWS checks both.
 */
import { sessionContext } from "./policy";
import { evaluatePolicies, PolicyDocument } from "./statement";

/** Who is calling AssumeRole: a role (its IAM ARN) and that role's account. */
export interface TrustCaller {
  /** The caller's role ARN, `arn:aws:iam::<account>:role/<path><name>`. */
  arn: string;
  /** The caller's 12-digit account id. */
  account: string;
  /** The caller's session ARN, which a Principal may name too. */
  sessionArn?: string;
}

/** The AssumeRole request's own condition keys (`sts:…`); absent = not in the request. */
export interface TrustContext {
  externalId?: string;
  roleSessionName?: string;
  sourceIdentity?: string;
}

/** The verdict and, always, why. */
export interface TrustDecision {
  allowed: boolean;
  reason: string;
}

const ACTION = "sts:AssumeRole";

/**
 * Decides whether `caller` may assume the role whose trust policy is
 * `trustPolicyJson`. An explicit Deny wins over any Allow; without an
 * applicable Allow the answer is an implicit deny; what the evaluator does not
 * support fails closed.
 */
export function mayAssume(trustPolicyJson: string, caller: TrustCaller, context: TrustContext): TrustDecision {
  let document: PolicyDocument;
  try {
    document = JSON.parse(trustPolicyJson);
  } catch (err) {
    return { allowed: false, reason: `trust policy is not valid JSON: ${(err as Error).message}` };
  }
  const statement = document?.Statement;
  if (!statement || (Array.isArray(statement) && statement.length === 0)) return { allowed: false, reason: "trust policy has no Statement" };

  const principal = { roleArn: caller.arn, account: caller.account, sessionArn: caller.sessionArn };
  const verdict = evaluatePolicies("trust", [{ document }], {
    principal,
    action: ACTION,
    // Trust statements name no Resource: the role they belong to is the resource.
    resource: "*",
    context: {
      ...sessionContext(principal),
      "sts:ExternalId": context.externalId,
      "sts:RoleSessionName": context.roleSessionName,
      "sts:SourceIdentity": context.sourceIdentity,
    },
  });
  if (verdict.verdict === "deny") return { allowed: false, reason: `explicitly denied by ${verdict.label}` };
  if (verdict.verdict === "allow") return { allowed: true, reason: `allowed by ${verdict.label}` };
  return { allowed: false, reason: `no statement allows ${caller.arn} to ${ACTION} (implicit deny): ${verdict.notes.join("; ")}` };
}
