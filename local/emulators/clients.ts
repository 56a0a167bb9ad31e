/**
 * SDK clients for the emulators, built one way everywhere: the local cloud,
 * its deploy step, the bench and the tests. By the local identity convention
 * the access key id is the 12-digit account (kinesis-local keeps one
 * namespace per account) and the session token, when there is one, is
 * `role:<role ARN>` (see local/shared/identity.ts). Kinesis and S3 speak
 * HTTP/1.1 (the emulators do not speak the SDK's HTTP/2); S3 is path-style and
 * sends checksums only where an operation requires them (s3rver predates the
 * SDK's default CRC32 checksums).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { cachingMiddleware } from "../../handlers/shared/clients";
import { sessionToken } from "../shared/identity";
import { LOCAL_ACCOUNTS, LOCAL_REGION } from "../shared/manifest";

/** How to reach an emulator and as whom. */
export interface EmulatorClientOptions {
  /** The emulator (or an IAM enforcer in front of it); default: the SDK's `AWS_ENDPOINT_URL_<SERVICE>`. */
  endpoint?: string;
  /** The account the access key id names. Default the producer account. */
  account?: string;
  /** A role session (`role:<ARN>` token), for calls the IAM enforcer should check. */
  roleArn?: string;
  /** Explicit credentials, instead of `account` and `roleArn`. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Default LOCAL_REGION. */
  region?: string;
  /** SDK attempts; the SDK's default when absent. */
  maxAttempts?: number;
}

/** Credentials that select `account` (and, with `roleArn`, name a role session). */
export function accountCredentials(account: string, roleArn?: string): AwsCredentialIdentity {
  return { accessKeyId: account, secretAccessKey: "local", ...(roleArn ? { sessionToken: sessionToken(roleArn) } : {}) };
}

function common(o: EmulatorClientOptions) {
  return {
    region: o.region ?? LOCAL_REGION,
    endpoint: o.endpoint,
    credentials: o.credentials ?? accountCredentials(o.account ?? LOCAL_ACCOUNTS.producer, o.roleArn),
    maxAttempts: o.maxAttempts,
  };
}

/** A Kinesis client over HTTP/1.1. */
export function emulatorKinesis(o: EmulatorClientOptions = {}): KinesisClient {
  return cachingMiddleware(new KinesisClient({ ...common(o), requestHandler: new NodeHttpHandler() }));
}

/** A DynamoDB client (dynalite ignores the account). */
export function emulatorDynamo(o: EmulatorClientOptions = {}): DynamoDBClient {
  return cachingMiddleware(new DynamoDBClient(common(o)));
}

/** An S3 client: path-style, HTTP/1.1, checksums only when required; the consumer account by default. */
export function emulatorS3(o: EmulatorClientOptions = {}): S3Client {
  return cachingMiddleware(
    new S3Client({
      ...common({ account: LOCAL_ACCOUNTS.consumer, ...o }),
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: new NodeHttpHandler(),
    }),
  );
}

/** An STS client (the local STS, or a stub). */
export function emulatorSts(o: EmulatorClientOptions = {}): STSClient {
  return cachingMiddleware(new STSClient({ ...common(o), requestHandler: new NodeHttpHandler() }));
}

/** A Lambda client for the local cloud's Invoke API (local/lambda/invokeApi.ts); one attempt, so a failed invoke is never run twice. */
export function emulatorLambda(o: EmulatorClientOptions = {}): LambdaClient {
  return cachingMiddleware(new LambdaClient({ ...common({ maxAttempts: 1, ...o }), requestHandler: new NodeHttpHandler() }));
}
