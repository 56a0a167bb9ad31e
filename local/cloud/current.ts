/**
 * What a running local cloud tells the other commands (`npm run landing`,
 * `npm run smoke`, you) in `.local-cloud/current.json`: the API, every
 * endpoint (Lambda's Invoke API included) and both stacks' outputs, without
 * secrets.
 */
import * as path from "path";
import type { LocalCloud } from "./cloud";
import { LOCAL_CLOUD_DIR } from "../shared/project";

/** Where `npm start` writes it, and the commands read it. */
export const CURRENT_FILE = path.join(LOCAL_CLOUD_DIR, "current.json");

/** The file's JSON text for `cloud`; an `externalId` anywhere is left out. */
export function currentState(cloud: LocalCloud): string {
  return JSON.stringify(
    {
      apiUrl: cloud.apiUrl,
      // What `npm run token` asks for a token.
      apiAuth: cloud.manifests.producer.outputs.apiAuth,
      issuer: cloud.issuer.issuer,
      endpoints: { ...cloud.endpoints, lambda: cloud.lambdaEndpoint },
      landingBucket: cloud.landingBucket,
      consumerAccount: cloud.manifests.consumer.account,
      producer: cloud.manifests.producer.outputs,
      consumer: cloud.manifests.consumer.outputs,
    },
    (k, v) => (k === "externalId" ? undefined : v),
    2,
  );
}
