/**
 * End to end on the local cloud: the demo's traffic through the HTTP API,
 * beside the raw emulators' own PutRecords and PutItem rates measured in the
 * same run on the same emulators, so the ratios say what the pipeline adds.
 */
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { PutRecordCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { Writable } from "stream";
import { LocalCloud, startLocalCloud } from "../../local/cloud/cloud";
import { DEMO_CLIENTS, DEMO_POLLERS, runDemo } from "../../local/cloud/demo";
import { ensureStream, ensureTable, stringKeys } from "../../local/deploy/emulatorResources";
import { emulatorDynamo, emulatorKinesis } from "../../local/emulators/clients";
import { cpuSecondsByRole, cpuSnapshot } from "./processCpu";

/** One measured figure beside its raw-emulator reference. */
export interface EndToEndRow {
  metric: string;
  value: number | null;
  rawEmulatorValue: number | null;
  ratio: number | null;
  note: string;
}

/** The raw reference's clients: as many as the demo's writers. */
const CONCURRENCY = DEMO_CLIENTS;
const WRITERS = `${DEMO_CLIENTS} writers`;
const POLLED = `${DEMO_CLIENTS} writers and ${DEMO_POLLERS} pollers`;
/** Orders of the warm-up pass: every function environment started and its code optimised before measuring. */
const WARM_UP_ORDERS = 60;

async function concurrently(n: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < n; i = next++) await op(i);
    }),
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Raw emulator rates with the same concurrency as the demo's clients. */
async function rawRates(endpoints: { kinesis: string; dynamodb: string }, n: number) {
  const kinesis = emulatorKinesis({ endpoint: endpoints.kinesis });
  const dynamo = emulatorDynamo({ endpoint: endpoints.dynamodb });
  const stream = `bench-raw-${Date.now()}`;
  await ensureStream(kinesis, stream, { shardCount: 1 });
  await ensureTable(dynamo, stream, stringKeys("pk"));
  const data = Buffer.from(JSON.stringify({ type: "OrderPaid", data: { amountCents: 100 }, pad: "x".repeat(150) }));
  const cpuBefore = cpuSnapshot();
  const putRecord = n / (await concurrently(n, (i) => kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: `k${i}`, Data: data }))));
  const putRecordCpu = cpuSecondsByRole(cpuBefore, cpuSnapshot());
  const batches = Math.ceil(n / 100);
  const putRecords =
    (batches * 100) /
    (await concurrently(batches, (b) =>
      kinesis.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: Array.from({ length: 100 }, (_, i) => ({ PartitionKey: `k${b}-${i}`, Data: data })),
        }),
      ),
    ));
  const putItem =
    n / (await concurrently(n, (i) => dynamo.send(new PutItemCommand({ TableName: stream, Item: { pk: { S: `k${i}` }, state: { S: data.toString() } } }))));
  kinesis.destroy();
  dynamo.destroy();
  return { putRecord, putRecords, putItem, putRecordCpuMs: perCall(putRecordCpu, n) };
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** CPU ms per unit of work, by role, with their total. */
function perCall(seconds: Record<string, number> | null, n: number): Record<string, number> | null {
  if (!seconds) return null;
  const out: Record<string, number> = {};
  for (const [role, s] of Object.entries(seconds)) out[role] = round((s * 1000) / n, 2);
  out.total = round((Object.values(seconds).reduce((a, b) => a + b, 0) * 1000) / n, 2);
  return out;
}

/** What each role's row holds, beside the raw reference; a function's row has none. */
const ROLE_NOTES: Record<string, string> = {
  orchestrator: "HTTP API, IAM proxies, dynalite, s3rver, mappings, Firehose and the bench's clients; raw: the bench's SDK client",
  "kinesis-local": "raw: per PutRecord",
  total: `every process of the local cloud, ${WRITERS}; raw: per PutRecord`,
};

/**
 * Where the CPU of an accepted event goes, role by role, from the first request until every event has
 * landed (so the projector's, the bridge's and Firehose's work is in it), beside what one raw PutRecord
 * cost the same roles: on 2 cores the demo is bound by the sum, the raw rate by kinesis-local's one thread.
 */
function cpuRows(demo: Record<string, number> | null, raw: Record<string, number> | null): EndToEndRow[] {
  if (!demo) return [];
  return Object.entries(demo)
    .sort(([a], [b]) => (a === "total" ? 1 : b === "total" ? -1 : (demo[b] ?? 0) - (demo[a] ?? 0)))
    .map(([role, ms]) => {
      // A function does nothing for a raw PutRecord: its idle share there is noise, not a reference.
      const reference = role.startsWith("function ") ? undefined : raw?.[role];
      return {
        metric: `CPU ms per accepted event: ${role}`,
        value: ms,
        rawEmulatorValue: reference ?? null,
        ratio: reference ? round(ms / reference, 2) : null,
        // The archive's mapping batches for up to a minute, longer than a pass: its work falls outside the span.
        note: ROLE_NOTES[role] ?? (ms === 0 ? "no invocation in the measured span (its batching window is longer)" : "cold starts included"),
      };
    });
}

