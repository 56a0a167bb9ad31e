/** The SDK middleware the tests count requests and inject faults with: one implementation, in local/shared/sdkMiddleware.ts. */
export { countRequests, FaultRule, injectFaults, rewriteOutput, serviceError } from "../../local/shared/sdkMiddleware";
