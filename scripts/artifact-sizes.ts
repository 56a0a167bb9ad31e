/**
 * Prints each Lambda artifact's size: the archive `pulumi up` would upload
 * for the producer stack (taken under Pulumi mocks, no cloud), beside what
 * `aws.lambda.CallbackFunction` packages with its defaults.
 *
 *   npm run artifacts
 */
import { defaultPackagingBytes, writeArtifact } from "../local/deploy/artifacts";
import { PRODUCER_FUNCTIONS, runProducer } from "../local/deploy/sampleProducer";
import { TYPES } from "../components/parts/typeTokens";
import { cliOptions } from "../local/shared/cliOptions";

const USAGE = `usage: npm run artifacts: each Lambda artifact's files, packages and zip bytes (no options)
  --help   this text`;

async function main() {
  cliOptions("npm run artifacts", USAGE, {});
  const run = await runProducer();
  const rows: { fn: string; files: number; packages: number; zipBytes: number }[] = [];
  for (const fn of PRODUCER_FUNCTIONS) {
    const artifact = await writeArtifact(run.one(TYPES.function, fn).inputs.code, fn);
    rows.push({ fn, files: artifact.files.length, packages: artifact.packages.length, zipBytes: artifact.zipBytes });
  }
  const defaults = await defaultPackagingBytes();
  console.log("function                        files  packages   zip bytes");
  for (const r of rows)
    console.log(`${r.fn.padEnd(30)} ${String(r.files).padStart(6)} ${String(r.packages).padStart(9)} ${r.zipBytes.toLocaleString("en").padStart(11)}`);
  console.log(`${"(CallbackFunction defaults)".padEnd(30)} ${"".padStart(6)} ${"".padStart(9)} ${defaults.toLocaleString("en").padStart(11)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
