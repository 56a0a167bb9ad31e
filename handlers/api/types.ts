/**
 * The subset of API Gateway HTTP API (payload format 2.0) event and result
 * shapes the command API uses, so handlers need no @types/aws-lambda.
 */

/** An HTTP API request (payload format 2.0). Header names arrive lower-cased. */
export interface HttpApiEvent {
  version: string;
  /** e.g. `POST /aggregates/{id}/events`, or `$default` when no declared route matched. */
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  pathParameters?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded: boolean;
  requestContext: {
    requestId: string;
    http: { method: string; path?: string };
    /** What API Gateway's authorizer verified: `{ jwt: { claims, scopes } }` or `{ iam: { userArn, accountId, … } }`; absent without one. */
    authorizer?: unknown;
  };
}

/** A structured HTTP API result. */
export interface HttpApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

import type { KinesisClient } from "@aws-sdk/client-kinesis";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { AccessRule, Validator } from "../shared/domain";
import type { MetricsRecorder } from "../observability/metrics";
import type { AuthMode } from "./access";

/**
 * With CORS on, the route that takes browsers' preflights, open: `$default` catches every OPTIONS request no other
 * route names and carries the authorizer, and a preflight carries no token or signature, so without it API Gateway
 * refused every preflight ("Configure CORS for HTTP APIs": add an OPTIONS /{proxy+} route that doesn't require
 * authorization). API Gateway answers preflights itself; should one reach the function, it answers 204 with nothing.
 */
export const PREFLIGHT_ROUTE = "OPTIONS /{proxy+}";

/** Where the command API writes and reads. */
export interface ApiConfig {
  /** Source stream: the only place a change is written. */
  streamName: string;
  /** Read-model table the projector maintains. */
  tableName: string;
  /** Largest accepted request body in bytes (default 65536, at most 900 KiB). */
  maxBodyBytes: number;
  /** How API Gateway authenticates callers; when set, a request without that verified identity is refused. */
  auth?: AuthMode;
}

/** What `createApi` needs; clients are built once per container by the caller. */
export interface ApiDeps {
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  config: ApiConfig;
  /** Clock for `occurredAt` and ULIDs. */
  now?: () => Date;
  /** Structured log sink; defaults to one JSON line on stdout. */
  log?: (e: Record<string, unknown>) => void;
  /** Domain validation of a command's payload: a message rejects it with 400. */
  validate?: Validator;
  /** Milliseconds after which a request still waiting on the stream or table is answered 503 + Retry-After (timeBudget.ts). Default none. */
  deadlineMs?: number;
  /** API_METRICS, published once per request; default EMF on stdout in Lambda (defaultMetricsSink). */
  metrics?: MetricsRecorder;
  /** Per-aggregate authorization: a message refuses the request with 403 (see AccessRule). */
  authorize?: AccessRule;
}
