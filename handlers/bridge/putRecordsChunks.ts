/**
 * Splitting PutRecords entries into calls within Kinesis's per-call limits
 * (500 records, 5 MiB counting data and partition keys), order preserved.
 */

/** Kinesis's PutRecords limit on records per call. */
export const PUT_RECORDS_MAX_RECORDS = 500;
/** Kinesis's PutRecords limit on bytes per call (data + partition keys). */
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;
/** Kinesis's limit on one record (data + partition key). */
export const KINESIS_MAX_RECORD_BYTES = 1024 * 1024;

/**
 * Consecutive chunks of `items`, each with at most `maxRecords` items and at
 * most `maxBytes` by `sizeOf` (an item larger than `maxBytes` goes alone).
 * Linear: one pass, no copying beyond the chunk arrays.
 */
export function chunkBySize<T>(items: readonly T[], sizeOf: (item: T) => number, maxRecords: number, maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= maxRecords || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
