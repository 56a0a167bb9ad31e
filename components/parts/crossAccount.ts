/**
 * What the two sides of the cross-account path (CrossAccountBridge in the
 * producer account, AnalyticsSink in the consumer's) must agree on, defaulted
 * here once: two stacks deployed without that config then agree by default.
 */
import type { AccessMode } from "../../handlers/bridge/contract";

/** The defaults both components apply. */
export interface CrossAccountDefaults {
  /** The bridge role name of the producer stack named {@link DEFAULT_PRODUCER_STACK}: the consumer's trust or resource policy names it before the role exists. */
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

/** The producer stack the consumer assumes unless told otherwise: the stack name the README and the PR workflow use. */
export const DEFAULT_PRODUCER_STACK = "producer";

/**
 * The default bridge role name of a producer stack. IAM role names are
 * account-wide, so two producer stacks in one account need two names, and
 * the consumer must derive the same one before the role exists: the stack
 * named "producer" keeps `event-pipeline-bridge` (the name every stack
 * deployed before had, so its role keeps its physical name and is not
 * replaced); any other stack gets `event-pipeline-bridge-<stack>`. Only the
 * short stack name counts (`org/project/stack` → `stack`).
 */
export function defaultBridgeRoleName(producerStack: string): string {
  const stack = producerStack.split("/").pop() ?? producerStack;
  return stack === DEFAULT_PRODUCER_STACK ? CROSS_ACCOUNT_DEFAULTS.bridgeRoleName : `${CROSS_ACCOUNT_DEFAULTS.bridgeRoleName}-${stack}`;
}
