/**
 * What an IAM caller of CommandApi's HTTP API needs, as plain data with no
 * Pulumi imports (the local cloud and the IAM simulation read it too): the
 * identity policy the README shows, `execute-api:Invoke` on exactly the
 * routes' ARNs (the stack's `apiRouteArns` output), and nothing on
 * `$default`, which only answers 404.
 */

/** An IAM policy document. */
export interface InvokePolicy {
  Version: "2012-10-17";
  Statement: { Sid: string; Effect: "Allow"; Action: "execute-api:Invoke"; Resource: string[] }[];
}

/** The policy to attach to a caller's role, for the given route ARNs. */
export function invokePolicy(routeArns: string[]): InvokePolicy {
  return { Version: "2012-10-17", Statement: [{ Sid: "InvokeCommandApi", Effect: "Allow", Action: "execute-api:Invoke", Resource: routeArns }] };
}
