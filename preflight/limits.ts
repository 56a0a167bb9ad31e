/**
 * AWS's name limits for every resource type the program names, and the check
 * of a whole program run against them, generated suffixes included: Pulumi
 * auto-names a resource `<logical name>-<7 hex>` (8 characters more), and
 * AWS refuses a long name only when `pulumi up` reaches that resource,
 * halfway through. `npm run preflight` and tests/preflight run the program
 * under mocks and check every name it would create here.
 */
import { TYPES } from "../components/parts/typeTokens";

/** One type's limit: the longest name, and the characters and case AWS accepts. */
export interface NameLimit {
  /** The input holding the physical name. */
  field: string;
  max: number;
  /** The characters AWS accepts, in words, and as a pattern. */
  rule: string;
  pattern: RegExp;
  /** S3 lower-cases auto-names. */
  lowerCase?: boolean;
}

/** What Pulumi appends to an auto-named resource: "-" and 7 hex characters. */
export const AUTONAME_SUFFIX_LENGTH = 8;

/** The documented limits (IAM, Kinesis, DynamoDB, Lambda, SQS, S3, CloudWatch, Firehose, KMS, API Gateway quotas pages). */
export const NAME_LIMITS: Readonly<Record<string, NameLimit>> = {
  [TYPES.role]: { field: "name", max: 64, rule: "letters, digits and +=,.@_-", pattern: /^[\w+=,.@-]+$/ },
  [TYPES.stream]: { field: "name", max: 128, rule: "letters, digits and _.-", pattern: /^[\w.-]+$/ },
  [TYPES.table]: { field: "name", max: 255, rule: "letters, digits and _.-", pattern: /^[\w.-]+$/ },
  [TYPES.function]: { field: "name", max: 64, rule: "letters, digits, - and _", pattern: /^[\w-]+$/ },
  [TYPES.queue]: { field: "name", max: 80, rule: "letters, digits, - and _", pattern: /^[\w-]+$/ },
  [TYPES.bucket]: { field: "bucket", max: 63, rule: "lower-case letters, digits, . and -", pattern: /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, lowerCase: true },
  [TYPES.alarm]: { field: "name", max: 255, rule: "printable characters", pattern: /^[^\p{Cc}]+$/u },
  [TYPES.firehose]: { field: "name", max: 64, rule: "letters, digits and _.-", pattern: /^[\w.-]+$/ },
  [TYPES.logGroup]: { field: "name", max: 512, rule: "letters, digits and _-/.#", pattern: /^[\w\-/.#]+$/ },
  [TYPES.keyAlias]: { field: "name", max: 256, rule: 'letters, digits, / _ and -, starting with "alias/"', pattern: /^alias\/[\w/-]+$/ },
  [TYPES.topic]: { field: "name", max: 256, rule: "letters, digits, - and _", pattern: /^[\w-]+$/ },
};

/** The physical name a resource gets: its explicit name, or its logical name plus Pulumi's suffix (a stand-in of the same length). */
export function physicalNameOf(limit: NameLimit, logicalName: string, inputs: Record<string, unknown>): string {
  const explicit = inputs[limit.field];
  if (typeof explicit === "string") return explicit;
  const name = `${logicalName}-${"0".repeat(AUTONAME_SUFFIX_LENGTH - 1)}`;
  return limit.lowerCase ? name.toLowerCase() : name;
}

/** The problem with one name, or undefined. */
export function nameProblem(type: string, name: string, where: string): string | undefined {
  const limit = NAME_LIMITS[type];
  if (!limit) return undefined;
  if (name.length > limit.max) return `${where}: ${type} name ${JSON.stringify(name)} is ${name.length} characters; AWS allows at most ${limit.max}`;
  if (!limit.pattern.test(name)) return `${where}: ${type} name ${JSON.stringify(name)} may hold only ${limit.rule}`;
  return undefined;
}

/** Every name problem of a program run's resources (as the harness records them), with Pulumi's generated suffixes. */
export function nameProblems(resources: readonly { type: string; name: string; custom: boolean; inputs: Record<string, unknown> }[]): string[] {
  const problems: string[] = [];
  for (const r of resources) {
    const limit = NAME_LIMITS[r.type];
    if (!r.custom || !limit) continue;
    const auto = typeof r.inputs[limit.field] !== "string";
    const problem = nameProblem(r.type, physicalNameOf(limit, r.name, r.inputs), `${r.name}${auto ? " (auto-named, with its 8-character suffix)" : ""}`);
    if (problem) problems.push(problem);
  }
  return problems;
}
