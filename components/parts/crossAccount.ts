/**
 * What the two sides of the cross-account path (CrossAccountBridge in the
 * producer account, AnalyticsSink in the consumer's) must agree on, defaulted
 * here once: two stacks deployed without that config then agree by default.
 */
import type { AccessMode } from "../../handlers/bridge/contract";

/** The defaults both components apply. */
export interface CrossAccountDefaults {
  /** The bridge role's fixed name: the consumer's trust or resource policy names it before the role exists. */
  bridgeRoleName: string;
  /** How the bridge reaches the analytics stream. */
  accessMode: AccessMode;
}

/**
 * `event-pipeline-bridge`: a fixed name, since a role ARN in another account's
 * policy must be known before the role exists; `assumeRole`: the design's
 * original access (writer role + ExternalId), which needs no resource policy
 * support from the consumer.
 */
export const CROSS_ACCOUNT_DEFAULTS: CrossAccountDefaults = { bridgeRoleName: "event-pipeline-bridge", accessMode: "assumeRole" };
