/**
 * The producer stack's preflight: its config checked by the components' own
 * resolvers (one probe per key, so each bad key gets its own message), and
 * the consumer's outputs checked against it: deployed, well-formed ARNs in
 * one account and region, the same access mode, the bridge role ARN the
 * consumer trusts, this account as the one the consumer lets write. A
 * mismatch would otherwise deploy green and then AccessDenied every batch.
 */
import * as domain from "../domain";
import { resolveApiSettings } from "../components/commandApi";
import type { ObjectLockSettings } from "../components/buckets/secureBucket";
import { ArchiveStorageClass, resolveArchiveSettings } from "../components/eventArchive";
import { versionReduce } from "../components/readModelVersion";
import { AUTH_MODES, AuthMode } from "../handlers/api/access";
import { pairObjectLock, parseFlag, parseList, readModelSettings } from "../stacks/config";
import { resolveBridgeSettings } from "../components/crossAccountBridge";
import { resolveTableSettings } from "../components/eventSourcedTable";
import { CROSS_ACCOUNT_DEFAULTS, defaultBridgeRoleName } from "../components/parts/crossAccount";
import { KINESIS_STREAM_DEFAULTS, StreamMode } from "../components/parts/kinesisStream";
import { EXTERNAL_ID_PATTERN, EXTERNAL_ID_RULE } from "../components/parts/validation";
import { ACCESS_MODES, AggregateMode } from "../handlers/bridge/contract";
import { parseArn, partitionOfRegion } from "../handlers/shared/arn";
import { PRODUCER_COMPONENTS } from "../stacks/producer";
import { choiceProblem, ConsumerView, firstProblem, numberKey, OPAQUE, plain, StackConfig, Target } from "./inputs";
import { nameProblem } from "./limits";
import { TYPES } from "../components/parts/typeTokens";
import { alarmTopicProblem, regionProblem, unknownKeyProblems } from "./shared";

const STREAM_ARN = /^stream\/[\w.-]+$/;
const KEY_ARN = /^key\/[\w-]+$/;
const ROLE_ARN = /^role\/[\w+=,.@/-]+$/;

/** The producer's config values through the components' resolvers; one message per bad key. */
function settingProblems(config: StackConfig, problems: string[]): void {
  const n = (key: string) => numberKey(config, key, problems);
  const stream = { retentionHours: n("streamRetentionHours"), mode: plain(config.streamMode) as StreamMode | undefined, shardCount: n("shardCount") };
  const parallelizationFactor = n("parallelizationFactor");
  const reduce = () => null;
  const { table, api, bridge, archive } = PRODUCER_COMPONENTS;
  const apiBase = { stream: { name: "", arn: "" }, table: { name: "", arn: "" } };
  const text = (key: string) => plain(config[key]);
  const listed = (key: string) => {
    const raw = text(key);
    return raw === undefined ? undefined : parseList(key, raw);
  };
  const auth = () => {
    const bad = choiceProblem(config, "apiAuth", AUTH_MODES);
    if (bad) throw new Error(bad.replace(/^config /, ""));
    return {
      mode: text("apiAuth") as AuthMode | undefined,
      issuer: text("jwtIssuer"),
      audiences: listed("jwtAudiences"),
      writeScopes: listed("jwtWriteScopes"),
      readScopes: listed("jwtReadScopes"),
    };
  };
  const cors = () => ({
    allowOrigins: listed("corsAllowOrigins"),
    allowMethods: listed("corsAllowMethods"),
    allowHeaders: listed("corsAllowHeaders"),
    maxAge: n("corsMaxAge"),
  });
  const archiveArgs = () => ({
    sourceStreamArn: "",
    sourceRetentionHours: KINESIS_STREAM_DEFAULTS.retentionHours,
    storageClass: text("archiveStorageClass") as ArchiveStorageClass | undefined,
    transitionDays: n("archiveTransitionDays"),
    objectLock: pairObjectLock(text("archiveObjectLockMode") as ObjectLockSettings["mode"] | undefined, n("archiveObjectLockDays")),
  });
  const bridgeArgs = (over: { roleName?: string; aggregateRecords?: AggregateMode }) => () =>
    resolveBridgeSettings(bridge, {
      sourceStreamArn: "",
      sourceRetentionHours: KINESIS_STREAM_DEFAULTS.retentionHours,
      map: () => undefined,
      targetStreamArn: "",
      targetKeyArn: "",
      access: { mode: "resourcePolicy" },
      ...over,
    });
  const probes: [string, () => unknown][] = [
    ["config streamRetentionHours/streamMode/shardCount", () => resolveTableSettings(table, { reduce, stream })],
    [
      "config parallelizationFactor",
      () => resolveTableSettings(table, { reduce, mapping: { parallelizationFactor }, kplMixedKeys: parseFlag("kplMixedKeys", text("kplMixedKeys")) }),
    ],
    ["config maxBodyBytes", () => resolveApiSettings(api, { stream: { name: "", arn: "" }, table: { name: "", arn: "" }, maxBodyBytes: n("maxBodyBytes") })],
    ["config bridgeRoleName", bridgeArgs({ roleName: plain(config.bridgeRoleName) })],
    ["config aggregateRecords", bridgeArgs({ aggregateRecords: plain(config.aggregateRecords) as AggregateMode | undefined })],
    ["config apiAuth/jwt*", () => resolveApiSettings(api, { ...apiBase, auth: auth() })],
    ["config cors*", () => resolveApiSettings(api, { ...apiBase, cors: cors() })],
    ["config archive*", () => resolveArchiveSettings(archive, archiveArgs())],
    ["config readModelVersions/readModelActiveVersion", () => readModelProblems(config)],
  ];
  const mode = choiceProblem(config, "accessMode", ACCESS_MODES);
  if (mode) problems.push(mode);
  for (const [prefix, probe] of probes) {
    const problem = firstProblem(probe, prefix);
    if (problem) problems.push(problem);
  }
}

