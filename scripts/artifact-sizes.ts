/**
 * Prints each Lambda artifact's size: the archive `pulumi up` would upload
 * for the producer stack (taken under Pulumi mocks, no cloud), beside what
 * `aws.lambda.CallbackFunction` packages with its defaults.
 *
 *   npm run artifacts
 */
import * as pulumi from "@pulumi/pulumi";
import { writeArtifact } from "../local/deploy/artifacts";
import { runProducer } from "../tests/support/producerRun";
import { TYPES } from "../components/parts/typeTokens";

const FUNCTIONS = ["orders-projector", "commands-handler", "analytics-bridge-forwarder"];

/** What a CallbackFunction with default packaging would upload for the same code. */
async function defaultPackagingBytes(): Promise<number> {
  const aws = require("@pulumi/aws");
  const fn = new aws.lambda.CallbackFunction("defaults-probe", {
    role: "arn:aws:iam::111111111111:role/probe",
    runtime: "nodejs22.x",
    callback: async () => ({ ok: true }),
  });
  const code = await new Promise<any>((resolve) => (fn.code as pulumi.Output<any>).apply(resolve));
  return (await writeArtifact(code, "defaults")).zipBytes;
}

async function main() {
  const run = await runProducer();
  const rows: { fn: string; files: number; packages: number; zipBytes: number }[] = [];
  for (const fn of FUNCTIONS) {
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
