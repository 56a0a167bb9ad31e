/**
 * Evaluates an IAM role trust policy for `sts:AssumeRole` the way AWS does,
 * for the elements this program uses and a few more. Anything it does not
 * understand fails closed (not allowed, with the reason), so the local cloud
 * never grants what AWS might refuse.
 */

/** Who is calling AssumeRole: a role (its IAM ARN) and that role's account. */
export interface TrustCaller {
  /** The caller's role ARN, `arn:aws:iam::<account>:role/<path><name>`. */
  arn: string;
  /** The caller's 12-digit account id. */
  account: string;
}

/** Request context the trust policy can test. */
export interface TrustContext {
  externalId?: string;
}

/** The verdict and, always, why. */
export interface TrustDecision {
  allowed: boolean;
  reason: string;
}

/** Thrown inside evaluation for anything unsupported; becomes a fail-closed verdict. */
class Unsupported extends Error {}

const ACTION = "sts:AssumeRole";
const STATEMENT_ELEMENTS = new Set(["Sid", "Effect", "Principal", "Action", "NotAction", "Condition"]);

/**
 * Decides whether `caller` may assume the role whose trust policy is
 * `trustPolicyJson`. An explicit Deny wins over any Allow; without an
 * applicable Allow the answer is an implicit deny. Supported: Effect,
 * Action/NotAction (string or array, `*`/`?` wildcards, case-insensitive),
 * Principal `"*"` or `{ AWS: account id | account root ARN | role ARN | "*" }`
 * (other principal kinds never match a role), Condition operators
 * String(Not)Equals(IgnoreCase), String(Not)Like, Arn(Not)Equals, Arn(Not)Like,
 * each optionally `…IfExists`, on keys `aws:PrincipalArn`, `sts:ExternalId`,
 * `aws:PrincipalAccount`. Identity policies of the caller are not evaluated.
 */
export function mayAssume(trustPolicyJson: string, caller: TrustCaller, context: TrustContext): TrustDecision {
  let statements: any[];
  try {
    const doc = JSON.parse(trustPolicyJson);
    statements = Array.isArray(doc?.Statement) ? doc.Statement : doc?.Statement ? [doc.Statement] : [];
  } catch (err) {
    return { allowed: false, reason: `trust policy is not valid JSON: ${(err as Error).message}` };
  }
  if (statements.length === 0) return { allowed: false, reason: "trust policy has no Statement" };

  const notes: string[] = [];
  let allowedBy: string | undefined;
  for (const [i, s] of statements.entries()) {
    const label = `statement ${s?.Sid ? `"${s.Sid}"` : `#${i}`}`;
    let applies: boolean;
    try {
      applies = statementApplies(s, caller, context, (why) => notes.push(`${label}: ${why}`));
    } catch (err) {
      // Fail closed: an unsupported element could have been a Deny or a narrowing condition.
      return { allowed: false, reason: `${label} uses what the local trust evaluator does not support (${(err as Error).message}); denied` };
    }
    if (!applies) continue;
    if (s.Effect === "Deny") return { allowed: false, reason: `explicitly denied by ${label}` };
    allowedBy ??= label;
  }
  if (allowedBy) return { allowed: true, reason: `allowed by ${allowedBy}` };
  return { allowed: false, reason: `no statement allows ${caller.arn} to ${ACTION} (implicit deny): ${notes.join("; ")}` };
}

/** Whether one statement matches this request; `skip` records why not. */
function statementApplies(s: any, caller: TrustCaller, context: TrustContext, skip: (why: string) => void): boolean {
  if (!s || typeof s !== "object") throw new Unsupported("a statement that is not an object");
  for (const element of Object.keys(s)) if (!STATEMENT_ELEMENTS.has(element)) throw new Unsupported(`element ${element}`);
  if (s.Effect !== "Allow" && s.Effect !== "Deny") throw new Unsupported(`Effect ${JSON.stringify(s.Effect)}`);
  if (!actionMatches(s)) {
    skip(`action is not ${ACTION}`);
    return false;
  }
  if (!principalMatches(s.Principal, caller)) {
    skip(`principal ${JSON.stringify(s.Principal)} does not name ${caller.arn}`);
    return false;
  }
  const failed = failedCondition(s.Condition ?? {}, caller, context);
  if (failed) {
    skip(failed);
    return false;
  }
  return true;
}

