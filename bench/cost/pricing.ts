/**
 * Dollars per million events for the whole path, from billed units per event
 * (measured by the bench, or modelled where named) and the public price list.
 * Region us-east-1, on-demand prices as published on the AWS pricing pages
 * (see PRICE_SOURCE); free tiers left out, as they don't scale with traffic.
 */

/** Where and when the prices below were read. */
export const PRICE_SOURCE =
  "us-east-1 public price pages (aws.amazon.com/<service>/pricing), prices as listed in 2025 (DynamoDB after the Nov 2024 on-demand cut)";

/** USD per unit. */
export const PRICES = {
  /** HTTP API, per request (first 300 M/month: $1.00 per million). */
  httpApiRequest: 1.0 / 1e6,
  /** Lambda arm64, per GB-s (first 7.5 B GB-s/month). */
  lambdaGbSecond: 0.0000133334,
  /** Lambda, per invocation. */
  lambdaRequest: 0.2 / 1e6,
  /** Kinesis on-demand data in, per GB (each record rounded up to 1 KB). */
  kinesisInGb: 0.08,
  /** Kinesis on-demand data retrieved by a shared-throughput consumer, per GB. */
  kinesisOutGb: 0.04,
  /** DynamoDB on-demand, per write request unit (1 KB). */
  dynamoWru: 0.625 / 1e6,
  /** DynamoDB on-demand, per read request unit (4 KB strongly consistent). */
  dynamoRru: 0.125 / 1e6,
  /** Firehose from a Kinesis stream, per GB ingested (each record rounded up to 5 KB). */
  firehoseGb: 0.029,
  /** S3 Standard PUT, per request. */
  s3Put: 0.005 / 1000,
  /** KMS, per API request. */
  kmsRequest: 0.03 / 10_000,
  /** STS AssumeRole: no charge. */
  stsRequest: 0,
} as const;

/** What one event costs in billed units, per line of the bill. */
export interface UnitsPerEvent {
  apiRequests: number;
  /** GB-s of every function the event passes through (API, projector, bridge). */
  lambdaGbSeconds: number;
  lambdaInvocations: number;
  /** Billed KiB written to Kinesis (source and analytics streams). */
  kinesisInKiB: number;
  /** KiB read by shared-throughput consumers (projector, bridge, Firehose). */
  kinesisOutKiB: number;
  wru: number;
  rru: number;
  /** Firehose billed KiB (5 KB per record). */
  firehoseKiB: number;
  s3Puts: number;
  kmsRequests: number;
  stsRequests: number;
}

/** Dollars per million events, per line and in total. */
export function dollarsPerMillion(u: UnitsPerEvent): Record<keyof UnitsPerEvent | "total", number> {
  const GB = 1024 * 1024; // KiB per GB as billed (binary)
  const line = {
    apiRequests: u.apiRequests * PRICES.httpApiRequest,
    lambdaGbSeconds: u.lambdaGbSeconds * PRICES.lambdaGbSecond,
    lambdaInvocations: u.lambdaInvocations * PRICES.lambdaRequest,
    kinesisInKiB: (u.kinesisInKiB / GB) * PRICES.kinesisInGb,
    kinesisOutKiB: (u.kinesisOutKiB / GB) * PRICES.kinesisOutGb,
    wru: u.wru * PRICES.dynamoWru,
    rru: u.rru * PRICES.dynamoRru,
    firehoseKiB: (u.firehoseKiB / GB) * PRICES.firehoseGb,
    s3Puts: u.s3Puts * PRICES.s3Put,
    kmsRequests: u.kmsRequests * PRICES.kmsRequest,
    stsRequests: u.stsRequests * PRICES.stsRequest,
  };
  const perMillion = Object.fromEntries(Object.entries(line).map(([k, v]) => [k, v * 1e6])) as Record<keyof UnitsPerEvent, number>;
  return { ...perMillion, total: Object.values(perMillion).reduce((a, b) => a + b, 0) };
}
