/**
 * Enforces the roles' identity policies on the calls functions make in the
 * local cloud, so an AccessDenied shows up locally before it does in AWS.
 *
 * One HTTP proxy per emulated service (Kinesis, DynamoDB, STS) sits between
 * the function processes and the emulator. Functions carry their identity by
 * the local convention: `x-amz-security-token` = `role:<role ARN>` (an
 * assumed-role session ARN is accepted too) and the SigV4 access key id = the
 * role's account. For each such request the proxy derives the action and the
 * resource ARN(s) (local/iamEnforcerRequest), evaluates the role's inline
 * policies and, when the resource has one, its resource policy
 * (local/iamEnforcerPolicy: across accounts both sides must allow), and
 * either answers AccessDenied in the service's own format or forwards the
 * request byte for byte and streams the answer back. Requests without a role
 * token (the orchestrator's own clients, tests) are forwarded unchecked.
 *
 * S3 has no proxy: no function calls S3 (Firehose lands objects through the
 * orchestrator's own client).
 */
import * as http from "http";
import * as net from "net";
import { randomUUID } from "crypto";
import { ManifestResource, StackManifest } from "../shared/manifest";
import { Decision, denialMessage, evaluate, PolicyDocument, RequestContext, SessionPrincipal } from "./policy";
import { ADAPTERS, EnforcedService, ServiceAdapter } from "./request";
import { TYPES } from "../../components/parts/typeTokens";

export { EnforcedService } from "./request";

/** A role as the enforcer sees it: its ARN and identity policies. */
export interface EnforcerRole {
  arn: string;
  policies: { name: string; document: PolicyDocument }[];
}

/** Everything the enforcer evaluates; read on every request, so redeploys are seen. */
export interface PolicySet {
  roles: EnforcerRole[];
  /** Resource-based policies by the ARN they are attached to (a Kinesis stream's, a DynamoDB table's). */
  resourcePolicies: { resourceArn: string; document: PolicyDocument }[];
}

/** One decision, as logged. */
export interface EnforcerDecision {
  at: string;
  service: string;
  /** The caller's session ARN. */
  caller: string;
  action: string;
  resource: string;
  allowed: boolean;
  /** The message AWS would give (denials), or which statement allowed. */
  message: string;
  reason: string;
}

/** Counts for the status line. */
export interface EnforcerStats {
  /** Requests from a role session that every needed permission allowed. */
  allowed: number;
  /** Requests refused (AccessDenied, or an invalid session token). */
  denied: number;
  /** Requests without a role token, forwarded unchecked. */
  unchecked: number;
  lastDenied?: EnforcerDecision;
}

/** Options of {@link startIamEnforcer}. */
export interface IamEnforcerOptions {
  service: EnforcedService;
  /** The emulator's endpoint, e.g. `http://127.0.0.1:4567`. */
  upstream: string;
  /** The current roles and resource policies (see {@link policiesFromManifests}). */
  policies: () => PolicySet;
  /** Region for names that are not ARNs when the request's signature names none. */
  region: string;
  /** The session name of a role's sessions in `User:` ARNs (e.g. the function's name); default `local`. */
  sessionName?: (roleArn: string) => string | undefined;
  /** Every decision on a role's request (allowed and denied). */
  onDecision?: (decision: EnforcerDecision) => void;
}

/** A running enforcing proxy. */
export interface IamEnforcer {
  service: EnforcedService;
  endpoint: string;
  stats(): EnforcerStats;
  stop(): Promise<void>;
}

const MAX_BODY = 32 * 1024 * 1024;
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\x21-\x7e]*\/)?([\w+=,.@-]{1,64})$/;
const ASSUMED_ARN = /^arn:aws:sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]+)$/;

