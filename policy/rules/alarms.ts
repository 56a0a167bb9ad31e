/**
 * The alarms rule: every function a stream mapping feeds has the alarms an
 * operator needs (iterator age, errors), and its on-failure queue a depth alarm.
 */
import type { ReportViolation, StackValidationArgs } from "@pulumi/policy";
import { TYPES } from "../../components/parts/typeTokens";
import { functionNameOf, isStreamMapping } from "./mappings";
import { ofType, stackPolicy } from "./shared";

export const streamConsumerAlarms = stackPolicy({
  name: "stream-consumer-alarms",
  description: "Each Lambda fed by a stream event-source mapping has an IteratorAge alarm and an Errors alarm, and its on-failure queue a depth alarm.",
  severity: "medium",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const alarms = ofType(args.resources, TYPES.alarm).map((a) => a.props);
    const functions = ofType(args.resources, TYPES.function);
    const has = (namespace: string, metric: string, dimension: string, value: string) =>
      alarms.some((a) => a.namespace === namespace && a.metricName === metric && a.dimensions?.[dimension] === value);
    for (const m of ofType(args.resources, TYPES.mapping)) {
      if (!isStreamMapping(m.props)) continue;
      const ref = String(m.props.functionName ?? "");
      const fn = functions.find((f) => f.props.arn === ref || f.props.name === ref || f.props.name === functionNameOf(ref));
      const name = fn?.props.name ?? functionNameOf(ref);
      for (const metric of ["IteratorAge", "Errors"]) {
        if (!has("AWS/Lambda", metric, "FunctionName", name)) report(`function ${name} (fed by ${m.name}) has no ${metric} alarm`, m.urn);
      }
      const queueArn: string | undefined = m.props.destinationConfig?.onFailure?.destinationArn;
      if (queueArn?.startsWith("arn:aws") && queueArn.includes(":sqs:")) {
        const queue = queueArn.split(":").pop()!;
        if (!has("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue))
          report(`on-failure queue ${queue} of ${m.name} has no depth alarm`, m.urn);
      }
    }
  },
});
