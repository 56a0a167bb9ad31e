/**
 * The local cloud's caller identity, read in one place: a function (or a test)
 * carries its role by the session token `role:<role ARN>` and signs with the
 * role's account id as access key id (kinesis-local selects the account by
 * it). The local STS issues such tokens; the STS and the IAM enforcer read
 * them with {@link resolveCaller}. The role's unique id is derived here too, so
 * the deployed role's state and the STS's AssumedRoleId agree.
 */
import { createHash } from "crypto";

const TOKEN_PREFIX = "role:";
// IAM's role ARN: path segments of printable ASCII, a name of [\w+=,.@-]{1,64}.
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role(\/(?:[\x21-\x7e]*\/)?)([\w+=,.@-]{1,64})$/;
const ASSUMED_ARN = /^arn:aws:sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]+)$/;

/** The parts of an IAM role ARN. */
export interface RoleArnParts {
  account: string;
  /** `/` or `/a/b/`. */
  path: string;
  name: string;
}

/** The parts of `arn:aws:iam::<account>:role/<path><name>`, or undefined when it is not one. */
export function parseRoleArn(arn: string): RoleArnParts | undefined {
  const m = ROLE_ARN.exec(arn);
  return m ? { account: m[1], path: m[2], name: m[3] } : undefined;
}

/** The parts of `arn:aws:sts::<account>:assumed-role/<role name>/<session>`, or undefined when it is not one. */
export function parseAssumedRoleArn(arn: string): { account: string; roleName: string; sessionName: string } | undefined {
  const m = ASSUMED_ARN.exec(arn);
  return m ? { account: m[1], roleName: m[2], sessionName: m[3] } : undefined;
}

/** The ARN of a role's session, the `User:` of AWS's denials. */
export function sessionArnOf(account: string, roleName: string, sessionName: string): string {
  return `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`;
}

/** The session token that names a role session: `role:<role ARN>`. */
export function sessionToken(roleArn: string): string {
  return `${TOKEN_PREFIX}${roleArn}`;
}

/** Whether a session token claims a role by the local convention (other tokens are not the local cloud's). */
export function isRoleToken(token: string | undefined): token is string {
  return token?.startsWith(TOKEN_PREFIX) ?? false;
}

/** A role's unique id (`AROA` and 17 characters), stable per role name as the local provider reports it. */
export function roleUniqueId(roleName: string): string {
  return `AROA${createHash("md5").update(roleName).digest("hex").slice(0, 17).toUpperCase()}`;
}

/** Access key id and region of a SigV4 Authorization header. */
export function credentialScope(authorization: string | undefined): { keyId?: string; region?: string } {
  const m = /Credential=([^/,\s]+)\/\d{8}\/([^/,\s]+)\//.exec(authorization ?? "");
  return m ? { keyId: m[1], region: m[2] } : {};
}

/** Who a request's session token names. */
export interface LocalCaller {
  /** The role's IAM ARN (`aws:PrincipalArn`). */
  roleArn: string;
  account: string;
  roleName: string;
  /** The session's ARN, `arn:aws:sts::<account>:assumed-role/<name>/<session>`. */
  sessionArn: string;
}

/**
 * The caller a `role:<ARN>` token names, or why it names none. The ARN is a
 * role's IAM ARN (its session is then called `sessionName(roleArn)`, default
 * `local`) or an STS assumed-role ARN, resolved to the role of that name in
 * `knownRoleArns` (paths are not in a session ARN). By convention the access
 * key id is the session's account: a mismatch is a wiring bug worth surfacing.
 */
export function resolveCaller(
  token: string,
  keyId: string | undefined,
  knownRoleArns: readonly string[],
  sessionName: (roleArn: string) => string | undefined = () => undefined,
): LocalCaller | { error: string } {
  const arn = isRoleToken(token) ? token.slice(TOKEN_PREFIX.length) : "";
  let caller: LocalCaller;
  const role = parseRoleArn(arn);
  const assumed = role ? undefined : parseAssumedRoleArn(arn);
  if (role) {
    caller = { roleArn: arn, account: role.account, roleName: role.name, sessionArn: sessionArnOf(role.account, role.name, sessionName(arn) ?? "local") };
  } else if (assumed) {
    const known = knownRoleArns.find((r) => {
      const p = parseRoleArn(r);
      return p?.account === assumed.account && p.name === assumed.roleName;
    });
    caller = {
      roleArn: known ?? `arn:aws:iam::${assumed.account}:role/${assumed.roleName}`,
      account: assumed.account,
      roleName: assumed.roleName,
      sessionArn: arn,
    };
  } else {
    return { error: `expected ${TOKEN_PREFIX}<role ARN>, got ${JSON.stringify(token)}` };
  }
  if (keyId !== undefined && keyId !== caller.account) return { error: `access key ${keyId} signed a session of account ${caller.account}` };
  return caller;
}
