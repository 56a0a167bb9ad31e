/**
 * A shard's checkpoint while a mapping reads it: the records read, in order,
 * and which of them are done (processed or given up on). With a
 * parallelization factor above 1 batches finish out of order, so the
 * checkpoint is the last record of the done prefix: every record at or
 * before it is done, and a restart resuming after it skips nothing.
 */

/** The progress of one shard. */
export interface ShardProgress {
  /** Records a record read (in sequence order). */
  read(sequenceNumber: string): void;
  /** Marks records done; returns the new checkpoint when it moved. */
  done(sequenceNumbers: readonly string[]): string | undefined;
  /** Records read and not yet part of the done prefix. */
  readonly pending: number;
}

/** Starts tracking a shard. */
export function shardProgress(): ShardProgress {
  let order: string[] = [];
  let head = 0;
  const finished = new Set<string>();
  return {
    read(sequenceNumber) {
      order.push(sequenceNumber);
    },
    done(sequenceNumbers) {
      for (const s of sequenceNumbers) finished.add(s);
      let checkpoint: string | undefined;
      while (head < order.length && finished.has(order[head])) {
        checkpoint = order[head];
        finished.delete(checkpoint);
        head += 1;
      }
      // Drop what the prefix passed, now and then, so the array stays as long as the read-ahead.
      if (head > 1_000) {
        order = order.slice(head);
        head = 0;
      }
      return checkpoint;
    },
    get pending() {
      return order.length - head;
    },
  };
}
