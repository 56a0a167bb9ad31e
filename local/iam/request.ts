/**
 * What an AWS request asks for, in IAM terms: the action and the resource
 * ARN(s) it needs, derived from the wire request the way the service does,
 * plus how that service's protocol answers a denial. One adapter per
 * emulated service the functions call: Kinesis and DynamoDB (JSON protocol,
 * `x-amz-target`), STS (Query protocol, form-encoded).
 */
import { header } from "../shared/loopback";
import { stsErrorXml } from "../sts/xml";

/** The caller's account and region, for names that are not ARNs. */
export interface RequestScope {
  account: string;
  region: string;
}

/** One authorisation a request needs: all must be allowed. */
export interface Authorization {
  action: string;
  resource: string;
  /** Service-specific condition keys the request carries (e.g. `sts:ExternalId`); undefined = absent. */
  context?: Record<string, string | undefined>;
}

/** An adapter's reading of one request. */
export type ParsedRequest =
  | { kind: "authorize"; authorizations: Authorization[] }
  /** Needs no permission (sts:GetCallerIdentity). */
  | { kind: "free"; action: string }
  /** Not understood: the enforcer refuses it rather than guess (fail closed). */
  | { kind: "unreadable"; message: string };

/** How a service's protocol says "denied". */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One emulated service's protocol. */
export interface ServiceAdapter {
  /** `kinesis`, `dynamodb`, `sts`. */
  service: string;
  /** STS evaluates the trust policy itself: only the identity side is decided by the enforcer. */
  resourceSideUpstream?: boolean;
  parse(headers: Record<string, string | string[] | undefined>, body: Buffer, scope: RequestScope): ParsedRequest;
  /** AccessDenied (and the other errors the enforcer answers) in the service's own format. */
  error(code: string, message: string, requestId: string, status?: number): ErrorAnswer;
}

