/**
 * A small IAM policy evaluator for the local cloud's enforcer: a role
 * session's identity policies and, where one exists, the resource's policy,
 * combined the way AWS combines them within one account and across accounts.
 * It covers the policy grammar this program emits and a little more;
 * anything it does not understand fails closed (an Allow it can't read never
 * grants, a Deny it can't read always applies), with the reason, so the local
 * cloud never grants what AWS might refuse. Not covered: SCPs, RCPs,
 * permission boundaries, session policies, managed policy attachments.
 */

/** One policy document, as parsed JSON. */
export interface PolicyDocument {
  Version?: string;
  Statement: unknown;
}

/** Who makes the request: a session of a role. */
export interface SessionPrincipal {
  /** The role's IAM ARN (`aws:PrincipalArn`). */
  roleArn: string;
  /** The session's ARN, `arn:aws:sts::<account>:assumed-role/<name>/<session>` (the `User:` of a denial). */
  sessionArn: string;
  account: string;
}

/** Request context a condition can test; keys compared case-insensitively. Values absent = key absent. */
export type RequestContext = Record<string, string | undefined>;

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

class Unsupported extends Error {}

type Verdict = "allow" | "deny" | "none";
interface SideResult {
  verdict: Verdict;
  label?: string;
  notes: string[];
  allowedByPrincipalName?: boolean;
}

const IDENTITY_ELEMENTS = new Set(["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"]);
const RESOURCE_ELEMENTS = new Set([...IDENTITY_ELEMENTS, "Principal"]);

/** Decides one request the way AWS does for a role session in the policies' grammar this evaluator knows. */
export function evaluate(input: EvaluationInput): Decision {
  const identity = evaluateSide("identity", input.identityPolicies, input);
  if (identity.verdict === "deny") return { allowed: false, basis: "explicitDenyIdentity", reason: `explicitly denied by ${identity.label}` };
  const resource = input.resourcePolicy
    ? evaluateSide("resource", [{ name: "resource policy", document: input.resourcePolicy }], input)
    : { verdict: "none" as Verdict, notes: ["the resource has no policy"] };
  if (resource.verdict === "deny") return { allowed: false, basis: "explicitDenyResource", reason: `explicitly denied by ${resource.label}` };

  const crossAccount = input.resourceAccount !== input.principal.account;
  if (!crossAccount || input.resourceSideUpstream) {
    if (identity.verdict === "allow") return { allowed: true, basis: "identityAllow", reason: `allowed by ${identity.label}` };
    // In the role's own account a resource policy naming the role (not just the account) grants by itself.
    if (!crossAccount && resource.verdict === "allow" && resource.allowedByPrincipalName)
      return { allowed: true, basis: "resourceAllow", reason: `allowed by ${resource.label}` };
    return {
      allowed: false,
      basis: "noIdentityAllow",
      reason: `no identity-based policy allows it: ${identity.notes.join("; ") || "the role has no statements"}`,
    };
  }
  // Across accounts both sides must allow.
  if (identity.verdict !== "allow")
    return {
      allowed: false,
      basis: "noIdentityAllow",
      reason: `no identity-based policy allows it: ${identity.notes.join("; ") || "the role has no statements"}`,
    };
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

function statementsOf(document: PolicyDocument): unknown[] {
  const s = document?.Statement;
  return Array.isArray(s) ? s : s ? [s] : [];
}

function evaluateSide(side: "identity" | "resource", policies: { name: string; document: PolicyDocument }[], input: EvaluationInput): SideResult {
  const notes: string[] = [];
  let allow: { label: string; byName: boolean } | undefined;
  for (const { name, document } of policies) {
    for (const [i, s] of statementsOf(document).entries()) {
      const label = `${side} policy "${name}" statement ${(s as any)?.Sid ? `"${(s as any).Sid}"` : `#${i}`}`;
      let match: { applies: boolean; byName: boolean };
      try {
        match = statementMatches(side, s, input, (why) => notes.push(`${label}: ${why}`));
      } catch (err) {
        const effect = (s as any)?.Effect;
        // Fail closed: an unreadable Deny applies, an unreadable Allow grants nothing.
        if (effect !== "Allow") return { verdict: "deny", label: `${label} (which uses ${(err as Error).message}, unsupported locally)`, notes };
        notes.push(`${label}: uses ${(err as Error).message}, unsupported locally; not granting`);
        continue;
      }
      if (!match.applies) continue;
      if ((s as any).Effect === "Deny") return { verdict: "deny", label, notes };
      if (!allow || (match.byName && !allow.byName)) allow = { label, byName: match.byName };
    }
  }
  return allow ? { verdict: "allow", label: allow.label, notes, allowedByPrincipalName: allow.byName } : { verdict: "none", notes };
}

function statementMatches(side: "identity" | "resource", s: any, input: EvaluationInput, skip: (why: string) => void): { applies: boolean; byName: boolean } {
  const no = (why: string) => {
    skip(why);
    return { applies: false, byName: false };
  };
  if (!s || typeof s !== "object") throw new Unsupported("a statement that is not an object");
  const allowed = side === "identity" ? IDENTITY_ELEMENTS : RESOURCE_ELEMENTS;
  for (const element of Object.keys(s)) if (!allowed.has(element)) throw new Unsupported(`element ${element}`);
  if (s.Effect !== "Allow" && s.Effect !== "Deny") throw new Unsupported(`Effect ${JSON.stringify(s.Effect)}`);
  if (!actionMatches(s, input.action)) return no(`action does not cover ${input.action}`);
  if (!resourceMatches(s, input.resource)) return no(`resource does not cover ${input.resource}`);
  let byName = false;
  if (side === "resource") {
    const p = principalMatch(s.Principal, input.principal);
    if (!p.matches) return no(`principal ${JSON.stringify(s.Principal)} does not name ${input.principal.roleArn}`);
    byName = p.byName;
  }
  const failed = failedCondition(s.Condition ?? {}, input.context);
  if (failed) return no(failed);
  return { applies: true, byName };
}

function list(value: unknown, what: string): string[] {
  const values = Array.isArray(value) ? value : [value];
  if (values.some((v) => typeof v !== "string")) throw new Unsupported(`a non-string ${what}`);
  return values as string[];
}

/** `*` any run of characters, `?` one character; the rest literal. */
export function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const body = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, ignoreCase ? "is" : "s").test(value);
}

