/**
 * Step 1 of the local cloud: the emulators both stacks are deployed into —
 * dynalite (DynamoDB), kinesis-local (Kinesis), s3rver (S3) — and the local
 * STS, which answers AssumeRole from the roles the stacks declare.
 */
import { InProcessHandler, startDynalite, startKinesisLocal } from "../../emulators/emulators";
import { startS3 } from "../../emulators/s3";
import { LocalRole, startLocalSts } from "../../sts/sts";
import { LocalEndpoints } from "../../shared/manifest";
import { CloudContext, Service, Services } from "../context";

/** The running emulators. */
export interface EmulatorsService extends Service {
  endpoints: LocalEndpoints;
  /** dynalite's handler in this process: the IAM proxy hands it allowed requests without a second loopback hop. */
  dynamodbInProcess?: InProcessHandler;
}

type Listening = Service & { endpoint: string; serve?: InProcessHandler };

/** Starts the three data emulators side by side, then STS; `roles` is read on every AssumeRole, so roles deployed later are seen. */
export async function startEmulators(ctx: CloudContext, roles: () => LocalRole[]): Promise<EmulatorsService> {
  ctx.progress("starting emulators: dynalite (DynamoDB), kinesis-local (Kinesis), s3rver (S3), local STS");
  const services = new Services();
  const started = await Promise.allSettled<Listening>([
    startDynalite({ dataDir: ctx.persistDir("dynamodb") }).then((e) => ({ endpoint: e.endpoint, serve: e.serve, stop: () => e.close() })),
    startKinesisLocal({ dataDir: ctx.persistDir("kinesis") }).then((e) => ({ endpoint: e.endpoint, stop: () => e.close() })),
    startS3({ directory: ctx.persistDir("s3") }),
  ]);
  try {
    // Those that started are stopped again if another did not.
    const [dynamo, kinesis, s3] = started.map((s) => (s.status === "fulfilled" ? services.add(s.value) : undefined));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed || !dynamo || !kinesis || !s3) throw failed?.reason;
    const sts = services.add(await startLocalSts({ roles }));
    return {
      endpoints: { kinesis: kinesis.endpoint, dynamodb: dynamo.endpoint, s3: s3.endpoint, sts: sts.endpoint },
      dynamodbInProcess: dynamo.serve,
      stop: () => services.stop(),
    };
  } catch (err) {
    await services.stop();
    throw err;
  }
}
