/**
 * KPL aggregation of the bridge's PutRecords entries (ENV.AGGREGATE_RECORDS):
 * many small analytics records packed into one Kinesis record, which cuts the
 * PUT payload units the consumer pays for. Everything downstream deaggregates.
 */
import { encodeAggregated, packAggregates } from "../kpl/aggregate";
import type { KinesisStreamRecord } from "../shared/kinesisEvent";
import type { AggregateMode } from "./contract";
import type { OutputEntry } from "./decode";
import { KINESIS_MAX_RECORD_BYTES } from "./putRecordsChunks";

/** The source shard of a record as Lambda delivers it (`shardId-…:sequence`); the partition key when absent. */
function sourceShardKey(record: KinesisStreamRecord): string {
  const id = record.eventID ?? "";
  const colon = id.indexOf(":");
  return colon > 0 ? id.slice(0, colon) : record.kinesis.partitionKey;
}

/**
 * Packs entries into KPL aggregated records, grouped by the outer key (the
 * source shard, or the aggregate), each group in source order. Deaggregated
 * records carry that key as their partition key. A pack of one
 * is sent as it is (deaggregators pass plain records through), keyed by the
 * group's key so it lands where its neighbours do. An aggregated entry's
 * `source` is its first (lowest) source record.
 */
export function aggregateEntries(entries: OutputEntry[], records: KinesisStreamRecord[], mode: AggregateMode): OutputEntry[] {
  if (mode === "off" || entries.length === 0) return entries;
  const groups: { key: string; entries: OutputEntry[] }[] = [];
  const byKey: Record<string, number> = Object.create(null);
  for (const e of entries) {
    const key = mode === "sourceShard" ? sourceShardKey(records[e.source]) : e.partitionKey;
    let g = byKey[key];
    if (g === undefined) {
      g = groups.length;
      byKey[key] = g;
      groups.push({ key, entries: [] });
    }
    groups[g].entries.push(e);
  }
  const out: OutputEntry[] = [];
  for (const group of groups) {
    const keyBytes = Buffer.byteLength(group.key, "utf8");
    const keyed = group.entries.map((e) => ({ entry: e, partitionKey: group.key, data: e.data }));
    for (const pack of packAggregates(keyed, keyBytes, KINESIS_MAX_RECORD_BYTES)) {
      const first = pack.items[0].entry;
      if (pack.aggregate && pack.items.length > 1) {
        // Inner records carry the group's key too: one key table entry, ~14 bytes less per record
        // than a key per aggregate (the wire record names its aggregate in aggregateId).
        const data = encodeAggregated(pack.items.map((e) => ({ partitionKey: group.key, data: e.data })));
        out.push({ source: first.source, partitionKey: group.key, data, bytes: data.length + keyBytes });
      } else if (first.data.length + keyBytes <= KINESIS_MAX_RECORD_BYTES) {
        out.push({ source: first.source, partitionKey: group.key, data: first.data, bytes: first.data.length + keyBytes });
      } else {
        out.push(first); // within 1 MiB only under its own key
      }
    }
  }
  return out;
}
