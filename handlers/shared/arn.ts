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
  if (!parts?.region) throw new Error(`${what} must be an ARN with a region (arn:aws:<service>:<region>:<account>:…), got ${JSON.stringify(value)}`);
  return parts.region;
}
