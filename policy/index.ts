/**
 * The event-sourced-pipeline policy pack (CrossGuard). Run it with a preview:
 *
 *   pulumi preview --stack producer --policy-pack policy
 *
 * The rules live in ./rules so tests can call them without the CLI:
 * constructing a PolicyPack starts the gRPC server the CLI connects to.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("event-sourced-pipeline", {
  description: "Encryption at rest, least-privilege IAM, safe stream event-source mappings, alarms and PITR for the event-sourced pipeline.",
  enforcementLevel: "mandatory",
  policies,
});
