/**
 * End to end on the local cloud: NOT MEASURED YET.
 *
 * TODO(local cloud, issue 3): once `local/` can start both stacks in-process,
 * fill `endToEnd()` with: events/s accepted (POST → 202) and landed (in the
 * analytics landing bucket), p50 and p99 from 202 to `visible: true`, each
 * beside the raw emulators' own PutRecords and PutItem rates measured in the
 * same run, reported as ratios. Return rows in the shape below; run.ts prints
 * and stores whatever this returns.
 */
export interface EndToEndRow {
  metric: string;
  value: number | null;
  rawEmulatorValue: number | null;
  ratio: number | null;
  note: string;
}

export async function endToEnd(): Promise<EndToEndRow[]> {
  return [{ metric: "end to end on the local cloud", value: null, rawEmulatorValue: null, ratio: null, note: "TODO: skipped, the local cloud is being built (bench/e2e.ts)" }];
}
