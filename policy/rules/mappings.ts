/**
 * The event-source mapping rule: a stream mapping bounds its retries and
 * record age, bisects, reports batch item failures and keeps what it gives
 * up; and how a rule tells a stream mapping and its function.
 */
import { TYPES } from "../../components/parts/typeTokens";
import { known, list, only, resourcePolicy } from "./shared";

/**
 * Is this mapping reading a Kinesis (or DynamoDB) stream? By its ARN when
 * known; before the stream exists (first preview), by its starting position,
 * which only stream and Kafka sources take.
 */
export function isStreamMapping(props: Record<string, any>): boolean {
  const arn = known(() => props.eventSourceArn);
  if (typeof arn === "string" && arn.startsWith("arn:")) return /^arn:aws[\w-]*:kinesis:/.test(arn) || /^arn:aws[\w-]*:dynamodb:.*\/stream\//.test(arn);
  return props.startingPosition !== undefined && props.selfManagedEventSource === undefined && props.topics === undefined;
}

/** A function's name from a mapping's `functionName` (name, ARN, or qualified ARN). */
export function functionNameOf(value: string): string {
  const m = /^arn:aws[\w-]*:lambda:[^:]+:\d{12}:function:([^:]+)/.exec(value);
  return m ? m[1] : value.split(":")[0];
}

export const mappingFailureHandling = resourcePolicy({
  name: "stream-mapping-failure-handling",
  description:
    "Every Kinesis/DynamoDB-stream event-source mapping has bounded retries and record age, bisects on error, reports batch item failures, and sends what it gives up to an on-failure destination.",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.mapping);
    const p = args.props;
    if (!isStreamMapping(p)) args.notApplicable("not a stream event source");
    const retries = p.maximumRetryAttempts;
    if (typeof retries !== "number" || retries < 0 || retries > 10_000)
      report(`maximumRetryAttempts is ${JSON.stringify(retries)}; set a bound (0–10000; the default -1 retries until the record expires)`);
    const age = p.maximumRecordAgeInSeconds;
    if (typeof age !== "number" || age < 60 || age > 604_800)
      report(`maximumRecordAgeInSeconds is ${JSON.stringify(age)}; set 60–604800 (the default -1 keeps retrying for the stream's whole retention)`);
    if (p.bisectBatchOnFunctionError !== true) report("bisectBatchOnFunctionError is not true");
    if (!list<string>(p.functionResponseTypes).includes("ReportBatchItemFailures")) report("functionResponseTypes does not include ReportBatchItemFailures");
    if (!p.destinationConfig?.onFailure?.destinationArn) report("no destinationConfig.onFailure.destinationArn");
  },
});
