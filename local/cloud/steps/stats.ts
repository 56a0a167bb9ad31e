/**
 * Step 8 of the local cloud: the counts on the status line. What a count
 * covers is found by what the resources are — mappings by the component that
 * declared them, parked tables by the functions' declared environment —
 * never by their names. Applied, forwarded and parked are the functions' own
 * metrics (EMF, local/cloudwatch/metrics.ts), the numbers the dashboard shows.
 */
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { COMPONENT_TYPES, TYPES } from "../../../components/parts/typeTokens";
import { ENV } from "../../../handlers/shared/env";
import { PARKED_EVENTS_FILTER } from "../../../handlers/shared/parkedTable";
import { emulatorDynamo } from "../../emulators/clients";
import { EnforcerStats } from "../../iam/enforcer";
import { FunctionMetrics, MetricStore } from "../../cloudwatch/metrics";
import { METRIC } from "../../../handlers/observability/metrics";
import { LocalEndpoints, StackManifest } from "../../shared/manifest";
import { ofType, Service } from "../context";
import { ApiService, declaredApi } from "./api";
import { FirehosesService } from "./firehoses";
import { IamService } from "./iam";
import { MappingsService, RunningMapping } from "./mappings";

/** Counts for the status line. */
export interface CloudStats {
  accepted: number;
  /** Records the served read model's projector mappings delivered and the projector finished with (applied, skipped or parked). */
  projected: number;
  /** Events the projectors applied to the read model (EventsApplied). */
  applied: number;
  /** Records the projectors skipped as applied before: redeliveries, replays, producer retries (DuplicatesSkipped). */
  skipped: number;
  /** Wire records the bridges wrote to the analytics stream (RecordsForwarded). */
  forwarded: number;
  landed: number;
  /** Events the functions parked since the start (EventsParked). */
  parked: number;
  /** Rows in the parked tables now (a re-drive removes them). */
  parkedRows: number;
  deadLettered: number;
  mappings: { name: string; lagMs: number; retries: number; lastError?: string }[];
  /** Decisions of the local IAM enforcer on the functions' calls. */
  iam: EnforcerStats;
  /** Every function's metrics, by logical name. */
  functions: Record<string, FunctionMetrics>;
}

/** The counting service. */
export interface StatsService extends Service {
  stats(): Promise<CloudStats>;
}

/** What the counts are read from. */
export interface StatsSources {
  producer: StackManifest;
  endpoints: LocalEndpoints;
  mappings: MappingsService;
  firehoses: FirehosesService;
  api: ApiService;
  iam: IamService;
  metrics: MetricStore;
}

/** The physical names of the stack's parked tables: the tables a function's environment names as its `PARKED_TABLE_NAME`. */
export function parkedTables(m: StackManifest): string[] {
  const named = new Set(m.functions.map((f) => f.environment[ENV.PARKED_TABLE_NAME]).filter((name) => !!name));
  return ofType(m, TYPES.table)
    .map((t) => t.state.name as string)
    .filter((name) => named.has(name));
}

/** Records processed by the mappings a component of this type declared. */
export function succeededUnder(mappings: RunningMapping[], componentType: string): number {
  return mappings.filter((m) => m.parentType === componentType).reduce((n, m) => n + m.poller.stats().succeeded, 0);
}

/**
 * The read-model table the API serves: the `TABLE_NAME` its route targets declare (version 1's, or the
 * active version's once the API is cut over), undefined when the stack serves none.
 */
export function servedTable(m: StackManifest): string | undefined {
  const targets = new Set(Object.values(declaredApi(m).targets));
  return m.functions.find((f) => targets.has(f.arn) || targets.has(f.functionName))?.environment[ENV.TABLE_NAME];
}

/** Records finished by the projector mappings of the served read model: those whose function writes `table`. */
export function projectedInto(mappings: RunningMapping[], table: string | undefined): number {
  if (table === undefined) return succeededUnder(mappings, COMPONENT_TYPES.EventSourcedTable);
  return mappings.filter((m) => m.environment[ENV.TABLE_NAME] === table).reduce((n, m) => n + m.poller.stats().succeeded, 0);
}

/** Counts accepted (API), projected (the served read model's projector mappings), forwarded (CrossAccountBridge mappings), landed, parked, dead-lettered. */
export function startStats(sources: StatsSources): StatsService {
  const dynamo = emulatorDynamo({ endpoint: sources.endpoints.dynamodb });
  const tables = parkedTables(sources.producer);
  const served = servedTable(sources.producer);
  // Audit rows of discarded events live in the parked tables too: they are not parked.
  const countItems = async (table: string) =>
    (await dynamo.send(new ScanCommand({ TableName: table, Select: "COUNT", FilterExpression: PARKED_EVENTS_FILTER }))).Count ?? 0;
  const { mappings, queues } = sources.mappings;
  return {
    async stats() {
      const parkedRows = (await Promise.all(tables.map(countItems))).reduce((a, b) => a + b, 0);
      const { metrics } = sources;
      return {
        accepted: sources.api.accepted(),
        projected: projectedInto(mappings, served),
        applied: metrics.total(METRIC.eventsApplied),
        skipped: metrics.total(METRIC.duplicatesSkipped),
        forwarded: metrics.total(METRIC.recordsForwarded),
        landed: sources.firehoses.landed(),
        parked: metrics.total(METRIC.eventsParked),
        parkedRows,
        deadLettered: Object.values(queues.counts()).reduce((a, b) => a + b, 0),
        mappings: mappings.map((p) => {
          const { lagMs, retries, lastError } = p.poller.stats();
          return { name: p.name, lagMs, retries, lastError };
        }),
        iam: sources.iam.stats(),
        functions: metrics.byFunction(),
      };
    },
    stop: async () => dynamo.destroy(),
  };
}
