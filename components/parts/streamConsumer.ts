/**
 * A function fed by a Kinesis event-source mapping, with everything such a
 * function needs: its on-failure queue, read access to the stream, the
 * mapping with the design's defaults, and its alarms. Both stream-fed
 * components build theirs here, so the two cannot drift apart.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { KinesisStreamBatchResponse, KinesisStreamEvent } from "../../handlers/shared/kinesisEvent";
import { createAlarms, recordAgeLimitSeconds, streamConsumerAlarmSpecs, WatchedAlarm } from "./alarms";
import { closureFunction, ClosureFunctionArgs } from "./closureFunction";
import { MappingSettings, onFailureQueue, streamMapping, streamReadStatements } from "./streamMapping";

/** Args of {@link streamConsumer}. */
export interface StreamConsumerArgs extends ClosureFunctionArgs<KinesisStreamEvent, KinesisStreamBatchResponse> {
  /** The source stream. */
  streamArn: pulumi.Input<string>;
  /** An enhanced fan-out consumer of it to read through (dedicated 2 MiB/s per shard); default the shared standard iterator. */
  consumerArn?: pulumi.Input<string>;
  /** The stream's KMS key when it is customer-managed. */
  streamKeyArn?: pulumi.Input<string> | pulumi.Input<string>[];
  /** Mapping settings, resolved by the component (resolveMappingSettings). */
  mapping: MappingSettings;
  /** Start AT_TIMESTAMP this ISO time instead of `mapping.startingPosition` (a read-model version going live). */
  startingPositionTimestamp?: string;
  /** Logical names of the on-failure queue and the mapping. */
  queueName: string;
  mappingName: string;
  /** Where alarms notify. */
  alarmActions?: pulumi.Input<string>[];
  /** The source stream's retention: records age out then when the mapping's record age is -1. */
  retentionHours: number;
  /** The `npm run redrive` flags that list this function's parked events (for the parked alarm's description); none: it parks nothing, no parked alarm. */
  redrive?: pulumi.Input<string>;
}

/** What {@link streamConsumer} created. */
export interface StreamConsumer {
  fn: aws.lambda.CallbackFunction<KinesisStreamEvent, KinesisStreamBatchResponse>;
  role: aws.iam.Role;
  queue: aws.sqs.Queue;
  mapping: aws.lambda.EventSourceMapping;
  alarms: aws.cloudwatch.MetricAlarm[];
  /** The alarms with what they watch, for the dashboard. */
  watched: WatchedAlarm[];
}

/** Creates the queue, the function (its statements plus reading the stream), the mapping and the alarms. */
export function streamConsumer(name: string, args: StreamConsumerArgs, opts: pulumi.ComponentResourceOptions): StreamConsumer {
  const queue = onFailureQueue(args.queueName, opts);
  const { fn, role } = closureFunction(
    name,
    {
      ...args,
      statements: [...streamReadStatements(args.streamArn, queue.arn, args.streamKeyArn, args.consumerArn), ...args.statements],
    },
    opts,
  );
  const mapping = streamMapping(
    args.mappingName,
    {
      streamArn: args.consumerArn ?? args.streamArn,
      fn,
      queue,
      settings: args.mapping,
      startingPositionTimestamp: args.startingPositionTimestamp,
    },
    opts,
  );
  const specs = streamConsumerAlarmSpecs(name, {
    fn,
    onFailureQueue: queue,
    recordAgeLimitSeconds: recordAgeLimitSeconds(args.mapping.maximumRecordAgeInSeconds, args.retentionHours),
    redrive: args.redrive ?? "",
  }).filter((spec) => args.redrive !== undefined || spec.concern !== "parked");
  const watched = createAlarms(specs, args.alarmActions, opts);
  return { fn, role, queue, mapping, alarms: watched.map((w) => w.alarm), watched };
}
