/**
 * What the local provider honours, per resource type. A type is either
 * `emulated` (created for real in an emulator), `driven` (no emulator call,
 * but the local runtime acts on it: runs the function, polls the mapping,
 * serves the route, checks the trust policy…) or, when absent from this
 * table, recorded only and listed as not emulated.
 *
 * For emulated and driven types every input property must be on the type's
 * allow-list, so a property the local cloud would silently ignore (a future
 * `vpcConfig`, a Firehose dynamic partitioning…) fails the run with its name
 * instead. The lists cover exactly what the components declare today, plus
 * the physical-name fields `realisticState` honours.
 *
 * Paths: `a.b` is a field of an object, `a[].b` a field of every element of
 * an array; a listed path accepts any value below it (e.g. the variables map).
 */
import { TYPES } from "../../components/parts/typeTokens";

/** How the local cloud treats a resource type. */
export type SupportKind = "emulated" | "driven";

/** One type's row. */
export interface TypeSupport {
  kind: SupportKind;
  /** Allowed input paths. */
  properties: readonly string[];
  /** Value checks by path: return a reason when the value can't be honoured. */
  values?: Readonly<Record<string, (value: unknown) => string | undefined>>;
}

const oneOf =
  (...allowed: unknown[]) =>
  (value: unknown) =>
    allowed.includes(value) ? undefined : `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")} here, got ${JSON.stringify(value)}`;

const isArchive = (value: unknown) =>
  value && typeof value === "object" && "assets" in (value as object) ? undefined : "must be an AssetArchive (a CallbackFunction's serialised code)";

/** The table. Keys are Pulumi type tokens. */
export const SUPPORT: Readonly<Record<string, TypeSupport>> = {
  [TYPES.stream]: {
    kind: "emulated",
    properties: ["name", "encryptionType", "kmsKeyId", "retentionPeriod", "shardCount", "streamModeDetails.streamMode"],
    values: { encryptionType: oneOf("KMS", "NONE") },
  },
  [TYPES.table]: {
    kind: "emulated",
    properties: [
      "name",
      "attributes[].name",
      "attributes[].type",
      "billingMode",
      "hashKey",
      "rangeKey",
      "deletionProtectionEnabled",
      "pointInTimeRecovery.enabled",
      "serverSideEncryption.enabled",
      // Accepted, not enforced: dynalite keeps expired items (the bridge's claims outlive nothing that matters locally).
      "ttl.attributeName",
      "ttl.enabled",
    ],
    // PROVISIONED would need read/write capacity, which is not on the list.
    values: { billingMode: oneOf("PAY_PER_REQUEST") },
  },
  [TYPES.bucket]: { kind: "emulated", properties: ["bucket"] },
  [TYPES.bucketV2]: { kind: "emulated", properties: ["bucket"] },

  [TYPES.role]: {
    kind: "driven",
    properties: ["name", "path", "description", "assumeRolePolicy", "maxSessionDuration", "inlinePolicies[].name", "inlinePolicies[].policy"],
  },
  [TYPES.function]: {
    kind: "driven",
    properties: [
      "name",
      "code",
      "handler",
      "runtime",
      "architectures",
      "role",
      "description",
      "memorySize",
      "timeout",
      "reservedConcurrentExecutions",
      "environment.variables",
      "loggingConfig.logFormat",
      "loggingConfig.logGroup",
      "loggingConfig.applicationLogLevel",
      "loggingConfig.systemLogLevel",
    ],
    values: {
      code: isArchive,
      // The runtime loads `__index.js` and calls its `handler`, as CallbackFunction packages it.
      handler: oneOf("__index.handler"),
      runtime: (v) => (typeof v === "string" && v.startsWith("nodejs") ? undefined : `must be a nodejs runtime, got ${JSON.stringify(v)}`),
    },
  },
  [TYPES.mapping]: {
    kind: "driven",
    properties: [
      "eventSourceArn",
      "functionName",
      "startingPosition",
      "startingPositionTimestamp",
      "batchSize",
      "maximumBatchingWindowInSeconds",
      "parallelizationFactor",
      "maximumRetryAttempts",
      "maximumRecordAgeInSeconds",
      "bisectBatchOnFunctionError",
      "functionResponseTypes",
      "destinationConfig.onFailure.destinationArn",
    ],
    values: {
      eventSourceArn: (v) =>
        typeof v === "string" && v.startsWith("arn:aws:kinesis:") ? undefined : `must be a Kinesis stream (or stream consumer) ARN, got ${JSON.stringify(v)}`,
      startingPosition: oneOf("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"),
    },
  },
  [TYPES.permission]: { kind: "driven", properties: ["action", "function", "principal", "sourceArn"] },
  [TYPES.httpApi]: {
    kind: "driven",
    properties: [
      "description",
      "protocolType",
      "tags",
      ...["allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge", "allowCredentials"].map((p) => `corsConfiguration.${p}`),
    ],
    values: { protocolType: oneOf("HTTP") },
  },
  // The local HTTP API runs JWT authorizers against their issuer; a Lambda (REQUEST) authorizer is not emulated.
  [TYPES.authorizer]: {
    kind: "driven",
    properties: ["apiId", "name", "authorizerType", "identitySources", "jwtConfiguration.issuer", "jwtConfiguration.audiences"],
    values: { authorizerType: oneOf("JWT") },
  },
  [TYPES.integration]: {
    kind: "driven",
    properties: ["apiId", "integrationType", "integrationUri", "payloadFormatVersion", "timeoutMilliseconds"],
    values: { integrationType: oneOf("AWS_PROXY"), payloadFormatVersion: oneOf("2.0") },
  },
  [TYPES.route]: {
    kind: "driven",
    properties: ["apiId", "routeKey", "target", "authorizationType", "authorizerId", "authorizationScopes"],
    values: { authorizationType: oneOf("NONE", "AWS_IAM", "JWT") },
  },
  [TYPES.stage]: {
    kind: "driven",
    properties: [
      "apiId",
      "name",
      "autoDeploy",
      "accessLogSettings.destinationArn",
      "accessLogSettings.format",
      "defaultRouteSettings.throttlingRateLimit",
      "defaultRouteSettings.throttlingBurstLimit",
    ],
  },
  [TYPES.firehose]: {
    kind: "driven",
    properties: [
      "destination",
      "kinesisSourceConfiguration.kinesisStreamArn",
      "kinesisSourceConfiguration.roleArn",
      ...[
        "roleArn",
        "bucketArn",
        "prefix",
        "errorOutputPrefix",
        "bufferingInterval",
        "bufferingSize",
        "compressionFormat",
        "kmsKeyArn",
        "processingConfiguration.enabled",
        "processingConfiguration.processors[].type",
        "processingConfiguration.processors[].parameters[].parameterName",
        "processingConfiguration.processors[].parameters[].parameterValue",
        "cloudwatchLoggingOptions.enabled",
        "cloudwatchLoggingOptions.logGroupName",
        "cloudwatchLoggingOptions.logStreamName",
      ].map((p) => `extendedS3Configuration.${p}`),
    ],
    values: {
      destination: oneOf("extended_s3"),
      "extendedS3Configuration.compressionFormat": oneOf("GZIP", "UNCOMPRESSED"),
      "extendedS3Configuration.processingConfiguration.processors[].type": oneOf("AppendDelimiterToRecord"),
    },
  },
  [TYPES.key]: { kind: "driven", properties: ["description", "enableKeyRotation", "deletionWindowInDays"] },
  [TYPES.keyAlias]: { kind: "driven", properties: ["name", "targetKeyId"] },
  [TYPES.keyPolicy]: { kind: "driven", properties: ["keyId", "policy"] },
  [TYPES.streamResourcePolicy]: { kind: "driven", properties: ["resourceArn", "policy"] },
  // An enhanced fan-out consumer: its mapping polls the stream (local reads are not throttled, so a dedicated pipe changes nothing here).
  [TYPES.streamConsumer]: { kind: "driven", properties: ["name", "streamArn"] },
  // On-failure destinations: the runtime keeps their messages in memory.
  [TYPES.queue]: { kind: "driven", properties: ["name", "sqsManagedSseEnabled", "messageRetentionSeconds"] },
};

