/**
 * Operator tools for parked events, as scripts/redrive.ts uses them: list a
 * parked table with a summary per blocked aggregate (parkedRows.ts), and
 * after a fix re-drive the projector's blocked aggregates with the current
 * `reduce` (projectorRedrive.ts, which describes the protocol that keeps it
 * safe beside a running projector) or re-send the bridge's parked events
 * with the current `map` (bridgeRedrive.ts), or discard an event that can
 * never apply, with an audit row (discard.ts). Each reuses the function's own
 * code, KPL deaggregation included, so a re-driven event is handled exactly as
 * it would have been the first time.
 */
export { blockSummaries, listParked, parkedToRecord, rowSources, type BlockSummary, type ParkedListing } from "./parkedRows";
export { redriveAggregate, redriveProjector, type DiscardRequest, type RedriveConfig, type RedriveResult } from "./projectorRedrive";
export { redriveBridge, type BridgeRedriveResult } from "./bridgeRedrive";
export { discardParked, DiscardRefused, parseDiscardTarget, type DiscardAuthor, type DiscardOutcome, type DiscardTarget } from "./discard";
export { unpackLegacyRows } from "./legacyRows";
