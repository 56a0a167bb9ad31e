/**
 * A tiny local STS that answers the Query API's AssumeRole with XML, so a real
 * STSClient can be pointed at it. It records the parameters it received,
 * counts calls, checks the ExternalId like a writer role's trust policy, and
 * hands out credentials whose access key id is the role's account, which
 * selects that account in kinesis-local.
 */
import * as http from "http";
import * as net from "net";
import { STSClient } from "@aws-sdk/client-sts";
import { assumeRoleXml, stsErrorXml } from "../../local/sts/xml";
import { emulatorSts } from "../../local/emulators/clients";

/** The AssumeRole parameters one call carried. */
export interface StsCall {
  RoleArn?: string;
  ExternalId?: string;
  RoleSessionName?: string;
  DurationSeconds?: string;
}

/** A running stub; mutate `expectedExternalId` / `failNext` between calls. */
export interface StsStub {
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
  close(): Promise<void>;
}

function errorXml(code: string, message: string, status: number): string {
  return stsErrorXml(code, message, "stub-error", status);
}

function credentialsXml(call: StsCall, expiration: Date, n: number): string {
  const account = /^arn:aws:iam::(\d{12}):role\//.exec(call.RoleArn ?? "")?.[1] ?? "000000000000";
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
  const sockets: net.Socket[] = [];
  const stub: StsStub = {
    endpoint: "",
    calls: [],
    expectedExternalId: options.expectedExternalId,
    failNext: { count: 0, code: "ServiceUnavailable", status: 503 },
    expiration: (seconds) => new Date(Date.now() + seconds * 1000),
    client: () => emulatorSts({ endpoint: stub.endpoint, maxAttempts: 1 }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d.toString();
    });
    req.on("end", () => {
      const params = new URLSearchParams(body);
      const send = (status: number, xml: string) => {
        res.writeHead(status, { "content-type": "text/xml" });
        res.end(xml);
      };
      if (params.get("Action") !== "AssumeRole") return send(400, errorXml("InvalidAction", `unsupported action ${params.get("Action")}`, 400));
      const call: StsCall = {
        RoleArn: params.get("RoleArn") ?? undefined,
        ExternalId: params.get("ExternalId") ?? undefined,
        RoleSessionName: params.get("RoleSessionName") ?? undefined,
        DurationSeconds: params.get("DurationSeconds") ?? undefined,
      };
      stub.calls.push(call);
      if (stub.failNext.count > 0) {
        stub.failNext.count -= 1;
        return send(stub.failNext.status, errorXml(stub.failNext.code, "injected by the STS stub", stub.failNext.status));
      }
      if (stub.expectedExternalId !== undefined && call.ExternalId !== stub.expectedExternalId) {
        return send(403, errorXml("AccessDenied", `User is not authorized to perform: sts:AssumeRole on resource: ${call.RoleArn}`, 403));
      }
      const expiration = stub.expiration(Number(call.DurationSeconds ?? 3600));
      send(200, credentialsXml(call, expiration, stub.calls.length));
    });
  });
  server.on("connection", (s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stub.endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return stub;
}
