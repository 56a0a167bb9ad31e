/**
 * Checks both stacks' preflights share: the alarm topic, and the KMS alias
 * the sink derives from the project and stack names.
 */
import { parseArn } from "../handlers/shared/arn";
import { TYPES } from "../components/parts/typeTokens";
import { plain, StackConfig, Target } from "./inputs";
import { nameProblem } from "./limits";

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
