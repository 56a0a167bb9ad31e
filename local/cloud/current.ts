/**
 * What a running local cloud tells the other commands (`npm run landing`,
 * `npm run smoke`, `npm run token`, you) in `.local-cloud/current.json`: the
 * API and how it authenticates, every endpoint (Lambda's Invoke API
 * included), both stacks' outputs and the data dir. local/shared/runningCloud.ts
 * writes and reads the file (with the pid, and without secrets).
 */
import type { LocalCloud } from "./cloud";
import type { CurrentCloud } from "../shared/runningCloud";

/** The description of `cloud` (everything but the pid). */
export function describeCloud(cloud: LocalCloud, dataDir?: string): Omit<CurrentCloud, "pid"> {
  return {
    apiUrl: cloud.apiUrl,
    // What `npm run token` asks for a token.
    apiAuth: cloud.manifests.producer.outputs.apiAuth,
    issuer: cloud.issuer.issuer,
    endpoints: { ...cloud.endpoints, lambda: cloud.lambdaEndpoint },
    landingBucket: cloud.landingBucket,
    consumerAccount: cloud.manifests.consumer.account,
    ...(dataDir ? { dataDir } : {}),
    producer: cloud.manifests.producer.outputs,
    consumer: cloud.manifests.consumer.outputs,
  };
}
