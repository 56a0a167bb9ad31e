/**
 * The long property run, on demand: `npm run properties` (10,000 runs per
 * property by default; `NUM_RUNS=n` or the first argument overrides). Starts
 * the emulators like the test hooks, runs the properties of
 * tests/properties/pipeline.test.ts through fast-check, prints progress, the
 * faults injected by kind and, for any failure, the seed, the path and the
 * shrunk counterexample. Replay a failure with
 *   SEED=<seed> FC_PATH=<path> NUM_RUNS=1 npm run properties
 * (or the same variables with `npx mocha -g "properties"`).
 */
import * as fc from "fast-check";
import { startDynalite, startKinesisLocal } from "../tests/support/emulators";
import { REGION } from "../tests/support/aws";
import { FAULT_TOTALS, formatCounts } from "../tests/support/faults";
import { BridgeOptions, createWorld, historyArb, pipelineRun, runParameters, scheduleArb } from "../tests/properties/pipeline";

async function main(): Promise<number> {
  const runs = Number(process.argv[2] ?? process.env.NUM_RUNS ?? 10_000);
  if (!Number.isInteger(runs) || runs <= 0) throw new Error(`runs must be a positive integer, got ${process.argv[2] ?? process.env.NUM_RUNS}`);
  process.env.NUM_RUNS = String(runs);
  const [dynamo, kinesis] = await Promise.all([startDynalite(), startKinesisLocal()]);
  process.env.AWS_REGION = REGION;
  process.env.AWS_ACCESS_KEY_ID = "111111111111";
  process.env.AWS_SECRET_ACCESS_KEY = "local";
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  process.env.AWS_ENDPOINT_URL_KINESIS = kinesis.endpoint;
  const world = await createWorld();
  let failed = 0;
  const variants: { name: string; options: (mode: string) => BridgeOptions }[] = [
    { name: "P1-P4 without partial PutRecords failures", options: () => ({ checkOrder: true, partialFailures: false }) },
    { name: "P1-P4 with partial PutRecords failures", options: (mode) => ({ aggregate: mode, checkOrder: mode === "sourceShard", partialFailures: true }) },
  ];
  const modes: string[] = (require("../handlers/bridge/contract").AGGREGATE_MODES as string[] | undefined)?.slice() ?? ["off"];
  try {
    for (const v of variants) {
      const started = Date.now();
      let done = 0;
      let records = 0;
      const result = await fc.check(
        fc.asyncProperty(historyArb, scheduleArb, fc.constantFrom(...modes), async (history, schedule, mode) => {
          const r = await pipelineRun(world, history, schedule, v.options(mode));
          done += 1;
          records += r.projector.records;
          if (done % 500 === 0) console.log(`  ${v.name}: ${done}/${runs} runs, ${records} records, ${Math.round((Date.now() - started) / 1000)} s`);
        }),
        runParameters(runs),
      );
      if (result.failed) {
        failed += 1;
        console.log(`FAILED ${v.name} after ${result.numRuns} runs`);
        console.log(`  seed: ${result.seed}`);
        console.log(`  path: ${result.counterexamplePath}`);
        console.log(`  replay: SEED=${result.seed} FC_PATH=${result.counterexamplePath} NUM_RUNS=1 npm run properties`);
        console.log(`  counterexample: ${fc.stringify(result.counterexample)}`);
        console.log(`  error: ${result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)}`);
      } else {
        console.log(`ok ${v.name}: ${result.numRuns} runs (seed ${result.seed}), ${records} records, ${Math.round((Date.now() - started) / 1000)} s`);
      }
    }
    console.log(`faults injected by kind: ${formatCounts(FAULT_TOTALS)}`);
  } finally {
    await world.close();
    await Promise.all([dynamo.close(), kinesis.close()]);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
