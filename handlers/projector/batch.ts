/**
 * The steps of one projector batch, each over every aggregate of the batch:
 * read the items (one consistent BatchGetItem per 100 aggregates), claim the
 * keyed events the items' dedup windows do not hold (claims.ts), fold, park
 * poison durably, then one conditional PutItem per changed aggregate
 * (re-read and re-fold when the condition fails). Each step returns the
 * aggregates it gave up on; createProjector reports them to Lambda.
 */
import type { Reducer } from "../shared/domain";
import type { ParkedTable } from "../shared/parkedTable";
import type { StoredAggregate } from "../shared/readModelItem";
import { READ_CHUNK, ReadModelStore } from "../shared/readModelStore";
import { isTransient } from "../shared/retry";
import { compareSequence } from "../shared/sequence";
import { claimAggregate, claimChunk, ClaimStore, chunkClaimRequests, Claims, reservedKeyFold } from "./claims";
import { foldAggregate, FoldResult } from "./fold";
import type { ProjectorLog } from "./log";
import type { AggregateBatch } from "./records";

/** What every step works with, built once per projector. */
export interface BatchContext<S> {
  store: ReadModelStore;
  /** The projector's claims of keyed eventIds (in the read-model table). */
  claims: ClaimStore;
  parked: ParkedTable;
  reduce: Reducer<S>;
  dedupWindow: number;
  /** Reads, folds and conditional writes per aggregate before giving up. */
  maxFoldAttempts: number;
  log: ProjectorLog;
}

/** One aggregate folded onto its item as read. */
export interface Folded {
  batch: AggregateBatch;
  read: StoredAggregate | undefined;
  result: FoldResult;
  /** What the claims said of its keyed records, by stored position (claimed again for a re-fold). */
  claims?: Claims;
}

/**
 * Conditional writes in flight at once: with one batch per shard (PROJECTOR_DEFAULTS) the writes' latency is what a
 * batch waits on beside its CPU, and 48 (under the SDK's 50 sockets per client) keep a lane at over 2 × a shard's
 * write limit under the bench's latency model where 16 did not (README, Defaults).
 */
const WRITE_CONCURRENCY = 48;

/** Reads every aggregate's item, 100 per request, and folds its records onto it. */
export async function readAndFold<S>(ctx: BatchContext<S>, groups: AggregateBatch[], now: string): Promise<{ folded: Folded[]; failed: AggregateBatch[] }> {
  const folded: Folded[] = [];
  const failed: AggregateBatch[] = [];
  for (let i = 0; i < groups.length; i += READ_CHUNK) {
    const chunk = groups.slice(i, i + READ_CHUNK);
    let items: Map<string, StoredAggregate>;
    try {
      items = await ctx.store.readMany(chunk.map((g) => g.aggregateId));
    } catch (err) {
      ctx.log.gaveUp("read", err, chunk);
      failed.push(...chunk);
      continue;
    }
    const requests = chunkClaimRequests(chunk, items, ctx.dedupWindow);
    // Most chunks claim nothing (ULIDs, or ids the windows hold): they are folded without an await.
    const claimed = requests.length === 0 ? undefined : await claimChunk(ctx.claims, requests);
    for (const batch of chunk) {
      const reserved = reservedKeyFold(batch);
      if (reserved) {
        folded.push({ batch, read: undefined, result: reserved });
        continue;
      }
      const read = items.get(batch.aggregateId);
      const claims = claimed?.get(batch.aggregateId);
      if (claims instanceof Error) {
        ctx.log.gaveUp("claim", claims, [batch]);
        failed.push(batch);
        continue;
      }
      try {
        folded.push({ batch, read, claims, result: foldAggregate(read, batch, ctx.reduce, ctx.dedupWindow, now, claims) });
      } catch (err) {
        ctx.log.gaveUp("fold", err, [batch]);
        failed.push(batch);
      }
    }
  }
  return { folded, failed };
}

