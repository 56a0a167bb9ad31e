/**
 * Sending the bridge's entries with PutRecords: in calls within Kinesis's
 * limits, re-sending only the entries that failed, with backoff, within the
 * retry budget (shared/retry.ts's drainBatch). It never throws: what was not
 * acknowledged is returned, for the bridge to report to Lambda.
 */
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { drainBatch, isTransient, RetryBudget, RetryClock } from "../shared/retry";
import { errorText, OutputEntry } from "./decode";
import { chunkBySize } from "./putRecordsChunks";

/** Where and in what calls the entries go. */
export interface PutTarget {
  /** The stream's ARN (cross-account PutRecords needs the ARN, not the name). */
  streamArn: string;
  maxRecordsPerCall: number;
  maxBytesPerCall: number;
}

/** What `putAll` could not deliver, and why. */
export interface PutOutcome {
  /** Entries never acknowledged: refused for good, or still failing when the budget was spent. */
  unacknowledged: OutputEntry[];
  /** The last error or failed entry's code, for the log. */
  lastError?: string;
  /** PutRecords rounds made (each re-sends what the one before left). */
  attempts: number;
  /** Entries answered with an error code, over all rounds (a re-sent entry counts each time). */
  failedEntries: number;
}

/** One round's bookkeeping, kept across rounds. */
interface Rounds {
  attempts: number;
  failedEntries: number;
  /** Entries whose error code is not transient: never re-sent. */
  refused: OutputEntry[];
  /** What the last round left to re-send. */
  pending: OutputEntry[];
  lastError?: string;
}

/** The error that ends the rounds once the budget is spent; never seen outside putAll. */
const spent = (left: number) => new Error(`${left} entries unacknowledged after the retry budget`);

/** Sends entries, retrying only failed ones; returns those never acknowledged. */
export async function putAll(kinesis: KinesisClient, target: PutTarget, entries: OutputEntry[], retry: RetryBudget, clock: RetryClock): Promise<PutOutcome> {
  const rounds: Rounds = { attempts: 0, failedEntries: 0, refused: [], pending: entries };
  try {
    await drainBatch(entries, (pending) => putRound(kinesis, target, pending, rounds), retry, clock, spent);
  } catch {
    // The budget is spent, or the target refused the call for good: what is pending is reported, not thrown.
  }
  return { unacknowledged: rounds.refused.concat(rounds.pending), lastError: rounds.lastError, attempts: rounds.attempts, failedEntries: rounds.failedEntries };
}

/**
 * One round over `entries`, chunk by chunk; returns what to re-send. A thrown call ends the round (the later
 * chunks would meet the same throttle or denial): transient, its chunk and the rest are re-sent; otherwise it
 * is thrown, to end the rounds.
 */
async function putRound(kinesis: KinesisClient, target: PutTarget, entries: OutputEntry[], rounds: Rounds): Promise<OutputEntry[]> {
  rounds.attempts += 1;
  const failed: OutputEntry[] = [];
  rounds.pending = failed;
  const chunks = chunkBySize(entries, (e) => e.bytes, target.maxRecordsPerCall, target.maxBytesPerCall);
  for (let c = 0; c < chunks.length; c++) {
    const chunk = chunks[c];
    try {
      const out = await kinesis.send(
        new PutRecordsCommand({ StreamARN: target.streamArn, Records: chunk.map((e) => ({ Data: e.data, PartitionKey: e.partitionKey })) }),
      );
      const results = out.Records ?? [];
      for (let k = 0; k < chunk.length; k++) {
        const code = results[k]?.ErrorCode;
        // A missing result entry is treated as a failure: never assume an acknowledgement.
        if (results[k] === undefined || code) {
          rounds.lastError = code ? `${code}: ${results[k]?.ErrorMessage ?? ""}` : "missing PutRecords result entry";
          rounds.failedEntries += 1;
          (code && !isTransient({ name: code }) ? rounds.refused : failed).push(chunk[k]);
        }
      }
    } catch (err) {
      rounds.lastError = errorText(err);
      for (let rest = c; rest < chunks.length; rest++) failed.push(...chunks[rest]);
      if (!isTransient(err)) throw err;
      break;
    }
  }
  return failed;
}
