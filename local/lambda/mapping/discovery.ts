/**
 * Which shards a mapping starts when it lists its stream, as a pure decision
 * the poller applies: at the first listing, per the starting position (LATEST
 * and AT_TIMESTAMP start only the open shards; the closed ones hold nothing
 * new); after that, and always for TRIM_HORIZON, a shard once its parents
 * are drained, from its beginning.
 */
import { Shard } from "@aws-sdk/client-kinesis";
import { IteratorStart, parentsDrained } from "../../emulators/kinesisShards";
import { ShardCheckpoint } from "../../shared/checkpoints";
import { MappingSettings } from "./records";

/** A shard to start reading, and where. */
export interface ShardStart {
  shardId: string;
  input: IteratorStart;
}

/** What a listing decides. */
export interface DiscoveryPlan {
  /** Shards to start now, in listing order. */
  starts: ShardStart[];
  /** Closed shards the first listing passes over (LATEST, AT_TIMESTAMP): count them as started and drained. */
  skipped: string[];
}

/** Where a shard the first listing finds starts, per the mapping's starting position. */
export function initialStart(s: Pick<MappingSettings, "startingPosition" | "startingTimestamp">): IteratorStart {
  if (s.startingPosition === "LATEST") return { ShardIteratorType: "LATEST" };
  if (s.startingPosition === "AT_TIMESTAMP") return { ShardIteratorType: "AT_TIMESTAMP", Timestamp: s.startingTimestamp };
  return { ShardIteratorType: "TRIM_HORIZON" };
}

/** Decides, for the listed shards, which the mapping starts now; `started` and `done` are what it started and drained before, `checkpoints` where each shard got to. */
export function planDiscovery(
  shards: readonly Shard[],
  known: { started: ReadonlySet<string>; done: ReadonlySet<string> },
  first: boolean,
  s: Pick<MappingSettings, "startingPosition" | "startingTimestamp">,
  checkpoints: Readonly<Record<string, ShardCheckpoint>> = {},
): DiscoveryPlan {
  const listed = new Set(shards.map((sh) => sh.ShardId!));
  const plan: DiscoveryPlan = { starts: [], skipped: [] };
  for (const sh of shards) {
    const shardId = sh.ShardId!;
    if (known.started.has(shardId)) continue;
    const resume = checkpoints[shardId]?.sequenceNumber;
    if (resume) {
      // Read before a restart: on from the record after the checkpoint, as a mapping that never stopped would.
      plan.starts.push({ shardId, input: { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: resume } });
      continue;
    }
    if (first && s.startingPosition !== "TRIM_HORIZON") {
      if (sh.SequenceNumberRange?.EndingSequenceNumber) plan.skipped.push(shardId);
      else plan.starts.push({ shardId, input: initialStart(s) });
      continue;
    }
    if (parentsDrained(sh, listed, (p) => known.done.has(p))) plan.starts.push({ shardId, input: { ShardIteratorType: "TRIM_HORIZON" } });
  }
  return plan;
}
