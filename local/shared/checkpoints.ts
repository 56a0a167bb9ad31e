/**
 * The checkpoints the local cloud keeps with `--data-dir`: how far each
 * event-source mapping and each Firehose delivery stream has got in each
 * shard of its source, so a restart resumes where it stopped instead of
 * delivering the stream's whole history again. One small JSON file per
 * reader, replaced atomically (written beside, then renamed over) after each
 * successful batch or delivered object, so a crash leaves the last whole
 * checkpoint. `npm run replay` (scripts/replay.ts) removes them.
 */
import * as fs from "fs";
import * as path from "path";

/** What reads a stream: an event-source mapping or a Firehose delivery stream. */
export type ReaderKind = "mapping" | "firehose";

/** One shard's checkpoint: the last sequence number done (delivered or given up on), and whether the shard is drained. */
export interface ShardCheckpoint {
  sequenceNumber?: string;
  /** Closed by resharding and read to its end: its children may start. */
  drained?: true;
}

/** A reader's checkpoints, as stored. */
export interface ReaderCheckpoints {
  kind: ReaderKind;
  /** The reader's logical name (a mapping) or physical name (a delivery stream). */
  name: string;
  /** The stream ARN it reads: checkpoints of another stream are never used. */
  source: string;
  shards: Record<string, ShardCheckpoint>;
  updatedAt?: string;
}

/** One reader's checkpoint file. */
export interface CheckpointStore {
  readonly file: string;
  /** The stored shards, or none when there is no file or it is of another source. */
  load(): Record<string, ShardCheckpoint>;
  /** Replaces the file with these shards. */
  save(shards: Record<string, ShardCheckpoint>): void;
}

/** Where a data dir keeps its checkpoints. */
export const checkpointsDir = (dataDir: string): string => path.join(path.resolve(dataDir), "checkpoints");

/** The file of one reader: `<kind>-<name>.json`, the name made safe for a path. */
export function checkpointFile(dir: string, kind: ReaderKind, name: string): string {
  return path.join(dir, `${kind}-${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`);
}

/** Writes `data` as JSON to `file` atomically: a reader (or a restart after a crash) sees the old file or the new one, never half of one. */
export function writeJsonAtomic(file: string, data: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(data, null, 2)}\n`);
  fs.renameSync(temporary, file);
}

/** Reads a checkpoint file; a file that is not one is an error naming it. */
export function readCheckpoints(file: string): ReaderCheckpoints {
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as ReaderCheckpoints;
  if (!parsed || typeof parsed !== "object" || typeof parsed.name !== "string" || typeof parsed.shards !== "object")
    throw new Error(`${file} is not a checkpoint file: it must hold {kind, name, source, shards}`);
  return parsed;
}

/** Every checkpoint file in `dir`, sorted by file name. */
export function listCheckpoints(dir: string): { file: string; checkpoints: ReaderCheckpoints }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({ file: path.join(dir, f), checkpoints: readCheckpoints(path.join(dir, f)) }));
}

/** The checkpoint file of one reader of `source` in `dir`. */
export function checkpointStore(dir: string, kind: ReaderKind, name: string, source: string): CheckpointStore {
  const file = checkpointFile(dir, kind, name);
  return {
    file,
    load() {
      if (!fs.existsSync(file)) return {};
      const stored = readCheckpoints(file);
      return stored.source === source ? stored.shards : {};
    },
    save(shards) {
      writeJsonAtomic(file, { kind, name, source, shards, updatedAt: new Date().toISOString() } satisfies ReaderCheckpoints);
    },
  };
}
