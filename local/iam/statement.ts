/**
 * The local cloud's one IAM policy evaluator (as moto has one IAMPolicy
 * class): the policy grammar, its wildcards, its ARN matcher and its condition
 * operators, applied alike to identity policies, resource policies and role
 * trust policies. policy.ts combines identity and resource sides into a
 * decision; trustPolicy.ts asks it about a trust policy for the local STS.
 *
 * It covers the grammar this program emits and a little more. Anything it
 * does not understand fails closed: an Allow it can't read grants nothing, a
 * Deny it can't read always applies, with the reason, so the local cloud never
 * grants what AWS might refuse. Policy variables (`${…}`) are refused
 * anywhere, since nothing here substitutes them.
 *
 * Where the two evaluators it replaces disagreed: a value that is not an ARN
 * matches no ARN pattern, as in AWS (the identity side fell back to
 * equality); and an Allow it cannot read is passed over rather than denying
 * the whole trust policy (the trust side's rule), since AWS reads every
 * statement on its own and both ways fail closed.
 */

/** One policy document, as parsed JSON. */
export interface PolicyDocument {
  Version?: string;
  Statement: unknown;
}

/** A policy and the name its statements are labelled with (an inline policy's name; none for a resource's own). */
export interface NamedPolicy {
  name?: string;
  document: PolicyDocument;
}

/**
 * Which grammar a policy follows: identity policies name no Principal;
 * resource policies name one; a trust policy names one and no Resource
 * (the role it is attached to is the resource; IAM refuses a Resource there).
 */
export type PolicyKind = "identity" | "resource" | "trust";

/** Request context a condition can test; keys compared case-insensitively. A key set to undefined is known and absent; an unlisted key is unsupported. */
export type RequestContext = Record<string, string | undefined>;

/** What one request asks, as a policy sees it. */
export interface PolicyRequest {
  principal: { roleArn: string; account: string; sessionArn?: string };
  action: string;
  /** The resource ARN (or `*` for account-level operations). Trust policies do not test it. */
  resource: string;
  context: RequestContext;
}

/** What a set of policies of one kind says about a request. */
export interface PolicyVerdict {
  verdict: "allow" | "deny" | "none";
  /** The statement that decided. */
  label?: string;
  /** Why each statement that did not apply was passed over. */
  notes: string[];
  /** The allowing statement's Principal names the role or session itself (or `*`), not only its account. */
  allowedByPrincipalName?: boolean;
}

class Unsupported extends Error {}

const IDENTITY_ELEMENTS = ["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"];
const ELEMENTS: Record<PolicyKind, Set<string>> = {
  identity: new Set(IDENTITY_ELEMENTS),
  resource: new Set([...IDENTITY_ELEMENTS, "Principal"]),
  trust: new Set(["Sid", "Effect", "Principal", "Action", "NotAction", "Condition"]),
};

function statementsOf(document: PolicyDocument): unknown[] {
  const s = document?.Statement;
  return Array.isArray(s) ? s : s ? [s] : [];
}

/** Evaluates `policies` of one kind: an explicit Deny wins, then an Allow (one naming the principal before one naming its account). */
export function evaluatePolicies(kind: PolicyKind, policies: NamedPolicy[], request: PolicyRequest): PolicyVerdict {
  const notes: string[] = [];
  let allow: { label: string; byName: boolean } | undefined;
  for (const { name, document } of policies) {
    for (const [i, s] of statementsOf(document).entries()) {
      const sid = (s as any)?.Sid;
      const label = `${kind} policy ${name ? `"${name}" ` : ""}statement ${sid ? `"${sid}"` : `#${i}`}`;
      let match: { applies: boolean; byName: boolean };
      try {
        match = statementMatches(kind, s, request, (why) => notes.push(`${label}: ${why}`));
      } catch (err) {
        // Fail closed: an unreadable Deny applies, an unreadable Allow grants nothing.
        const what = (err as Error).message;
        if ((s as any)?.Effect !== "Allow") return { verdict: "deny", label: `${label} (which uses ${what}, unsupported locally)`, notes };
        notes.push(`${label}: uses ${what}, unsupported locally; not granting`);
        continue;
      }
      if (!match.applies) continue;
      if ((s as any).Effect === "Deny") return { verdict: "deny", label, notes };
      if (!allow || (match.byName && !allow.byName)) allow = { label, byName: match.byName };
    }
  }
  return allow ? { verdict: "allow", label: allow.label, notes, allowedByPrincipalName: allow.byName } : { verdict: "none", notes };
}

