/**
 * `npm start -- --demo`: the domain's demo traffic (domain/demo.ts) through
 * the local API, its progress (a bar on a terminal, a plain line every two
 * seconds in a log), then a summary: throughput accepted and landed, the time
 * from 202 to visible in the read model, and whether every accepted event
 * was applied to the read model and landed.
 */
import { LocalCloud } from "./cloud";
import { demoCaller, demoHistory } from "../../domain/demo";

/** The demo's concurrent writers, and its pollers timing 202 → visible, unless told otherwise. */
export const DEMO_CLIENTS = 16;
export const DEMO_POLLERS = 8;

interface DemoOptions {
  /** Demo aggregates to write (`--orders`: orders, in the example domain); each gets the commands `demoHistory` gives it. */
  orders: number;
  /** Concurrent clients. Default {@link DEMO_CLIENTS}. */
  concurrency?: number;
  out: NodeJS.WritableStream;
  /** Progress as a bar rewritten in place (a terminal) or as plain periodic lines. Default: whether `out` is a TTY. */
  tty?: boolean;
  /** Seconds to wait for the pipeline to drain. Default 120. */
  drainTimeoutSeconds?: number;
  /** Clients polling each aggregate's last event until it is visible (the 202 → visible times). Default {@link DEMO_POLLERS}; 0: writers only. */
  pollers?: number;
}

