/**
 * The local cloud's STS: the Query API (form-encoded POST, XML answers) for
 * AssumeRole and GetCallerIdentity, so a real STSClient works against it.
 * Callers are identified by the local identity convention: the session token
 * (`x-amz-security-token`) is `role:<role ARN>`. AssumeRole is answered only
 * after the target role's trust policy allows the caller (local/trustPolicy).
 */
import * as http from "http";
import * as net from "net";
import { createHash, randomUUID } from "crypto";
import { mayAssume } from "../iam/trustPolicy";
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
export interface LocalSts {
  endpoint: string;
  /** Every AssumeRole call in order, allowed or not. */
  calls: StsCallRecord[];
  stop(): Promise<void>;
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

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role(\/(?:[\x21-\x7e]*\/)?)([\w+=,.@-]{1,64})$/;
const ASSUMED_ARN = /^arn:aws:sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/[\w+=,.@-]+$/;

/** The caller from `role:<arn>` (an IAM role ARN, or an STS assumed-role ARN resolved to its role). */
function callerOf(token: string | undefined, roles: LocalRole[]): { arn: string; account: string; name: string } {
  if (!token)
    throw new StsError(403, "AccessDenied", "Request carries no session token; the local cloud identifies callers by x-amz-security-token = role:<role ARN>");
  const arn = token.startsWith("role:") ? token.slice("role:".length) : "";
  const role = ROLE_ARN.exec(arn);
  if (role) return { arn, account: role[1], name: role[3] };
  const assumed = ASSUMED_ARN.exec(arn);
  if (assumed) {
    const known = roles.find((r) => ROLE_ARN.exec(r.arn)?.[1] === assumed[1] && r.arn.endsWith(`/${assumed[2]}`));
    return { arn: known?.arn ?? `arn:aws:iam::${assumed[1]}:role/${assumed[2]}`, account: assumed[1], name: assumed[2] };
  }
  throw new StsError(
    403,
    "InvalidClientTokenId",
    `The security token included in the request is invalid: expected role:<role ARN>, got ${JSON.stringify(token)}`,
  );
}

/** The access key id of a SigV4 Authorization header: the account, by convention. */
function signingKeyId(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? "")?.[1];
}

function roleUniqueId(name: string): string {
  // Same shape as local/resourceState's role uniqueId.
  return `AROA${createHash("md5").update(name).digest("hex").slice(0, 17).toUpperCase()}`;
}

function assumeRole(params: URLSearchParams, caller: ReturnType<typeof callerOf>, opts: LocalStsOptions, calls: StsCallRecord[], requestId: string): string {
  const roleArn = params.get("RoleArn") ?? undefined;
  const externalId = params.get("ExternalId") ?? undefined;
  const session = params.get("RoleSessionName") ?? "";
  if (!roleArn || !ROLE_ARN.test(roleArn)) throw new StsError(400, "ValidationError", `RoleArn is not a role ARN: ${roleArn}`);
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
    calls.push({ caller: caller.arn, roleArn, externalId, allowed: false, reason });
    const user = `arn:aws:sts::${caller.account}:assumed-role/${caller.name}/local`;
    throw new StsError(403, "AccessDenied", `User: ${user} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
  };
  const role = opts.roles().find((r) => r.arn === roleArn);
  // AWS answers AccessDenied for a missing role too, revealing nothing across accounts.
  if (!role) return deny(`no such role: ${roleArn}`);
  const verdict = mayAssume(role.assumeRolePolicy, { arn: caller.arn, account: caller.account }, { externalId });
  if (!verdict.allowed) return deny(verdict.reason);

  const max = Math.min(role.maxSessionDuration ?? 3600, ROLE_CHAINING_LIMIT);
  if (!Number.isInteger(duration) || duration < 900 || duration > max) {
    throw new StsError(
      400,
      "ValidationError",
      `The requested DurationSeconds (${duration}) must be 900–${max}: the role's maximum session duration, and 1 hour for roles assumed by role chaining`,
    );
  }
  calls.push({ caller: caller.arn, roleArn, externalId, allowed: true, reason: verdict.reason });
  const [, account, , name] = ROLE_ARN.exec(roleArn)!;
  const expiration = new Date((opts.now ?? (() => new Date()))().getTime() + duration * 1000);
  return assumeRoleXml({
    accessKeyId: account,
    sessionToken: `role:${roleArn}`,
    expiration,
    assumedRoleId: `${roleUniqueId(name)}:${session}`,
    assumedRoleArn: `arn:aws:sts::${account}:assumed-role/${name}/${session}`,
    requestId,
  });
}

function callerIdentity(caller: ReturnType<typeof callerOf>, requestId: string): string {
  return (
    `<GetCallerIdentityResponse xmlns="${STS_NS}"><GetCallerIdentityResult>` +
    `<Arn>arn:aws:sts::${caller.account}:assumed-role/${xmlEscape(caller.name)}/local</Arn>` +
    `<UserId>${roleUniqueId(caller.name)}:local</UserId><Account>${caller.account}</Account>` +
    `</GetCallerIdentityResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
  );
}

function handle(body: string, headers: http.IncomingHttpHeaders, opts: LocalStsOptions, calls: StsCallRecord[], requestId: string): string {
  const params = new URLSearchParams(body);
  const action = params.get("Action");
  if (action !== "AssumeRole" && action !== "GetCallerIdentity") throw new StsError(400, "InvalidAction", `The local STS does not implement ${action}`);
  const token = headers["x-amz-security-token"];
  let caller: ReturnType<typeof callerOf>;
  try {
    caller = callerOf(Array.isArray(token) ? token[0] : token, opts.roles());
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
  // By convention the access key id is the caller's account: a mismatch is a wiring bug worth surfacing.
  const keyId = signingKeyId(headers.authorization);
  if (keyId !== undefined && keyId !== caller.account) {
    throw new StsError(
      403,
      "InvalidClientTokenId",
      `The security token included in the request is invalid: access key ${keyId} signed a session of account ${caller.account}`,
    );
  }
  return action === "AssumeRole" ? assumeRole(params, caller, opts, calls, requestId) : callerIdentity(caller, requestId);
}

/** Starts the local STS on a free 127.0.0.1 port. */
export async function startLocalSts(opts: LocalStsOptions): Promise<LocalSts> {
  const calls: StsCallRecord[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (d: Buffer) => {
      size += d.length;
      if (size <= MAX_BODY) chunks.push(d);
    });
    req.on("end", () => {
      const requestId = randomUUID();
      const send = (status: number, text: string) => {
        res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
        res.end(text);
      };
      try {
        if (req.method !== "POST") throw new StsError(400, "InvalidAction", "The local STS answers form-encoded POST requests only");
        if (size > MAX_BODY) throw new StsError(400, "ValidationError", "request body too large");
        send(200, handle(Buffer.concat(chunks).toString("utf8"), req.headers, opts, calls, requestId));
      } catch (err) {
        const e = err instanceof StsError ? err : new StsError(500, "InternalFailure", (err as Error).message);
        send(e.status, stsErrorXml(e.code, e.message, requestId, e.status));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets of SDK clients would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