const ROLE_TYPE = TYPES.role;
const ROLE_POLICY_TYPE = TYPES.rolePolicy;
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
    .filter((r) => r.type === ROLE_TYPE)
    .map((r): EnforcerRole => ({
      arn: r.state.arn,
      policies: ((r.inputs.inlinePolicies ?? []) as { name?: string; policy: unknown }[])
        .filter((p) => p?.policy)
        .map((p, i) => ({ name: p.name ?? `${r.name}-inline-${i}`, document: parsePolicy(p.policy) })),
    }));
  for (const rp of resources.filter((r) => r.type === ROLE_POLICY_TYPE)) {
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

const header = (req: http.IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Access key id and region of a SigV4 Authorization header. */
function credentialScope(authorization: string | undefined): { keyId?: string; region?: string } {
  const m = /Credential=([^/,\s]+)\/\d{8}\/([^/,\s]+)\//.exec(authorization ?? "");
  return m ? { keyId: m[1], region: m[2] } : {};
}

type Caller = { principal: SessionPrincipal; role?: EnforcerRole };

/** The session a `role:<ARN>` token names, or why it is not one. */
function callerOf(token: string, keyId: string | undefined, set: PolicySet, sessionName: (roleArn: string) => string): Caller | string {
  const arn = token.slice("role:".length);
  let principal: SessionPrincipal;
  let role: EnforcerRole | undefined;
  const iam = ROLE_ARN.exec(arn);
  const assumed = ASSUMED_ARN.exec(arn);
  if (iam) {
    role = set.roles.find((r) => r.arn === arn);
    principal = { roleArn: arn, account: iam[1], sessionArn: `arn:aws:sts::${iam[1]}:assumed-role/${iam[2]}/${sessionName(arn)}` };
  } else if (assumed) {
    role = set.roles.find((r) => ROLE_ARN.exec(r.arn)?.[1] === assumed[1] && ROLE_ARN.exec(r.arn)?.[2] === assumed[2]);
    principal = { roleArn: role?.arn ?? `arn:aws:iam::${assumed[1]}:role/${assumed[2]}`, account: assumed[1], sessionArn: arn };
  } else {
    return `expected role:<role ARN>, got ${JSON.stringify(token)}`;
  }
  // By convention the access key id is the session's account (kinesis-local selects the account by it).
  if (keyId !== undefined && keyId !== principal.account) return `access key ${keyId} signed a session of account ${principal.account}`;
  return { principal, role };
}

/** Starts one enforcing proxy on a free 127.0.0.1 port. */
export async function startIamEnforcer(options: IamEnforcerOptions): Promise<IamEnforcer> {
  const adapter: ServiceAdapter = ADAPTERS[options.service];
  const upstream = new URL(options.upstream);
  const agent = new http.Agent({ keepAlive: true });
  const counts: EnforcerStats = { allowed: 0, denied: 0, unchecked: 0 };
  const sessionName = (roleArn: string) => options.sessionName?.(roleArn) ?? "local";

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    const up = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        // As received, byte for byte (Host included, so the signature still covers what the emulator sees).
        headers: req.rawHeaders as unknown as http.OutgoingHttpHeaders,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders as unknown as http.OutgoingHttpHeaders);
        answer.pipe(res);
      },
    );
    up.on("error", (err) => {
      if (res.headersSent) {
        res.destroy(err);
        return;
      }
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`the ${options.service} emulator did not answer: ${err.message}`);
    });
    up.end(body);
  };

  const refuse = (res: http.ServerResponse, code: string, message: string, status?: number) => {
    const answer = adapter.error(code, message, randomUUID(), status);
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  };

  const decide = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => {
    const token = header(req, "x-amz-security-token");
    if (!token?.startsWith("role:")) {
      counts.unchecked += 1;
      forward(req, res, body);
      return;
    }
    const set = options.policies();
    const scope = credentialScope(header(req, "authorization"));
    const caller = callerOf(token, scope.keyId, set, sessionName);
    const record = (d: Omit<EnforcerDecision, "at" | "service">): EnforcerDecision => {
      const full = { at: new Date().toISOString(), service: options.service, ...d };
      if (full.allowed) counts.allowed += 1;
      else {
        counts.denied += 1;
        counts.lastDenied = full;
      }
      options.onDecision?.(full);
      return full;
    };
    if (typeof caller === "string") {
      const invalid = options.service === "sts" ? { code: "InvalidClientTokenId", status: 403 } : { code: "UnrecognizedClientException", status: 400 };
      record({ caller: token, action: "?", resource: "?", allowed: false, message: "The security token included in the request is invalid.", reason: caller });
      refuse(res, invalid.code, "The security token included in the request is invalid.", invalid.status);
      return;
    }
    const { principal, role } = caller;
    const parsed = adapter.parse(req.headers, body, { account: principal.account, region: scope.region ?? options.region });
    if (parsed.kind === "free") {
      record({
        caller: principal.sessionArn,
        action: parsed.action,
        resource: "*",
        allowed: true,
        message: "needs no permission",
        reason: "needs no permission",
      });
      forward(req, res, body);
      return;
    }
    if (parsed.kind === "unreadable") {
      record({
        caller: principal.sessionArn,
        action: "?",
        resource: "?",
        allowed: false,
        message: parsed.message,
        reason: `not understood, refused (fail closed): ${parsed.message}`,
      });
      refuse(res, "AccessDeniedException", `The local IAM enforcer could not read this request, so it refuses it: ${parsed.message}`);
      return;
    }
    const reasons: string[] = [];
    for (const a of parsed.authorizations) {
      const resourceAccount = a.resource.split(":")[4] || principal.account;
      const context: RequestContext = {
        "aws:PrincipalArn": principal.roleArn,
        "aws:PrincipalAccount": principal.account,
        "aws:PrincipalType": "AssumedRole",
        "aws:PrincipalOrgID": undefined,
        "aws:RequestedRegion": scope.region ?? options.region,
        // Functions call AWS over TLS; only the local hop is plain HTTP.
        "aws:SecureTransport": "true",
        "aws:ViaAWSService": "false",
        "aws:ResourceAccount": resourceAccount,
        "aws:SourceAccount": undefined,
        "aws:SourceArn": undefined,
        "kms:ViaService": undefined,
        ...(a.context ?? {}),
      };
      const decision: Decision = evaluate({
        principal,
        action: a.action,
        resource: a.resource,
        resourceAccount,
        identityPolicies: role?.policies ?? [],
        resourcePolicy: set.resourcePolicies.find((p) => p.resourceArn === a.resource)?.document,
        resourceSideUpstream: adapter.resourceSideUpstream,
        context,
      });
      if (!decision.allowed) {
        const message = denialMessage(principal, a.action, a.resource, decision);
        record({
          caller: principal.sessionArn,
          action: a.action,
          resource: a.resource,
          allowed: false,
          message,
          reason: role ? decision.reason : `the role ${principal.roleArn} does not exist in any manifest`,
        });
        refuse(res, options.service === "sts" ? "AccessDenied" : "AccessDeniedException", message);
        return;
      }
      reasons.push(`${a.action} on ${a.resource}: ${decision.reason}`);
    }
    const first = parsed.authorizations[0];
    record({
      caller: principal.sessionArn,
      action: first.action,
      resource: parsed.authorizations.map((a) => a.resource).join(","),
      allowed: true,
      message: reasons.join("; "),
      reason: reasons.join("; "),
    });
    forward(req, res, body);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(d);
    });
    req.on("end", () => {
      if (tooLarge) {
        refuse(res, "SerializationException", `request body over ${MAX_BODY} bytes`, 413);
        return;
      }
      try {
        decide(req, Buffer.concat(chunks), res);
      } catch (err) {
        // A bug or a policy that does not parse: refuse, never forward unchecked.
        counts.denied += 1;
        if (!res.headersSent) refuse(res, "InternalFailure", `local IAM enforcer: ${(err as Error).message}`, 500);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    service: options.service,
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    stats: () => ({ ...counts }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets of the functions' SDK clients would otherwise hold close() open.
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

/** Several proxies, one per service, with summed counts. */
export interface IamEnforcers {
  endpoints: Record<EnforcedService, string>;
  stats(): EnforcerStats;
  stop(): Promise<void>;
}

/** Starts a proxy for each service in `upstreams` with shared options. */
export async function startIamEnforcers(
  upstreams: Record<EnforcedService, string>,
  options: Omit<IamEnforcerOptions, "service" | "upstream">,
): Promise<IamEnforcers> {
  const started: IamEnforcer[] = [];
  try {
    for (const service of Object.keys(upstreams) as EnforcedService[])
      started.push(await startIamEnforcer({ ...options, service, upstream: upstreams[service] }));
  } catch (err) {
    await Promise.all(started.map((e) => e.stop()));
    throw err;
  }
  return {
    endpoints: Object.fromEntries(started.map((e) => [e.service, e.endpoint])) as Record<EnforcedService, string>,
    stats() {
      const all = started.map((e) => e.stats());
      const lastDenied = all
        .map((s) => s.lastDenied)
        .filter((d): d is EnforcerDecision => !!d)
        .sort((a, b) => a.at.localeCompare(b.at))
        .pop();
      return {
        allowed: all.reduce((a, s) => a + s.allowed, 0),
        denied: all.reduce((a, s) => a + s.denied, 0),
        unchecked: all.reduce((a, s) => a + s.unchecked, 0),
        ...(lastDenied ? { lastDenied } : {}),
      };
    },
    stop: async () => {
      await Promise.all(started.map((e) => e.stop()));
    },
  };
}
