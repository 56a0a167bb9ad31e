/**
 * `npm run rebuild`: rebuild a read-model version from the event archive, then say whether the API may switch to it.
 *
 *   npm run rebuild -- --version 2 (--outputs producer.json | --local) [--state <file>] [--max-lag-seconds 60]
 *   npm run rebuild -- --check-archive (--outputs producer.json | --local)
 *
 * Replays every archived object into the version's tables with the version's own `reduce`
 * (domain/index.ts `readModels`) and the projector's own code, with a progress bar (a line
 * every few seconds when not a TTY), events/s and ETA; resumable: the cursor is saved after
 * each object in --state (default .rebuild/<table>.json) and a run again skips what was done.
 * Then it prints the `liveFrom` to deploy the version's live mapping with (at or before the
 * archive's end on every shard), measures the version's lag behind the stream, and ends with
 * whether cut-over (`readModelActiveVersion`) is allowed: live, and lag within the threshold.
 * --check-archive compares the archive with what the stream still holds, per shard, and
 * reports any gap. Names come from the producer stack's outputs (`pulumi stack output --json
 * --stack producer > producer.json`) or, with --local, from the running local cloud.
 * Credentials and endpoints: the standard AWS environment (AWS_PROFILE, AWS_REGION,
 * AWS_ENDPOINT_URL_<SERVICE>); --local uses the local cloud's.
 * Exit codes: 0 done (cut-over allowed, or no gap), 3 cut-over not allowed yet or a gap found, 64 bad options, 1 any other error.
 */
import * as fs from "fs";
import * as path from "path";
import { cliOptions, usageError } from "../local/shared/cliOptions";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import type { S3Client } from "@aws-sdk/client-s3";
import { readModels } from "../domain";
import { checkCompleteness, describeCompleteness } from "../handlers/archive/completeness";
import { measureLag, liveStartMs } from "../handlers/archive/lag";
import { ArchiveLocation, listArchive } from "../handlers/archive/reader";
import { rebuildFromArchive, RebuildCursor, RebuildMark, RebuildProgress } from "../handlers/archive/rebuild";
import { createProjector, DEFAULT_DEDUP_WINDOW, DEFAULT_MAX_FOLD_ATTEMPTS } from "../handlers/projector";
import { dynamoClient, kinesisClient, s3Client } from "../handlers/shared/clients";
import { readModelStore } from "../handlers/shared/readModelStore";
import { DEFAULT_RETRY_BUDGET, RetryBudget } from "../handlers/shared/retry";
import { carryOverDiscards } from "../handlers/ops/discard";
import { parkedPositionText, parkedTable } from "../handlers/shared/parkedTable";
import { bar } from "../local/cloud/demo";
import { emulatorDynamo, emulatorKinesis, emulatorS3 } from "../local/emulators/clients";
import { LOCAL_ACCOUNTS } from "../local/shared/manifest";
import { runningCloud } from "../local/shared/runningCloud";

const OPTIONS = {
  version: { type: "string" },
  outputs: { type: "string" },
  local: { type: "boolean" },
  state: { type: "string" },
  "max-lag-seconds": { type: "string" },
  "lag-window-seconds": { type: "string" },
  "check-archive": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const HELP = `usage: npm run rebuild -- --version <n> (--outputs <producer outputs.json> | --local) [--state <file>] [--max-lag-seconds <s>]
       npm run rebuild -- --check-archive (--outputs <producer outputs.json> | --local)
  --version <n>              the read-model version to rebuild (listed in readModelVersions, with readModels[n] in domain/index.ts)
  --outputs <file>           the producer stack's outputs: pulumi stack output --json --stack producer > producer.json
  --local                    the running local cloud's outputs, endpoints and credentials instead (npm start)
  --state <file>             where the replay's cursor is kept, to resume (default .rebuild/<table>.json)
  --max-lag-seconds <s>      the most the version may lag behind the stream for cut-over (default 60)
  --lag-window-seconds <s>   how far back the lag check reads the stream (default 300)
  --check-archive            only check the archive against the stream, per shard, and report any gap
  -h, --help                 this help`;

/** A bad option: one line, exit 64, before any work. */
function usage(message: string): never {
  return usageError("rebuild", message);
}

function seconds(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 86_400) usage(`--${name} must be a whole number of seconds 0–86400, got ${JSON.stringify(raw)}`);
  return n;
}

interface Target {
  outputs: Record<string, unknown>;
  s3: S3Client;
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
}