function jsonBody(body: Buffer): Record<string, any> | undefined {
  try {
    const value = JSON.parse(body.length ? body.toString("utf8") : "{}");
    return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `Prefix_Version.Operation` → `Operation`, when the prefix is this service's. */
function operationOf(headers: Record<string, string | string[] | undefined>, prefix: string): string | undefined {
  const target = header(headers, "x-amz-target") ?? "";
  const [p, op] = target.split(".");
  return p === prefix && op ? op : undefined;
}

function jsonError(contentType: string) {
  return (code: string, message: string, requestId: string, status = 400): ErrorAnswer => ({
    status,
    headers: { "content-type": contentType, "x-amzn-requestid": requestId, "x-amzn-errortype": code },
    body: JSON.stringify({ __type: code, message }),
  });
}

const ARN = /^arn:aws[\w-]*:/;

// ---- Kinesis ----------------------------------------------------------------

/** The stream ARN a Kinesis request names: StreamARN as given, else StreamName in the caller's account and region. */
function kinesisStream(body: Record<string, any>, scope: RequestScope): string | undefined {
  if (typeof body.StreamARN === "string" && ARN.test(body.StreamARN)) return body.StreamARN;
  if (typeof body.StreamName === "string" && body.StreamName) return `arn:aws:kinesis:${scope.region}:${scope.account}:stream/${body.StreamName}`;
  return undefined;
}

export const kinesisAdapter: ServiceAdapter = {
  service: "kinesis",
  parse(headers, raw, scope) {
    const op = operationOf(headers, "Kinesis_20131202");
    if (!op) return { kind: "unreadable", message: `x-amz-target ${JSON.stringify(header(headers, "x-amz-target"))} is not a Kinesis operation` };
    const body = jsonBody(raw);
    if (!body) return { kind: "unreadable", message: `the ${op} request body is not a JSON object` };
    const action = `kinesis:${op}`;
    // Consumer operations act on the consumer; resource-policy operations on the named resource.
    const resource =
      (typeof body.ConsumerARN === "string" && ARN.test(body.ConsumerARN) ? body.ConsumerARN : undefined) ??
      (typeof body.ResourceARN === "string" && ARN.test(body.ResourceARN) ? body.ResourceARN : undefined) ??
      kinesisStream(body, scope) ??
      // Account-level operations (ListStreams, DescribeLimits, …) are authorised on `*`.
      "*";
    return { kind: "authorize", authorizations: [{ action, resource }] };
  },
  error: jsonError("application/x-amz-json-1.1"),
};

// ---- DynamoDB ---------------------------------------------------------------

function tableArn(name: string, scope: RequestScope): string {
  // Since 2024 TableName may be a table ARN (resource-based policies, cross-account access).
  return ARN.test(name) ? name : `arn:aws:dynamodb:${scope.region}:${scope.account}:table/${name}`;
}

/** TransactWriteItems/TransactGetItems are authorised per item, with the item's own action. */
const TRANSACT_ACTIONS: Record<string, string> = {
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  ConditionCheck: "ConditionCheckItem",
  Get: "GetItem",
};

export const dynamodbAdapter: ServiceAdapter = {
  service: "dynamodb",
  parse(headers, raw, scope) {
    const op = operationOf(headers, "DynamoDB_20120810");
    if (!op) return { kind: "unreadable", message: `x-amz-target ${JSON.stringify(header(headers, "x-amz-target"))} is not a DynamoDB operation` };
    const body = jsonBody(raw);
    if (!body) return { kind: "unreadable", message: `the ${op} request body is not a JSON object` };
    const action = `dynamodb:${op}`;
    if (op === "BatchGetItem" || op === "BatchWriteItem") {
      const tables = Object.keys(body.RequestItems ?? {});
      if (tables.length === 0) return { kind: "unreadable", message: `${op} names no table in RequestItems` };
      return { kind: "authorize", authorizations: tables.map((t) => ({ action, resource: tableArn(t, scope) })) };
    }
    if (op === "TransactWriteItems" || op === "TransactGetItems") {
      const items: any[] = Array.isArray(body.TransactItems) ? body.TransactItems : [];
      const authorizations: Authorization[] = [];
      for (const item of items) {
        for (const [kind, spec] of Object.entries(item ?? {})) {
          const a = TRANSACT_ACTIONS[kind];
          const table = (spec as any)?.TableName;
          if (!a || typeof table !== "string") return { kind: "unreadable", message: `${op} item ${JSON.stringify(kind)} is not understood` };
          authorizations.push({ action: `dynamodb:${a}`, resource: tableArn(table, scope) });
        }
      }
      if (authorizations.length === 0) return { kind: "unreadable", message: `${op} holds no items` };
      return { kind: "authorize", authorizations };
    }
    if (typeof body.TableName === "string" && body.TableName) {
      const table = tableArn(body.TableName, scope);
      // Query and Scan on an index are authorised on the index.
      const resource = (op === "Query" || op === "Scan") && typeof body.IndexName === "string" ? `${table}/index/${body.IndexName}` : table;
      return { kind: "authorize", authorizations: [{ action, resource }] };
    }
    if (typeof body.ResourceArn === "string" && ARN.test(body.ResourceArn))
      return { kind: "authorize", authorizations: [{ action, resource: body.ResourceArn }] };
    // Account-level operations (ListTables, DescribeLimits, …) are authorised on `*`.
    return { kind: "authorize", authorizations: [{ action, resource: "*" }] };
  },
  error: jsonError("application/x-amz-json-1.0"),
};

// ---- STS --------------------------------------------------------------------

export const stsAdapter: ServiceAdapter = {
  service: "sts",
  resourceSideUpstream: true,
  parse(_headers, raw) {
    const params = new URLSearchParams(raw.toString("utf8"));
    const op = params.get("Action");
    if (op === "GetCallerIdentity") return { kind: "free", action: "sts:GetCallerIdentity" };
    if (op === "AssumeRole") {
      const roleArn = params.get("RoleArn");
      // A missing RoleArn is STS's to reject, with its own ValidationError.
      if (!roleArn) return { kind: "free", action: "sts:AssumeRole" };
      const context = {
        "sts:ExternalId": params.get("ExternalId") ?? undefined,
        "sts:RoleSessionName": params.get("RoleSessionName") ?? undefined,
        "sts:SourceIdentity": params.get("SourceIdentity") ?? undefined,
      };
      return { kind: "authorize", authorizations: [{ action: "sts:AssumeRole", resource: roleArn, context }] };
    }
    // Let the local STS answer what it does not implement.
    return { kind: "free", action: `sts:${op ?? "?"}` };
  },
  error(code, message, requestId, status = 403) {
    return {
      status,
      headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
      body: stsErrorXml(code, message, requestId, status),
    };
  },
};

/** The adapters by service name. */
export const ADAPTERS = { kinesis: kinesisAdapter, dynamodb: dynamodbAdapter, sts: stsAdapter } as const;
export type EnforcedService = keyof typeof ADAPTERS;
