/**
 * The local Firehose's reading of a declared delivery stream: which settings
 * it honours, which it only records, and a clear refusal for the rest. Also
 * Firehose's custom-prefix namespaces and object-name timestamps.
 */
import { randomBytes } from "crypto";

/** The declared `aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream` inputs, plus its physical name. */
export interface FirehoseSpec {
  /** The delivery stream's physical name (from the resource's state). */
  name: string;
  destination?: string;
  kinesisSourceConfiguration?: { kinesisStreamArn: string; roleArn?: string };
  extendedS3Configuration?: Record<string, any>;
  [key: string]: unknown;
}

/** What the local delivery does, resolved from the spec. */
export interface DeliverySettings {
  streamArn: string;
  streamName: string;
  bucket: string;
  prefix: string;
  errorPrefix: string;
  gzip: boolean;
  /** Object name suffix: `.gz` for GZIP unless `fileExtension` says otherwise. */
  extension: string;
  /** Appended after each record when the AppendDelimiterToRecord processor is declared. */
  delimiter?: Buffer;
  sizeBytes: number;
  declaredIntervalSeconds: number;
  /** The declared interval after the local cap. */
  intervalSeconds: number;
  /** Declared settings accepted but not emulated (IAM, KMS, logging). */
  notEmulated: string[];
}

const TOP_LEVEL = new Set([
  "name",
  "destination",
  "kinesisSourceConfiguration",
  "extendedS3Configuration",
  "tags",
  "tagsAll",
  "arn",
  "versionId",
  "destinationId",
  "region",
  "serverSideEncryption",
]);
const S3_KEYS = new Set([
  "roleArn",
  "bucketArn",
  "prefix",
  "errorOutputPrefix",
  "bufferingInterval",
  "bufferingSize",
  "compressionFormat",
  "kmsKeyArn",
  "processingConfiguration",
  "cloudwatchLoggingOptions",
  "s3BackupMode",
  "fileExtension",
  "customTimeZone",
  "dataFormatConversionConfiguration",
  "dynamicPartitioningConfiguration",
]);
const DATE_TOKENS: Record<string, (d: Date) => string> = {
  yyyy: (d) => String(d.getUTCFullYear()),
  yy: (d) => String(d.getUTCFullYear() % 100).padStart(2, "0"),
  MM: (d) => String(d.getUTCMonth() + 1).padStart(2, "0"),
  dd: (d) => String(d.getUTCDate()).padStart(2, "0"),
  HH: (d) => String(d.getUTCHours()).padStart(2, "0"),
  mm: (d) => String(d.getUTCMinutes()).padStart(2, "0"),
  ss: (d) => String(d.getUTCSeconds()).padStart(2, "0"),
};
const EXPRESSION = /!\{([^:}]+):([^}]*)\}/g;
const DEFAULT_TIME_PREFIX = "!{timestamp:yyyy/MM/dd/HH}/";

const set = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
const enabled = (c: any) => set(c) && c.enabled !== false;

function refuse(spec: FirehoseSpec, what: string): never {
  throw new Error(`local Firehose ${spec.name}: ${what} is not emulated; refusing to land what AWS would not`);
}

/** A Java DateTimeFormatter pattern as Firehose takes it, for the letters emulated here. */
function formatDate(pattern: string, d: Date): string {
  return pattern.replace(/[A-Za-z]+/g, (run) => {
    const f = DATE_TOKENS[run];
    if (!f) throw new Error(`timestamp pattern "${run}" in "${pattern}" is not emulated (use yyyy, yy, MM, dd, HH, mm, ss)`);
    return f(d);
  });
}

/** Expands `!{timestamp:…}`, `!{firehose:random-string}` and (error prefix) `!{firehose:error-output-type}` at `d` (UTC). */
export function expandPrefix(prefix: string, d: Date, errorType?: string): string {
  return prefix.replace(EXPRESSION, (whole, namespace: string, value: string) => {
    if (namespace === "timestamp") return formatDate(value, d);
    if (namespace === "firehose" && value === "random-string") return randomBytes(8).toString("base64url").slice(0, 11);
    if (namespace === "firehose" && value === "error-output-type" && errorType) return errorType;
    throw new Error(`prefix expression ${whole} is not emulated`);
  });
}

/** `yyyy-MM-dd-HH-mm-ss` in UTC, as in Firehose object names. */
export function objectTimestamp(d: Date): string {
  return formatDate("yyyy-MM-dd-HH-mm-ss", d);
}

