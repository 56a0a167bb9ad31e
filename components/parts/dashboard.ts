/**
 * The CloudWatch dashboard body of a stack, from what its components say
 * they should be watched by ({@link Monitoring}): a row per concern —
 * throughput, lag, parked, errors, landing freshness — each alarm's metric
 * drawn from the alarm's own spec with its threshold, and the state of every
 * alarm on top. Nothing here names a metric itself, so the dashboard shows
 * exactly what the functions emit and the alarms watch.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AlarmSpec, Concern, MetricSpec, WatchedAlarm } from "./alarms";

/** What a component asks the dashboard to show. */
export interface Monitoring {
  /** Its section's name, e.g. "projector". */
  title: string;
  /** What it gets done (graphed, not alarmed). */
  throughput: MetricSpec[];
  /** Its alarms, each drawn in the row of its concern. */
  alarms: WatchedAlarm[];
}

/** The rows, top to bottom, and their headings. */
export const DASHBOARD_ROWS: { concern: Concern; heading: string }[] = [
  { concern: "throughput", heading: "Throughput" },
  { concern: "lag", heading: "Lag" },
  { concern: "parked", heading: "Parked events" },
  { concern: "errors", heading: "Errors" },
  { concern: "freshness", heading: "Landing freshness" },
];

/** Grid units (the dashboard is 24 wide). */
const GRAPH = { width: 8, height: 6 };
const FULL_WIDTH = 24;

type Widget = Record<string, unknown>;

/** One metric of a graph: `[namespace, name, dimension, value, …, rendering]`, as the body structure has it. */
function metricLine(m: MetricSpec): pulumi.Input<unknown>[] {
  const dims = Object.entries(m.dimensions).flatMap(([k, v]) => [k, v]);
  return [m.namespace, m.metricName, ...dims, { label: m.label, stat: m.statistic, period: m.period }];
}

function graph(title: string, metrics: MetricSpec[], region: pulumi.Input<string>, threshold?: AlarmSpec): Widget {
  const properties: Record<string, unknown> = { title, region, view: "timeSeries", stacked: false, period: 60, metrics: metrics.map(metricLine) };
  if (threshold)
    properties.annotations = {
      horizontal: [{ label: `alarm ${threshold.comparisonOperator.replace("Threshold", "")} ${threshold.threshold}`, value: threshold.threshold }],
    };
  return { type: "metric", ...GRAPH, properties };
}

/** The widgets of `parts` (positions included), in `region`. */
export function dashboardWidgets(parts: Monitoring[], region: pulumi.Input<string>): Widget[] {
  const widgets: Widget[] = [];
  let y = 0;
  const alarms = parts.flatMap((p) => p.alarms.map((a) => a.alarm.arn));
  if (alarms.length) {
    widgets.push({ type: "alarm", x: 0, y, width: FULL_WIDTH, height: 3, properties: { title: "Alarms", alarms, sortBy: "stateUpdatedTimestamp" } });
    y += 3;
  }
  for (const row of DASHBOARD_ROWS) {
    const graphs: Widget[] =
      row.concern === "throughput"
        ? parts.filter((p) => p.throughput.length).map((p) => graph(p.title, p.throughput, region))
        : parts.flatMap((p) =>
            p.alarms.filter((a) => a.spec.concern === row.concern).map((a) => graph(`${p.title}: ${a.spec.label}`, [a.spec], region, a.spec)),
          );
    if (!graphs.length) continue;
    widgets.push({ type: "text", x: 0, y, width: FULL_WIDTH, height: 1, properties: { markdown: `## ${row.heading}` } });
    y += 1;
    graphs.forEach((g, i) => {
      const perLine = FULL_WIDTH / GRAPH.width;
      widgets.push({ ...g, x: (i % perLine) * GRAPH.width, y: y + Math.floor(i / perLine) * GRAPH.height });
    });
    y += Math.ceil(graphs.length / (FULL_WIDTH / GRAPH.width)) * GRAPH.height;
  }
  return widgets;
}

/** The dashboard body as JSON, once every name and ARN is known. */
export function dashboardBody(parts: Monitoring[], region: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.jsonStringify({ widgets: dashboardWidgets(parts, region) });
}
