/**
 * One JSON line per request ("Customize HTTP API access logs"): what was asked, what was answered, and who asked (the
 * caller's IP and user agent; its IAM ARN in iam mode, the token's subject in jwt mode; why an authorizer refused),
 * so a write can be traced to its caller; never a header, a token or the body.
 */
export const ACCESS_LOG_FORMAT = {
  requestId: "$context.requestId",
  time: "$context.requestTime",
  method: "$context.httpMethod",
  path: "$context.path",
  routeKey: "$context.routeKey",
  status: "$context.status",
  integrationStatus: "$context.integrationStatus",
  latencyMs: "$context.responseLatency",
  sourceIp: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
  callerArn: "$context.identity.userArn",
  subject: "$context.authorizer.claims.sub",
  authorizerError: "$context.authorizer.error",
  error: "$context.error.message",
  integrationError: "$context.integrationErrorMessage",
};
