/**
 * What the IAM enforcer decides for one wire request, as pure functions the
 * proxy (enforcer.ts) only acts on: who the session token names (the shared
 * identity convention), what the request needs (the service's adapter), the
 * condition keys AWS would set, and the evaluator's decision for each need.
 * A request without a role token is the orchestrator's or a test's own and
 * goes through unchecked.
 */
import { IncomingHttpHeaders } from "http";
import { credentialScope, isRoleToken, LocalCaller, resolveCaller } from "../shared/identity";
import { header } from "../shared/loopback";
import { denialMessage, evaluate, RequestContext, SessionPrincipal, sessionContext } from "./policy";
import { PolicySet } from "./policySet";
import { ADAPTERS, Authorization, EnforcedService } from "./request";

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

/** A decision before the proxy stamps it with the time and its service. */
export type RequestDecision = Omit<EnforcerDecision, "at" | "service">;

/** An error to answer in the service's own format. */
export interface Refusal {
  code: string;
  message: string;
  /** Default: the adapter's (400 for the JSON services, 403 for STS). */
  status?: number;
}

/** What the proxy does with one request. */
export type RequestOutcome =
  { kind: "unchecked" } | { kind: "forward"; decision: RequestDecision } | { kind: "refuse"; decision: RequestDecision; refusal: Refusal };

/** What {@link decideRequest} reads. */
export interface RequestInput {
  service: EnforcedService;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Called only for a role's request. */
  policies: () => PolicySet;
  /** Region for names that are not ARNs when the signature names none. */
  region: string;
  sessionName?: (roleArn: string) => string | undefined;
}

const INVALID_TOKEN = "The security token included in the request is invalid.";

/** The account owning `resource`; an account-level `*` is the caller's own. */
export function resourceAccountOf(resource: string, principal: SessionPrincipal): string {
  return resource.split(":")[4] || principal.account;
}

/** The condition keys AWS sets for this session's request needing `authorization`. */
export function requestContext(principal: SessionPrincipal, authorization: Authorization, region: string): RequestContext {
  return {
    ...sessionContext(principal),
    "aws:RequestedRegion": region,
    "aws:ResourceAccount": resourceAccountOf(authorization.resource, principal),
    "kms:ViaService": undefined,
    ...(authorization.context ?? {}),
  };
}

/** Whether every authorization the request needs is allowed, and the decision to log. */
export function decideAuthorizations(
  service: EnforcedService,
  caller: LocalCaller,
  set: PolicySet,
  authorizations: Authorization[],
  region: string,
): RequestOutcome {
  const role = set.roles.find((r) => r.arn === caller.roleArn);
  const principal: SessionPrincipal = { roleArn: caller.roleArn, sessionArn: caller.sessionArn, account: caller.account };
  const reasons: string[] = [];
  for (const a of authorizations) {
    const decision = evaluate({
      principal,
      action: a.action,
      resource: a.resource,
      resourceAccount: resourceAccountOf(a.resource, principal),
      identityPolicies: role?.policies ?? [],
      resourcePolicy: set.resourcePolicies.find((p) => p.resourceArn === a.resource)?.document,
      resourceSideUpstream: ADAPTERS[service].resourceSideUpstream,
      context: requestContext(principal, a, region),
    });
    if (!decision.allowed) {
      const message = denialMessage(principal, a.action, a.resource, decision);
      const reason = role ? decision.reason : `the role ${principal.roleArn} does not exist in any manifest`;
      return {
        kind: "refuse",
        decision: { caller: principal.sessionArn, action: a.action, resource: a.resource, allowed: false, message, reason },
        refusal: { code: service === "sts" ? "AccessDenied" : "AccessDeniedException", message },
      };
    }
    reasons.push(`${a.action} on ${a.resource}: ${decision.reason}`);
  }
  const reason = reasons.join("; ");
  const resource = authorizations.map((a) => a.resource).join(",");
  return { kind: "forward", decision: { caller: principal.sessionArn, action: authorizations[0].action, resource, allowed: true, message: reason, reason } };
}

/** Decides one request: forward it unchecked, forward it allowed, or refuse it with the error AWS would give. */
export function decideRequest(input: RequestInput): RequestOutcome {
  const token = header(input.headers, "x-amz-security-token");
  if (!isRoleToken(token)) return { kind: "unchecked" };
  const set = input.policies();
  const scope = credentialScope(header(input.headers, "authorization"));
  const region = scope.region ?? input.region;
  const caller = resolveCaller(
    token,
    scope.keyId,
    set.roles.map((r) => r.arn),
    input.sessionName,
  );
  if ("error" in caller) {
    const refusal = input.service === "sts" ? { code: "InvalidClientTokenId", status: 403 } : { code: "UnrecognizedClientException", status: 400 };
    return {
      kind: "refuse",
      decision: { caller: token, action: "?", resource: "?", allowed: false, message: INVALID_TOKEN, reason: caller.error },
      refusal: { ...refusal, message: INVALID_TOKEN },
    };
  }
  const parsed = ADAPTERS[input.service].parse(input.headers, input.body, { account: caller.account, region });
  if (parsed.kind === "free") {
    const decision = {
      caller: caller.sessionArn,
      action: parsed.action,
      resource: "*",
      allowed: true,
      message: "needs no permission",
      reason: "needs no permission",
    };
    return { kind: "forward", decision };
  }
  if (parsed.kind === "unreadable") {
    return {
      kind: "refuse",
      decision: {
        caller: caller.sessionArn,
        action: "?",
        resource: "?",
        allowed: false,
        message: parsed.message,
        reason: `not understood, refused (fail closed): ${parsed.message}`,
      },
      refusal: { code: "AccessDeniedException", message: `The local IAM enforcer could not read this request, so it refuses it: ${parsed.message}` },
    };
  }
  return decidedBefore(input.service, caller, set, parsed.authorizations, region);
}

/**
 * Decisions already made, per policy set: a decision is a pure function of the set, the service, the
 * caller, the authorizations (with their condition keys) and the region, and the same few recur on every
 * request of a run. A redeploy brings a new set, so its decisions are made afresh; a set is never changed
 * in place. Every request is still decided: a repeated one gets the same decision without re-evaluating.
 */
const decisionsBySet = new WeakMap<PolicySet, Map<string, RequestOutcome>>();
/** Past this many distinct decisions under one set (never reached by the program's few roles), they are forgotten. */
const MAX_DECISIONS = 10_000;

/** Everything {@link decideAuthorizations} reads besides the set, as one string (an absent condition key kept apart from an unset one). */
function decisionKey(service: EnforcedService, caller: LocalCaller, authorizations: Authorization[], region: string): string {
  const needs = authorizations.map((a) => [a.action, a.resource, a.context && Object.entries(a.context).map(([k, v]) => [k, v === undefined ? null : v])]);
  return JSON.stringify([service, caller.roleArn, caller.sessionArn, caller.account, region, needs]);
}

/** {@link decideAuthorizations}, evaluated once per distinct request under one set. */
function decidedBefore(service: EnforcedService, caller: LocalCaller, set: PolicySet, authorizations: Authorization[], region: string): RequestOutcome {
  let decisions = decisionsBySet.get(set);
  if (!decisions) decisionsBySet.set(set, (decisions = new Map()));
  const key = decisionKey(service, caller, authorizations, region);
  let outcome = decisions.get(key);
  if (!outcome) {
    outcome = decideAuthorizations(service, caller, set, authorizations, region);
    if (decisions.size >= MAX_DECISIONS) decisions.clear();
    decisions.set(key, outcome);
  }
  return outcome;
}
