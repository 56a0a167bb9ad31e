/**
 * STS AssumeRole calls per hour of steady traffic per container: the bridge's
 * credential provider (handlers/assumeRole.ts) driven by a simulated clock,
 * one invocation per second, against the local STS stub (real STSClient,
 * real HTTP); beside the naive AssumeRole on every invocation.
 */
import { assumeRoleCredentials } from "../handlers/bridge/assumeRole";
import { startStsStub } from "../local/sts/stub";

export interface StsResult {
  hours: number;
  invocations: number;
  calls: number;
  callsPerHour: number;
  firstHourCalls: number;
}

/** Simulates `hours` of one invocation every `everySeconds` seconds. */
export async function stsCallsPerHour(hours: number, everySeconds = 1, naive = false): Promise<StsResult> {
  const stub = await startStsStub();
  try {
    const start = Date.now();
    let now = start;
    stub.expiration = (seconds) => new Date(now + seconds * 1000);
    const sts = stub.client();
    const params = { roleArn: "arn:aws:iam::222222222222:role/analytics-writer", externalId: "ext-bench", sessionName: "event-bridge" };
    const shared = assumeRoleCredentials(sts, params, () => now);
    const invocations = Math.round((hours * 3600) / everySeconds);
    let firstHourCalls = 0;
    for (let i = 0; i < invocations; i++) {
      now = start + i * everySeconds * 1000;
      // Naive: a provider (so an AssumeRole) per invocation, as when the client is built inside the handler.
      const provider = naive ? assumeRoleCredentials(sts, params, () => now) : shared;
      await provider();
      if (now - start < 3600_000) firstHourCalls = stub.calls.length;
    }
    return { hours, invocations, calls: stub.calls.length, callsPerHour: stub.calls.length / hours, firstHourCalls };
  } finally {
    await stub.stop();
  }
}