/** The demo's figures. */
export interface DemoSummary {
  accepted: number;
  rejected: number;
  acceptSeconds: number;
  landSeconds: number;
  /** NaN without pollers. */
  visibleP50Ms: number;
  visibleP99Ms: number;
  /** Poll requests the pollers made (each a GET through the API, as a write is a POST). */
  polls: number;
  /** Every accepted event applied to the read model (the projector's EventsApplied; parked ones are not). */
  projectedAll: boolean;
  landedAll: boolean;
  /** Every event accepted, applied and landed. */
  ok: boolean;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function bar(done: number, total: number): string {
  const width = 30;
  const filled = Math.round((done / Math.max(1, total)) * width);
  return `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total}`;
}

/** Progress of one phase: on a terminal a bar rewritten at most every 100 ms; elsewhere a plain line at most every 2 s, and the last one. */
export function progressWriter(out: NodeJS.WritableStream, tty: boolean, now: () => number = Date.now) {
  let lastAt = -Infinity;
  let pending = "";
  const emit = (text: string) => {
    out.write(tty ? `\r\x1b[2K${text}` : `${text}\n`);
    [lastAt, pending] = [now(), ""];
  };
  return {
    update(text: string): void {
      if (now() - lastAt >= (tty ? 100 : 2_000)) emit(text);
      else pending = text;
    },
    /** Shows the last state if it was held back, and ends the bar's line. */
    done(): void {
      if (pending) emit(pending);
      if (tty) out.write("\n");
    },
  };
}

async function pollVisible(cloud: LocalCloud, poll: string, as: string, deadline: number, counted: () => void): Promise<boolean> {
  while (Date.now() < deadline) {
    counted();
    const res = await cloud.call(poll, { as });
    if (res.status === 200 && ((await res.json()) as { visible?: boolean }).visible) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/** Drives the traffic and prints the summary. */
export async function runDemo(cloud: LocalCloud, options: DemoOptions): Promise<DemoSummary> {
  const out = options.out;
  const runId = Date.now().toString(36);
  const histories = Array.from({ length: options.orders }, (_, i) => demoHistory(i));
  const total = histories.reduce((n, h) => n + h.length, 0);
  const before = await cloud.stats();
  let accepted = 0;
  let rejected = 0;
  let polls = 0;
  const pollerCount = options.pollers ?? DEMO_POLLERS;
  const visibleMs: number[] = [];
  const t0 = Date.now();

  const tty = options.tty ?? (out as NodeJS.WriteStream).isTTY === true;
  const writeProgress = progressWriter(out, tty);
  out.write(`demo: ${options.orders} aggregates, ${total} events, ${options.concurrency ?? DEMO_CLIENTS} clients\n`);
  // Writers don't wait for visibility (clients poll independently); a few
  // pollers time each aggregate's last event from 202 to visible.
  const pending: { poll: string; at: number; as: string }[] = [];
  let writing = true;
  let next = 0;
  const writer = async () => {
    for (let i = next++; i < histories.length; i = next++) {
      let last: { poll: string; at: number; as: string } | undefined;
      for (const [k, command] of histories[i].entries()) {
        // Authenticated as the order's customer, in whatever mode the stack declares (cloud.call).
        const res = await cloud.call(`aggregates/demo-${runId}-${i}/events`, {
          method: "POST",
          // A retried request would carry the same key and get the same event id.
          headers: { "content-type": "application/json", "idempotency-key": `${runId}-${i}-${k}` },
          body: JSON.stringify(command),
          as: demoCaller(i),
        });
        if (res.status === 202) {
          accepted += 1;
          last = { poll: ((await res.json()) as { poll: string }).poll, at: Date.now(), as: demoCaller(i) };
        } else {
          rejected += 1;
          await res.text();
        }
        writeProgress.update(`${bar(accepted + rejected, total)} accepted`);
      }
      if (last && pollerCount > 0) pending.push(last);
    }
  };
  const poller = async () => {
    while (writing || pending.length) {
      const item = pending.shift();
      if (!item) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      if (await pollVisible(cloud, item.poll, item.as, Date.now() + 60_000, () => polls++)) visibleMs.push(Date.now() - item.at);
    }
  };
  const pollers = Array.from({ length: pollerCount }, poller);
  await Promise.all(Array.from({ length: options.concurrency ?? DEMO_CLIENTS }, writer));
  const acceptSeconds = (Date.now() - t0) / 1000;
  writeProgress.done();
  writing = false;
  await Promise.all(pollers);

  const deadline = Date.now() + (options.drainTimeoutSeconds ?? 120) * 1000;
  let stats = await cloud.stats();
  const landProgress = progressWriter(out, tty);
  while (Date.now() < deadline) {
    stats = await cloud.stats();
    const landed = stats.landed - before.landed;
    landProgress.update(`${bar(landed, accepted)} landed in the analytics account`);
    if (stats.applied - before.applied >= accepted && landed >= accepted) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const landSeconds = (Date.now() - t0) / 1000;
  landProgress.done();
  visibleMs.sort((a, b) => a - b);
  const summary: DemoSummary = {
    accepted,
    rejected,
    acceptSeconds,
    landSeconds,
    visibleP50Ms: percentile(visibleMs, 50),
    visibleP99Ms: percentile(visibleMs, 99),
    polls,
    projectedAll: stats.applied - before.applied >= accepted,
    landedAll: stats.landed - before.landed >= accepted,
    ok: false,
  };
  summary.ok = summary.projectedAll && summary.landedAll && rejected === 0;
  out.write("\n");
  out.write(`accepted   ${accepted} events (${rejected} rejected) in ${acceptSeconds.toFixed(1)} s = ${(accepted / acceptSeconds).toFixed(0)} events/s\n`);
  out.write(
    `landed     ${stats.landed - before.landed} records in ${landSeconds.toFixed(1)} s from the first request = ${((stats.landed - before.landed) / landSeconds).toFixed(0)} events/s\n`,
  );
  if (pollerCount > 0)
    out.write(`202→visible p50 ${summary.visibleP50Ms} ms, p99 ${summary.visibleP99Ms} ms (${visibleMs.length} aggregates polled, ${polls} polls)\n`);
  out.write(`parked ${stats.parked - before.parked}, dead-lettered ${stats.deadLettered - before.deadLettered}\n`);
  out.write(`every accepted event applied to the read model: ${summary.projectedAll ? "yes" : "NO"}; landed: ${summary.landedAll ? "yes" : "NO"}\n`);
  return summary;
}
