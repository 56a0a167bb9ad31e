/**
 * Checks both stacks' preflights share: keys the stack does not read, the
 * alarm topic, and the KMS alias the sink derives from the project and stack names.
 */
import { PARTITION_DNS_SUFFIX, parseArn, partitionOfRegion } from "../handlers/shared/arn";
import { TYPES } from "../components/parts/typeTokens";
import { plain, StackConfig, Target } from "./inputs";
import { nameProblem } from "./limits";
import { CONFIG_KEYS } from "../stacks/configKeys";

type Role = keyof typeof CONFIG_KEYS;

/** Edits (insert, delete, substitute) between two keys. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/**
 * A project key the `role` stack does not read (a typo, or the other stack's key) would be ignored, and its
 * component default deployed instead: one message each, with the key meant when one is close.
 */
export function unknownKeyProblems(config: StackConfig, role: Role): string[] {
  const known: readonly string[] = CONFIG_KEYS[role];
  const other: Role = role === "producer" ? "consumer" : "producer";
  return Object.keys(config)
    .filter((key) => !key.includes(":") && !known.includes(key))
    .map((key) => {
      const near = known.find((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
      const hint = near ? `: did you mean ${near}?` : (CONFIG_KEYS[other] as readonly string[]).includes(key) ? `: it is a ${other} stack key` : "";
      return `config ${key} is not a key the ${role} stack reads, and would be ignored${hint}`;
    });
}

/** AWS region names: `eu-west-1`, `us-gov-west-1`, `ap-southeast-5`, `cn-north-1`, `us-isob-east-1`. */
const REGION_NAME = /^[a-z]{2}(-gov|-iso[a-z]?)?-(north|south|east|west|central|northeast|northwest|southeast|southwest)-\d{1,2}$/;

/** `aws:region` must look like a region: pulumi-aws skips region validation by default, so a typo fails only at the first API call. */
export function regionProblem(target: Target): string | undefined {
  if (target.region === undefined) return undefined;
  if (!REGION_NAME.test(target.region)) return `config aws:region must be an AWS region name like eu-west-1, got ${JSON.stringify(target.region)}`;
  const partition = partitionOfRegion(target.region);
  if (PARTITION_DNS_SUFFIX[partition] !== undefined) return undefined;
  return `config aws:region ${target.region} is in the ${partition} partition, which this program does not deploy to (${Object.keys(PARTITION_DNS_SUFFIX).join(", ")})`;
}

/** `alarmTopicArn` must be an SNS topic ARN in this stack's account and region (CloudWatch notifies only a topic of its own region). */
export function alarmTopicProblem(config: StackConfig, target: Target): string | undefined {
  const value = plain(config.alarmTopicArn);
  if (value === undefined) return undefined;
  const arn = parseArn(value);
  if (!arn || arn.service !== "sns" || !arn.region || !arn.account || arn.resource.includes("/")) {
    return `config alarmTopicArn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>), got ${JSON.stringify(value)}`;
  }
  if (target.region && arn.region !== target.region) {
    return `config alarmTopicArn is in ${arn.region} but the stack deploys to ${target.region}: CloudWatch alarms notify only topics of their own region`;
  }
  return undefined;
}

/** The sink's key alias, `alias/<project>/<stack>/<sink>`: a "." in a stack name, allowed by Pulumi, is refused by KMS. */
export function aliasProblem(target: Target, sink: string): string | undefined {
  return nameProblem(TYPES.keyAlias, `alias/${target.project}/${target.stack}/${sink}`, `the key alias of stack ${target.stack}`);
}
