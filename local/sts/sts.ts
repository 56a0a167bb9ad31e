/**
 * The local cloud's STS: the Query API (form-encoded POST, XML answers) for
 * AssumeRole and GetCallerIdentity, so a real STSClient works against it.
 * Callers are identified by the local identity convention
 * (local/shared/identity.ts): the session token (`x-amz-security-token`) is
 * `role:<role ARN>`, and the tokens it issues are the same. AssumeRole is
 * answered only after the target role's trust policy allows the caller
 * (local/iam/trustPolicy.ts).
 */
import * as http from "http";
import { randomUUID } from "crypto";
import { mayAssume } from "../iam/trustPolicy";
import { credentialScope, LocalCaller, parseRoleArn, resolveCaller, roleUniqueId, sessionArnOf, sessionToken } from "../shared/identity";
import { header, LocalService, startLoopbackServer } from "../shared/loopback";
import { assumeRoleXml, stsErrorXml, STS_NS, xmlEscape } from "./xml";

/** A role the local cloud knows: its ARN and trust policy (JSON). */
export interface LocalRole {
  arn: string;
  assumeRolePolicy: string;
  /** Seconds; AWS's default 3600 when absent. */
  maxSessionDuration?: number;
}

/** One AssumeRole call, as decided. */
export interface StsCallRecord {
  /** The caller's role ARN, or undefined when the request carried no session token. */
  caller?: string;
  roleArn?: string;
  externalId?: string;
  allowed: boolean;
  reason: string;
}

/** A running local STS. */
export interface LocalSts extends LocalService {
  endpoint: string;
  /** Every AssumeRole call in order, allowed or not. */
  calls: StsCallRecord[];
}

/** Options of {@link startLocalSts}. */
export interface LocalStsOptions {
  /** The roles that exist now (read on every call, so roles created later are seen). */
  roles: () => LocalRole[];
  /** Clock for expirations. */
  now?: () => Date;
}

const MAX_BODY = 64 * 1024;
// A session assumed by a role (every function's identity is one) can last at most an hour.
const ROLE_CHAINING_LIMIT = 3600;

class StsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The caller a request's session token names; STS answers a missing or foreign token as AWS answers a bad one. */
function callerOf(headers: http.IncomingHttpHeaders, roles: LocalRole[]): LocalCaller {
  const token = header(headers, "x-amz-security-token");
  if (!token)
    throw new StsError(403, "AccessDenied", "Request carries no session token; the local cloud identifies callers by x-amz-security-token = role:<role ARN>");
  const caller = resolveCaller(
    token,
    credentialScope(header(headers, "authorization")).keyId,
    roles.map((r) => r.arn),
  );
  if ("error" in caller) throw new StsError(403, "InvalidClientTokenId", `The security token included in the request is invalid: ${caller.error}`);
  return caller;
}

