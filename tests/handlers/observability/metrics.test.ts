/**
 * The functions' metrics as they publish them, against the emulators: what
 * each number counts (applied, skipped, parked, batch failures, retries,
 * failed PutRecords entries, STS calls, API status classes), the EMF line the
 * default sink writes, and that it is written only inside a Lambda.
 */
import { expect } from "chai";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createApi } from "../../../handlers/api";
import { bridgeKinesisClient, createBridge } from "../../../handlers/bridge";
import { createProjector } from "../../../handlers/projector";
import { defaultMetricsSink, emfDocument, emfSink, parseEmfLine } from "../../../handlers/observability/emf";
import {
  API_METRICS,
  BRIDGE_METRICS,
  FUNCTION_DIMENSION,
  METRIC,
  MetricValues,
  MetricsRecorder,
  metricsRecorder,
  METRICS_NAMESPACE,
  PROJECTOR_METRICS,
} from "../../../handlers/observability/metrics";
import { dynamoClient, kinesisClient } from "../../../handlers/shared/clients";
import { startStsStub } from "../../../local/sts/stub";
import { getAggregateRequest, postEventRequest } from "../../support/apiFixtures";
import { createStream, createTable, CONSUMER_ACCOUNT, testKinesis, uniqueName } from "../../support/aws";
import { failPutRecordsEntries, makeEnvelopes, recordingClock, sourceRecords } from "../../support/bridge";
import { append, envelope, fastClock, listReducer, setupRig } from "../../support/projectorFixtures";
import { injectFaults, serviceError } from "../../support/sdkMiddleware";

/** A recorder whose every publish is kept. */
function collect(names: typeof PROJECTOR_METRICS) {
  const published: MetricValues[] = [];
  return { published, metrics: metricsRecorder(names, (v) => published.push(v)) };
}

/** A projector on the rig's tables over `dynamodb`, retrying 3 times without waiting, publishing to `metrics`. */
function projectorOn(rig: { table: string; parked: string }, dynamodb: DynamoDBClient, metrics: MetricsRecorder) {
  const retry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 };
  const config = { tableName: rig.table, parkedTableName: rig.parked, dedupWindow: 64, retry, maxFoldAttempts: 5 };
  return createProjector({ dynamodb, reduce: listReducer, config, clock: fastClock(), log: () => undefined, metrics });
}