/** Firehose's prefix rules: no timestamp expression → the default `yyyy/MM/dd/HH/` is appended. */
function withDefaultTime(prefix: string): string {
  return /!\{timestamp:/.test(prefix) ? prefix : `${prefix}${DEFAULT_TIME_PREFIX}`;
}

function checkPrefix(spec: FirehoseSpec, field: string, prefix: string, error: boolean): void {
  try {
    expandPrefix(prefix, new Date(0), error ? "x" : undefined);
  } catch (err) {
    refuse(spec, `extendedS3Configuration.${field}: ${(err as Error).message}`);
  }
}

/** The AppendDelimiterToRecord processor's delimiter, unescaped (declared as `\\n`), if declared and enabled. */
function delimiterOf(spec: FirehoseSpec, processing: any): Buffer | undefined {
  if (!enabled(processing)) return undefined;
  let delimiter: Buffer | undefined;
  for (const p of processing.processors ?? []) {
    if (p.type !== "AppendDelimiterToRecord") refuse(spec, `processor ${p.type}`);
    const params: { parameterName: string; parameterValue: string }[] = p.parameters ?? [];
    for (const q of params) if (q.parameterName !== "Delimiter") refuse(spec, `AppendDelimiterToRecord parameter ${q.parameterName}`);
    const raw = params.find((q) => q.parameterName === "Delimiter")?.parameterValue ?? "\\n";
    const text = raw.replace(/\\(n|r|t|\\)/g, (_, c: string) => ({ n: "\n", r: "\r", t: "\t", "\\": "\\" })[c]!);
    delimiter = Buffer.from(text, "utf8");
  }
  return delimiter;
}

/** Resolves what the local delivery does; throws naming the first setting it can't honour. */
export function resolveDelivery(spec: FirehoseSpec, maxBufferSeconds: number): DeliverySettings {
  if (!spec.name) throw new Error("local Firehose: the spec needs the delivery stream's physical name");
  for (const [k, v] of Object.entries(spec)) if (!k.startsWith("__") && !TOP_LEVEL.has(k) && set(v)) refuse(spec, k);
  if (spec.destination !== "extended_s3") refuse(spec, `destination ${JSON.stringify(spec.destination)} (only extended_s3)`);
  if (enabled(spec.serverSideEncryption)) refuse(spec, "serverSideEncryption (DirectPut only)");
  const source = spec.kinesisSourceConfiguration;
  const stream = /^arn:aws:kinesis:[\w-]+:\d{12}:stream\/([\w.-]+)$/.exec(source?.kinesisStreamArn ?? "");
  if (!stream) refuse(spec, `a source other than a Kinesis stream ARN (${JSON.stringify(source?.kinesisStreamArn)})`);
  const s3 = spec.extendedS3Configuration ?? {};
  for (const [k, v] of Object.entries(s3)) if (!S3_KEYS.has(k) && set(v)) refuse(spec, `extendedS3Configuration.${k}`);
  const bucket = /^arn:aws:s3:::([a-z0-9.-]{3,63})$/.exec(s3.bucketArn ?? "");
  if (!bucket) refuse(spec, `extendedS3Configuration.bucketArn ${JSON.stringify(s3.bucketArn)}`);
  const compression = s3.compressionFormat ?? "UNCOMPRESSED";
  if (compression !== "GZIP" && compression !== "UNCOMPRESSED") refuse(spec, `compressionFormat ${compression}`);
  if (set(s3.s3BackupMode) && s3.s3BackupMode !== "Disabled") refuse(spec, `s3BackupMode ${s3.s3BackupMode}`);
  if (set(s3.customTimeZone) && s3.customTimeZone !== "UTC") refuse(spec, `customTimeZone ${s3.customTimeZone}`);
  if (enabled(s3.dataFormatConversionConfiguration)) refuse(spec, "dataFormatConversionConfiguration");
  if (enabled(s3.dynamicPartitioningConfiguration)) refuse(spec, "dynamicPartitioningConfiguration");

  const prefix: string = s3.prefix ?? "";
  const errorOutputPrefix: string = s3.errorOutputPrefix ?? "";
  // AWS's own rules: expressions in Prefix need an ErrorOutputPrefix with the error type.
  if (/!\{/.test(prefix) && !errorOutputPrefix.includes("!{firehose:error-output-type}")) {
    refuse(spec, "a prefix with expressions and an errorOutputPrefix without !{firehose:error-output-type} (AWS rejects it too)");
  }
  if (prefix.includes("!{firehose:error-output-type}")) refuse(spec, "!{firehose:error-output-type} in prefix (AWS rejects it too)");
  checkPrefix(spec, "prefix", prefix, false);
  checkPrefix(spec, "errorOutputPrefix", errorOutputPrefix, true);

  const sizeMb = s3.bufferingSize ?? 5;
  const interval = s3.bufferingInterval ?? 300;
  if (!(sizeMb >= 1 && sizeMb <= 128)) refuse(spec, `bufferingSize ${sizeMb} (1–128 MiB)`);
  if (!(interval >= 0 && interval <= 900)) refuse(spec, `bufferingInterval ${interval} (0–900 s)`);
  if (!(maxBufferSeconds >= 0)) throw new Error(`local Firehose ${spec.name}: maxBufferSeconds must be ≥ 0`);

  const notEmulated: string[] = [];
  if (s3.kmsKeyArn) notEmulated.push(`extendedS3Configuration.kmsKeyArn (objects are not encrypted locally)`);
  if (s3.roleArn || source?.roleArn) notEmulated.push("roleArn (the role's permissions are not checked locally)");
  if (enabled(s3.cloudwatchLoggingOptions)) notEmulated.push("cloudwatchLoggingOptions (delivery errors go to the local log)");
  return {
    streamArn: source!.kinesisStreamArn,
    streamName: stream![1],
    bucket: bucket![1],
    prefix: withDefaultTime(prefix),
    errorPrefix: withDefaultTime(errorOutputPrefix || "!{firehose:error-output-type}/"),
    gzip: compression === "GZIP",
    extension: s3.fileExtension ?? (compression === "GZIP" ? ".gz" : ""),
    delimiter: delimiterOf(spec, s3.processingConfiguration),
    sizeBytes: sizeMb * 1024 * 1024,
    declaredIntervalSeconds: interval,
    intervalSeconds: Math.min(interval, maxBufferSeconds),
    notEmulated,
  };
}
