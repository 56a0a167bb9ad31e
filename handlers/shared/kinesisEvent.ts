/**
 * The Lambda event and response shapes for Kinesis event-source mappings,
 * as AWS sends them (kept here so handlers need no @types/aws-lambda).
 */
export interface KinesisStreamRecordPayload {
  kinesisSchemaVersion: string;
  partitionKey: string;
  sequenceNumber: string;
  /** Base64 of the record's bytes. */
  data: string;
  /** Seconds since the epoch, with fractions. */
  approximateArrivalTimestamp: number;
}

export interface KinesisStreamRecord {
  awsRegion: string;
  eventID: string;
  eventName: string;
  eventSource: string;
  eventSourceARN: string;
  eventVersion: string;
  invokeIdentityArn: string;
  kinesis: KinesisStreamRecordPayload;
}

export interface KinesisStreamEvent {
  Records: KinesisStreamRecord[];
}

/** With `ReportBatchItemFailures`, Lambda resumes from the lowest reported sequence number. */
export interface KinesisStreamBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** Decodes a record's payload bytes. */
export function recordBytes(record: KinesisStreamRecord): Buffer {
  return Buffer.from(record.kinesis.data, "base64");
}

/**
 * The ISO time a record arrived in the stream. Lambda gives seconds with fractions: rounded to the
 * millisecond, so that a parked row rebuilt into a record (re-drive) parks again with the same time.
 * Now, for a record without a usable timestamp.
 */
export function arrivedAt(record: KinesisStreamRecord): string {
  const ms = Math.round(record.kinesis.approximateArrivalTimestamp * 1000);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : new Date().toISOString();
}

/** The response that tells Lambda to resume at `sequenceNumber`, or no failures. */
export function resumeFrom(sequenceNumber: string | undefined): KinesisStreamBatchResponse {
  return { batchItemFailures: sequenceNumber === undefined ? [] : [{ itemIdentifier: sequenceNumber }] };
}
