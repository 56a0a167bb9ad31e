/**
 * `npm start`'s start-up as a user sees it: from spawning the command to the
 * banner's `API:` line (the API serving), in memory and with a fresh
 * `--data-dir`, the median of N runs. `--tree DIR` times another checkout's
 * `npm start` (its own start script's loader), so a before and an after are
 * measured back to back on the same machine; `--marks` prints when each
 * progress line came.
 *
 *   node -r ./local/shared/transpileCache.js bench/localCloud/startup.ts [--runs 3] [--tree DIR] [--marks]
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { PROJECT_ROOT } from "../../local/shared/project";
import { median } from "../stats";

/** Seconds from spawn to serving, and the time of each line printed before it. */
export function timeStart(tree: string, dataDir?: string): Promise<{ seconds: number; marks: string[] }> {
  const pkg = JSON.parse(fs.readFileSync(path.join(tree, "package.json"), "utf8"));
  // The tree's own `npm start` loader: `node -r <hook> start.ts` or `ts-node --transpile-only start.ts`.
  const hook = /node -r (\S+)/.exec(pkg.scripts.start)?.[1] ?? "ts-node/register/transpile-only";
  const args = ["-r", hook, "local/cloud/start.ts", "--port", "0", ...(dataDir ? ["--data-dir", dataDir] : [])];
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: tree, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let seconds: number | undefined;
    const marks: string[] = [];
    child.stdout.on("data", (d: Buffer) => {
      for (const line of d.toString().split("\n"))
        if (line.trim() && seconds === undefined) marks.push(`${((Date.now() - t0) / 1000).toFixed(1)} s  ${line.slice(0, 90)}`);
      out += d.toString();
      if (seconds === undefined && /\nAPI: /.test(out)) {
        seconds = (Date.now() - t0) / 1000;
        child.kill("SIGINT");
      }
    });
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", () => (seconds === undefined ? reject(new Error(`npm start in ${tree} ended before serving:\n${out}`)) : resolve({ seconds, marks })));
  });
}

async function main() {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "3" }, tree: { type: "string", default: PROJECT_ROOT }, marks: { type: "boolean" }, help: { type: "boolean" } },
    strict: true,
  });
  if (values.help) return console.log("usage: bench/localCloud/startup.ts [--runs N] [--tree DIR] [--marks]");
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number ≥ 1, got ${values.runs}`);
  for (const mode of ["in memory", "--data-dir"]) {
    const seconds: number[] = [];
    for (let i = 0; i < runs; i++) {
      const dir = mode === "--data-dir" ? fs.mkdtempSync(path.join(os.tmpdir(), "startup-")) : undefined;
      const r = await timeStart(values.tree!, dir);
      seconds.push(r.seconds);
      if (values.marks) console.log(r.marks.join("\n"));
      // kinesis-local's supervisor may still be making its last save: the dir goes once it is done.
      if (dir) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
    }
    console.log(`${values.tree} ${mode}: ${seconds.map((s) => s.toFixed(1)).join(", ")} s, median ${median(seconds).toFixed(1)} s`);
  }
}

if (require.main === module)
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
