import { expect } from "chai";
import type { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import type { OutputEntry } from "../../../handlers/bridge/decode";
import { putAll } from "../../../handlers/bridge/putRecords";
import { recordingClock } from "../../support/bridge";
import { serviceError } from "../../support/sdkMiddleware";

const RETRY = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 };
const TARGET = { streamArn: "arn:aws:kinesis:us-east-1:222222222222:stream/analytics", maxRecordsPerCall: 2, maxBytesPerCall: 1000 };

function entries(n: number): OutputEntry[] {
  return Array.from({ length: n }, (_, i) => ({ source: i, partitionKey: `k${i}`, data: Buffer.from(`e${i}`), bytes: 4 }));
}

/** A Kinesis client whose PutRecords answers `answer(call, ids)`: an error code per entry (undefined: acknowledged), or throws. */
function fakeKinesis(answer: (call: number, ids: string[]) => (string | undefined)[]): { client: KinesisClient; calls: string[][] } {
  const calls: string[][] = [];
  const client = {
    send: async (command: PutRecordsCommand) => {
      const ids = (command.input.Records ?? []).map((r) => Buffer.from(r.Data!).toString("utf8"));
      calls.push(ids);
      const codes = answer(calls.length, ids);
      return { Records: codes.map((code) => (code ? { ErrorCode: code, ErrorMessage: "no" } : { SequenceNumber: "1", ShardId: "shardId-0" })) };
    },
  } as unknown as KinesisClient;
  return { client, calls };
}

describe("bridge putAll", () => {
  it("re-sends only the entries that failed transiently, in calls within the limits, and never those refused for good", async () => {
    let e1Failures = 0;
    const { client, calls } = fakeKinesis((_call, ids) =>
      ids.map((id) => (id === "e1" && e1Failures++ < 2 ? "ProvisionedThroughputExceededException" : id === "e2" ? "AccessDeniedException" : undefined)),
    );
    const clock = recordingClock();
    const out = await putAll(client, TARGET, entries(5), RETRY, clock);
    expect(calls).to.deep.equal([["e0", "e1"], ["e2", "e3"], ["e4"], ["e1"], ["e1"]]);
    expect(out.unacknowledged.map((e) => e.source)).to.deep.equal([2]);
    expect(out.attempts).to.equal(3);
    expect(clock.delays).to.deep.equal([5, 10]);
  });

  it("never takes a missing result entry for an acknowledgement: the entry is sent again", async () => {
    const calls: string[][] = [];
    const client = {
      send: async (command: PutRecordsCommand) => {
        const ids = (command.input.Records ?? []).map((r) => Buffer.from(r.Data!).toString("utf8"));
        calls.push(ids);
        // The first answer is one entry short.
        return { FailedRecordCount: 0, Records: ids.slice(0, calls.length === 1 ? ids.length - 1 : ids.length).map(() => ({ SequenceNumber: "1" })) };
      },
    } as unknown as KinesisClient;
    const out = await putAll(client, TARGET, entries(2), RETRY, recordingClock());
    expect(calls).to.deep.equal([["e0", "e1"], ["e1"]]);
    expect(out).to.deep.include({ unacknowledged: [], attempts: 2 });
  });

  it("returns what is still failing once the budget is spent, with the last error", async () => {
    const { client, calls } = fakeKinesis((_call, ids) => ids.map((id) => (id === "e0" ? "InternalFailure" : undefined)));
    const out = await putAll(client, TARGET, entries(2), RETRY, recordingClock());
    expect(calls).to.have.length(3);
    expect(out).to.deep.include({ attempts: 3, lastError: "InternalFailure: no" });
    expect(out.unacknowledged.map((e) => e.source)).to.deep.equal([0]);
  });

  it("ends a round at a thrown call: transient, the rest is re-sent; otherwise nothing more is sent and all left is returned", async () => {
    let throws: Error | undefined = serviceError("ThrottlingException");
    const calls: string[][] = [];
    const client = {
      send: async (command: PutRecordsCommand) => {
        const ids = (command.input.Records ?? []).map((r) => Buffer.from(r.Data!).toString("utf8"));
        calls.push(ids);
        if (calls.length === 2 && throws) throw throws;
        return { Records: ids.map(() => ({ SequenceNumber: "1" })) };
      },
    } as unknown as KinesisClient;
    const ok = await putAll(client, TARGET, entries(5), RETRY, recordingClock());
    expect(calls).to.deep.equal([["e0", "e1"], ["e2", "e3"], ["e2", "e3"], ["e4"]]);
    expect(ok).to.deep.include({ unacknowledged: [], attempts: 2 });

    calls.length = 0;
    throws = serviceError("ResourceNotFoundException");
    const refused = await putAll(client, TARGET, entries(5), RETRY, recordingClock());
    expect(calls).to.have.length(2);
    expect(refused.unacknowledged.map((e) => e.source)).to.deep.equal([2, 3, 4]);
    expect(refused.attempts).to.equal(1);
    expect(refused.lastError).to.match(/ResourceNotFoundException/);
  });
});