describe("function metrics (EMF)", function () {
  this.timeout(60_000);

  describe("the EMF document", () => {
    it("is one object with the _aws directive, the Function dimension and every value as a member, as the specification requires", () => {
      const doc = emfDocument("orders-projector-1a2b", { EventsApplied: 3, BatchDuration: 12 }, 1_700_000_000_000);
      expect(doc).to.deep.equal({
        _aws: {
          Timestamp: 1_700_000_000_000,
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [[FUNCTION_DIMENSION]],
              Metrics: [
                { Name: "EventsApplied", Unit: "Count" },
                { Name: "BatchDuration", Unit: "Milliseconds" },
              ],
            },
          ],
        },
        Function: "orders-projector-1a2b",
        EventsApplied: 3,
        BatchDuration: 12,
      });
    });

    it("reads back as written, and plain or broken log lines read as no metrics", () => {
      const lines: string[] = [];
      emfSink("fn-1", (l) => lines.push(l))({ RecordsReceived: 5, Retries: 0 });
      expect(lines).to.have.length(1);
      expect(parseEmfLine(lines[0])).to.deep.include({
        namespace: METRICS_NAMESPACE,
        dimensions: { Function: "fn-1" },
        values: { RecordsReceived: 5, Retries: 0 },
        units: { RecordsReceived: "Count", Retries: "Count" },
      });
      for (const line of ['{"level":"info","msg":"x"}', '{"_aws": nope', "plain text", '{"_aws":{"CloudWatchMetrics":"no"}}'])
        expect(parseEmfLine(line), line).to.equal(undefined);
    });

    it("goes to stdout directly inside a Lambda (AWS_LAMBDA_FUNCTION_NAME set), and nowhere outside one", () => {
      const written: string[] = [];
      const original = process.stdout.write;
      process.stdout.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stdout.write;
      try {
        defaultMetricsSink({})({ Retries: 1 });
        defaultMetricsSink({ AWS_LAMBDA_FUNCTION_NAME: "my-fn" })({ Retries: 2 });
      } finally {
        process.stdout.write = original;
      }
      expect(written).to.have.length(1);
      expect(written[0].endsWith("\n")).to.equal(true);
      expect(parseEmfLine(written[0].trim())).to.deep.include({ dimensions: { Function: "my-fn" }, values: { Retries: 2 } });
    });
  });

  describe("projector", () => {
    it("counts applied events, skipped duplicates and redeliveries, and parked poison, once per batch", async () => {
      const rig = await setupRig();
      const { published, metrics } = collect(PROJECTOR_METRICS);
      const project = projectorOn(rig, dynamoClient(), metrics);
      // a: two events and a producer retry of the first; b: a poison event and one parked behind it.
      const records = await append(rig, [envelope("a", "a1"), envelope("a", "a2"), envelope("a", "a1"), envelope("b", "b1", "Boom"), envelope("b", "b2")]);
      expect((await project({ Records: records })).batchItemFailures).to.deep.equal([]);
      // The same batch again: a redelivery, nothing applied or parked anew but what waits behind the block.
      await project({ Records: records });
      expect(published).to.have.length(2);
      const [first, again] = published;
      expect(first).to.include({ RecordsReceived: 5, EventsApplied: 2, DuplicatesSkipped: 1, EventsParked: 2, BatchFailures: 0, Retries: 0 });
      expect(again).to.include({ RecordsReceived: 5, EventsApplied: 0, EventsParked: 1, DuplicatesSkipped: 4, BatchFailures: 0 });
      expect(first.BatchDuration).to.be.a("number").and.at.least(0);
      expect(Object.keys(first).sort()).to.deep.equal([...PROJECTOR_METRICS].sort());
    });

    it("counts the retries of a throttled write and the batch failure it ends in, and nothing applied", async () => {
      const rig = await setupRig();
      const records = await append(rig, [envelope("t", "t1")]);
      const dynamodb = dynamoClient();
      injectFaults(dynamodb, (name) => (name === "PutItemCommand" ? serviceError("ProvisionedThroughputExceededException") : undefined));
      const { published, metrics } = collect(PROJECTOR_METRICS);
      const project = projectorOn(rig, dynamodb, metrics);
      expect((await project({ Records: records })).batchItemFailures).to.have.length(1);
      expect(published[0]).to.include({ RecordsReceived: 1, EventsApplied: 0, DuplicatesSkipped: 0, BatchFailures: 1, Retries: 2 });
    });
  });

  describe("bridge", () => {
    it("counts forwarded wire records, failed PutRecords entries with their retries, and the one STS call of assumeRole", async () => {
      const source = uniqueName("metrics-src");
      const target = uniqueName("metrics-dst");
      const parked = uniqueName("metrics-parked");
      await createStream(testKinesis(), source);
      await createStream(testKinesis(CONSUMER_ACCOUNT), target);
      await createTable(dynamoClient(), parked, "sk");
      const sts = await startStsStub({ expectedExternalId: "ext-metrics" });
      try {
        const { published, metrics } = collect(BRIDGE_METRICS);
        const env = { ACCESS_MODE: "assumeRole", WRITER_ROLE_ARN: `arn:aws:iam::${CONSUMER_ACCOUNT}:role/writer`, EXTERNAL_ID: "ext-metrics" };
        const kinesis = bridgeKinesisClient(env, sts.client(), metrics);
        let failOnce = true;
        failPutRecordsEntries(kinesis, (id) => id.endsWith("-e1") && failOnce && !(failOnce = false));
        const bridge = createBridge({
          kinesis,
          dynamodb: dynamoClient(),
          map: (e) => ({ contract: "test.v1", data: e.data }),
          config: {
            targetStreamArn: `arn:aws:kinesis:us-east-1:${CONSUMER_ACCOUNT}:stream/${target}`,
            parkedTableName: parked,
            retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 1 },
            maxRecordsPerCall: 500,
            maxBytesPerCall: 5 * 1024 * 1024,
          },
          clock: recordingClock(),
          log: () => undefined,
          metrics,
        });
        const records = await sourceRecords(
          testKinesis(),
          source,
          makeEnvelopes(4, 2, uniqueName("m")).map((e) => ({ partitionKey: e.aggregateId, body: e })),
        );
        expect((await bridge({ Records: records })).batchItemFailures).to.deep.equal([]);
        expect(published[0]).to.include({
          RecordsReceived: 4,
          RecordsForwarded: 4,
          PutRecordsFailedEntries: 1,
          Retries: 1,
          StsRefreshes: 1,
          EventsParked: 0,
          BatchFailures: 0,
        });

        // Invoked without records (what `npm run smoke` does), it resolves its credentials and writes nothing.
        expect(await bridge({ Records: [] })).to.deep.equal({ batchItemFailures: [] });
        expect(published[1]).to.include({ RecordsReceived: 0, RecordsForwarded: 0, StsRefreshes: 0 });
      } finally {
        await sts.stop();
      }
    });
  });

  describe("API", () => {
    it("counts every answer by status class, a throttle, and accepted events; a returned 500 included", async () => {
      const stream = uniqueName("metrics-api");
      const table = uniqueName("metrics-api-table");
      await createStream(testKinesis(), stream);
      await createTable(dynamoClient(), table);
      const kinesis = kinesisClient();
      let fault: Error | undefined;
      injectFaults(kinesis, () => fault);
      const { published, metrics } = collect(API_METRICS);
      const api = createApi({
        kinesis,
        dynamodb: dynamoClient(),
        config: { streamName: stream, tableName: table, maxBodyBytes: 4096 },
        log: () => undefined,
        metrics,
      });
      const statuses: number[] = [];
      const post = () => api(postEventRequest("m-1", { body: { type: "Noted", data: {} } }));
      statuses.push((await post()).statusCode);
      statuses.push((await api(getAggregateRequest("nope"))).statusCode);
      fault = serviceError("ProvisionedThroughputExceededException");
      statuses.push((await post()).statusCode);
      fault = serviceError("AccessDeniedException");
      statuses.push((await post()).statusCode);
      expect(statuses).to.deep.equal([202, 404, 503, 500]);
      const sum = (name: string) => published.reduce((n, v) => n + ((v as Record<string, number>)[name] ?? 0), 0);
      expect(published).to.have.length(4);
      expect([sum(METRIC.requests2xx), sum(METRIC.requests4xx), sum(METRIC.requests5xx), sum(METRIC.throttles), sum(METRIC.eventsAccepted)]).to.deep.equal([
        1, 1, 2, 1, 1,
      ]);
    });
  });
});
