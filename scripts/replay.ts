/**
 * `npm run replay`: make a stopped local cloud deliver a stream again. With
 * `--data-dir` the local cloud keeps each event-source mapping's and each
 * Firehose delivery stream's checkpoints, so a restart resumes where it
 * stopped; this removes the chosen checkpoints, and the next
 * `npm start -- --data-dir DIR` reads those streams from the mapping's
 * starting position (TRIM_HORIZON here) again. The read model is unchanged by
 * a replay (positions and event ids make it a no-op); the bridge forwards
 * again and Firehose lands again, which the consumer dedups on `id`.
 *
 *   npm run replay -- --data-dir DIR --list
 *   npm run replay -- --data-dir DIR --mapping NAME [--mapping NAME …]
 *   npm run replay -- --data-dir DIR --firehose NAME
 *   npm run replay -- --data-dir DIR --all
 */
import * as fs from "fs";
import { cliOptions, usageError } from "../local/shared/cliOptions";
import { checkpointsDir, listCheckpoints, ReaderCheckpoints } from "../local/shared/checkpoints";
import { dataDirLockFile, pidFileHolder } from "../local/shared/runningCloud";

const USAGE = `usage: npm run replay -- --data-dir DIR (--list | --mapping NAME … | --firehose NAME … | --all)
  --data-dir DIR     the stopped local cloud's data dir (as given to npm start -- --data-dir)
  --list             print every checkpoint kept there
  --mapping NAME     replay this event-source mapping (its logical name, as --list shows it); repeatable
  --firehose NAME    replay into the landing again: this delivery stream's checkpoints; repeatable
  --all              replay every mapping and delivery stream
  --help             this text`;

/** Parses the command line; a bad one is a one-line error before anything is read. */
function options(argv: string[]) {
  const values = cliOptions(
    "replay",
    USAGE,
    {
      "data-dir": { type: "string" },
      list: { type: "boolean" },
      mapping: { type: "string", multiple: true },
      firehose: { type: "string", multiple: true },
      all: { type: "boolean" },
    },
    argv,
  );
  const dataDir = values["data-dir"];
  if (!dataDir) throw new Error("--data-dir DIR is required: the data dir the local cloud ran with");
  const chosen = [values.list, values.all, values.mapping, values.firehose].filter((v) => v !== undefined).length;
  if (chosen !== 1 && !(values.mapping && values.firehose && chosen === 2)) throw new Error("give one of --list, --all, or --mapping / --firehose NAME");
  return {
    dataDir,
    list: values.list === true,
    all: values.all === true,
    mappings: values.mapping ?? [],
    firehoses: values.firehose ?? [],
  };
}

const describe = (c: ReaderCheckpoints) =>
  `${c.kind.padEnd(8)} ${c.name}  (${Object.keys(c.shards).length} shard(s) of ${c.source}${c.updatedAt ? `, updated ${c.updatedAt}` : ""})`;

function main(): number {
  let opts: ReturnType<typeof options>;
  try {
    opts = options(process.argv.slice(2));
  } catch (err) {
    return usageError("replay", (err as Error).message);
  }
  if (!fs.existsSync(opts.dataDir)) {
    return usageError("replay", `--data-dir ${opts.dataDir} does not exist`);
  }
  const holder = pidFileHolder(dataDirLockFile(opts.dataDir));
  if (holder !== undefined) {
    console.error(`replay: the local cloud with pid ${holder} is running on ${opts.dataDir}; stop it first (Ctrl-C), then replay`);
    return 1;
  }
  const kept = listCheckpoints(checkpointsDir(opts.dataDir));
  if (opts.list) {
    for (const { checkpoints } of kept) console.log(describe(checkpoints));
    if (kept.length === 0) console.log(`no checkpoints in ${opts.dataDir}: the next start delivers every stream from its starting position`);
    return 0;
  }
  const wanted = (kind: string, names: string[]) => names.map((name) => ({ kind, name }));
  const asked = [...wanted("mapping", opts.mappings), ...wanted("firehose", opts.firehoses)];
  const unknown = asked.filter((a) => !kept.some((k) => k.checkpoints.kind === a.kind && k.checkpoints.name === a.name));
  if (unknown.length) {
    const known = kept.map((k) => `${k.checkpoints.kind} ${k.checkpoints.name}`).join(", ") || "none";
    console.error(`replay: no checkpoints for ${unknown.map((u) => `${u.kind} ${u.name}`).join(", ")} in ${opts.dataDir}; kept: ${known}`);
    return 1;
  }
  const chosen = opts.all ? kept : kept.filter((k) => asked.some((a) => a.kind === k.checkpoints.kind && a.name === k.checkpoints.name));
  for (const { file, checkpoints } of chosen) {
    fs.rmSync(file, { force: true });
    console.log(`replay: ${describe(checkpoints)}: checkpoints removed`);
  }
  // --all with nothing kept: every stream is read from its starting position already (as --list says).
  const what = chosen.length ? "those streams" : "every stream (no checkpoints were kept)";
  console.log(`the next \`npm start -- --data-dir ${opts.dataDir}\` delivers ${what} again from the start`);
  return 0;
}

process.exitCode = main();