async function target(values: { outputs?: string; local?: boolean }): Promise<Target> {
  if (values.local) {
    const current = await runningCloud();
    const account = LOCAL_ACCOUNTS.producer;
    return {
      outputs: current.producer,
      s3: emulatorS3({ endpoint: current.endpoints.s3, account }),
      kinesis: emulatorKinesis({ endpoint: current.endpoints.kinesis, account }),
      dynamodb: emulatorDynamo({ endpoint: current.endpoints.dynamodb, account }),
    };
  }
  const text = fs.readFileSync(values.outputs!, "utf8");
  const outputs = JSON.parse(text) as Record<string, unknown>;
  return { outputs, s3: s3Client({ maxAttempts: 3 }), kinesis: kinesisClient({ maxAttempts: 3 }), dynamodb: dynamoClient({ maxAttempts: 3 }) };
}

function output(outputs: Record<string, unknown>, key: string): string {
  const v = outputs[key];
  if (typeof v !== "string" || !v) throw new Error(`the producer outputs have no ${key}: deploy the producer stack with the event archive first`);
  return v;
}

/** One progress line: bar, events, events/s and ETA. */
function progressLine(p: RebuildProgress): string {
  const rate = p.records / Math.max(0.001, p.elapsedMs / 1000);
  const done = p.objectsDone - p.objectsSkipped;
  const left = p.objectsTotal - p.objectsDone;
  const eta = done > 0 ? ((p.elapsedMs / done) * left) / 1000 : 0;
  const overlap = p.recordsOverlapping > 0 ? ` (${p.recordsOverlapping.toLocaleString("en-US")} more in overlapping objects, passed over)` : "";
  return `${bar(p.objectsDone, p.objectsTotal)} objects, ${p.records.toLocaleString("en-US")} events${overlap}, ${Math.round(rate).toLocaleString("en-US")} events/s, ETA ${eta.toFixed(0)} s`;
}

/** Prints progress: in place on a TTY, otherwise a line every 5 s. */
function progressPrinter(): { show(p: RebuildProgress): void; end(p: RebuildProgress): void } {
  const tty = Boolean(process.stdout.isTTY);
  let last = 0;
  return {
    show(p) {
      if (tty) process.stdout.write(`\r\x1b[2K${progressLine(p)}`);
      else if (Date.now() - last >= 5000) {
        last = Date.now();
        console.log(progressLine(p));
      }
    },
    end(p) {
      if (tty) process.stdout.write(`\r\x1b[2K`);
      console.log(progressLine(p));
    },
  };
}

function cursorFile(file: string): RebuildCursor {
  return {
    load: () => {
      if (!fs.existsSync(file)) return undefined;
      const saved = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<RebuildMark>;
      if (typeof saved.key === "string" && saved.through && typeof saved.through === "object") return { key: saved.key, through: saved.through };
      throw new Error(
        `${file} was written by an earlier rebuild, whose cursor could pass over objects archived after it ran: delete it to start again (every event still applies once) or give another --state`,
      );
    },
    save: (mark) => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(`${file}.tmp`, JSON.stringify({ ...mark, savedAt: new Date().toISOString() }));
      fs.renameSync(`${file}.tmp`, file);
    },
  };
}

async function checkArchive(t: Target, archive: ArchiveLocation, streamArn: string): Promise<number> {
  const report = await checkCompleteness(t.kinesis, streamArn, await listArchive(archive));
  for (const line of describeCompleteness(report)) console.log(line);
  const gaps = report.filter((s) => s.missing.length > 0);
  console.log(gaps.length ? `archive INCOMPLETE: ${gaps.length} shard(s) with a gap` : "archive complete: no gap on any shard");
  return gaps.length ? 3 : 0;
}