/** The type's row, or undefined when the type is recorded only. */
export function supportOf(type: string): TypeSupport | undefined {
  return SUPPORT[type];
}

/** Custom resource types with no row here, with counts: what the local cloud lists at start as not emulated. */
export function notEmulated(resources: readonly { type: string; custom: boolean }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of resources) if (r.custom && !supportOf(r.type)) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return counts;
}

/** A property (or value) of an emulated or driven type that the local cloud can't honour. */
export class UnsupportedPropertyError extends Error {
  constructor(
    readonly type: string,
    readonly resourceName: string,
    readonly property: string,
    reason: string,
  ) {
    super(`local cloud: ${type} "${resourceName}": property "${property}" ${reason}`);
    this.name = "UnsupportedPropertyError";
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return Boolean(value) && typeof value === "object" && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * Throws {@link UnsupportedPropertyError} for the first input path of `inputs`
 * not on the type's allow-list, or whose value check fails. Types without a
 * row are not checked (they are recorded only). Undefined values are absent.
 */
export function checkInputs(type: string, name: string, inputs: Record<string, unknown>): void {
  const row = SUPPORT[type];
  if (!row) return;
  const allowed = new Set(row.properties);
  const below = (prefix: string) => row.properties.some((p) => p.startsWith(prefix));
  const visit = (path: string, value: unknown): void => {
    if (value === undefined || value === null) return;
    if (allowed.has(path)) {
      const reason = row.values?.[path]?.(value);
      if (reason) throw new UnsupportedPropertyError(type, name, path, reason);
      return;
    }
    if (isPlainObject(value) && below(`${path}.`)) {
      for (const [k, v] of Object.entries(value)) visit(`${path}.${k}`, v);
    } else if (Array.isArray(value) && below(`${path}[]`)) {
      for (const v of value) visit(`${path}[]`, v);
    } else {
      throw new UnsupportedPropertyError(type, name, path, "is not supported by the local cloud (it would be ignored); see SUPPORT in local/deploy/support.ts");
    }
  };
  for (const [k, v] of Object.entries(inputs)) visit(k, v);
}