function actionMatches(s: any, action: string): boolean {
  if (s.Action !== undefined && s.NotAction !== undefined) throw new Unsupported("both Action and NotAction");
  if (s.Action === undefined && s.NotAction === undefined) throw new Unsupported("no Action");
  const matches = (patterns: string[]) => patterns.some((p) => wildcard(p, action, true));
  return s.Action !== undefined ? matches(list(s.Action, "Action")) : !matches(list(s.NotAction, "NotAction"));
}

/** ARN match part by part (the last part may hold colons); `*` and `?` within each part; case-sensitive. */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === "*") return true;
  if (pattern.includes("${")) throw new Unsupported(`policy variables in ${pattern}`);
  const split = (a: string) => {
    const p = a.split(":");
    return p.length < 6 ? undefined : [...p.slice(0, 5), p.slice(5).join(":")];
  };
  const [ps, vs] = [split(pattern), split(arn)];
  if (!ps || !vs) return pattern === arn;
  return ps.every((p, i) => wildcard(p, vs[i]));
}

function resourceMatches(s: any, resource: string): boolean {
  if (s.Resource !== undefined && s.NotResource !== undefined) throw new Unsupported("both Resource and NotResource");
  if (s.Resource === undefined && s.NotResource === undefined) throw new Unsupported("no Resource");
  const matches = (patterns: string[]) => patterns.some((p) => arnMatches(p, resource));
  return s.Resource !== undefined ? matches(list(s.Resource, "Resource")) : !matches(list(s.NotResource, "NotResource"));
}

/** Whether a resource policy's Principal names this session; `byName` when it names the role or session itself (or `*`), not just its account. */
function principalMatch(principal: unknown, p: SessionPrincipal): { matches: boolean; byName: boolean } {
  if (principal === undefined) throw new Unsupported("a resource policy statement without Principal");
  if (principal === "*") return { matches: true, byName: true };
  if (!principal || typeof principal !== "object") throw new Unsupported(`Principal ${JSON.stringify(principal)}`);
  const aws = (principal as Record<string, unknown>).AWS;
  // Service, Federated and CanonicalUser principals never name a role session.
  if (aws === undefined) return { matches: false, byName: false };
  let result = { matches: false, byName: false };
  for (const entry of list(aws, "AWS principal")) {
    if (entry === "*" || entry === p.roleArn || entry === p.sessionArn) return { matches: true, byName: true };
    // An account id or its root ARN delegates to the account's own IAM policies.
    if (entry === p.account || entry === `arn:aws:iam::${p.account}:root`) result = { matches: true, byName: false };
  }
  return result;
}

type Test = (pattern: string, value: string) => boolean;
const OPERATORS: Record<string, Test> = {
  StringEquals: (p, v) => p === v,
  StringEqualsIgnoreCase: (p, v) => p.toLowerCase() === v.toLowerCase(),
  StringLike: (p, v) => wildcard(p, v),
  // ArnEquals and ArnLike behave identically in IAM.
  ArnEquals: (p, v) => arnMatches(p, v),
  ArnLike: (p, v) => arnMatches(p, v),
  Bool: (p, v) => p.toLowerCase() === v.toLowerCase(),
};

/** The first condition that fails, described; undefined when all hold. Unknown keys or operators throw (fail closed). */
function failedCondition(condition: unknown, context: RequestContext): string | undefined {
  if (!condition || typeof condition !== "object") throw new Unsupported("a Condition that is not an object");
  const lowered = new Map(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [operator, block] of Object.entries(condition as Record<string, unknown>)) {
    if (!block || typeof block !== "object") throw new Unsupported(`a ${operator} block that is not an object`);
    if (operator.includes(":")) throw new Unsupported(`condition set operator ${operator}`);
    for (const [key, expected] of Object.entries(block as Record<string, unknown>)) {
      if (!lowered.has(key.toLowerCase())) throw new Unsupported(`condition key ${key}`);
      const actual = lowered.get(key.toLowerCase());
      const patterns = list(expected, `${operator} value`);
      let holds: boolean;
      if (operator === "Null") {
        holds = patterns.some((p) => (p.toLowerCase() === "true") === (actual === undefined));
      } else {
        const ifExists = operator.endsWith("IfExists");
        const base = ifExists ? operator.slice(0, -"IfExists".length) : operator;
        const negated = /^(String|Arn)Not/.test(base);
        const test = OPERATORS[negated ? base.replace("Not", "") : base];
        if (!test) throw new Unsupported(`condition operator ${operator}`);
        // As AWS: a missing key fails positive operators and satisfies negated ones and …IfExists.
        if (actual === undefined) holds = ifExists || negated;
        else holds = negated ? !patterns.some((p) => test(p, actual)) : patterns.some((p) => test(p, actual));
      }
      if (!holds)
        return `${operator} ${key} ${JSON.stringify(expected)} does not hold for ${actual === undefined ? "a missing value" : JSON.stringify(actual)}`;
    }
  }
  return undefined;
}
