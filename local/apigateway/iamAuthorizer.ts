/**
 * IAM authorization of an HTTP API route, as API Gateway does it: the request
 * must be signed with SigV4 for `execute-api` in the API's region within five
 * minutes; the signature is recomputed with the SDK's own signer
 * (@smithy/signature-v4) from the request as it arrived; the caller is who
 * the local identity convention names (access key id = account, session
 * token `role:<ARN>`, secret "local"); and `execute-api:Invoke` on the route
 * ARN is decided by the local IAM evaluator over the caller's identity
 * policies (HTTP APIs have no resource policies). Refusals are API Gateway's
 * 403s with its messages and `x-amzn-errortype`; an allowed caller reaches
 * the integration as payload 2.0's `requestContext.authorizer.iam`.
 */
import { timingSafeEqual, createHash } from "crypto";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { isRoleToken, resolveCaller, roleUniqueId } from "../shared/identity";
import { denialMessage, evaluate } from "../iam/policy";
import { requestContext } from "../iam/authorize";
import type { PolicySet } from "../iam/policySet";

/** One request as it arrived. */
export interface SignedRequest {
  method: string;
  /** The path as sent, percent-encoding kept. */
  rawPath: string;
  rawQueryString: string;
  /** Names lower-cased. */
  headers: Record<string, string>;
  body: Buffer;
}

/** Where the API lives, and whose policies decide. */
export interface IamAuthorizerOptions {
  region: string;
  account: string;
  apiId: string;
  /** Read at each request, so a redeploy is seen. */
  policies: () => PolicySet;
  now?: () => Date;
}

export type IamVerdict = { ok: true; authorizer: Record<string, unknown> } | { ok: false; status: 403; errorType: string; message: string; reason: string };

const SECRET = "local";
const SKEW_MS = 5 * 60 * 1000;
const MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

const refuse = (errorType: string, message: string, reason = message): IamVerdict => ({ ok: false, status: 403, errorType, message, reason });

/** The parts of `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, or what is missing. */
export function parseAuthorization(
  value: string,
): { keyId: string; date: string; region: string; service: string; signedHeaders: string[]; signature: string } | string {
  if (!value.startsWith("AWS4-HMAC-SHA256 ")) return `Authorization header requires the AWS4-HMAC-SHA256 algorithm, got ${JSON.stringify(value.split(" ")[0])}`;
  const fields = Object.fromEntries(
    value
      .slice("AWS4-HMAC-SHA256 ".length)
      .split(",")
      .map((p) => p.trim().split("="))
      .map(([k, ...v]) => [k, v.join("=")]),
  );
  const missing = ["Credential", "SignedHeaders", "Signature"].filter((k) => !fields[k]);
  if (missing.length) return missing.map((k) => `Authorization header requires '${k}' parameter.`).join(" ");
  const scope = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(fields.Credential);
  if (!scope) return `Credential ${JSON.stringify(fields.Credential)} is not <access key>/<yyyymmdd>/<region>/<service>/aws4_request.`;
  return { keyId: scope[1], date: scope[2], region: scope[3], service: scope[4], signedHeaders: fields.SignedHeaders.split(";"), signature: fields.Signature };
}

/** `arn:aws:execute-api:<region>:<account>:<apiId>/$default/<METHOD>/<path>`: what `execute-api:Invoke` is asked on. */
export function routeArn(o: Pick<IamAuthorizerOptions, "region" | "account" | "apiId">, method: string, rawPath: string): string {
  return `arn:aws:execute-api:${o.region}:${o.account}:${o.apiId}/$default/${method.toUpperCase()}/${rawPath.replace(/^\//, "")}`;
}

function queryOf(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    const had = query[k];
    query[k] = had === undefined ? v : [...[had].flat(), v];
  }
  return query;
}