async function main(): Promise<number> {
  const values = cliOptions("rebuild", HELP, OPTIONS);
  if (!values.outputs === !values.local) usage("give exactly one of --outputs <file> and --local");
  if (values.outputs && !fs.existsSync(values.outputs)) usage(`--outputs ${values.outputs} does not exist`);
  const maxLagMs = seconds("max-lag-seconds", values["max-lag-seconds"], 60) * 1000;
  const windowMs = seconds("lag-window-seconds", values["lag-window-seconds"], 300) * 1000;
  const version = values.version === undefined ? undefined : Number(values.version);
  if (values["check-archive"]) {
    // A check of the archive reads no version: an option it would ignore is refused rather than seeming to count.
    const rebuildOnly = (["version", "state", "max-lag-seconds", "lag-window-seconds"] as const).filter((k) => values[k] !== undefined);
    if (rebuildOnly.length)
      usage(`${rebuildOnly.map((k) => `--${k}`).join(", ")} go${rebuildOnly.length === 1 ? "es" : ""} with a rebuild, not --check-archive`);
  } else {
    if (version === undefined) usage("--version is required (or --check-archive)");
    if (!Number.isInteger(version) || version < 2)
      usage(`--version must be an integer 2 or more (version 1 is the original read model), got ${JSON.stringify(values.version)}`);
    if (!readModels[version]) usage(`domain/index.ts has no readModels[${version}]: add the version's reduce there first`);
  }

  const t = await target(values);
  const streamArn = output(t.outputs, "eventStreamArn");
  const archive: ArchiveLocation = { s3: t.s3, bucket: output(t.outputs, "archiveBucketName"), prefix: output(t.outputs, "archivePrefix") };
  if (values["check-archive"]) return checkArchive(t, archive, streamArn);

  const deployed = (t.outputs.readModelVersions ?? {}) as Record<string, { tableName: string; parkedTableName: string; live: boolean; liveFrom?: string }>;
  const v = deployed[String(version)];
  if (!v) throw new Error(`version ${version} is not deployed: add {"version":${version}} to the producer's readModelVersions and deploy, then rebuild`);
  const retry = DEFAULT_RETRY_BUDGET;
  const project = createProjector({
    dynamodb: t.dynamodb,
    reduce: readModels[version!],
    config: {
      tableName: v.tableName,
      parkedTableName: v.parkedTableName,
      dedupWindow: DEFAULT_DEDUP_WINDOW,
      retry,
      maxFoldAttempts: DEFAULT_MAX_FOLD_ATTEMPTS,
    },
    log: () => undefined,
    metrics: { add: () => undefined, publish: () => undefined },
  });

  console.log(`rebuilding version ${version} (${v.tableName}) from s3://${archive.bucket}/${archive.prefix}`);
  const printer = progressPrinter();
  const done = await rebuildFromArchive({
    archive,
    project,
    streamArn,
    cursor: cursorFile(values.state ?? path.join(".rebuild", `${v.tableName}.json`)),
    onProgress: printer.show,
  });
  printer.end(done);
  if (done.objectsSkipped) console.log(`resumed: ${done.objectsSkipped} object(s) done by an earlier run were skipped`);
  await honourDiscards(t, version!, v, deployed, retry);
  const start = liveStartMs(done.ends);
  if (start !== undefined && !v.live)
    console.log(`live mapping start (liveFrom): ${new Date(start).toISOString()}  (the archive's earliest shard end, less a minute)`);
  // A live version's mapping keeps the start it was created with (ignoreChanges): a fresh time would only mislead.
  else if (v.live)
    console.log(`version ${version} is live: its mapping started at ${v.liveFrom ?? "its liveFrom"} and keeps that start (a new liveFrom is ignored)`);
  if (Number(t.outputs.readModelActiveVersion ?? 1) === version)
    console.log(`note: version ${version} is the one the API serves: the replay only applied what its tables lacked (the position guard passes the rest)`);

  const lag = await measureLag(t.kinesis, streamArn, readModelStore({ dynamodb: t.dynamodb, tableName: v.tableName, retry }), windowMs);
  console.log(`lag to live: ${(lag.lagMs / 1000).toFixed(1)} s (${lag.behind} of the ${lag.checked} records of the last ${windowMs / 1000} s not reached yet)`);
  if (!v.live) {
    console.log(
      `cut-over NOT allowed yet: version ${version} has no live mapping. Set readModelVersions[…].liveFrom to the time above and deploy, then run this again.`,
    );
    return 3;
  }
  if (lag.lagMs > maxLagMs) {
    console.log(
      `cut-over NOT allowed: version ${version} lags ${(lag.lagMs / 1000).toFixed(1)} s, above the ${maxLagMs / 1000} s threshold. Run this again shortly.`,
    );
    return 3;
  }
  console.log(`cut-over allowed: set readModelActiveVersion to ${version} and deploy.`);
  return 0;
}

/** Carries the operators' discards in the other deployed versions into the rebuilt one, and says what it did. */
async function honourDiscards(
  t: Target,
  version: number,
  v: { tableName: string; parkedTableName: string },
  deployed: Record<string, { parkedTableName: string }>,
  retry: RetryBudget,
): Promise<void> {
  const others = [...new Set([t.outputs.parkedTableName as string | undefined, ...Object.values(deployed).map((d) => d.parkedTableName)])].filter(
    (name): name is string => typeof name === "string" && name !== v.parkedTableName,
  );
  for (const table of others) {
    const discards = await parkedTable({ dynamodb: t.dynamodb, tableName: table, retry }).listDiscarded();
    if (discards.length === 0) continue;
    const config = { tableName: v.tableName, parkedTableName: v.parkedTableName, dedupWindow: DEFAULT_DEDUP_WINDOW, retry };
    const out = await carryOverDiscards(t.dynamodb, readModels[version], config, discards, table);
    console.log(
      `discards in ${table}: ${out.carried.length} carried into version ${version}, ${out.notParked.length} not parked there (its reduce applied them)`,
    );
    for (const d of out.notParked)
      console.log(`  ${d.aggregateId}\t${parkedPositionText(d)}\t${d.eventId ?? "-"}\tdiscarded by ${d.discardedBy}: ${d.discardReason}`);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`rebuild: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
