/**
 * A tiny STS for tests and benchmarks that answers the Query API's AssumeRole
 * with the local STS's XML, so a real STSClient can be pointed at it. Unlike
 * the local STS (sts.ts) it reads no trust policy: it records the parameters
 * it received, counts calls, checks the ExternalId like a writer role's trust
 * policy, can fail on demand, and hands out credentials whose access key id
 * is the role's account, which selects that account in kinesis-local.
 */
import { STSClient } from "@aws-sdk/client-sts";
import { emulatorSts } from "../emulators/clients";
import { parseRoleArn } from "../shared/identity";
import { LocalService, startLoopbackServer } from "../shared/loopback";
import { assumeRoleXml, stsErrorXml } from "./xml";

/** The AssumeRole parameters one call carried. */
export interface StsCall {
  RoleArn?: string;
  ExternalId?: string;
  RoleSessionName?: string;
  DurationSeconds?: string;
}

/** A running stub; mutate `expectedExternalId` / `failNext` between calls. */
export interface StsStub extends LocalService {
  endpoint: string;
  calls: StsCall[];
  /** When set, a different (or absent) ExternalId is answered 403 AccessDenied. */
  expectedExternalId?: string;
  /** Answers the next n calls with this error. */
  failNext: { count: number; code: string; status: number };
  /** Expiration handed out; default now + DurationSeconds (3600). */
  expiration: (durationSeconds: number) => Date;
  /** A real STSClient aimed at the stub (one SDK attempt, so calls are countable). */
  client(): STSClient;
}

// An AssumeRole request is a few hundred bytes; this leaves room for session policies.
const MAX_BODY = 64 * 1024;

function credentialsXml(call: StsCall, expiration: Date, n: number): string {
  const account = parseRoleArn(call.RoleArn ?? "")?.account ?? "000000000000";
  const session = call.RoleSessionName ?? "";
  return assumeRoleXml({
    accessKeyId: account,
    sessionToken: `stub-session-${n}`,
    expiration,
    assumedRoleId: `AROASTUB:${session}`,
    assumedRoleArn: `arn:aws:sts::${account}:assumed-role/stub/${session}`,
    requestId: `stub-${n}`,
  });
}

/** Starts the stub on a free loopback port. */
export async function startStsStub(options: { expectedExternalId?: string } = {}): Promise<StsStub> {
  const calls: StsCall[] = [];
  // The object callers mutate: the handler reads its fields on every call.
  const stub: Omit<StsStub, "endpoint" | "client" | "stop"> = {
    calls,
    expectedExternalId: options.expectedExternalId,
    failNext: { count: 0, code: "ServiceUnavailable", status: 503 },
    expiration: (seconds) => new Date(Date.now() + seconds * 1000),
  };
  const server = await startLoopbackServer({
    maxBodyBytes: MAX_BODY,
    handle: (_req, body, res) => {
      const params = new URLSearchParams(body.toString("utf8"));
      const send = (status: number, xml: string) => {
        res.writeHead(status, { "content-type": "text/xml" });
        res.end(xml);
      };
      const error = (code: string, message: string, status: number) => send(status, stsErrorXml(code, message, "stub-error", status));
      if (params.get("Action") !== "AssumeRole") return error("InvalidAction", `the STS stub answers AssumeRole only, got ${params.get("Action")}`, 400);
      const call: StsCall = {
        RoleArn: params.get("RoleArn") ?? undefined,
        ExternalId: params.get("ExternalId") ?? undefined,
        RoleSessionName: params.get("RoleSessionName") ?? undefined,
        DurationSeconds: params.get("DurationSeconds") ?? undefined,
      };
      calls.push(call);
      if (stub.failNext.count > 0) {
        stub.failNext.count -= 1;
        return error(stub.failNext.code, "injected by the STS stub", stub.failNext.status);
      }
      if (stub.expectedExternalId !== undefined && call.ExternalId !== stub.expectedExternalId)
        return error("AccessDenied", `User is not authorized to perform: sts:AssumeRole on resource: ${call.RoleArn}`, 403);
      send(200, credentialsXml(call, stub.expiration(Number(call.DurationSeconds ?? 3600)), calls.length));
    },
  });
  return Object.assign(stub, {
    endpoint: server.endpoint,
    client: () => emulatorSts({ endpoint: server.endpoint, maxAttempts: 1 }),
    stop: server.stop,
  });
}
