/**
 * Lambda artifacts: each function's deployment zip as `pulumi up` would upload
 * it (the producer stack under Pulumi mocks, as scripts/artifact-sizes.ts
 * does), beside what CallbackFunction packages with its defaults; and cold
 * start: a fresh child process per measurement loads the archive as
 * local/deploy/artifacts.ts loadHandler does and serves one event against the
 * emulators (timed inside the child, after its own start-up).
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { defaultPackagingBytes, writeArtifact } from "../local/deploy/artifacts";
import { ensureBucket, ensureStream, ensureTable } from "../local/deploy/emulatorResources";
import { CONSUMER, CONSUMER_OUTPUTS, PRODUCER_FUNCTIONS, runProducer } from "../local/deploy/sampleProducer";
import { emulatorDynamo, emulatorKinesis, emulatorS3 } from "../local/emulators/clients";
import { startS3 } from "../local/emulators/s3";
import { startStsStub } from "../local/sts/stub";
import { TYPES } from "../components/parts/typeTokens";
import { median } from "./stats";

export interface ArtifactRow {
  fn: string;
  zipBytes: number;
  files: number;
  packages: number;
  coldStart?: { loadMs: number; firstEventMs: number; totalMs: number; runs: number };
}

/** One cold start in a fresh process; returns the child's timings. */
/** Asynchronous: dynalite serves the child from this process, so this process must keep running. */
function coldStartOnce(dir: string, kind: string, env: Record<string, string>): Promise<{ loadMs: number; firstEventMs: number }> {
  const script = path.join(__dirname, "coldStartChild.ts");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", script, dir, kind, JSON.stringify(env)], {
      cwd: path.resolve(__dirname, ".."),
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`cold start of ${kind} failed (${code}): ${err.slice(-2000)}`));
      resolve(JSON.parse(out.trim().split("\n").pop()!));
    });
  });
}

async function samples(runs: number, dir: string, kind: string, env: Record<string, string>) {
  const out: { loadMs: number; firstEventMs: number }[] = [];
  for (let i = 0; i < runs; i++) out.push(await coldStartOnce(dir, kind, env)); // one at a time: no contention
  return out;
}

/** Archive sizes and cold starts (median of `runs` fresh processes each; a no-op handler as the baseline). */
export async function artifactRows(outDir: string, runs: number): Promise<{ rows: ArtifactRow[]; defaultPackagingBytes: number; baseline: ArtifactRow }> {
  const run = await runProducer();
  const sts = await startStsStub({ expectedExternalId: CONSUMER_OUTPUTS.externalId });
  // The archiver writes its objects to the program's archive bucket.
  const s3Server = await startS3();
  try {
    // The tables the program declared, created in the emulators as declared; the consumer's stream it writes to.
    const dynamo = emulatorDynamo();
    const kinesis = emulatorKinesis({ account: CONSUMER });
    for (const table of run.ofType(TYPES.table)) await ensureTable(dynamo, table.state.name, table.inputs);
    await ensureStream(kinesis, CONSUMER_OUTPUTS.analyticsStreamArn.split("/").pop()!, { shardCount: 1 });
    const s3 = emulatorS3({ endpoint: s3Server.endpoint });
    for (const bucket of [...run.ofType(TYPES.bucket), ...run.ofType(TYPES.bucketV2)]) await ensureBucket(s3, bucket.state.bucket);
    dynamo.destroy();
    kinesis.destroy();
    s3.destroy();
    const endpoints = {
      AWS_REGION: process.env.AWS_REGION!,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID!,
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY!,
      AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB!,
      AWS_ENDPOINT_URL_KINESIS: process.env.AWS_ENDPOINT_URL_KINESIS!,
      AWS_ENDPOINT_URL_STS: sts.endpoint,
      AWS_ENDPOINT_URL_S3: s3Server.endpoint,
    };
    const rows: ArtifactRow[] = [];
    for (const fn of PRODUCER_FUNCTIONS) {
      const r = run.one(TYPES.function, fn);
      const artifact = await writeArtifact(r.inputs.code, fn, path.join(outDir, "artifacts", fn));
      const env = { ...r.inputs.environment.variables, ...endpoints };
      const samples_ = await samples(runs, artifact.dir, fn, env);
      const loadMs = median(samples_.map((s) => s.loadMs));
      const firstEventMs = median(samples_.map((s) => s.firstEventMs));
      rows.push({
        fn,
        zipBytes: artifact.zipBytes,
        files: artifact.files.length,
        packages: artifact.packages.length,
        coldStart: { loadMs, firstEventMs, totalMs: median(samples_.map((s) => s.loadMs + s.firstEventMs)), runs },
      });
    }
    const noopDir = path.join(outDir, "artifacts", "noop");
    fs.mkdirSync(noopDir, { recursive: true });
    fs.writeFileSync(path.join(noopDir, "__index.js"), "exports.handler = async () => ({ ok: true });\n");
    const noop = await samples(runs, noopDir, "noop", endpoints);
    const baseline: ArtifactRow = {
      fn: "no-op handler (baseline)",
      zipBytes: 0,
      files: 1,
      packages: 0,
      coldStart: {
        loadMs: median(noop.map((s) => s.loadMs)),
        firstEventMs: median(noop.map((s) => s.firstEventMs)),
        totalMs: median(noop.map((s) => s.loadMs + s.firstEventMs)),
        runs,
      },
    };
    return { rows, defaultPackagingBytes: await defaultPackagingBytes(), baseline };
  } finally {
    await sts.stop();
    await s3Server.stop();
  }
}