/** Parks poison (and what waits behind it) before any item records the block; what may be written then. */
export async function parkFolded<S>(ctx: BatchContext<S>, folded: Folded[]): Promise<{ writable: Folded[]; failed: AggregateBatch[] }> {
  const parking = folded.filter((f) => f.result.parked.length > 0);
  if (parking.length === 0) return { writable: folded, failed: [] };
  try {
    await ctx.parked.park(parking.flatMap((f) => f.result.parked));
    parking.forEach((f) => ctx.log.parked(f.result));
    return { writable: folded, failed: [] };
  } catch (err) {
    const failed = parking.map((f) => f.batch);
    ctx.log.gaveUp("park", err, failed);
    return { writable: folded.filter((f) => f.result.parked.length === 0), failed };
  }
}

/**
 * One conditional write per changed aggregate, {@link WRITE_CONCURRENCY} in flight; stops starting new ones once
 * DynamoDB is overwhelmed. Lanes of promise callbacks rather than async workers, each lane's callbacks made once
 * (they read the lane's current aggregate): there is one write per aggregate, and each async frame, promise and
 * closure on its way showed in the CPU and the garbage per event of uniform keys.
 */
export function writeFolded<S>(ctx: BatchContext<S>, writable: Folded[], now: string): Promise<AggregateBatch[]> {
  const changed = writable.filter((f) => f.result.changed);
  const failed: AggregateBatch[] = [];
  let overwhelmed = false;
  let next = 0;
  // Function declarations, not arrow constants: Pulumi's closure serialiser misses a constant that the
  // callbacks above it use ("Unexpected missing variable in closure environment").
  function lane(): Promise<void> | undefined {
    let f: Folded;
    function settled(ok: boolean): Promise<void> | undefined {
      if (!ok) failed.push(f.batch);
      return step();
    }
    function refused(err: unknown): Promise<void> | undefined {
      ctx.log.gaveUp("write", err, [f.batch]);
      failed.push(f.batch);
      if (isTransient(err)) overwhelmed = true;
      return step();
    }
    // The first attempt nearly always succeeds; after a failed condition, re-read, re-fold and write again.
    function written(durable: boolean): Promise<void> | undefined {
      return durable ? step() : commitAgain(ctx, f, now).then(settled, refused);
    }
    function step(): Promise<void> | undefined {
      while (next < changed.length) {
        f = changed[next++];
        if (overwhelmed) {
          failed.push(f.batch);
          continue;
        }
        let write: Promise<boolean>;
        try {
          write = ctx.store.write(f.result.next, f.read);
        } catch (err) {
          write = Promise.reject(err);
        }
        return write.then(written, refused);
      }
      return undefined;
    }
    return step();
  }
  const lanes: (Promise<void> | undefined)[] = [];
  for (let i = 0; i < WRITE_CONCURRENCY && i < changed.length; i++) lanes.push(lane());
  return Promise.all(lanes).then(() => failed);
}

/** The attempts after the first failed its condition: re-read, claim again, re-fold, park, write. */
async function commitAgain<S>(ctx: BatchContext<S>, f: Folded, now: string): Promise<boolean> {
  for (let failedAttempt = 1; ; failedAttempt++) {
    if (failedAttempt >= ctx.maxFoldAttempts) {
      ctx.log.gaveUp("condition kept failing", { name: "ConditionalCheckFailedException", message: `${failedAttempt} attempts` }, [f.batch]);
      return false;
    }
    const read = await ctx.store.read(f.batch.aggregateId);
    f.claims = await claimAggregate(ctx.claims, f.batch, read, ctx.dedupWindow);
    const result = foldAggregate(read, f.batch, ctx.reduce, ctx.dedupWindow, now, f.claims);
    if (result.parked.length > 0) {
      await ctx.parked.park(result.parked);
      ctx.log.parked(result);
    }
    // The fold that ended durable is the one the batch's metrics count (projector/index.ts countOutcomes).
    if (!result.changed || (await ctx.store.write(result.next, read))) {
      f.read = read;
      f.result = result;
      return true;
    }
  }
}

/** The lowest sequence number among the batches' records (where Lambda resumes), undefined when none. */
export function lowestSequence(batches: AggregateBatch[]): string | undefined {
  let lowest: string | undefined;
  for (const b of batches) {
    for (const r of b.records) if (lowest === undefined || compareSequence(r.sequenceNumber, lowest) < 0) lowest = r.sequenceNumber;
  }
  return lowest;
}
