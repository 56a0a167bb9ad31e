/**
 * CloudWatch Embedded Metric Format: one JSON object per log line, whose
 * `_aws.CloudWatchMetrics` directive tells CloudWatch Logs which members are
 * metrics (their names and units) and which are dimensions. Lambda sends
 * stdout to the function's log group, where CloudWatch extracts the metrics:
 * no PutMetricData call, no extra permission. Written here by hand rather
 * than with Powertools Metrics: the document is a few lines of JSON, and the
 * package would add at least 47 KB to archives of about 10 KB (see README).
 *
 * The reader is beside the writer, so the format lives in one file: the
 * local cloud reads the functions' lines back as CloudWatch would.
 */
import { FUNCTION_DIMENSION, MetricsSink, metricUnit, MetricValues, METRICS_NAMESPACE } from "./metrics";

/** The EMF document of one invocation's values, for the function named `functionName`. */
export function emfDocument(functionName: string, values: MetricValues, timestamp: number): Record<string, unknown> {
  const names = Object.keys(values);
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [[FUNCTION_DIMENSION]],
          Metrics: names.map((name) => ({ Name: name, Unit: metricUnit(name) })),
        },
      ],
    },
    [FUNCTION_DIMENSION]: functionName,
    ...values,
  };
}

/**
 * A sink writing one EMF line per invocation with `write`. The default writes to process.stdout
 * directly, not through console.log: with the function's JSON log format the runtime would wrap a
 * console.log line in its own JSON object, and CloudWatch would extract nothing from it.
 */
export function emfSink(functionName: string, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): MetricsSink {
  return (values) => write(JSON.stringify(emfDocument(functionName, values, Date.now())));
}

/**
 * The sink a handler uses when none is injected: EMF on stdout inside a Lambda execution environment
 * (the runtime, and the local cloud's function hosts, set `AWS_LAMBDA_FUNCTION_NAME`), and nothing
 * elsewhere (a test or a library use of the handler has no log group to extract from).
 */
export function defaultMetricsSink(env: NodeJS.ProcessEnv): MetricsSink {
  const functionName = env.AWS_LAMBDA_FUNCTION_NAME;
  return functionName ? emfSink(functionName) : () => undefined;
}

/** One EMF document as read back: its namespace, dimensions, metric values and units. */
export interface EmfMetrics {
  namespace: string;
  timestamp: number;
  dimensions: Record<string, string>;
  values: Record<string, number>;
  units: Record<string, string>;
}

/** Reads one log line as CloudWatch would: undefined when it is not an EMF document (a plain log line, or a broken one). */
export function parseEmfLine(line: string): EmfMetrics | undefined {
  if (!line.includes('"_aws"')) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return undefined;
  }
  const root = doc as Record<string, unknown>;
  const aws = root?._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  const directive = Array.isArray(aws?.CloudWatchMetrics) ? (aws.CloudWatchMetrics[0] as Record<string, unknown>) : undefined;
  if (!directive || typeof directive.Namespace !== "string" || !Array.isArray(directive.Metrics)) return undefined;
  const dimensions: Record<string, string> = {};
  for (const set of Array.isArray(directive.Dimensions) ? directive.Dimensions : [])
    for (const key of Array.isArray(set) ? set : []) if (typeof root[key] === "string") dimensions[key] = root[key] as string;
  const values: Record<string, number> = {};
  const units: Record<string, string> = {};
  for (const m of directive.Metrics as { Name?: unknown; Unit?: unknown }[]) {
    if (typeof m?.Name !== "string" || typeof root[m.Name] !== "number") continue;
    values[m.Name] = root[m.Name] as number;
    units[m.Name] = typeof m.Unit === "string" ? m.Unit : "None";
  }
  return { namespace: directive.Namespace, timestamp: Number(aws?.Timestamp), dimensions, values, units };
}
