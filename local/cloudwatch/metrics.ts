/**
 * CloudWatch's part of the local cloud: the metrics the functions emit as
 * EMF lines on stdout, extracted from their logs as CloudWatch Logs extracts
 * them from a log group, and summed per function. The status line and the
 * summary at Ctrl-C read them, so the local counts are the ones the
 * dashboard shows on AWS.
 */
import { parseEmfLine } from "../../handlers/observability/emf";
import { METRICS_NAMESPACE } from "../../handlers/observability/metrics";

/** One function's metrics since the start. */
export interface FunctionMetrics {
  /** EMF documents read: one per invocation. */
  documents: number;
  /** Each metric's sum. */
  sums: Record<string, number>;
  /** Each metric's largest single value (what a Maximum statistic shows). */
  max: Record<string, number>;
  /** Each metric's unit, as declared. */
  units: Record<string, string>;
}

/** The metrics store. */
export interface MetricStore {
  /** Reads one log line of the function `fn` (its logical name); true when it was an EMF document of the pipeline's namespace. */
  ingest(fn: string, line: string): boolean;
  /** Every function's metrics, by logical name. */
  byFunction(): Record<string, FunctionMetrics>;
  /** A metric summed over every function. */
  total(metricName: string): number;
}

/** An empty store. */
export function createMetricStore(): MetricStore {
  const functions: Record<string, FunctionMetrics> = {};
  return {
    ingest(fn, line) {
      const doc = parseEmfLine(line);
      if (!doc || doc.namespace !== METRICS_NAMESPACE) return false;
      const m = (functions[fn] ??= { documents: 0, sums: {}, max: {}, units: {} });
      m.documents += 1;
      for (const [name, value] of Object.entries(doc.values)) {
        m.sums[name] = (m.sums[name] ?? 0) + value;
        m.max[name] = Math.max(m.max[name] ?? value, value);
        m.units[name] = doc.units[name];
      }
      return true;
    },
    byFunction: () => functions,
    total: (metricName) => Object.values(functions).reduce((n, m) => n + (m.sums[metricName] ?? 0), 0),
  };
}

/** The summary `npm start` prints: per function, each count's sum, and each duration's mean and largest. */
export function metricsSummary(functions: Record<string, FunctionMetrics>): string[] {
  const lines = ["metrics (EMF, as CloudWatch extracts them):"];
  for (const [fn, m] of Object.entries(functions).sort(([a], [b]) => a.localeCompare(b))) {
    const parts = Object.keys(m.sums)
      .sort()
      .map((name) =>
        m.units[name] === "Milliseconds"
          ? `${name} mean ${Math.round(m.sums[name] / m.documents)} ms, max ${Math.round(m.max[name])} ms`
          : `${name} ${m.sums[name]}`,
      );
    lines.push(`  ${fn} (${m.documents} invocations): ${parts.join(" · ")}`);
  }
  if (lines.length === 1) lines.push("  none yet");
  return lines;
}
