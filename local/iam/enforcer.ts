/**
 * Enforces the roles' identity policies on the calls functions make in the
 * local cloud, so an AccessDenied shows up locally before it does in AWS.
 *
 * One HTTP proxy per emulated service (Kinesis, DynamoDB, STS) sits between
 * the function processes and the emulator. Functions carry their identity by
 * the local convention (local/shared/identity.ts). For each request the proxy
 * asks authorize.ts what to do (the caller, the action and resource ARN(s)
 * from request.ts, the role's inline policies and the resource's policy
 * evaluated by policy.ts: across accounts both sides must allow), then either
 * answers AccessDenied in the service's own format or forwards the request
 * byte for byte and streams the answer back. Requests without a role token
 * (the orchestrator's own clients, tests) are forwarded unchecked. An
 * emulator in this process (dynalite) is handed the request it would have
 * read from the socket, and answers on the proxy's own response: the same
 * bytes both ways, without a second HTTP hop inside this process.
 *
 * S3 has no proxy: no function calls S3 (Firehose lands objects through the
 * orchestrator's own client).
 */
import * as http from "http";
import { randomUUID } from "crypto";
import type { InProcessHandler } from "../emulators/emulators";
import { LocalService, startLoopbackServer } from "../shared/loopback";
import { decideRequest, EnforcerDecision, Refusal, RequestDecision, RequestOutcome } from "./authorize";
import { PolicySet } from "./policySet";
import { ADAPTERS, EnforcedService } from "./request";

export type { EnforcerDecision } from "./authorize";
export { EnforcedService } from "./request";
export { EnforcerRole, manifestPolicies, policiesFromManifests, PolicySet } from "./policySet";

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
  /** The emulator's own handler when it runs in this process: used instead of `upstream`. */
  inProcess?: InProcessHandler;
  /** The current roles and resource policies (see {@link policiesFromManifests}). */
  policies: () => PolicySet;
  /** Region for names that are not ARNs when the request's signature names none. */
  region: string;
  /** The session name of a role's sessions in `User:` ARNs (e.g. the function's name); default `local`. */
  sessionName?: (roleArn: string) => string | undefined;
  /** Every decision on a role's request (allowed and denied). */
  onDecision?: (decision: EnforcerDecision) => void;
  /** An allowed request's answer from the emulator has ended, with its status (a put landed: the stream's readers may read now). */
  onAnswered?: (decision: RequestDecision, status: number) => void;
}

/** A running enforcing proxy. */
export interface IamEnforcer extends LocalService {
  service: EnforcedService;
  endpoint: string;
  stats(): EnforcerStats;
}

const MAX_BODY = 32 * 1024 * 1024;

/** Hands the request to the emulator's handler in this process, which answers on `res` itself. */
function serveInProcess(
  serve: InProcessHandler,
  req: http.IncomingMessage,
  body: Buffer,
  res: http.ServerResponse,
  onAnswered?: (status: number) => void,
): void {
  if (onAnswered) res.once("finish", () => onAnswered(res.statusCode));
  serve({ method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers, body }, res);
}

/** Sends `body` on to the emulator as received and streams its answer back. */
function forward(
  upstream: URL,
  agent: http.Agent,
  service: EnforcedService,
  req: http.IncomingMessage,
  body: Buffer,
  res: http.ServerResponse,
  onAnswered?: (status: number) => void,
): void {
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
      if (onAnswered) answer.once("end", () => onAnswered(answer.statusCode ?? 502));
      answer.pipe(res);
    },
  );
  up.on("error", (err) => {
    if (res.headersSent) {
      res.destroy(err);
      return;
    }
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(`the ${service} emulator did not answer: ${err.message}`);
  });
  up.end(body);
}

/** Starts one enforcing proxy on a free 127.0.0.1 port. */
export async function startIamEnforcer(options: IamEnforcerOptions): Promise<IamEnforcer> {
  const { service } = options;
  const upstream = new URL(options.upstream);
  const agent = new http.Agent({ keepAlive: true });
  const counts: EnforcerStats = { allowed: 0, denied: 0, unchecked: 0 };

  const refuse = (res: http.ServerResponse, refusal: Refusal) => {
    const answer = ADAPTERS[service].error(refusal.code, refusal.message, randomUUID(), refusal.status);
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  };
  const record = (decision: RequestDecision) => {
    const full: EnforcerDecision = { at: new Date().toISOString(), service, ...decision };
    if (full.allowed) counts.allowed += 1;
    else {
      counts.denied += 1;
      counts.lastDenied = full;
    }
    options.onDecision?.(full);
  };

  const server = await startLoopbackServer({
    maxBodyBytes: MAX_BODY,
    onTooLarge: (_req, res) => refuse(res, { code: "SerializationException", message: `request body over ${MAX_BODY} bytes`, status: 413 }),
    handle: (req, body, res) => {
      try {
        const outcome: RequestOutcome = decideRequest({ ...options, headers: req.headers, body });
        if (outcome.kind === "unchecked") counts.unchecked += 1;
        else record(outcome.decision);
        if (outcome.kind === "refuse") refuse(res, outcome.refusal);
        else {
          const { onAnswered } = options;
          const decision = outcome.kind === "forward" ? outcome.decision : undefined;
          const answered = decision && onAnswered ? (status: number) => onAnswered(decision, status) : undefined;
          if (options.inProcess) serveInProcess(options.inProcess, req, body, res, answered);
          else forward(upstream, agent, service, req, body, res, answered);
        }
      } catch (err) {
        // A bug or a policy that does not parse: refuse, never forward unchecked.
        counts.denied += 1;
        if (!res.headersSent) refuse(res, { code: "InternalFailure", message: `local IAM enforcer: ${(err as Error).message}`, status: 500 });
      }
    },
  });
  return {
    service,
    endpoint: server.endpoint,
    stats: () => ({ ...counts }),
    stop: async () => {
      // The upstream agent's keep-alive sockets would otherwise outlive the proxy.
      agent.destroy();
      await server.stop();
    },
  };
}

/** Several proxies, one per service, with summed counts. */
export interface IamEnforcers extends LocalService {
  endpoints: Record<EnforcedService, string>;
  stats(): EnforcerStats;
}

/** The counts of several proxies summed; the latest denial among them. */
export function sumStats(all: EnforcerStats[]): EnforcerStats {
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
}

/** Starts a proxy for each service in `upstreams` with shared options. */
export async function startIamEnforcers(
  upstreams: Record<EnforcedService, string>,
  options: Omit<IamEnforcerOptions, "service" | "upstream" | "inProcess"> & { inProcess?: Partial<Record<EnforcedService, InProcessHandler>> },
): Promise<IamEnforcers> {
  const started: IamEnforcer[] = [];
  const { inProcess, ...shared } = options;
  try {
    for (const service of Object.keys(upstreams) as EnforcedService[])
      started.push(await startIamEnforcer({ ...shared, service, upstream: upstreams[service], inProcess: inProcess?.[service] }));
  } catch (err) {
    await Promise.all(started.map((e) => e.stop()));
    throw err;
  }
  return {
    endpoints: Object.fromEntries(started.map((e) => [e.service, e.endpoint])) as Record<EnforcedService, string>,
    stats: () => sumStats(started.map((e) => e.stats())),
    stop: async () => {
      await Promise.all(started.map((e) => e.stop()));
    },
  };
}
