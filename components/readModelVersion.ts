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
 * read model (its URNs are unchanged); listed as `{"version":1,"retired":true}`
 * it is removed from the EventSourcedTable, which keeps the stream. Both build their projector with
 * `projectorArgs` and size it with `resolveProjector`, so the two cannot drift apart (a version sized
 * at the shared 256 MB and one batch per shard would keep up with about a sixth of version 1's rate).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { createProjector, projectorConfigFromEnv } from "../handlers/projector";
import { dynamoClient } from "../handlers/shared/clients";
import { Reducer } from "../handlers/shared/domain";
import { ENV } from "../handlers/shared/env";
import { recordAgeLimitSeconds } from "./parts/alarms";
import { Statement } from "./parts/iam";
import { FunctionSettings, resolveFunction } from "./parts/lambdaDefaults";
import { keyedTable } from "./parts/tables";
import { closureFunction } from "./parts/closureFunction";
import { streamConsumer } from "./parts/streamConsumer";
import { MappingSettings, resolveMappingSettings, StreamMappingOptions } from "./parts/streamMapping";
import { COMPONENT_TYPES } from "./parts/typeTokens";
import { ArgCheck, withDefaults } from "./parts/validation";

/** One entry of the `readModelVersions` config key. */
export interface ReadModelVersionConfig {
  /** 1–999; version 1 is the EventSourcedTable's read model, listed only to set its lifecycle. */
  version: number;
  /** ISO time the live mapping starts at (what `npm run rebuild` prints); unset while rebuilding. Not for version 1 (TRIM_HORIZON). */
  liveFrom?: string;
  /** Refuse to delete its tables. Default true; set false (and deploy) before retiring the version. */
  deletionProtection?: boolean;
  /** Version 1 only: remove its tables, projector, mapping, queue and alarms; the stream stays. Versions ≥ 2 are retired by leaving the list. */
  retired?: boolean;
}

const VERSION_KEYS = ["version", "liveFrom", "deletionProtection", "retired"];

/** The domain's `reduce` of a version ≥ 2 (its `readModels`); throws when the domain has none for it. */
export function versionReduce<S>(readModels: Record<number, Reducer<S>> | undefined, version: number): Reducer<S> {
  const reduce = readModels?.[version];
  if (!reduce) throw new Error(`readModelVersions lists version ${version}, but the domain has no readModels[${version}] reduce (domain/index.ts)`);
  return reduce;
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
    if (!entry || typeof entry !== "object" || Array.isArray(entry))
      throw new Error(`${at} must be an object {version, liveFrom?, deletionProtection?, retired?}, got ${JSON.stringify(entry)}`);
    const unknown = Object.keys(entry).filter((k) => !VERSION_KEYS.includes(k));
    if (unknown.length) throw new Error(`${at} has unknown key(s) ${unknown.join(", ")}; allowed: ${VERSION_KEYS.join(", ")}`);
    const { version, liveFrom, deletionProtection, retired } = entry;
    if (!Number.isInteger(version) || (version as number) < 1 || (version as number) > 999)
      throw new Error(`${at}.version must be an integer 1–999, got ${JSON.stringify(version)}`);
    if (seen.has(version as number)) throw new Error(`${at}.version ${version} is listed twice`);
    seen.add(version as number);
    if (liveFrom !== undefined && (typeof liveFrom !== "string" || Number.isNaN(Date.parse(liveFrom)))) {
      throw new Error(`${at}.liveFrom must be an ISO time (what npm run rebuild prints), got ${JSON.stringify(liveFrom)}`);
    }
    if (deletionProtection !== undefined && typeof deletionProtection !== "boolean")
      throw new Error(`${at}.deletionProtection must be true or false, got ${JSON.stringify(deletionProtection)}`);
    if (retired !== undefined && typeof retired !== "boolean") throw new Error(`${at}.retired must be true or false, got ${JSON.stringify(retired)}`);
    if (version === 1 && liveFrom !== undefined)
      throw new Error(`${at}.liveFrom is not for version 1 (its mapping reads the stream from TRIM_HORIZON), got ${JSON.stringify(liveFrom)}`);
    if (version !== 1 && retired !== undefined)
      throw new Error(
        `${at}.retired is for version 1 only: retire version ${version} by removing it from the list (after deletionProtection false), got ${retired}`,
      );
    if (retired === true && deletionProtection === true)
      throw new Error(
        `${at}: version 1 cannot be retired with deletionProtection true: deploy {"version":1,"deletionProtection":false} first, then {"version":1,"retired":true}`,
      );
    return {
      version: version as number,
      liveFrom: liveFrom as string | undefined,
      deletionProtection: deletionProtection as boolean | undefined,
      ...(retired === undefined ? {} : { retired: retired as boolean }),
    };
  });
}

/**
 * Checks the versions against the active one: version 1 may be retired only when the API serves
 * another version (which must then be listed and live: checked where the versions are built).
 */
export function checkReadModelLifecycle(versions: ReadModelVersionConfig[], active: number | undefined): void {
  const i = versions.findIndex((v) => v.version === 1 && v.retired);
  if (i < 0) return;
  const at = `readModelVersions[${i}]`;
  if (!versions.some((v) => v.version !== 1))
    throw new Error(`${at}: version 1 cannot be retired while it is the only read model: deploy a version ≥ 2, rebuild it and cut over to it first`);
  if ((active ?? 1) === 1)
    throw new Error(
      `${at}: version 1 cannot be retired while it is the active version (readModelActiveVersion ${active ?? "unset, so 1"}): cut over to a live version first`,
    );
}