function list(value: unknown, what: string): string[] {
  const values = Array.isArray(value) ? value : [value];
  if (values.some((v) => typeof v !== "string")) throw new Unsupported(`a non-string ${what}`);
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

function actionMatches(s: any): boolean {
  if (s.Action !== undefined && s.NotAction !== undefined) throw new Unsupported("both Action and NotAction");
  if (s.Action === undefined && s.NotAction === undefined) throw new Unsupported("no Action");
  const matches = (patterns: string[]) => patterns.some((p) => wildcard(p, ACTION, true));
  return s.Action !== undefined ? matches(list(s.Action, "Action")) : !matches(list(s.NotAction, "NotAction"));
}

function principalMatches(principal: unknown, caller: TrustCaller): boolean {
  if (principal === "*") return true;
  if (!principal || typeof principal !== "object") throw new Unsupported(`Principal ${JSON.stringify(principal)}`);
  const aws = (principal as Record<string, unknown>).AWS;
  // Service, Federated and CanonicalUser principals never name a role caller.
  if (aws === undefined) return false;
  return list(aws, "AWS principal").some((p) => {
    if (p === "*") return true;
    // An account id or its root ARN delegates to the whole account.
    if (/^\d{12}$/.test(p)) return p === caller.account;
    const root = /^arn:aws:iam::(\d{12}):root$/.exec(p);
    if (root) return root[1] === caller.account;
    // A role ARN matches that role exactly; AWS allows no wildcards here.
    return p === caller.arn;
  });
}

/** Condition keys this evaluator knows, lower-cased (AWS compares key names case-insensitively). */
function contextValue(key: string, caller: TrustCaller, context: TrustContext): string | undefined {
  switch (key.toLowerCase()) {
    case "aws:principalarn":
      return caller.arn;
    case "aws:principalaccount":
      return caller.account;
    case "sts:externalid":
      return context.externalId;
    default:
      throw new Unsupported(`condition key ${key}`);
  }
}

type Test = (pattern: string, value: string) => boolean;

function arnLike(pattern: string, value: string): boolean {
  // Each of the six colon-delimited parts is matched separately; the last may hold colons.
  if (pattern === "*") return true;
  const split = (arn: string) => {
    const p = arn.split(":");
    return [...p.slice(0, 5), p.slice(5).join(":")];
  };
  const [ps, vs] = [split(pattern), split(value)];
  return ps.length === 6 && vs.length === 6 && ps.every((p, i) => wildcard(p, vs[i]));
}

// ArnEquals and ArnLike behave identically in IAM: both take wildcards per part.
const OPERATORS: Record<string, Test> = {
  StringEquals: (p, v) => p === v,
  StringEqualsIgnoreCase: (p, v) => p.toLowerCase() === v.toLowerCase(),
  StringLike: (p, v) => wildcard(p, v),
  ArnEquals: arnLike,
  ArnLike: arnLike,
};

/** The first condition that fails, described; undefined when all hold. */
function failedCondition(condition: unknown, caller: TrustCaller, context: TrustContext): string | undefined {
  if (!condition || typeof condition !== "object") throw new Unsupported("a Condition that is not an object");
  for (const [operator, block] of Object.entries(condition as Record<string, unknown>)) {
    const ifExists = operator.endsWith("IfExists");
    const base = ifExists ? operator.slice(0, -"IfExists".length) : operator;
    const negated = /^(String|Arn)Not/.test(base);
    const test = OPERATORS[negated ? base.replace("Not", "") : base];
    if (!test) throw new Unsupported(`condition operator ${operator}`);
    if (!block || typeof block !== "object") throw new Unsupported(`a ${operator} block that is not an object`);
    // Several keys in one operator: all must hold; several values for a key: any may match.
    for (const [key, expected] of Object.entries(block as Record<string, unknown>)) {
      const actual = contextValue(key, caller, context);
      const patterns = list(expected, `${operator} value`);
      let holds: boolean;
      if (actual === undefined)
        holds = ifExists || negated; // as AWS: a missing key fails positive operators
      else holds = negated ? !patterns.some((p) => test(p, actual)) : patterns.some((p) => test(p, actual));
      if (!holds)
        return `${operator} ${key} ${JSON.stringify(expected)} does not hold for ${actual === undefined ? "a missing value" : JSON.stringify(actual)}`;
    }
  }
  return undefined;
}
