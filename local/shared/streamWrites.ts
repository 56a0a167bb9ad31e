/**
 * Word that a put to a stream has landed, from the IAM proxy (which sees
 * every function's PutRecord and PutRecords answered) to the local readers
 * of that stream (mapping pollers, Firehose). With it a reader polls an idle
 * shard at Lambda's base rate, once a second, and still reads a new record
 * at once: an idle local cloud's polls cost kinesis-local about a sixth of a
 * core when each reader polled every 200–250 ms. A writer that bypasses the
 * proxy (a test or a script on the emulator) is read at the next poll.
 */

/** "AWS Lambda then polls the stream periodically (once per second) for new records" (Lambda developer guide, _Using AWS Lambda with Kinesis_). */
export const IDLE_POLL_MS = 1000;

/** The writes a stream's readers hear of. */
export interface StreamWrites {
  /** A put to `streamArn` was answered. */
  landed(streamArn: string): void;
  /** Calls `onWrite` after each put to `streamArn` lands; returns the unsubscribe. */
  subscribe(streamArn: string, onWrite: () => void): () => void;
}

export function streamWrites(): StreamWrites {
  const listeners = new Map<string, Set<() => void>>();
  return {
    landed(streamArn) {
      for (const onWrite of listeners.get(streamArn) ?? []) onWrite();
    },
    subscribe(streamArn, onWrite) {
      const set = listeners.get(streamArn) ?? new Set();
      listeners.set(streamArn, set);
      set.add(onWrite);
      return () => {
        set.delete(onWrite);
        if (set.size === 0) listeners.delete(streamArn);
      };
    },
  };
}

/** Wakes a waiting reader; a write heard between two waits is kept, not lost (taken by the next {@link WriteHint.take}). */
export interface WriteHint {
  /** Whether a write was heard since the last take; clears it. */
  take(): boolean;
  /** Resolves at the next write heard. */
  heard(): Promise<void>;
  stop(): void;
}

/** A hint on `streamArn`'s writes, or undefined without a source of them. */
export function writeHint(writes: StreamWrites | undefined, streamArn: string): WriteHint | undefined {
  if (!writes) return undefined;
  let pending = false;
  let wake!: () => void;
  let next = new Promise<void>((r) => (wake = r));
  const stop = writes.subscribe(streamArn, () => {
    pending = true;
    const w = wake;
    next = new Promise<void>((r) => (wake = r));
    w();
  });
  return {
    take() {
      const was = pending;
      pending = false;
      return was;
    },
    heard: () => next,
    stop,
  };
}
