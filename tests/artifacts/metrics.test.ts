/**
 * Every failure the functions report is one an alarm of the stack sees. The
 * serialised archives (as `pulumi up` uploads them) run against the emulators
 * with a failure each; the EMF lines they write to stdout are read as
 * CloudWatch reads them and matched against the producer stack's alarms
 * under mocks. Before the metrics, the stream functions' failures reached no
 * alarm (they return batchItemFailures, so Lambda's Errors stays 0) and the
 * API's 500s neither (it returns them; only a throw counts as an Error).
 */
import { expect } from "chai";
import { ProgramRun } from "../support/pulumiMocks";
import { runProducer } from "../support/producerRun";
import { Artifact, loadHandler, writeArtifact } from "../../local/deploy/artifacts";
import { createStream, createTable, testDynamo, testKinesis, uniqueName, readStream } from "../support/aws";
import { EmfMetrics, parseEmfLine } from "../../handlers/observability/emf";
import { IAM_CALLER, postEventRequest } from "../support/apiFixtures";
import type { KinesisStreamRecord } from "../../handlers/shared/kinesisEvent";

/** Runs `fn` and returns the EMF documents it wrote to stdout (other lines pass through). */
async function emfOf<T>(fn: () => Promise<T>): Promise<{ result: T; docs: EmfMetrics[] }> {
  const docs: EmfMetrics[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: any[]) => {
    const doc = parseEmfLine(String(chunk).trim());
    if (doc) {
      docs.push(doc);
      return true;
    }
    return original(chunk as string, ...rest);
  }) as typeof process.stdout.write;
  try {
    return { result: await fn(), docs };
  } finally {
    process.stdout.write = original;
  }
}

/** The alarms of `run` watching this metric with these dimensions that `value` (one datapoint) puts in ALARM. */
function alarmsFiredBy(run: ProgramRun, namespace: string, metricName: string, dimensions: Record<string, string>, value: number): string[] {
  const crosses = (op: string, threshold: number) =>
    op === "GreaterThanOrEqualToThreshold"
      ? value >= threshold
      : op === "GreaterThanThreshold"
        ? value > threshold
        : op === "LessThanThreshold"
          ? value < threshold
          : false;
  return run
    .ofType("aws:cloudwatch/metricAlarm:MetricAlarm")
    .filter((a) => a.inputs.namespace === namespace && a.inputs.metricName === metricName)
    .filter((a) => JSON.stringify(a.inputs.dimensions) === JSON.stringify(dimensions))
    .filter((a) => crosses(a.inputs.comparisonOperator, a.inputs.threshold))
    .map((a) => a.name);
}

/** What the failure showed in the function's metrics, and the alarms that see it. */
function seenBy(run: ProgramRun, docs: EmfMetrics[], metricName: string): string[] {
  const doc = docs.find((d) => (d.values[metricName] ?? 0) > 0);
  expect(doc, `an EMF document with ${metricName} > 0 among ${JSON.stringify(docs.map((d) => d.values))}`).to.not.equal(undefined);
  return alarmsFiredBy(run, doc!.namespace, metricName, doc!.dimensions, doc!.values[metricName]);
}

const poison = (partitionKey: string): KinesisStreamRecord => ({
  awsRegion: "us-east-1",
  eventID: "shardId-000000000000:1",
  eventName: "aws:kinesis:record",
  eventSource: "aws:kinesis",
  eventSourceARN: "arn:aws:kinesis:us-east-1:111111111111:stream/source",
  eventVersion: "1.0",
  invokeIdentityArn: "arn:aws:iam::111111111111:role/x",
  kinesis: {
    kinesisSchemaVersion: "1.0",
    partitionKey,
    sequenceNumber: "1",
    data: Buffer.from("not json").toString("base64"),
    approximateArrivalTimestamp: 1_700_000_000,
  },
});