function assumeRole(params: URLSearchParams, caller: LocalCaller, opts: LocalStsOptions, calls: StsCallRecord[], requestId: string): string {
  const roleArn = params.get("RoleArn") ?? undefined;
  const externalId = params.get("ExternalId") ?? undefined;
  const session = params.get("RoleSessionName") ?? "";
  const target = roleArn === undefined ? undefined : parseRoleArn(roleArn);
  if (!roleArn || !target) throw new StsError(400, "ValidationError", `RoleArn is not a role ARN: ${roleArn}`);
  if (!/^[\w+=,.@-]{2,64}$/.test(session))
    throw new StsError(
      400,
      "ValidationError",
      "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and length 2-64",
    );
  if (externalId !== undefined && !/^[\w+=,.@:/-]{2,1224}$/.test(externalId))
    throw new StsError(400, "ValidationError", "Value at 'externalId' failed to satisfy constraint: length 2-1224, pattern [\\w+=,.@:/-]*");
  const duration = Number(params.get("DurationSeconds") ?? 3600);

  const deny = (reason: string): never => {
    calls.push({ caller: caller.roleArn, roleArn, externalId, allowed: false, reason });
    throw new StsError(403, "AccessDenied", `User: ${caller.sessionArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
  };
  const role = opts.roles().find((r) => r.arn === roleArn);
  // AWS answers AccessDenied for a missing role too, revealing nothing across accounts.
  if (!role) return deny(`no such role: ${roleArn}`);
  const verdict = mayAssume(
    role.assumeRolePolicy,
    { arn: caller.roleArn, account: caller.account, sessionArn: caller.sessionArn },
    { externalId, roleSessionName: session, sourceIdentity: params.get("SourceIdentity") ?? undefined },
  );
  if (!verdict.allowed) return deny(verdict.reason);

  const max = Math.min(role.maxSessionDuration ?? 3600, ROLE_CHAINING_LIMIT);
  if (!Number.isInteger(duration) || duration < 900 || duration > max) {
    throw new StsError(
      400,
      "ValidationError",
      `The requested DurationSeconds (${duration}) must be 900–${max}: the role's maximum session duration, and 1 hour for roles assumed by role chaining`,
    );
  }
  calls.push({ caller: caller.roleArn, roleArn, externalId, allowed: true, reason: verdict.reason });
  const expiration = new Date((opts.now ?? (() => new Date()))().getTime() + duration * 1000);
  return assumeRoleXml({
    accessKeyId: target.account,
    sessionToken: sessionToken(roleArn),
    expiration,
    assumedRoleId: `${roleUniqueId(target.name)}:${session}`,
    assumedRoleArn: sessionArnOf(target.account, target.name, session),
    requestId,
  });
}

function callerIdentity(caller: LocalCaller, requestId: string): string {
  const session = caller.sessionArn.split("/").pop();
  return (
    `<GetCallerIdentityResponse xmlns="${STS_NS}"><GetCallerIdentityResult>` +
    `<Arn>${xmlEscape(caller.sessionArn)}</Arn>` +
    `<UserId>${roleUniqueId(caller.roleName)}:${xmlEscape(session ?? "local")}</UserId><Account>${caller.account}</Account>` +
    `</GetCallerIdentityResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
  );
}

function handle(body: string, headers: http.IncomingHttpHeaders, opts: LocalStsOptions, calls: StsCallRecord[], requestId: string): string {
  const params = new URLSearchParams(body);
  const action = params.get("Action");
  if (action !== "AssumeRole" && action !== "GetCallerIdentity") throw new StsError(400, "InvalidAction", `The local STS does not implement ${action}`);
  let caller: LocalCaller;
  try {
    caller = callerOf(headers, opts.roles());
  } catch (err) {
    if (action === "AssumeRole")
      calls.push({
        roleArn: params.get("RoleArn") ?? undefined,
        externalId: params.get("ExternalId") ?? undefined,
        allowed: false,
        reason: (err as Error).message,
      });
    throw err;
  }
  return action === "AssumeRole" ? assumeRole(params, caller, opts, calls, requestId) : callerIdentity(caller, requestId);
}

/** Answers one request in XML, as STS does, errors included. */
function respond(res: http.ServerResponse, run: (requestId: string) => string): void {
  const requestId = randomUUID();
  let status = 200;
  let text: string;
  try {
    text = run(requestId);
  } catch (err) {
    const e = err instanceof StsError ? err : new StsError(500, "InternalFailure", (err as Error).message);
    status = e.status;
    text = stsErrorXml(e.code, e.message, requestId, e.status);
  }
  res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
  res.end(text);
}

const notPost = () => new StsError(400, "InvalidAction", "The local STS answers form-encoded POST requests only");

/** Starts the local STS on a free 127.0.0.1 port. */
export async function startLocalSts(opts: LocalStsOptions): Promise<LocalSts> {
  const calls: StsCallRecord[] = [];
  const server = await startLoopbackServer({
    maxBodyBytes: MAX_BODY,
    onTooLarge: (req, res) =>
      respond(res, () => {
        throw req.method !== "POST" ? notPost() : new StsError(400, "ValidationError", `request body over ${MAX_BODY} bytes`);
      }),
    handle: (req, body, res) =>
      respond(res, (requestId) => {
        if (req.method !== "POST") throw notPost();
        return handle(body.toString("utf8"), req.headers, opts, calls, requestId);
      }),
  });
  return { endpoint: server.endpoint, calls, stop: server.stop };
}
