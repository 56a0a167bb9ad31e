/**
 * ReadModelVersion: a read model rebuilt with a new `reduce` beside the
 * running one — its own read-model table, parked table and projector. It
 * lives in two phases, chosen by config (`readModelVersions`):
 *
 * 1. rebuilding (no `liveFrom`): the tables and the projector function, no
 *    mapping. `npm run rebuild` replays the archive into the tables, in
 *    order per aggregate, and prints the `liveFrom` to deploy with.
 * 2. live (`liveFrom` set): the projector's mapping starts AT_TIMESTAMP
 *    `liveFrom`, at or before the archive's end on every shard, so the live
 *    stream overlaps what was replayed and the position guard drops the
 *    overlap: no gap, no double apply. It must be deployed only after the
 *    replay, since the guard would drop older archived events behind newer
 *    live ones.
 *
 * The projector reads the stream only; nothing of a version reaches the
 * bridge or the analytics account. Version 1 is the EventSourcedTable's own
 * read model (its URNs are unchanged). Both build their projector with
 * `projectorArgs`, so the two cannot drift apart.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { createProjector, projectorConfigFromEnv } from "../handlers/projector";
import { dynamoClient } from "../handlers/shared/clients";
import { Reducer } from "../handlers/shared/domain";
import { ENV } from "../handlers/shared/env";
import { Statement } from "./parts/iam";
import { FunctionSettings, resolveFunction } from "./parts/lambdaDefaults";
import { keyedTable } from "./parts/tables";
import { closureFunction } from "./parts/closureFunction";
import { streamConsumer } from "./parts/streamConsumer";
import { resolveMappingSettings } from "./parts/streamMapping";
import { COMPONENT_TYPES } from "./parts/typeTokens";
import { ArgCheck } from "./parts/validation";

/** One entry of the `readModelVersions` config key. */
export interface ReadModelVersionConfig {
  /** 2–999; version 1 is the EventSourcedTable's read model. */
  version: number;
  /** ISO time the live mapping starts at (what `npm run rebuild` prints); unset while rebuilding. */
  liveFrom?: string;
  /** Refuse to delete its tables. Default true; set false before retiring the version. */
  deletionProtection?: boolean;
}

/** Parses `readModelVersions` (a JSON list); throws naming the entry, the rule and the value. */
export function parseReadModelVersions(raw: string | undefined): ReadModelVersionConfig[] {
  if (raw === undefined || raw.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`readModelVersions must be a JSON list like [{"version":2}], got ${raw}`);
  }
  if (!Array.isArray(parsed)) throw new Error(`readModelVersions must be a JSON list like [{"version":2}], got ${raw}`);
  const seen = new Set<number>();
  return parsed.map((entry: Record<string, unknown>, i) => {
    const at = `readModelVersions[${i}]`;
    if (!entry || typeof entry !== "object") throw new Error(`${at} must be an object {version, liveFrom?, deletionProtection?}, got ${JSON.stringify(entry)}`);
    const unknown = Object.keys(entry).filter((k) => !["version", "liveFrom", "deletionProtection"].includes(k));
    if (unknown.length) throw new Error(`${at} has unknown key(s) ${unknown.join(", ")}; allowed: version, liveFrom, deletionProtection`);
    const { version, liveFrom, deletionProtection } = entry;
    if (!Number.isInteger(version) || (version as number) < 2 || (version as number) > 999)
      throw new Error(`${at}.version must be an integer 2–999, got ${JSON.stringify(version)}`);
    if (seen.has(version as number)) throw new Error(`${at}.version ${version} is listed twice`);
    seen.add(version as number);
    if (liveFrom !== undefined && (typeof liveFrom !== "string" || Number.isNaN(Date.parse(liveFrom)))) {
      throw new Error(`${at}.liveFrom must be an ISO time (what npm run rebuild prints), got ${JSON.stringify(liveFrom)}`);
    }
    if (deletionProtection !== undefined && typeof deletionProtection !== "boolean")
      throw new Error(`${at}.deletionProtection must be true or false, got ${JSON.stringify(deletionProtection)}`);
    return { version: version as number, liveFrom: liveFrom as string | undefined, deletionProtection: deletionProtection as boolean | undefined };
  });
}

