/**
 * The producer (service) account's stack: the event stream and read model,
 * the HTTP command API, and the bridge into the analytics account.
 */
import * as pulumi from "@pulumi/pulumi";
import { CommandApi } from "../components/commandApi";
import { CrossAccountBridge, CrossAccountBridgeAccessArgs } from "../components/crossAccountBridge";
import { EventSourcedTable } from "../components/eventSourcedTable";
import { OperationsDashboard } from "../components/operationsDashboard";
import type { AccessRule, Mapper, Reducer, Validator } from "../handlers/shared/domain";
import { ProducerConfig } from "./config";

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
export const PRODUCER_COMPONENTS = { table: "orders", api: "commands", bridge: "analytics-bridge" } as const;

/** Builds the producer stack and returns its outputs. */
export function producerStack<S>(config: ProducerConfig, domain: Domain<S>) {
  const alarmActions = config.alarmTopicArn ? [config.alarmTopicArn] : [];
  const events = new EventSourcedTable(PRODUCER_COMPONENTS.table, {
    reduce: domain.reduce,
    stream: { retentionHours: config.streamRetentionHours, mode: config.streamMode, shardCount: config.shardCount, kmsKeyArn: config.streamKmsKeyArn },
    mapping: { parallelizationFactor: config.parallelizationFactor },
    alarmActions,
  });
  const api = new CommandApi(PRODUCER_COMPONENTS.api, {
    stream: { name: events.stream.name, arn: events.stream.arn, keyArn: events.streamKeyArn },
    table: { name: events.table.name, arn: events.table.arn },
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
    sourceKeyArn: events.streamKeyArn,
    map: domain.map,
    targetStreamArn: config.consumer.analyticsStreamArn,
    targetKeyArn: config.consumer.analyticsKeyArn,
    access: bridgeAccess(config),
    roleName: config.bridgeRoleName,
    mapping: { parallelizationFactor: config.parallelizationFactor },
    aggregateRecords: config.aggregateRecords,
    alarmActions,
  });
  const dashboard = new OperationsDashboard("operations", { parts: [api.monitoring, events.monitoring, bridge.monitoring] });
  return {
    apiUrl: api.url,
    dashboardUrl: dashboard.url,
    apiAuth: api.authMode,
    apiRouteArns: api.routeArns,
    eventStreamName: events.stream.name,
    eventStreamArn: events.stream.arn,
    readModelTableName: events.table.name,
    parkedTableName: events.parkedTable.name,
    projectorFunctionName: events.projector.name,
    apiFunctionName: api.fn.name,
    bridgeFunctionName: bridge.fn.name,
    bridgeRoleArn: bridge.role.arn,
    bridgeParkedTableName: bridge.parkedTable.name,
    accessMode: bridge.accessMode,
    // The roles a customer-managed stream key's policy must admit when it does not delegate to IAM; empty with the AWS-managed key.
    streamKeyUserRoleArns: events.streamKeyArn ? [api.role.arn, events.projectorRole.arn, bridge.role.arn] : [],
  };
}
