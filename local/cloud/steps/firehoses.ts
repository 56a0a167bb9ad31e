/**
 * Step 6 of the local cloud: the consumer's Firehose delivery streams,
 * reading their declared source stream and landing into the S3 emulator,
 * with buffering capped so local records land within seconds; with a data
 * dir, each one's shard positions persist, so a restart lands nothing twice.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { TYPES } from "../../../components/parts/typeTokens";
import { emulatorKinesis, emulatorS3 } from "../../emulators/clients";
import { FirehoseSpec, LocalFirehose, startFirehose } from "../../firehose/firehose";
import { checkpointStore } from "../../shared/checkpoints";
import { LocalEndpoints, StackManifest } from "../../shared/manifest";
import { accountOf, CloudContext, ofType, Service } from "../context";

/** The running delivery streams. */
export interface FirehosesService extends Service {
  /** A client on the S3 emulator (path style). */
  s3: S3Client;
  /** The bucket the (first) delivery stream lands into; empty when the stack declares none. */
  landingBucket: string;
  /** Records landed so far, over all delivery streams. */
  landed(): number;
}

/** Starts every delivery stream the consumer stack declares. */
export async function startFirehoses(
  ctx: CloudContext,
  consumer: StackManifest,
  endpoints: LocalEndpoints,
  maxBufferSeconds: number,
): Promise<FirehosesService> {
  const s3 = emulatorS3({ endpoint: endpoints.s3 });
  const firehoses: LocalFirehose[] = [];
  const checkpointsDir = ctx.persistDir("checkpoints");
  const stop = async () => {
    await Promise.all(firehoses.map((f) => f.stop()));
  };
  try {
    for (const d of ofType(consumer, TYPES.firehose)) {
      const spec = { ...d.inputs, name: d.state.name } as FirehoseSpec;
      const source: string = d.inputs.kinesisSourceConfiguration.kinesisStreamArn;
      firehoses.push(
        startFirehose(spec, {
          kinesis: emulatorKinesis({ account: accountOf(source), endpoint: endpoints.kinesis }),
          s3,
          checkpoints: checkpointsDir ? checkpointStore(checkpointsDir, "firehose", spec.name, source) : undefined,
          maxBufferSeconds,
          log: (e) => ctx.runtime.write(`[firehose ${d.state.name}] ${JSON.stringify(e)}`),
          writes: ctx.writes,
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    s3,
    landingBucket: firehoses[0]?.settings.bucket ?? "",
    landed: () => firehoses.reduce((a, f) => a + f.stats().records, 0),
    stop,
  };
}