function statementMatches(kind: PolicyKind, s: any, request: PolicyRequest, skip: (why: string) => void): { applies: boolean; byName: boolean } {
  const no = (why: string) => {
    skip(why);
    return { applies: false, byName: false };
  };
  if (!s || typeof s !== "object" || Array.isArray(s)) throw new Unsupported("a statement that is not an object");
  for (const element of Object.keys(s)) if (!ELEMENTS[kind].has(element)) throw new Unsupported(`element ${element} in a ${kind} policy`);
  if (s.Effect !== "Allow" && s.Effect !== "Deny") throw new Unsupported(`Effect ${JSON.stringify(s.Effect)}`);
  if (!actionMatches(s, request.action)) return no(`action does not cover ${request.action}`);
  if (kind !== "trust" && !resourceMatches(s, request.resource)) return no(`resource does not cover ${request.resource}`);
  let byName = false;
  if (kind !== "identity") {
    const p = principalMatch(s.Principal, request.principal);
    if (!p.matches) return no(`principal ${JSON.stringify(s.Principal)} does not name ${request.principal.roleArn}`);
    byName = p.byName;
  }
  const failed = failedCondition(s.Condition ?? {}, request.context);
  if (failed) return no(failed);
  return { applies: true, byName };
}

/** A string or array of strings, as every element's value is; a policy variable is refused. */
function list(value: unknown, what: string): string[] {
  const values = Array.isArray(value) ? value : [value];
  if (values.some((v) => typeof v !== "string")) throw new Unsupported(`a non-string ${what}`);
  const variable = (values as string[]).find((v) => v.includes("${"));
  if (variable !== undefined) throw new Unsupported(`a policy variable in ${what} ${JSON.stringify(variable)}`);
  return values as string[];
}

/** `*` any run of characters, `?` one character; the rest literal. */
function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
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

/** The six colon-delimited parts of an ARN (the last may hold colons), or undefined when it is not one. */
function arnParts(arn: string): string[] | undefined {
  const p = arn.split(":");
  return p.length >= 6 && p[0] === "arn" ? [...p.slice(0, 5), p.slice(5).join(":")] : undefined;
}

/**
 * ARN match part by part, `*` and `?` within each part, case-sensitive. The
 * two evaluators this replaces disagreed on a value that is not an ARN; as
 * AWS does, it matches no ARN pattern (only `*`). A pattern that is neither
 * `*` nor an ARN is one IAM would refuse: unsupported.
 */
function arnMatches(pattern: string, value: string): boolean {
  if (pattern === "*") return true;
  const ps = arnParts(pattern);
  if (!ps) throw new Unsupported(`${JSON.stringify(pattern)}, which is neither "*" nor an ARN`);
  const vs = arnParts(value);
  return vs !== undefined && ps.every((p, i) => wildcard(p, vs[i]));
}

function resourceMatches(s: any, resource: string): boolean {
  if (s.Resource !== undefined && s.NotResource !== undefined) throw new Unsupported("both Resource and NotResource");
  if (s.Resource === undefined && s.NotResource === undefined) throw new Unsupported("no Resource");
  const matches = (patterns: string[]) => patterns.some((p) => arnMatches(p, resource));
  return s.Resource !== undefined ? matches(list(s.Resource, "Resource")) : !matches(list(s.NotResource, "NotResource"));
}

