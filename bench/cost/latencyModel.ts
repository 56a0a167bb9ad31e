/**
 * The latency model: what a request costs in wall time on AWS, which the
 * emulators and the in-process transport don't add. Each request's delay is
 * drawn from a log-normal fitted to a p50 and a p99 (the shape service
 * latencies usually have: a floor, a long right tail), from a seeded
 * generator, so runs repeat. The figures are assumptions, labelled as
 * modelled wherever they are printed; see the README's Performance section
 * for where they come from.
 */
import { lcg } from "../workload";

/** Percentiles of one operation's latency, in ms. */
export interface LatencyFigure {
  p50: number;
  p99: number;
}

/** DynamoDB: "single-digit millisecond" averages for GetItem/PutItem (AWS knowledge center); Kinesis PutRecords: tens of ms. */
export const LATENCY: Record<string, LatencyFigure> = {
  GetItemCommand: { p50: 4, p99: 15 },
  PutItemCommand: { p50: 4, p99: 15 },
  BatchGetItemCommand: { p50: 6, p99: 20 },
  BatchWriteItemCommand: { p50: 6, p99: 20 },
  PutRecordsCommand: { p50: 20, p99: 60 },
  PutRecordCommand: { p50: 15, p99: 50 },
};

/** z of the 99th percentile of a standard normal. */
const Z99 = 2.326;

/** A delay function for `addLatency` (local/shared/sdkMiddleware.ts): log-normal per command, seeded. */
export function latencySampler(seed = 7, figures: Record<string, LatencyFigure> = LATENCY): (commandName: string) => number {
  const rnd = lcg(seed);
  return (commandName) => {
    const f = figures[commandName];
    if (!f) throw new Error(`latency model: no figure for ${commandName}; add one to LATENCY`);
    // Box–Muller: one standard normal from two uniforms in (0, 1].
    const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    const sigma = Math.log(f.p99 / f.p50) / Z99;
    return f.p50 * Math.exp(sigma * z);
  };
}
