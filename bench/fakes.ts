/**
 * In-memory stand-ins for the SDK *clients*, used only to measure handler CPU
 * outside I/O (no HTTP, no SDK serialisation, no emulator): `send` answers
 * at once. Every request count the bench reports comes from the emulators.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { median } from "./stats";

type Item = Record<string, AttributeValue>;

/** A DynamoDB client that keeps items in memory and never fails a condition (one writer). */
export function fakeDynamo(): {
  send(command: any): Promise<any>;
  answer(name: string, input: any): any;
  counts: Record<string, number>;
  /** The items by table, then by key. */
  tables: Record<string, Record<string, Item>>;
} {
  const tables: Record<string, Record<string, Item>> = {};
  const counts: Record<string, number> = {};
  const table = (name: string) => (tables[name] ??= {});
  const keyOf = (key: Item) => JSON.stringify(key.pk) + JSON.stringify(key.sk ?? null);
  const answer = (name: string, input: any): any => {
    counts[name] = (counts[name] ?? 0) + 1;
    switch (name) {
      case "BatchGetItemCommand": {
        const Responses: Record<string, Item[]> = {};
        for (const [t, req] of Object.entries<any>(input.RequestItems)) {
          Responses[t] = req.Keys.map((k: Item) => table(t)[keyOf(k)]).filter(Boolean);
        }
        return { Responses, UnprocessedKeys: {} };
      }
      case "GetItemCommand":
        return { Item: table(input.TableName)[keyOf(input.Key)] };
      case "PutItemCommand":
        table(input.TableName)[keyOf(input.Item)] = input.Item;
        return {};
      case "BatchWriteItemCommand":
        for (const [t, reqs] of Object.entries<any>(input.RequestItems)) for (const r of reqs) table(t)[keyOf(r.PutRequest.Item)] = r.PutRequest.Item;
        return { UnprocessedItems: {} };
      default:
        throw new Error(`fakeDynamo: ${name} not supported`);
    }
  };
  return { counts, tables, answer, send: async (command: any) => answer(command.constructor.name as string, command.input) };
}

/** A Kinesis client that acknowledges every record. */
export function fakeKinesis(): { send(command: any): Promise<any>; answer(name: string, input: any): any } {
  let seq = 0;
  const answer = (name: string, input: any): any => {
    if (name === "PutRecordsCommand")
      return { FailedRecordCount: 0, Records: input.Records.map(() => ({ SequenceNumber: String(++seq), ShardId: "shardId-000000000000" })) };
    if (name === "PutRecordCommand") return { SequenceNumber: String(++seq), ShardId: "shardId-000000000000" };
    throw new Error(`fakeKinesis: ${name} not supported`);
  };
  return { answer, send: async (command: any) => answer(command.constructor.name as string, command.input) };
}

/** CPU microseconds (user + system) spent in `fn`. */
export async function cpuMicros(fn: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await fn();
  const d = process.cpuUsage(before);
  return d.user + d.system;
}

/**
 * CPU µs per event of running `batches` through handlers from `make` (each
 * repetition on a fresh handler and fake, so a projector never sees a
 * replay): the workload is cut into slices of at most 100 batches, each slice
 * timed alone, and the median slice is reported, so one GC pause or a
 * neighbour on the machine does not decide the figure.
 */
export async function medianCpuPerEvent<E extends { Records: unknown[] }>(
  make: () => (e: E) => Promise<unknown>,
  batches: E[],
  repetitions: number,
): Promise<{ median: number; mean: number; slices: number }> {
  const perEvent: number[] = [];
  let totalUs = 0;
  let totalEvents = 0;
  for (let r = 0; r < repetitions; r++) {
    const handler = make();
    for (let i = 0; i < batches.length; i += 100) {
      const slice = batches.slice(i, i + 100);
      const events = slice.reduce((n, b) => n + b.Records.length, 0);
      const us = await cpuMicros(async () => {
        for (const b of slice) await handler(b);
      });
      perEvent.push(us / events);
      totalUs += us;
      totalEvents += events;
    }
  }
  return { median: median(perEvent), mean: totalUs / totalEvents, slices: perEvent.length };
}
