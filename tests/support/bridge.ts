/**
 * Test helpers for the cross-account bridge: source envelopes on a real
 * producer stream, the consumer stream read back as wire records, and
 * PutRecords observation and partial-failure injection as AWS would do it
 * (failed entries never reach the emulator and are marked in the answer).
 */
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import type { AnalyticsWireRecord } from "../../handlers/bridge/contract";
import type { EventEnvelope } from "../../handlers/shared/envelope";
import type { KinesisStreamRecord } from "../../handlers/shared/kinesisEvent";
import { CONSUMER_ACCOUNT, readStream, testKinesis } from "./aws";

type AnyClient = { middlewareStack: KinesisClient["middlewareStack"] };

/** `n` valid envelopes over `aggregates` aggregates, with ids unique to this test. */
export function makeEnvelopes(n: number, aggregates: number, tag: string, type = "OrderPlaced"): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      eventId: `${tag}-e${i}`,
      aggregateId: `${tag}-agg${i % aggregates}`,
      type,
      occurredAt: new Date(Date.UTC(2025, 0, 1, 0, 0, i % 60)).toISOString(),
      schemaVersion: 1,
      data: { n: i },
    });
  }
  return out;
}

/** Writes raw records (envelopes as JSON, or bytes as given) in order with PutRecords; returns them as Lambda delivers them. */
export async function sourceRecords(
  kinesis: KinesisClient,
  stream: string,
  items: { partitionKey: string; body: EventEnvelope | Uint8Array }[],
): Promise<KinesisStreamRecord[]> {
  for (let i = 0; i < items.length; i += 500) {
    const slice = items.slice(i, i + 500);
    const out = await kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: slice.map((it) => ({ PartitionKey: it.partitionKey, Data: it.body instanceof Uint8Array ? it.body : Buffer.from(JSON.stringify(it.body)) })),
      }),
    );
    if (out.FailedRecordCount) throw new Error(`source PutRecords failed ${out.FailedRecordCount} entries`);
  }
  const records = await readStream(kinesis, stream);
  if (records.length !== items.length) throw new Error(`read back ${records.length} source records, wrote ${items.length}`);
  return records;
}

/** Every record on the consumer stream, decoded, with its partition key. */
export async function landed(stream: string, kinesis = testKinesis(CONSUMER_ACCOUNT)): Promise<{ partitionKey: string; wire: AnalyticsWireRecord }[]> {
  const records = await readStream(kinesis, stream, CONSUMER_ACCOUNT);
  return records.map((r) => ({ partitionKey: r.kinesis.partitionKey, wire: JSON.parse(Buffer.from(r.kinesis.data, "base64").toString("utf8")) }));
}

/** One PutRecords call as the bridge sent it, before any injected fault. */
export interface PutRecordsCall {
  streamArn?: string;
  records: number;
  /** Data plus partition key bytes. */
  bytes: number;
  /** The wire ids of the entries, in order. */
  ids: string[];
}

/** Records every PutRecords call the client attempts (outermost, so injected faults are still observed). */
export function observePutRecords(client: AnyClient): PutRecordsCall[] {
  const calls: PutRecordsCall[] = [];
  client.middlewareStack.add(
    (next, context) => async (args: any) => {
      if (context.commandName === "PutRecordsCommand") {
        const entries = args.input.Records as { Data: Uint8Array; PartitionKey: string }[];
        calls.push({
          streamArn: args.input.StreamARN,
          records: entries.length,
          bytes: entries.reduce((s, e) => s + e.Data.length + Buffer.byteLength(e.PartitionKey), 0),
          ids: entries.map((e) => JSON.parse(Buffer.from(e.Data).toString("utf8")).id),
        });
      }
      return next(args);
    },
    { step: "initialize", name: "testObservePutRecords", priority: "high" },
  );
  return calls;
}

/**
 * Fails the PutRecords entries `shouldFail(id, call)` picks, as AWS would: they
 * are removed from the request before it is sent, and the answer marks them
 * with ProvisionedThroughputExceededException at their positions.
 */
export function failPutRecordsEntries(client: AnyClient, shouldFail: (id: string, call: number) => boolean): { failed: string[] } {
  const stats = { failed: [] as string[] };
  let call = 0;
  client.middlewareStack.add(
    (next, context) => async (args: any) => {
      if (context.commandName !== "PutRecordsCommand") return next(args);
      call += 1;
      const entries = args.input.Records as { Data: Uint8Array; PartitionKey: string }[];
      const fail = entries.map((e) => shouldFail(JSON.parse(Buffer.from(e.Data).toString("utf8")).id, call));
      const kept = entries.filter((_, i) => !fail[i]);
      if (kept.length === 0) {
        entries.forEach((e) => stats.failed.push(JSON.parse(Buffer.from(e.Data).toString("utf8")).id));
        return { output: { $metadata: {}, FailedRecordCount: entries.length, Records: entries.map(() => throttled()) }, response: {} };
      }
      const result: any = await next({ ...args, input: { ...args.input, Records: kept } });
      const answered = result.output.Records as object[];
      let k = 0;
      const merged = fail.map((f, i) => {
        if (!f) return answered[k++];
        stats.failed.push(JSON.parse(Buffer.from(entries[i].Data).toString("utf8")).id);
        return throttled();
      });
      result.output = { ...result.output, Records: merged, FailedRecordCount: (result.output.FailedRecordCount ?? 0) + fail.filter(Boolean).length };
      return result;
    },
    { step: "initialize", name: "testFailPutRecordsEntries", priority: "low" },
  );
  return stats;
}

function throttled() {
  return { ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded for shard (injected)" };
}

/** A RetryClock that never waits and remembers the delays asked for. */
export function recordingClock(): { sleep(ms: number): Promise<void>; random(): number; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 0.5,
  };
}

/** Producer config that reads the consumer's outputs explicitly but with a wrong ExternalId, as a mistaken config would (for `cloud.redeploy`). */
export function wrongExternalIdConfig(consumer: Record<string, string>): Record<string, string> {
  return {
    consumerStack: "",
    analyticsStreamArn: consumer.analyticsStreamArn,
    analyticsKeyArn: consumer.analyticsKeyArn,
    writerRoleArn: consumer.writerRoleArn,
    externalId: "not-the-right-one",
  };
}
