/**
 * `npm run bench:producer`: the producer library's throughput against
 * kinesis-local, with and without batching and KPL aggregation, beside the
 * baseline a user would write (one PutRecord per event), all in one run on
 * the same emulator with the same concurrency. Besides events/s it counts
 * what Kinesis bills for writes: PUT payload units (one per 25 KB of each
 * record, rounded up) and the calls made.
 *
 *   npx ts-node --transpile-only bench/producer.ts [--events N] [--concurrency N]
 */
import { cliOptions, usageError } from "../local/shared/cliOptions";
import { PutRecordCommand } from "@aws-sdk/client-kinesis";
import { validate } from "../domain";
import { createProducer, Producer } from "../handlers/producer";
import { ensureStream } from "../local/deploy/emulatorResources";
import { emulatorKinesis } from "../local/emulators/clients";
import { startKinesisLocal } from "../local/emulators/emulators";

const PUT_PAYLOAD_UNIT = 25 * 1024;
// On-demand Kinesis, us-east-1: $0.08 per GB ingested; provisioned: $0.014 per million PUT payload units (25 KB each).
const USD_PER_MILLION_PUT_UNITS = 0.014;

const NAME = "npm run bench:producer";
const values = cliOptions(NAME, `usage: ${NAME} -- [--events N (default 3000)] [--concurrency N (default 64)] [--aggregates N (default 50)] [--help]`, {
  events: { type: "string", default: "3000" },
  concurrency: { type: "string", default: "64" },
  aggregates: { type: "string", default: "50" },
});
const int = (name: string, v: string | undefined) => {
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 ? n : usageError(NAME, `--${name} must be a positive integer, got ${v}`);
};
const EVENTS = int("events", values.events);
const CONCURRENCY = int("concurrency", values.concurrency);
const AGGREGATES = int("aggregates", values.aggregates);

/** Counts PutRecord(s) calls, records and PUT payload units on a client. */
function meter(client: ReturnType<typeof emulatorKinesis>) {
  const m = { calls: 0, records: 0, units: 0 };
  client.middlewareStack.add(
    (next, context) => async (args: any) => {
      const recs: { Data: Uint8Array; PartitionKey: string }[] =
        context.commandName === "PutRecordsCommand" ? args.input.Records : context.commandName === "PutRecordCommand" ? [args.input] : [];
      m.calls += 1;
      m.records += recs.length;
      for (const r of recs) m.units += Math.max(1, Math.ceil((r.Data.length + Buffer.byteLength(r.PartitionKey)) / PUT_PAYLOAD_UNIT));
      return next(args);
    },
    { step: "initialize", name: "benchMeter" },
  );
  return m;
}

const command = (i: number) => ({ aggregateId: `bench-${i % AGGREGATES}`, data: { sku: `SKU-${i}`, quantity: 1 + (i % 5), unitPriceCents: 100 + i } });

async function drive(op: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < EVENTS; i = next++) await op(i);
    }),
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main() {
  const kinesisLocal = await startKinesisLocal();
  const rows: Record<string, unknown>[] = [];
  try {
    const runs: [string, (stream: string, client: ReturnType<typeof emulatorKinesis>) => (i: number) => Promise<unknown>][] = [
      [
        "baseline: one PutRecord per event",
        (stream, client) => (i) => {
          const c = command(i);
          const envelope = {
            eventId: `e${i}`,
            aggregateId: c.aggregateId,
            type: "LineAdded",
            occurredAt: new Date().toISOString(),
            schemaVersion: 1,
            data: c.data,
          };
          return client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: c.aggregateId, Data: Buffer.from(JSON.stringify(envelope)) }));
        },
      ],
      ["producer, unbatched (one PutRecord)", (stream, client) => appender(createProducer({ kinesis: client, streamName: stream, validate }))],
      [
        "producer, batched (linger 10 ms)",
        (stream, client) => appender(createProducer({ kinesis: client, streamName: stream, validate, batching: { lingerMs: 10 } })),
      ],
      [
        "producer, batched + KPL aggregation",
        (stream, client) => appender(createProducer({ kinesis: client, streamName: stream, validate, batching: { lingerMs: 10, aggregate: true } })),
      ],
    ];
    for (const [name, make] of runs) {
      const stream = `bench-producer-${rows.length}-${Date.now()}`;
      const client = emulatorKinesis({ endpoint: kinesisLocal.endpoint });
      await ensureStream(client, stream, { shardCount: 1 });
      const m = meter(client);
      const seconds = await drive(make(stream, client));
      rows.push({
        run: name,
        events: EVENTS,
        eventsPerSecond: Math.round(EVENTS / seconds),
        kinesisCalls: m.calls,
        records: m.records,
        putPayloadUnits: m.units,
        usdPerMillionEvents: +((m.units / EVENTS) * USD_PER_MILLION_PUT_UNITS).toFixed(5),
      });
    }
  } finally {
    await kinesisLocal.close();
  }
  const base = rows[0].eventsPerSecond as number;
  console.log(
    `producer library vs one PutRecord per event: ${EVENTS} events over ${AGGREGATES} aggregates, ${CONCURRENCY} concurrent appenders, kinesis-local, 1 shard`,
  );
  console.log(
    `${"run".padEnd(38)} ${"events/s".padStart(9)} ${"×base".padStart(6)} ${"calls".padStart(6)} ${"records".padStart(8)} ${"PUT units".padStart(10)} ${"$/M events".padStart(11)}`,
  );
  for (const r of rows)
    console.log(
      `${String(r.run).padEnd(38)} ${String(r.eventsPerSecond).padStart(9)} ${((r.eventsPerSecond as number) / base).toFixed(2).padStart(6)} ${String(r.kinesisCalls).padStart(6)} ${String(r.records).padStart(8)} ${String(r.putPayloadUnits).padStart(10)} ${String(r.usdPerMillionEvents).padStart(11)}`,
    );
}

const appender = (producer: Producer) => (i: number) => {
  const c = command(i);
  return producer.append(c.aggregateId, "LineAdded", c.data);
};

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
