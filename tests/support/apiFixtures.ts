/**
 * Builders for API Gateway HTTP API (payload 2.0) events as the command API
 * receives them, and read-model items as the projector stores them.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { HttpApiEvent } from "../../handlers/api/types";
import { padSequence } from "../../handlers/shared/sequence";

let requests = 0;

/** What API Gateway passes for a SigV4 caller the `iam` authorizer let in: a service's assumed role. */
export const IAM_CALLER = {
  iam: { accountId: "111111111111", userArn: "arn:aws:sts::111111111111:assumed-role/fulfilment/artifact-test", callerId: "AROAEXAMPLE:artifact-test" },
};

function baseEvent(method: string, routeKey: string, rawPath: string): HttpApiEvent {
  requests += 1;
  return {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString: "",
    headers: {},
    isBase64Encoded: false,
    requestContext: { requestId: `req-${process.pid}-${requests}`, http: { method, path: rawPath } },
  };
}

/** Options for a POST event; `body` objects are JSON-encoded. */
export interface PostOptions {
  body?: unknown;
  headers?: Record<string, string>;
  base64?: boolean;
  /** Omit the default `content-type: application/json`. */
  noContentType?: boolean;
  /** `requestContext.authorizer`, as the gateway passes it (for example {@link IAM_CALLER}). */
  authorizer?: unknown;
}

/** `POST /aggregates/{id}/events`. */
export function postEventRequest(id: string, options: PostOptions = {}): HttpApiEvent {
  const e = baseEvent("POST", "POST /aggregates/{id}/events", `/aggregates/${id}/events`);
  const text = options.body === undefined ? "" : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  e.pathParameters = { id };
  e.headers = { ...(options.noContentType ? {} : { "content-type": "application/json" }), ...options.headers };
  e.body = options.base64 ? Buffer.from(text, "utf8").toString("base64") : text;
  e.isBase64Encoded = options.base64 ?? false;
  if (options.authorizer !== undefined) e.requestContext.authorizer = options.authorizer;
  return e;
}

/** `POST /aggregates/{id}/events` with raw bytes, base64-encoded as API Gateway does for binary bodies. */
export function postBytesRequest(id: string, bytes: Buffer, headers: Record<string, string> = {}): HttpApiEvent {
  const e = postEventRequest(id, { headers });
  e.body = bytes.toString("base64");
  e.isBase64Encoded = true;
  return e;
}

/** `GET /aggregates/{id}[?minPosition=...]`. */
export function getAggregateRequest(id: string, minPosition?: string): HttpApiEvent {
  const e = baseEvent("GET", "GET /aggregates/{id}", `/aggregates/${id}`);
  e.pathParameters = { id };
  if (minPosition !== undefined) {
    e.rawQueryString = `minPosition=${minPosition}`;
    e.queryStringParameters = { minPosition };
  }
  return e;
}

/** A request no declared route matched. */
export function defaultRouteRequest(method: string, rawPath: string): HttpApiEvent {
  return baseEvent(method, "$default", rawPath);
}

/** A read-model item with the projector's attributes. */
export function readModelItem(options: {
  id: string;
  position: string;
  version: number;
  state?: unknown;
  deleted?: boolean;
  lastEventId?: string;
  parkedAt?: string;
}): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    pk: { S: options.id },
    deleted: { BOOL: options.deleted ?? false },
    position: { S: padSequence(options.position) },
    version: { N: String(options.version) },
    lastEventId: { S: options.lastEventId ?? "01ARZ3NDEKTSV4RRFFQ69G5FAV" },
    recentEventIds: { L: [{ S: options.lastEventId ?? "01ARZ3NDEKTSV4RRFFQ69G5FAV" }] },
    updatedAt: { S: "2024-01-02T03:04:05.000Z" },
  };
  if (!options.deleted) item.state = { S: JSON.stringify(options.state ?? {}) };
  if (options.parkedAt) item.parkedAt = { S: options.parkedAt };
  return item;
}

/** The event as API Gateway passes it after a JWT authorizer verified the token (payload 2.0). */
export function asJwtCaller(e: HttpApiEvent, claims: Record<string, unknown>, scopes: string[] | null = null): HttpApiEvent {
  return { ...e, requestContext: { ...e.requestContext, authorizer: { principalId: "", integrationLatency: 0, jwt: { claims, scopes } } } };
}

/** The event as API Gateway passes it after verifying a SigV4 signature (payload 2.0). */
export function asIamCaller(e: HttpApiEvent, userArn: string, accountId = userArn.split(":")[4]): HttpApiEvent {
  const iam = {
    accessKey: "ASIAEXAMPLE",
    accountId,
    callerId: "AROAEXAMPLE:session",
    cognitoIdentity: null,
    principalOrgId: null,
    userArn,
    userId: "AROAEXAMPLE:session",
  };
  return { ...e, requestContext: { ...e.requestContext, authorizer: { iam } } };
}