/** The signature AWS would compute for this request with the local secret, signing exactly the headers the client signed. */
async function expectedSignature(
  r: SignedRequest,
  auth: Exclude<ReturnType<typeof parseAuthorization>, string>,
  amzDate: string,
  token?: string,
): Promise<string> {
  const signer = new SignatureV4({
    service: auth.service,
    region: auth.region,
    credentials: { accessKeyId: auth.keyId, secretAccessKey: SECRET, ...(token ? { sessionToken: token } : {}) },
    sha256: Hash.bind(null, "sha256"),
    // The client's own x-amz-content-sha256, when it sent one, is among the headers below.
    applyChecksum: false,
  });
  const headers = Object.fromEntries(auth.signedHeaders.map((h) => [h, r.headers[h] ?? ""]));
  const [host, port] = (r.headers.host ?? "").split(":");
  const signed = await signer.sign(
    {
      method: r.method,
      protocol: "http:",
      hostname: host,
      port: port ? Number(port) : undefined,
      path: r.rawPath,
      query: queryOf(r.rawQueryString),
      headers,
      body: r.body,
    },
    {
      signingDate: new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13)}`),
      signableHeaders: new Set(auth.signedHeaders),
    },
  );
  return /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization))![1];
}

/** Builds the authorizer of the API at `options`. */
export function createIamAuthorizer(options: IamAuthorizerOptions): (r: SignedRequest) => Promise<IamVerdict> {
  const now = options.now ?? (() => new Date());
  return async (r) => {
    const header = r.headers.authorization;
    if (!header && !/(^|&)X-Amz-Signature=/.test(r.rawQueryString)) return refuse("MissingAuthenticationTokenException", "Missing Authentication Token");
    if (!header) return refuse("IncompleteSignatureException", "The local HTTP API verifies SigV4 in the Authorization header only, not presigned URLs.");
    const auth = parseAuthorization(header);
    if (typeof auth === "string") return refuse("IncompleteSignatureException", auth);
    if (auth.service !== "execute-api") return refuse("InvalidSignatureException", "Credential should be scoped to correct service: 'execute-api'.");
    if (auth.region !== options.region) return refuse("InvalidSignatureException", `Credential should be scoped to a valid region, not '${auth.region}'.`);
    const amzDate = r.headers["x-amz-date"];
    if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || !auth.signedHeaders.includes("x-amz-date") || !auth.signedHeaders.includes("host"))
      return refuse("IncompleteSignatureException", "Authorization header requires a signed X-Amz-Date header (yyyymmddThhmmssZ) and a signed Host header.");
    const signedAt = Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13)}`);
    if (Math.abs(now().getTime() - signedAt) > SKEW_MS)
      return refuse("InvalidSignatureException", `Signature expired: ${amzDate} is now earlier or later than 5 minutes from ${now().toISOString()}.`);
    const token = r.headers["x-amz-security-token"];
    const caller = isRoleToken(token)
      ? resolveCaller(
          token,
          auth.keyId,
          options.policies().roles.map((role) => role.arn),
        )
      : { error: `expected a session token role:<role ARN>, got ${JSON.stringify(token ?? null)}` };
    if ("error" in caller) return refuse("UnrecognizedClientException", "The security token included in the request is invalid.", caller.error);
    // A body hash the client declared must be the body's (the signer trusts the header).
    const declared = r.headers["x-amz-content-sha256"];
    const bodyHash = createHash("sha256").update(r.body).digest("hex");
    const expected = declared && declared !== bodyHash ? "" : await expectedSignature(r, auth, amzDate, token);
    const given = Buffer.from(auth.signature);
    if (expected.length !== given.length || !timingSafeEqual(Buffer.from(expected), given)) return refuse("InvalidSignatureException", MISMATCH);

    const resource = routeArn(options, r.method, r.rawPath);
    const action = "execute-api:Invoke";
    const principal = { roleArn: caller.roleArn, sessionArn: caller.sessionArn, account: caller.account };
    const role = options.policies().roles.find((x) => x.arn === caller.roleArn);
    const decision = evaluate({
      principal,
      action,
      resource,
      resourceAccount: options.account,
      identityPolicies: role?.policies ?? [],
      context: requestContext(principal, { action, resource }, options.region),
    });
    if (!decision.allowed) return refuse("AccessDeniedException", denialMessage(principal, action, resource, decision), decision.reason);
    const callerId = `${roleUniqueId(caller.roleName)}:${caller.sessionArn.split("/").pop()}`;
    return {
      ok: true,
      authorizer: {
        iam: {
          accessKey: auth.keyId,
          accountId: caller.account,
          callerId,
          cognitoIdentity: null,
          principalOrgId: null,
          userArn: caller.sessionArn,
          userId: callerId,
        },
      },
    };
  };
}
