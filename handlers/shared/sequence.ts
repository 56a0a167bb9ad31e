/**
 * Kinesis sequence numbers are decimal strings of up to 129 digits: too long
 * for DynamoDB numbers (38 digits). Zero-padded to a fixed width they compare
 * correctly as strings, within a shard and across a reshard (child shards
 * start above their parents).
 */
export const SEQUENCE_WIDTH = 129;

/** Zero-pads a sequence number so that string order is numeric order. */
export function padSequence(sequenceNumber: string): string {
  if (!/^\d{1,129}$/.test(sequenceNumber)) throw new Error(`not a Kinesis sequence number: ${sequenceNumber}`);
  return sequenceNumber.padStart(SEQUENCE_WIDTH, "0");
}

/** Strips the padding again, for display and for `batchItemFailures`. */
export function unpadSequence(padded: string): string {
  const stripped = padded.replace(/^0+/, "");
  return stripped === "" ? "0" : stripped;
}

/** Numeric comparison of two unpadded sequence numbers. */
export function compareSequence(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
