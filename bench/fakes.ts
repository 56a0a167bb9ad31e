/**
 * In-memory stand-ins for the SDK *clients*, used only to measure handler CPU
 * outside I/O (no HTTP, no SDK serialisation, no emulator): `send` answers
 * at once. Every request count the bench reports comes from the emulators.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";

type Item = Record<string, AttributeValue>;

/** A DynamoDB client that keeps items in memory and never fails a condition (one writer). */
export function fakeDynamo(): { send(command: any): Promise<any>; counts: Record<string, number> } {
  const tables: Record<string, Record<string, Item>> = {};
  const counts: Record<string, number> = {};
  const table = (name: string) => (tables[name] ??= {});
  const keyOf = (key: Item) => JSON.stringify(key.pk) + JSON.stringify(key.sk ?? null);
  return {
    counts,
    async send(command: any) {
      const name = command.constructor.name as string;
      counts[name] = (counts[name] ?? 0) + 1;
      const input = command.input;
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
    },
  };
}

/** A Kinesis client that acknowledges every record. */
export function fakeKinesis(): { send(command: any): Promise<any> } {
  let seq = 0;
  return {
    async send(command: any) {
      const name = command.constructor.name as string;
      if (name === "PutRecordsCommand") return { FailedRecordCount: 0, Records: command.input.Records.map(() => ({ SequenceNumber: String(++seq), ShardId: "shardId-000000000000" })) };
      if (name === "PutRecordCommand") return { SequenceNumber: String(++seq), ShardId: "shardId-000000000000" };
      throw new Error(`fakeKinesis: ${name} not supported`);
    },
  };
}

/** CPU microseconds (user + system) spent in `fn`. */
export async function cpuMicros(fn: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await fn();
  const d = process.cpuUsage(before);
  return d.user + d.system;
}