/** CPU ms per accepted event of one run of the demo, by role (null where /proc is not readable). */
async function measuredDemo(cloud: LocalCloud, orders: number, pollers: number) {
  const silent = new Writable({ write: (_c, _e, done) => done() });
  const cpuBefore = cpuSnapshot();
  const demo = await runDemo(cloud, { orders, out: silent, pollers });
  return { demo, cpu: perCall(cpuSecondsByRole(cpuBefore, cpuSnapshot()), demo.accepted) };
}

/**
 * Runs the demo's traffic on a fresh local cloud twice, and measures the raw emulators beside it: first its
 * 16 writers alone, the raw reference's shape (16 clients writing), for the accepted rate and the CPU per
 * event; then with its 8 pollers too, for the 202 → visible times (each poll is a GET through the API, about
 * as costly as a write, so they share the CPU with the writers), after a short unmeasured warm-up.
 */
export async function endToEnd(quick = false): Promise<EndToEndRow[]> {
  const cloud = await startLocalCloud({ apiPort: 0 });
  try {
    const raw = await rawRates(cloud.endpoints, quick ? 500 : 2000);
    const orders = quick ? 150 : 500;
    // Unmeasured, so that neither pass carries the functions' cold starts and JIT warm-up (the first pass did:
    // 83 against 105 accepted events/s in one quick run), as the raw reference runs on a warm kinesis-local.
    await measuredDemo(cloud, WARM_UP_ORDERS, 0);
    const writers = await measuredDemo(cloud, orders, 0);
    const polled = await measuredDemo(cloud, orders, DEMO_POLLERS);
    const acceptedRate = (d: typeof writers.demo) => d.accepted / d.acceptSeconds;
    const accepted = (d: typeof writers.demo, how: string, note: string): EndToEndRow => ({
      metric: `accepted, events/s (POST → 202), ${how}`,
      value: round(acceptedRate(d)),
      rawEmulatorValue: round(raw.putRecord),
      ratio: round(acceptedRate(d) / raw.putRecord, 3),
      note,
    });
    const landed = writers.demo.accepted / writers.demo.landSeconds;
    return [
      {
        metric: "startup to serving, s",
        value: round(cloud.startupSeconds),
        rawEmulatorValue: null,
        ratio: null,
        note: "both stacks deployed into fresh emulators",
      },
      accepted(writers.demo, WRITERS, `raw: PutRecord calls/s, ${CONCURRENCY} clients`),
      accepted(polled.demo, POLLED, `${round(polled.demo.polls / polled.demo.accepted, 2)} polls per accepted event`),
      {
        metric: "landed, events/s (202 → S3 landing)",
        value: round(landed),
        rawEmulatorValue: round(raw.putRecords),
        ratio: round(landed / raw.putRecords, 3),
        note: `${WRITERS}; bounded by acceptance here; raw: records/s through PutRecords of 100`,
      },
      {
        metric: "projected, raw PutItem reference",
        value: null,
        rawEmulatorValue: round(raw.putItem),
        ratio: null,
        note: `raw: PutItem calls/s, ${CONCURRENCY} clients (one per event is the naive projector)`,
      },
      {
        metric: "202 → visible p50, ms",
        value: polled.demo.visibleP50Ms,
        rawEmulatorValue: null,
        ratio: null,
        note: `${POLLED}; includes the mapping's declared 1 s batching window`,
      },
      {
        metric: "202 → visible p99, ms",
        value: polled.demo.visibleP99Ms,
        rawEmulatorValue: null,
        ratio: null,
        note: `all projected and landed: ${writers.demo.ok && polled.demo.ok} (${writers.demo.accepted} + ${polled.demo.accepted} events)`,
      },
      ...cpuRows(writers.cpu, raw.putRecordCpuMs),
      {
        metric: "CPU ms per accepted event: total, with pollers",
        value: polled.cpu?.total ?? null,
        rawEmulatorValue: raw.putRecordCpuMs?.total ?? null,
        ratio: polled.cpu && raw.putRecordCpuMs ? round(polled.cpu.total / raw.putRecordCpuMs.total, 2) : null,
        note: `every process, ${POLLED}; raw: per PutRecord`,
      },
    ];
  } finally {
    await cloud.stop();
  }
}
