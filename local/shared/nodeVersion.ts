/**
 * The AWS SDK's Node-version warning, once per run of the local cloud. Each
 * process that loads the SDK on Node < 22 prints it (the stack runs, every
 * function environment); the orchestrator shows it once, with the SDK's own
 * function and text, then sets the SDK's documented off switch for the
 * processes it starts, which inherit it (functions get it from
 * {@link SDK_WARNING_OFF}, as the nodejs22.x runtime would never print it).
 */
import { emitWarningIfUnsupportedVersion } from "@aws-sdk/core";

/** The SDK's switch (@aws-sdk/core emitWarningIfUnsupportedVersion reads it). */
export const SDK_WARNING_OFF = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } as const;

/** Shows the SDK's warning here if this Node is one it warns about (and nobody turned it off), then turns it off for every child. */
export function showSdkNodeWarningOnce(): void {
  const name = Object.keys(SDK_WARNING_OFF)[0];
  if (process.env[name] !== "true") emitWarningIfUnsupportedVersion(process.version);
  Object.assign(process.env, SDK_WARNING_OFF);
}
