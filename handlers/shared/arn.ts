/**
 * ARNs read apart: the bridge takes the analytics stream's region from its
 * ARN (a stream in another region must be called there), and the preflight
 * checks the ARNs the two stacks exchange. No Pulumi imports: it runs in the
 * functions too.
 */

/** The parts of `arn:<partition>:<service>:<region>:<account>:<resource>`. */
export interface ArnParts {
  partition: string;
  service: string;
  /** Empty for global services (IAM). */
  region: string;
  /** Empty for S3 buckets. */
  account: string;
  resource: string;
}

const ARN = /^arn:(aws[\w-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|):(.+)$/;

/** The parts of an ARN, or undefined when `value` is not one. */
export function parseArn(value: string | undefined): ArnParts | undefined {
  const m = value === undefined ? null : ARN.exec(value);
  if (!m) return undefined;
  return { partition: m[1], service: m[2], region: m[3], account: m[4], resource: m[5] };
}

/** The region of a regional ARN; throws `<what> must be an ARN with a region, got <value>` otherwise. */
export function regionOfArn(value: string, what: string): string {
  const parts = parseArn(value);
  if (!parts?.region) throw new Error(`${what} must be an ARN with a region (arn:<partition>:<service>:<region>:<account>:…), got ${JSON.stringify(value)}`);
  return parts.region;
}

/**
 * The DNS suffix of each partition this program deploys to, as `aws.getPartition` answers it: service hosts
 * (`kms:ViaService` values) are `<service>.<region>.<suffix>`. The ISO partitions are left out.
 */
export const PARTITION_DNS_SUFFIX: Readonly<Record<string, string>> = { aws: "amazonaws.com", "aws-us-gov": "amazonaws.com", "aws-cn": "amazonaws.com.cn" };

/** The partition a region belongs to: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`, `aws-iso…` for ISO regions, else `aws`. */
export function partitionOfRegion(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  const iso = /^[a-z]{2}-(iso[a-z]?)-/.exec(region);
  return iso ? `aws-${iso[1] === "iso" ? "iso" : `iso-${iso[1].slice(3)}`}` : "aws";
}

/** `<service>.<region>.<suffix>`: the host AWS names a service by in a partition (`kms:ViaService`); throws for a partition not deployed to. */
export function serviceHost(service: string, region: string, partition: string): string {
  const suffix = PARTITION_DNS_SUFFIX[partition];
  if (suffix === undefined) throw new Error(`partition ${partition} is not supported: this program deploys to ${Object.keys(PARTITION_DNS_SUFFIX).join(", ")}`);
  return `${service}.${region}.${suffix}`;
}
