/**
 * The producer (service) account's stack: the event stream and read model,
 * the HTTP command API, and the bridge into the analytics account.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as aws from "@pulumi/aws";
import { CommandApi } from "../components/commandApi";
import { CrossAccountBridge, CrossAccountBridgeAccessArgs } from "../components/crossAccountBridge";
import { EventArchive } from "../components/eventArchive";
import { EventSourcedTable } from "../components/eventSourcedTable";
import { ReadModelVersion, versionReduce } from "../components/readModelVersion";
import { OperationsDashboard } from "../components/operationsDashboard";
import type { AccessRule, Mapper, Reducer, Validator } from "../handlers/shared/domain";
import { DEFAULT_DEDUP_WINDOW } from "../handlers/projector";
import { ProducerConfig } from "./config";
import { readModelVersionName } from "./naming";

/** The user's domain: three closures, serialised into the functions. */
export interface Domain<S> {
  /** Read model: fold one event into an aggregate's state. */
  reduce: Reducer<S>;
  /** Analytics contract: internal event → versioned record(s). */
  map: Mapper;
  /** Command validation in the API; a message rejects the command with 400. */
  validate?: Validator;
  /** Per-aggregate authorization in the API; a message refuses the request with 403. */
  authorize?: AccessRule<S>;
  /** The `reduce` of each read-model version beyond 1 (`readModelVersions` chooses which are deployed). */
  readModels?: Record<number, Reducer<S>>;
}

function required(value: pulumi.Output<string | undefined>, what: string): pulumi.Output<string> {
  return value.apply((v) => {
    if (!v) throw new Error(`${what} is required in assumeRole mode: set consumerStack, or ${what} in the producer's config`);
    return v;
  });
}

function bridgeAccess(config: ProducerConfig): CrossAccountBridgeAccessArgs {
  if (config.accessMode === "resourcePolicy") return { mode: "resourcePolicy" };
  return {
    mode: "assumeRole",
    writerRoleArn: required(config.consumer.writerRoleArn, "writerRoleArn"),
    externalId: required(config.consumer.externalId, "externalId"),
  };
}

/** The components' names: part of every URN (never change them), and how the preflight names them. */
export const PRODUCER_COMPONENTS = { table: "orders", api: "commands", bridge: "analytics-bridge", archive: "events-archive" } as const;

/** A read model as the outputs and the API see it: version 1's or a later version's. */
interface ServedReadModel {
  table: aws.dynamodb.Table;
  parkedTable: aws.dynamodb.Table;
  projector: aws.lambda.Function;
}

/** The active version's read model, checked against the deployed versions: only version 1 (unless retired) or a live one may serve. */
function activeReadModel(active: number, v1: ServedReadModel | undefined, versions: ReadModelVersion<unknown>[]): ServedReadModel {
  if (active === 1) {
    // stacks/config.ts refuses retiring the active version; this guards callers that skip it.
    if (!v1) throw new Error("readModelActiveVersion 1 is retired: cut over to a live version (readModelActiveVersion) before retiring version 1");
    return v1;
  }
  const v = versions.find((x) => x.version === active);
  if (!v) throw new Error(`readModelActiveVersion ${active} is not deployed: list it in readModelVersions, rebuild it, then set its liveFrom`);
  if (!v.live)
    throw new Error(
      `readModelActiveVersion ${active} is still rebuilding: the API can switch to it once it is live (liveFrom set) and npm run rebuild says cut-over is allowed`,
    );
  return v;
}