/** `readModelVersions` and `readModelActiveVersion` as the program reads them, and a `reduce` in the domain for each version listed. */
function readModelProblems(config: StackConfig): void {
  const raw = plain(config.readModelActiveVersion);
  const { readModelVersions } = readModelSettings(plain(config.readModelVersions), raw === undefined ? undefined : Number(raw));
  for (const v of readModelVersions) if (v.version !== 1) versionReduce(domain.readModels, v.version);
}

/** An ARN output of the consumer: its parts, or a message. */
function arnOf(view: ConsumerView, key: "analyticsStreamArn" | "analyticsKeyArn" | "writerRoleArn", service: string, resource: RegExp, problems: string[]) {
  const value = plain(view.outputs[key]);
  const parts = parseArn(value);
  if (value === undefined) return undefined;
  if (!parts || parts.service !== service || !resource.test(parts.resource) || !parts.account) {
    problems.push(`${key} from ${view.source} must be a ${service} ${resource.source.split("\\/")[0].replace("^", "")} ARN, got ${JSON.stringify(value)}`);
    return undefined;
  }
  return parts;
}

/** The consumer's outputs against each other and against this stack. */
function agreementProblems(config: StackConfig, view: ConsumerView, target: Target, problems: string[]): void {
  const out = view.outputs;
  if (view.deployed && Object.values(out).every((v) => v === undefined)) {
    problems.push(
      `${view.source} has no outputs: deploy the consumer stack (pulumi up --stack consumer) before previewing or deploying the producer; a stack that is only initialised exports nothing`,
    );
    return;
  }
  const mode = plain(config.accessMode) ?? CROSS_ACCOUNT_DEFAULTS.accessMode;
  for (const key of ["analyticsStreamArn", "analyticsKeyArn"] as const) {
    if (out[key] === undefined)
      problems.push(`${key} is missing from ${view.source}: set consumerStack to the deployed consumer, or ${key} in the producer's config`);
  }
  const stream = arnOf(view, "analyticsStreamArn", "kinesis", STREAM_ARN, problems);
  const key = arnOf(view, "analyticsKeyArn", "kms", KEY_ARN, problems);
  if (stream && key && (stream.account !== key.account || stream.region !== key.region)) {
    problems.push(
      `analyticsKeyArn (account ${key.account}, ${key.region}) must be in the analytics stream's account and region (${stream.account}, ${stream.region}): Kinesis encrypts with a key of its own region`,
    );
  }
  const consumerRegion = plain(out.region);
  if (stream && consumerRegion && stream.region !== consumerRegion) {
    problems.push(`analyticsStreamArn is in ${stream.region} but ${view.source} deploys to ${consumerRegion}: the ARN is not that stack's stream`);
  }
  if (stream && target.accountId && stream.account === target.accountId) {
    problems.push(`analyticsStreamArn is in this stack's own account ${target.accountId}: the analytics stream belongs in the consumer account`);
  }
  const consumerMode = plain(out.accessMode);
  if (consumerMode && consumerMode !== mode) {
    problems.push(
      `accessMode is ${JSON.stringify(mode)} here but ${JSON.stringify(consumerMode)} in ${view.source}: set the same accessMode in both stacks (every batch would be denied)`,
    );
  }
  const trusted = plain(out.bridgeRoleArn);
  const roleName = plain(config.bridgeRoleName) ?? defaultBridgeRoleName(target.stack);
  if (trusted && target.accountId) {
    const partition = target.region ? partitionOfRegion(target.region) : (parseArn(trusted)?.partition ?? "aws");
    const mine = `arn:${partition}:iam::${target.accountId}:role/${roleName}`;
    if (trusted !== mine) {
      problems.push(
        `this stack's bridge role is ${mine} but ${view.source} lets ${trusted} write: set bridgeRoleName (or the consumer's producerStack) so both name the same role (every batch would be denied)`,
      );
    }
  }
  const allowed = plain(out.producerAccountId);
  if (allowed && target.accountId && allowed !== target.accountId) {
    problems.push(
      `${view.source} lets account ${allowed} write, but this stack deploys to ${target.accountId}: set the consumer's producerAccountId to ${target.accountId}`,
    );
  }
  if (mode === "assumeRole") {
    const writer = arnOf(view, "writerRoleArn", "iam", ROLE_ARN, problems);
    if (out.writerRoleArn === undefined) problems.push(`writerRoleArn is missing from ${view.source}, and accessMode "assumeRole" needs it`);
    if (writer && stream && writer.account !== stream.account) {
      problems.push(`writerRoleArn is in account ${writer.account} but the analytics stream in ${stream.account}: the writer role must be the consumer's`);
    }
    const id = out.externalId;
    if (id === undefined || id === "") problems.push(`externalId is missing from ${view.source}, and accessMode "assumeRole" needs it`);
    else if (id !== OPAQUE && !EXTERNAL_ID_PATTERN.test(id)) problems.push(`externalId from ${view.source} must be ${EXTERNAL_ID_RULE}`);
  }
}