describe("failures the functions report reach an alarm (serialised artifacts, EMF on stdout)", function () {
  this.timeout(120_000);
  let run: ProgramRun;
  const artifacts: Record<string, Artifact> = {};
  const env: Record<string, Record<string, string>> = {};

  before(async () => {
    run = await runProducer();
    for (const fn of ["orders-projector", "commands-handler", "analytics-bridge-forwarder"]) {
      const r = run.one("aws:lambda/function:Function", fn);
      artifacts[fn] = await writeArtifact(r.inputs.code, fn);
      // As Lambda sets it: the function's physical name, which the alarms name in their Function dimension.
      env[fn] = { ...r.inputs.environment.variables, AWS_LAMBDA_FUNCTION_NAME: r.state.name };
    }
  });

  it("API: a 500 is returned, not thrown, so Lambda's Errors stays 0; the gateway's 5xx alarm of this API and stage sees it", async () => {
    // The stream the function names does not exist here: PutRecord fails for good, and the handler answers 500.
    const api = loadHandler(artifacts["commands-handler"], { ...env["commands-handler"], STREAM_NAME: uniqueName("missing") });
    const { result, docs } = await emfOf(() =>
      api(postEventRequest("o-1", { body: { type: "OrderPlaced", data: { customerId: "c", lines: [] } }, authorizer: IAM_CALLER })),
    );
    expect(result.statusCode).to.equal(500);
    expect(docs.map((d) => d.values.Requests5xx)).to.deep.equal([1]);
    const apiResource = run.one("aws:apigatewayv2/api:Api");
    const stage = run.one("aws:apigatewayv2/stage:Stage");
    expect(alarmsFiredBy(run, "AWS/ApiGateway", "5xx", { ApiId: apiResource.id, Stage: stage.inputs.name }, 1)).to.deep.equal(["commands-5xx"]);
  });

  it("projector: a batch it reports failed (its table is unreachable) fires the batch-failures alarm; Errors stays 0", async () => {
    const projector = loadHandler(artifacts["orders-projector"], { ...env["orders-projector"], TABLE_NAME: uniqueName("missing") });
    const stream = uniqueName("metrics-src");
    await createStream(testKinesis(), stream);
    await testKinesis().send(
      new (await import("@aws-sdk/client-kinesis")).PutRecordCommand({
        StreamName: stream,
        PartitionKey: "o-2",
        Data: Buffer.from(
          JSON.stringify({ eventId: "e-2", aggregateId: "o-2", type: "OrderPlaced", occurredAt: new Date().toISOString(), schemaVersion: 1, data: {} }),
        ),
      }),
    );
    const records = await readStream(testKinesis(), stream);
    // It resolves (Lambda's Errors stays 0) with the failure reported.
    const { result, docs } = await emfOf(() => projector({ Records: records }));
    expect(result.batchItemFailures).to.have.length(1);
    expect(seenBy(run, docs, "BatchFailures")).to.deep.equal(["orders-projector-batch-failures"]);
  });

  it("projector and bridge: a parked poison event fires each one's parked alarm", async () => {
    const parkedTable = uniqueName("metrics-parked");
    await createTable(testDynamo(), parkedTable, "sk");
    const readModel = uniqueName("metrics-rm");
    await createTable(testDynamo(), readModel);
    const projector = loadHandler(artifacts["orders-projector"], { ...env["orders-projector"], PARKED_TABLE_NAME: parkedTable, TABLE_NAME: readModel });
    const bridge = loadHandler(artifacts["analytics-bridge-forwarder"], { ...env["analytics-bridge-forwarder"], PARKED_TABLE_NAME: parkedTable });
    const projected = await emfOf(() => projector({ Records: [poison("o-3")] }));
    const bridged = await emfOf(() => bridge({ Records: [poison("o-4")] }));
    expect(projected.result.batchItemFailures).to.deep.equal([]);
    expect(bridged.result.batchItemFailures).to.deep.equal([]);
    expect(seenBy(run, projected.docs, "EventsParked")).to.deep.equal(["orders-projector-parked"]);
    expect(seenBy(run, bridged.docs, "EventsParked")).to.deep.equal(["analytics-bridge-forwarder-parked"]);
  });
});
