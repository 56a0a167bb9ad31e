/**
 * The consumer stack's preflight: every config value through AnalyticsSink's
 * own resolver (one probe per key), the ExternalId, and the names derived
 * from the project, the stack and the producer's stack.
 */
import { resolveSinkSettings } from "../components/analyticsSink/settings";
import { CROSS_ACCOUNT_DEFAULTS, DEFAULT_PRODUCER_STACK, defaultBridgeRoleName } from "../components/parts/crossAccount";
import { TYPES } from "../components/parts/typeTokens";
import { ACCOUNT_ID_PATTERN, EXTERNAL_ID_PATTERN, EXTERNAL_ID_RULE } from "../components/parts/validation";
import { ACCESS_MODES } from "../handlers/bridge/contract";
import { CONSUMER_COMPONENTS } from "../stacks/consumer";
import { choiceProblem, firstProblem, numberKey, OPAQUE, plain, StackConfig, Target } from "./inputs";
import { nameProblem } from "./limits";
import { alarmTopicProblem, aliasProblem, regionProblem, unknownKeyProblems } from "./shared";

/** Every problem of the consumer stack's config; empty when it may deploy. */
export function consumerProblems(config: StackConfig, target: Target): string[] {
  const problems: string[] = unknownKeyProblems(config, "consumer");
  const producer = plain(config.producerAccountId);
  if (producer === undefined) problems.push("config producerAccountId is required: the 12-digit id of the account whose bridge writes here");
  else if (!ACCOUNT_ID_PATTERN.test(producer)) problems.push(`config producerAccountId must be a 12-digit account id, got ${JSON.stringify(producer)}`);
  else if (target.accountId === producer)
    problems.push(`config producerAccountId is this stack's own account ${producer}: the producer must be the other account`);
  const modeProblem = choiceProblem(config, "accessMode", ACCESS_MODES);
  if (modeProblem) problems.push(modeProblem);
  const mode = plain(config.accessMode) ?? CROSS_ACCOUNT_DEFAULTS.accessMode;
  const externalId = config.externalId;
  if (mode === "assumeRole") {
    if (externalId === undefined)
      problems.push(
        `Missing required configuration variable '${target.project}:externalId': required when accessMode is "assumeRole"; pulumi config set --secret externalId "$(openssl rand -hex 24)"`,
      );
    else if (externalId !== OPAQUE && !EXTERNAL_ID_PATTERN.test(externalId)) problems.push(`config externalId must be ${EXTERNAL_ID_RULE}`);
  }
  const n = (key: string) => numberKey(config, key, problems);
  const base = { producerAccountId: "111111111111", accessMode: "resourcePolicy" as const };
  const { sink } = CONSUMER_COMPONENTS;
  const probes: [string, () => unknown][] = [
    ["config retentionHours", () => resolveSinkSettings(sink, { ...base, retentionHours: n("retentionHours") })],
    ["config landingExpirationDays", () => resolveSinkSettings(sink, { ...base, landing: { expirationDays: n("landingExpirationDays") } })],
    ["config landingSilenceHours", () => resolveSinkSettings(sink, { ...base, landing: { silenceAlarmHours: n("landingSilenceHours") } })],
    ["config bridgeRoleName", () => resolveSinkSettings(sink, { ...base, bridgeRoleName: plain(config.bridgeRoleName) })],
  ];
  for (const [prefix, probe] of probes) {
    const problem = firstProblem(probe, prefix);
    if (problem) problems.push(problem);
  }
  if (plain(config.bridgeRoleName) === undefined) {
    const producerStack = plain(config.producerStack) ?? DEFAULT_PRODUCER_STACK;
    const issue = nameProblem(TYPES.role, defaultBridgeRoleName(producerStack), `the default bridge role name of producer stack ${producerStack}`);
    if (issue) problems.push(`${issue}: set bridgeRoleName in both stacks`);
  }
  for (const problem of [regionProblem(target), alarmTopicProblem(config, target), aliasProblem(target, sink)]) if (problem) problems.push(problem);
  return problems;
}