/** `streamKmsKeyArn` (or a `streamPreviousKmsKeyArns` entry): a key ARN (not an alias: the roles' grants name the key) of this account and region, where Kinesis can use it. */
function streamKeyProblem(value: string | undefined, target: Target, key = "streamKmsKeyArn"): string | undefined {
  if (value === undefined) return undefined;
  const arn = parseArn(value);
  if (!arn || arn.service !== "kms" || !KEY_ARN.test(arn.resource))
    return `config ${key} must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got ${JSON.stringify(value)}`;
  if ((target.region && arn.region !== target.region) || (target.accountId && arn.account !== target.accountId)) {
    return `config ${key} is in ${arn.account} ${arn.region} but the stream in ${target.accountId} ${target.region}: Kinesis encrypts only with a key of its own region`;
  }
  return undefined;
}

/** `streamPreviousKmsKeyArns`: a list of key ARNs as `streamKmsKeyArn` takes. */
function previousKeyProblems(raw: string | undefined, target: Target): string[] {
  if (raw === undefined) return [];
  let keys: string[];
  try {
    keys = parseList("streamPreviousKmsKeyArns", raw);
  } catch (err) {
    return [`config ${(err as Error).message}`];
  }
  return keys.map((k, i) => streamKeyProblem(k, target, `streamPreviousKmsKeyArns[${i}]`)).filter((p): p is string => p !== undefined);
}

/** Every problem of the producer stack's config and of its agreement with the consumer; empty when it may deploy. */
export function producerProblems(config: StackConfig, view: ConsumerView, target: Target): string[] {
  const problems: string[] = unknownKeyProblems(config, "producer");
  const region = regionProblem(target);
  if (region) problems.push(region);
  if (plain(config.consumerStack))
    for (const key of ["analyticsStreamArn", "analyticsKeyArn", "writerRoleArn"])
      if (config[key] !== undefined)
        problems.push(`config ${key} is ignored while consumerStack is set (the consumer stack's output is used): unset one of them`);
  settingProblems(config, problems);
  const roleName = plain(config.bridgeRoleName) ?? defaultBridgeRoleName(target.stack);
  const nameIssue = nameProblem(
    TYPES.role,
    roleName,
    plain(config.bridgeRoleName) ? "config bridgeRoleName" : `the default bridge role name of stack ${target.stack}`,
  );
  if (nameIssue && !plain(config.bridgeRoleName)) problems.push(`${nameIssue}: set bridgeRoleName (and the same in the consumer stack)`);
  const topic = alarmTopicProblem(config, target);
  if (topic) problems.push(topic);
  const key = streamKeyProblem(plain(config.streamKmsKeyArn), target);
  if (key) problems.push(key);
  problems.push(...previousKeyProblems(plain(config.streamPreviousKmsKeyArns), target));
  agreementProblems(config, view, target, problems);
  return problems;
}
