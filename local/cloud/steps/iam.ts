/**
 * Step 3 of the local cloud: the IAM enforcers the functions' Kinesis,
 * DynamoDB and STS calls pass through, checked against the identity and
 * resource policies the stacks declare (AccessDenied as on AWS). The
 * orchestrator's own clients (mappings, Firehose, stats) stay on the emulators.
 */
import type { InProcessHandler } from "../../emulators/emulators";
import { EnforcerStats, manifestPolicies, startIamEnforcers } from "../../iam/enforcer";
import { LOCAL_REGION, LocalEndpoints } from "../../shared/manifest";
import { CloudContext, Service } from "../context";
import { Manifests } from "./stacks";

/** The running enforcers. */
export interface IamService extends Service {
  /** The emulators' endpoints as functions see them: Kinesis, DynamoDB and STS behind the enforcers. */
  functionEndpoints: LocalEndpoints;
  stats(): EnforcerStats;
}

/** Starts one enforcer per service; policies and session names are read from the manifests as they are at each call. */
export async function startIam(ctx: CloudContext, endpoints: LocalEndpoints, manifests: Manifests, dynamodbInProcess?: InProcessHandler): Promise<IamService> {
  const enforcers = await startIamEnforcers(
    { kinesis: endpoints.kinesis, dynamodb: endpoints.dynamodb, sts: endpoints.sts },
    {
      region: LOCAL_REGION,
      // dynalite runs in this process: an allowed request goes to its handler, not over a second loopback connection.
      inProcess: { dynamodb: dynamodbInProcess },
      policies: manifestPolicies(() => Object.values(manifests)),
      sessionName: (roleArn) =>
        Object.values(manifests)
          .flatMap((m) => m.functions)
          .find((f) => f.roleArn === roleArn)?.functionName,
      onDecision: (d) => {
        if (!d.allowed) ctx.runtime.write(`[iam] ${d.message} (${d.reason})`);
      },
      // A function's put landed: the stream's mappings and Firehose may read now rather than at their next idle poll.
      onAnswered: (d, status) => {
        if (status === 200 && (d.action === "kinesis:PutRecord" || d.action === "kinesis:PutRecords")) ctx.writes.landed(d.resource);
      },
    },
  );
  ctx.progress("identity policies enforced for function calls: their Kinesis, DynamoDB and STS requests pass the local IAM enforcer (AccessDenied as on AWS)");
  return {
    functionEndpoints: { ...endpoints, ...enforcers.endpoints },
    stats: () => enforcers.stats(),
    stop: async () => {
      const s = enforcers.stats();
      ctx.runtime.write(`[iam] decisions on function calls: ${s.allowed} allowed, ${s.denied} denied, ${s.unchecked} unchecked`);
      await enforcers.stop();
    },
  };
}