/**
 * The projector's sizing over the shared defaults, chosen from the bench's latency model (README,
 * Performance). One batch per shard: above 1, Lambda keeps order per Kinesis partition key, not per
 * aggregate, and a KPL producer packs several aggregates' events under one key (a factor above 1 needs
 * `kplMixedKeys: false`, see resolveMappingSettings). With one conditional write per aggregate its CPU is
 * mostly the SDK's, per request, and the 48 writes in flight hide most of their latency: a batch is bound
 * by CPU, so 1,769 MB (one full vCPU) keeps up with 1.7 × what 1,024 MB did, at about the same GB-s per event.
 */
export const PROJECTOR_DEFAULTS = { memorySize: 1769, parallelizationFactor: 1 };

/** A projector's mapping and function settings, every version's alike: {@link PROJECTOR_DEFAULTS} under what the args set. */
export function resolveProjector(
  check: ArgCheck,
  mapping: StreamMappingOptions | undefined,
  fn: { memorySize?: number; timeout?: number },
  retentionHours: number,
  kplMixedKeys?: boolean,
): { mapping: MappingSettings; sizing: FunctionSettings } {
  return {
    mapping: resolveMappingSettings(
      check,
      "mapping",
      withDefaults({ parallelizationFactor: PROJECTOR_DEFAULTS.parallelizationFactor }, mapping),
      retentionHours,
      kplMixedKeys,
    ),
    sizing: resolveFunction(check, withDefaults({ memorySize: PROJECTOR_DEFAULTS.memorySize }, fn)),
  };
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

/**
 * A mapping created at a `liveFrom` older than its maximum record age gives up the records between (only pointers reach
 * its on-failure queue) and the position guard then passes them for good: the version lacks them. Said at preview
 * (not refused: the time counts only when the mapping is created, and a version live for days keeps its old one).
 */
function warnIfTooOld(name: string, liveFrom: string, ageLimitSeconds: number, resource: pulumi.Resource): void {
  const ageSeconds = (Date.now() - Date.parse(liveFrom)) / 1000;
  if (ageSeconds <= ageLimitSeconds - 3600) return;
  pulumi.log.warn(
    `${name}: liveFrom ${liveFrom} is ${(ageSeconds / 3600).toFixed(1)} h old, within an hour of the mapping's maximum record age (${(ageLimitSeconds / 3600).toFixed(0)} h): ` +
      "a mapping created now would give up the records between and the version would lack them. If its mapping exists already, " +
      "ignore this (its start is kept); otherwise run npm run rebuild again and deploy the liveFrom it prints.",
    resource,
  );
}

/** Args of {@link ReadModelVersion}. */
export interface ReadModelVersionArgs<S> {
  version: ReadModelVersionConfig;
  reduce: Reducer<S>;
  streamArn: pulumi.Input<string>;
  streamKeyArn?: pulumi.Input<string> | pulumi.Input<string>[];
  retentionHours: number;
  dedupWindow: number;
  parallelizationFactor?: number;
  /** Whether a producer may pack several partition keys into one KPL record (EventSourcedTable `kplMixedKeys`). */
  kplMixedKeys?: boolean;
  alarmActions?: pulumi.Input<string>[];
  /** Whether the API serves it (readModelActiveVersion): its mapping exists then, and its start no longer matters. */
  served?: boolean;
}

/** A read-model version beside version 1; see the file's header for its phases. */
export class ReadModelVersion<S = unknown> extends pulumi.ComponentResource {
  public readonly table: aws.dynamodb.Table;
  public readonly parkedTable: aws.dynamodb.Table;
  public readonly projector: aws.lambda.Function;
  /** The projector's role: a customer-managed stream key's policy may have to name it (streamKeyUserRoleArns). */
  public readonly projectorRole: aws.iam.Role;
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
    // The same sizing as version 1's: the version the API serves after cut-over must keep up as version 1 did.
    const { mapping, sizing } = resolveProjector(check, { parallelizationFactor: args.parallelizationFactor }, {}, args.retentionHours, args.kplMixedKeys);
    super(COMPONENT_TYPES.ReadModelVersion, name, {}, opts);
    const child = { parent: this };
    const protect = args.version.deletionProtection ?? true;
    this.table = keyedTable(`${name}-read-model`, undefined, protect, child);
    this.parkedTable = keyedTable(`${name}-parked`, "sk", protect, child);
    const fnArgs = projectorArgs(args.reduce, this.table, this.parkedTable, args.dedupWindow, sizing);
    this.live = liveFrom !== undefined;
    if (liveFrom !== undefined && !args.served)
      warnIfTooOld(name, liveFrom, recordAgeLimitSeconds(mapping.maximumRecordAgeInSeconds ?? -1, args.retentionHours), this);
    this.version = args.version.version;
    if (liveFrom === undefined) {
      const fn = closureFunction(`${name}-projector`, fnArgs, child);
      this.projector = fn.fn;
      this.projectorRole = fn.role;
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
      this.projectorRole = consumer.role;
      this.mapping = consumer.mapping;
    }
    this.registerOutputs({ tableName: this.table.name, parkedTableName: this.parkedTable.name, projectorName: this.projector.name });
  }
}
