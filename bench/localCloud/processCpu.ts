/**
 * CPU time of the local cloud's processes, by role, read from /proc: this
 * process (the orchestrator: HTTP API, IAM proxies, dynalite, s3rver, mapping
 * pollers, Firehose, and the bench's own clients), kinesis-local, and each
 * function's execution environments. Two snapshots around a phase give the
 * CPU each role spent in it; an environment started during the phase counts
 * whole (its cold start is part of the cost), one that ended during it is
 * missed. Linux only: elsewhere a snapshot is empty and the figures are null.
 */
import * as fs from "fs";

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's utime and stime, is 100 on every architecture Node supports. */
const TICKS_PER_SECOND = 100;

/** CPU ticks by pid, with each pid's role. */
export type CpuSnapshot = Map<number, { role: string; ticks: number }>;

/** The role of a process of the local cloud, from its command line; undefined for a process that is not one. */
export function processRole(argv: string[]): string | undefined {
  if (argv.some((a) => a.endsWith("kinesisSupervisor.js"))) return "kinesis-local";
  const worker = argv.findIndex((a) => a.endsWith("functionWorker.js"));
  if (worker < 0) return undefined;
  try {
    // The worker's argument names the function; the deployed name's random suffix is dropped.
    const name = String((JSON.parse(argv[worker + 1] ?? "{}") as { functionName?: unknown }).functionName ?? "function");
    return `function ${name.replace(/-[0-9a-f]{7}$/, "")}`;
  } catch {
    return "function";
  }
}

function stat(pid: number): { ppid: number; ticks: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces) in parentheses: state, ppid, … utime (14th), stime (15th).
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** This process and its descendants that have a role, with their CPU ticks so far. */
export function cpuSnapshot(root = process.pid): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  let pids: number[];
  try {
    pids = fs
      .readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return out;
  }
  const stats = new Map(pids.map((pid) => [pid, stat(pid)] as const));
  const descends = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; p = stats.get(p)?.ppid, hops++) if (p === root) return true;
    return false;
  };
  for (const [pid, s] of stats) {
    if (!s) continue;
    if (pid === root) {
      out.set(pid, { role: "orchestrator", ticks: s.ticks });
      continue;
    }
    if (!descends(pid)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const role = processRole(argv);
    if (role) out.set(pid, { role, ticks: s.ticks });
  }
  return out;
}

/** CPU seconds per role between two snapshots (a pid only in `after` counts from zero); null when /proc gave nothing. */
export function cpuSecondsByRole(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> | null {
  if (after.size === 0) return null;
  const out: Record<string, number> = {};
  for (const [pid, { role, ticks }] of after) out[role] = (out[role] ?? 0) + (ticks - (before.get(pid)?.ticks ?? 0)) / TICKS_PER_SECOND;
  return out;
}