/** The projector's function: its code, environment and grants over a read-model table and its parked table. */
export function projectorArgs<S>(reduce: Reducer<S>, table: aws.dynamodb.Table, parked: aws.dynamodb.Table, dedupWindow: number, sizing: FunctionSettings) {
  const statements: Statement[] = [
    { Sid: "ProjectReadModel", Action: ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem"], Resource: table.arn },
    { Sid: "ParkPoisonEvents", Action: "dynamodb:BatchWriteItem", Resource: parked.arn },
  ];
  return {
    description: "Projects events from the stream into the read-model table",
    // Runs once per container: the client and its connections are reused across invocations.
    callbackFactory: () => createProjector({ dynamodb: dynamoClient(), reduce, config: projectorConfigFromEnv(process.env) }),
    sizing,
    environment: { [ENV.TABLE_NAME]: table.name, [ENV.PARKED_TABLE_NAME]: parked.name, [ENV.DEDUP_WINDOW]: String(dedupWindow) },
    statements,
  };
}

/** Args of {@link ReadModelVersion}. */
export interface ReadModelVersionArgs<S> {
  version: ReadModelVersionConfig;
  reduce: Reducer<S>;
  streamArn: pulumi.Input<string>;
  streamKeyArn?: pulumi.Input<string>;
  retentionHours: number;
  dedupWindow: number;
  parallelizationFactor?: number;
  alarmActions?: pulumi.Input<string>[];
}

/** A read-model version beside version 1; see the file's header for its phases. */
export class ReadModelVersion<S = unknown> extends pulumi.ComponentResource {
  public readonly table: aws.dynamodb.Table;
  public readonly parkedTable: aws.dynamodb.Table;
  public readonly projector: aws.lambda.Function;
  /** Set once the version is live. */
  public readonly mapping?: aws.lambda.EventSourceMapping;
  public readonly live: boolean;
  public readonly version: number;

  constructor(name: string, args: ReadModelVersionArgs<S>, opts?: pulumi.ComponentResourceOptions) {
    const check = new ArgCheck("ReadModelVersion", name);
    check.that(
      typeof args.reduce === "function",
      `reduce of version ${args.version.version} must be a function (state, event) => state | null, got ${typeof args.reduce}`,
    );
    const liveFrom = args.version.liveFrom;
    const mapping = resolveMappingSettings(check, "mapping", { parallelizationFactor: args.parallelizationFactor }, args.retentionHours);
    const sizing = resolveFunction(check, {});
    super(COMPONENT_TYPES.ReadModelVersion, name, {}, opts);
    const child = { parent: this };
    const protect = args.version.deletionProtection ?? true;
    this.table = keyedTable(`${name}-read-model`, undefined, protect, child);
    this.parkedTable = keyedTable(`${name}-parked`, "sk", protect, child);
    const fnArgs = projectorArgs(args.reduce, this.table, this.parkedTable, args.dedupWindow, sizing);
    this.live = liveFrom !== undefined;
    this.version = args.version.version;
    if (liveFrom === undefined) {
      this.projector = closureFunction(`${name}-projector`, fnArgs, child).fn;
    } else {
      const consumer = streamConsumer(
        `${name}-projector`,
        {
          ...fnArgs,
          streamArn: args.streamArn,
          streamKeyArn: args.streamKeyArn,
          mapping,
          startingPositionTimestamp: liveFrom,
          queueName: `${name}-projector-failures`,
          mappingName: `${name}-projector-mapping`,
          alarmActions: args.alarmActions,
          retentionHours: args.retentionHours,
          redrive: pulumi.interpolate`--table ${this.table.name} --parked ${this.parkedTable.name}`,
        },
        child,
      );
      this.projector = consumer.fn;
      this.mapping = consumer.mapping;
    }
    this.registerOutputs({ tableName: this.table.name, parkedTableName: this.parkedTable.name, projectorName: this.projector.name });
  }
}