/** Whether a Principal names this session; `byName` when it names the role or session itself (or `*`), not just its account. */
function principalMatch(principal: unknown, p: PolicyRequest["principal"]): { matches: boolean; byName: boolean } {
  if (principal === undefined) throw new Unsupported("a statement without Principal");
  if (principal === "*") return { matches: true, byName: true };
  if (!principal || typeof principal !== "object" || Array.isArray(principal)) throw new Unsupported(`Principal ${JSON.stringify(principal)}`);
  const aws = (principal as Record<string, unknown>).AWS;
  // Service, Federated and CanonicalUser principals never name a role session.
  if (aws === undefined) return { matches: false, byName: false };
  let result = { matches: false, byName: false };
  for (const entry of list(aws, "AWS principal")) {
    // A role or session ARN matches exactly: AWS allows no wildcards in a principal.
    if (entry === "*" || entry === p.roleArn || entry === p.sessionArn) return { matches: true, byName: true };
    // An account id or its root ARN delegates to the account's own IAM policies.
    if (entry === p.account || entry === `arn:aws:iam::${p.account}:root`) result = { matches: true, byName: false };
    // A unique id (AROA…, what IAM shows for a deleted role) could name this role; not told apart locally.
    else if (!/^\d{12}$/.test(entry) && !arnParts(entry)) throw new Unsupported(`AWS principal ${JSON.stringify(entry)}`);
  }
  return result;
}

type Test = (pattern: string, value: string) => boolean;
const OPERATORS: Record<string, Test> = {
  StringEquals: (p, v) => p === v,
  StringEqualsIgnoreCase: (p, v) => p.toLowerCase() === v.toLowerCase(),
  StringLike: (p, v) => wildcard(p, v),
  // ArnEquals and ArnLike behave identically in IAM: both take wildcards per part.
  ArnEquals: arnMatches,
  ArnLike: arnMatches,
  Bool: (p, v) => p.toLowerCase() === v.toLowerCase(),
};

/** The test an operator names and how it reads a missing key; unknown operators (and set operators) throw. */
function operatorOf(operator: string): { test?: Test; negated: boolean; ifExists: boolean } {
  if (operator.includes(":")) throw new Unsupported(`condition set operator ${operator}`);
  if (operator === "Null") return { negated: false, ifExists: false };
  const ifExists = operator.endsWith("IfExists");
  const base = ifExists ? operator.slice(0, -"IfExists".length) : operator;
  const negated = /^(String|Arn)Not/.test(base);
  const test = OPERATORS[negated ? base.replace("Not", "") : base];
  if (!test) throw new Unsupported(`condition operator ${operator}`);
  return { test, negated, ifExists };
}

/** The first condition that fails, described; undefined when all hold. Several keys in a block: all must hold; several values: any may match. */
function failedCondition(condition: unknown, context: RequestContext): string | undefined {
  if (!condition || typeof condition !== "object" || Array.isArray(condition)) throw new Unsupported("a Condition that is not an object");
  const lowered = new Map(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [operator, block] of Object.entries(condition as Record<string, unknown>)) {
    const { test, negated, ifExists } = operatorOf(operator);
    if (!block || typeof block !== "object" || Array.isArray(block)) throw new Unsupported(`a ${operator} block that is not an object`);
    for (const [key, expected] of Object.entries(block as Record<string, unknown>)) {
      if (!lowered.has(key.toLowerCase())) throw new Unsupported(`condition key ${key}`);
      const actual = lowered.get(key.toLowerCase());
      const patterns = list(expected, `${operator} ${key} value`);
      let holds: boolean;
      if (!test) holds = patterns.some((p) => (p.toLowerCase() === "true") === (actual === undefined));
      // As AWS: a missing key fails positive operators and satisfies negated ones and …IfExists.
      else if (actual === undefined) holds = ifExists || negated;
      else holds = negated ? !patterns.some((p) => test(p, actual)) : patterns.some((p) => test(p, actual));
      if (!holds)
        return `${operator} ${key} ${JSON.stringify(expected)} does not hold for ${actual === undefined ? "a missing value" : JSON.stringify(actual)}`;
    }
  }
  return undefined;
}