/** Builds the producer stack and returns its outputs. */
export function producerStack<S>(config: ProducerConfig, domain: Domain<S>) {
  const alarmActions = config.alarmTopicArn ? [config.alarmTopicArn] : [];
  // Version 1's lifecycle, when listed: its deletion protection, and whether it is retired.
  const v1 = config.readModelVersions.find((v) => v.version === 1);
  const events = new EventSourcedTable(PRODUCER_COMPONENTS.table, {
    reduce: domain.reduce,
    deletionProtection: v1?.deletionProtection,
    retireReadModel: v1?.retired,
    stream: {
      retentionHours: config.streamRetentionHours,
      mode: config.streamMode,
      shardCount: config.shardCount,
      kmsKeyArn: config.streamKmsKeyArn,
      previousKmsKeyArns: config.streamPreviousKmsKeyArns,
      protect: config.protectData,
    },
    mapping: { parallelizationFactor: config.parallelizationFactor },
    kplMixedKeys: config.kplMixedKeys,
    alarmActions,
  });
  const archive = new EventArchive(PRODUCER_COMPONENTS.archive, {
    sourceStreamArn: events.stream.arn,
    sourceRetentionHours: events.retentionHours,
    sourceKeyArn: events.streamDecryptKeyArns,
    ...config.archive,
    protect: config.protectData,
    alarmActions,
  });
  const versions = config.readModelVersions
    .filter((v) => v.version !== 1)
    .map((v) => {
      const reduce = versionReduce(domain.readModels, v.version);
      return new ReadModelVersion(readModelVersionName(PRODUCER_COMPONENTS.table, v.version), {
        version: v,
        reduce,
        streamArn: events.stream.arn,
        streamKeyArn: events.streamDecryptKeyArns,
        retentionHours: events.retentionHours,
        dedupWindow: DEFAULT_DEDUP_WINDOW,
        parallelizationFactor: config.parallelizationFactor,
        kplMixedKeys: config.kplMixedKeys,
        alarmActions,
        served: (config.readModelActiveVersion ?? 1) === v.version,
      });
    });
  const served = activeReadModel(config.readModelActiveVersion ?? 1, events.readModel, versions as ReadModelVersion<unknown>[]);
  // What the read-model outputs name: version 1's while it is deployed (as ever), the active version's once it is retired.
  const base = events.readModel ?? served;
  const api = new CommandApi(PRODUCER_COMPONENTS.api, {
    stream: { name: events.stream.name, arn: events.stream.arn, keyArn: events.streamKeyArn },
    table: { name: served.table.name, arn: served.table.arn },
    maxBodyBytes: config.maxBodyBytes,
    validate: domain.validate,
    authorize: domain.authorize,
    auth: config.apiAuth,
    cors: config.cors,
    alarmActions,
  });
  const bridge = new CrossAccountBridge(PRODUCER_COMPONENTS.bridge, {
    sourceStreamArn: events.stream.arn,
    sourceRetentionHours: events.retentionHours,
    sourceKeyArn: events.streamDecryptKeyArns,
    map: domain.map,
    targetStreamArn: config.consumer.analyticsStreamArn,
    targetKeyArn: config.consumer.analyticsKeyArn,
    access: bridgeAccess(config),
    roleName: config.bridgeRoleName,
    mapping: { parallelizationFactor: config.parallelizationFactor },
    kplMixedKeys: config.kplMixedKeys,
    aggregateRecords: config.aggregateRecords,
    alarmActions,
  });
  const parts = [api.monitoring, ...(events.readModel ? [events.readModel.monitoring] : []), bridge.monitoring, archive.monitoring];
  const dashboard = new OperationsDashboard("operations", { parts });
  return {
    apiUrl: api.url,
    dashboardUrl: dashboard.url,
    apiAuth: api.authMode,
    apiRouteArns: api.routeArns,
    eventStreamName: events.stream.name,
    eventStreamArn: events.stream.arn,
    readModelTableName: base.table.name,
    parkedTableName: base.parkedTable.name,
    projectorFunctionName: base.projector.name,
    apiFunctionName: api.fn.name,
    bridgeFunctionName: bridge.fn.name,
    bridgeRoleArn: bridge.role.arn,
    bridgeParkedTableName: bridge.parkedTable.name,
    accessMode: bridge.accessMode,
    archiveBucketName: archive.bucket.bucket,
    archivePrefix: archive.prefix,
    readModelActiveVersion: config.readModelActiveVersion ?? 1,
    readModelVersions: Object.fromEntries(
      versions.map((v) => [
        String(v.version),
        {
          tableName: v.table.name,
          parkedTableName: v.parkedTable.name,
          projectorFunctionName: v.projector.name,
          live: v.live,
          // The start its mapping was created with, from the stack's state: a later liveFrom in config is ignored (ignoreChanges).
          ...(v.mapping ? { liveFrom: v.mapping.startingPositionTimestamp } : {}),
        },
      ]),
    ),
    // The roles a customer-managed stream key's policy must admit when it does not delegate to IAM: every role granted the key
    // (each projector's, v1's while deployed, and the archiver's, which reads through its consumer); empty with the AWS-managed key.
    streamKeyUserRoleArns: events.streamKeyArn
      ? [
          api.role.arn,
          ...(events.readModel ? [events.readModel.projectorRole.arn] : []),
          ...versions.map((v) => v.projectorRole.arn),
          bridge.role.arn,
          archive.archiverRole.arn,
        ]
      : [],
  };
}
