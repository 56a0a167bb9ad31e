/**
 * AWS SDK v3 clients as the handlers build them, once per container.
 *
 * Region and endpoints come from the standard environment: the SDK itself
 * honours `AWS_ENDPOINT_URL_KINESIS`, `AWS_ENDPOINT_URL_DYNAMODB` and
 * `AWS_ENDPOINT_URL_STS`, so one artifact runs against AWS and the emulators.
 * Kinesis defaults to HTTP/2, which the emulators don't speak; HTTP/1.1 with
 * keep-alive works against both, so its client gets `NodeHttpHandler`. The
 * others already default to it and only get its timeouts. S3 goes path-style
 * when `AWS_ENDPOINT_URL_S3` points it at an emulator.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import type { NodeHttpHandler } from "@smithy/node-http-handler";

export interface ClientOptions {
  /** Overrides the default credential chain (e.g. an assumed role). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** SDK-level attempts; handlers retry themselves, so the default is 1. */
  maxAttempts?: number;
  /** Per-request timeout in milliseconds. */
  requestTimeoutMs?: number;
  /** Connection timeout in milliseconds; default 3000. */
  connectionTimeoutMs?: number;
  /** The region to call; default the environment's (the function's own). */
  region?: string;
}

/**
 * The SDK's own HTTP/1.1 handler, resolved next to the Kinesis client that
 * will use it: in Lambda that is the runtime's SDK, so nothing is bundled
 * (bundling it drags in @smithy/core, over 1 MB zipped) and the versions
 * always match; `@smithy/*` alone is not resolvable from function code there
 * (aws-sdk-js-v3 #6169).
 */
function http1Handler(options: ClientOptions): NodeHttpHandler {
  const kinesisEntry = require.resolve("@aws-sdk/client-kinesis");
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- resolved next to the runtime's own client-kinesis at run time (see above); an import would bundle it
  const { NodeHttpHandler: Handler } = require(require.resolve("@smithy/node-http-handler", { paths: [kinesisEntry] }));
  return new Handler(timeouts(options));
}

/**
 * Timeouts for the client's default HTTP/1.1 handler (the SDK builds it from these options). Since
 * @smithy/node-http-handler 4.x a passed `requestTimeout` only logs a warning unless
 * `throwOnRequestTimeout` is set, so a hung request would outlive the API's time budget; older
 * handlers (an older runtime SDK) always throw and ignore the flag.
 */
function timeouts(options: ClientOptions): { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: boolean } {
  return { connectionTimeout: options.connectionTimeoutMs ?? 3000, requestTimeout: options.requestTimeoutMs ?? 10_000, throwOnRequestTimeout: true };
}

/** The middleware stack's methods that change it. */
const STACK_CHANGES = ["add", "addRelativeTo", "use", "remove", "removeByTag"] as const;

/**
 * `client`, resolving its middleware stack once per command class instead of on every request: the
 * SDK's `cacheMiddleware`, which its docs put at 0–1 ms per request (a fifth of a DynamoDB request's
 * CPU outside the network here: bench/sdkRequest.ts). With it the SDK ignores middleware added after
 * the first request, and the tests, the bench and the local cloud add theirs at any time (faults,
 * counters, the latency model): every change to the stack drops the resolved handlers, as a send
 * without the cache does. An SDK without the option (an older Lambda runtime's) ignores both.
 */
export function cachingMiddleware<C extends { config: { cacheMiddleware?: boolean }; middlewareStack: object }>(client: C): C {
  client.config.cacheMiddleware = true;
  const stack = client.middlewareStack as unknown as Record<(typeof STACK_CHANGES)[number], (...args: unknown[]) => unknown>;
  for (const name of STACK_CHANGES) {
    const change = stack[name].bind(stack);
    stack[name] = function changed(...args: unknown[]): unknown {
      delete (client as { handlers?: unknown }).handlers;
      return change(...args);
    };
  }
  return client;
}

/** A Kinesis client over HTTP/1.1. */
export function kinesisClient(options: ClientOptions = {}): KinesisClient {
  return cachingMiddleware(
    new KinesisClient({
      region: options.region,
      credentials: options.credentials,
      maxAttempts: options.maxAttempts ?? 1,
      requestHandler: http1Handler(options),
    }),
  );
}

/** A DynamoDB client. */
export function dynamoClient(options: ClientOptions = {}): DynamoDBClient {
  return cachingMiddleware(
    new DynamoDBClient({
      credentials: options.credentials,
      maxAttempts: options.maxAttempts ?? 1,
      requestHandler: timeouts(options),
    }),
  );
}

/** An STS client (regional endpoint, from the environment's region). */
export function stsClient(options: ClientOptions = {}): STSClient {
  return cachingMiddleware(
    new STSClient({
      credentials: options.credentials,
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: timeouts(options),
    }),
  );
}

/** An S3 client; path-style (as emulators need) when the environment names an S3 endpoint, and checksums only where an operation requires them. */
export function s3Client(options: ClientOptions = {}): S3Client {
  return cachingMiddleware(
    new S3Client({
      credentials: options.credentials,
      maxAttempts: options.maxAttempts ?? 1,
      requestHandler: timeouts(options),
      forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3),
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    }),
  );
}
