/**
 * The project's own CrossGuard rules, as a plain array of policies.
 *
 * Kept apart from the pack (policy/index.ts): constructing a `PolicyPack`
 * starts the gRPC server the Pulumi CLI talks to, so tests import this module
 * and call each policy's `validateResource` / `validateStack` directly.
 *
 * One module per kind of rule: encryption, iam, mappings, alarms, api. During a
 * preview, a property that is not known yet throws UnknownValueError through
 * the CLI's proxy and the policy is reported as advisory for that resource.
 */
import type { Policies } from "@pulumi/policy";
import { streamConsumerAlarms } from "./alarms";
import { apiOpenByChoice, apiRoutesAuthorized } from "./api";
import { bucketEncrypted, bucketSseKms, encryptedQueues, encryptedStreams, encryptedTables, firehoseEncrypted, tablePitr } from "./encryption";
import { noWildcards } from "./iam";
import { mappingFailureHandling } from "./mappings";

export * from "./alarms";
export * from "./api";
export * from "./encryption";
export * from "./iam";
export * from "./mappings";

/** Every rule of the pack. */
export const policies: Policies = [
  encryptedStreams,
  encryptedTables,
  tablePitr,
  encryptedQueues,
  bucketSseKms,
  bucketEncrypted,
  firehoseEncrypted,
  noWildcards,
  mappingFailureHandling,
  streamConsumerAlarms,
  apiRoutesAuthorized,
  apiOpenByChoice,
];
