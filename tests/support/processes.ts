/** Helpers for tests that spawn the local cloud: waiting on a probe, and the processes a process started. */
import { execFileSync } from "child_process";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The probe's first defined value (a throwing probe counts as not yet), polled every 250 ms; fails after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** The processes `pid` started (its children: for the local cloud kinesis-local's supervisor, the functions' environments, stack runs). */
export function childrenOf(pid: number): number[] {
  const table = execFileSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" });
  return table
    .split("\n")
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter(([, ppid]) => ppid === pid)
    .map(([p]) => p);
}
