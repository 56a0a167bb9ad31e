/**
 * Operator tools for parked events, as scripts/redrive.ts uses them: list a
 * parked table (parkedRows.ts), and after a fix re-drive the projector's
 * blocked aggregates with the current `reduce` (projectorRedrive.ts, which
 * describes the protocol that keeps it safe beside a running projector) or
 * re-send the bridge's parked events with the current `map`
 * (bridgeRedrive.ts). Each reuses the function's own code, so a re-driven
 * event is handled exactly as it would have been the first time.
 */
export { listParked, parkedToRecord, type ParkedListing } from "./parkedRows";
export { redriveAggregate, redriveProjector, type RedriveConfig, type RedriveResult } from "./projectorRedrive";
export { redriveBridge, type BridgeRedriveResult } from "./bridgeRedrive";
