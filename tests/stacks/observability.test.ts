/**
 * Alarms and dashboards of both stacks under mocks: each alarm watches a
 * metric that shows a real failure, fires in time (iterator age against the
 * mapping's record age), says what to do; each stack's dashboard draws
 * exactly the metrics the functions emit and the alarms watch.
 */
import { expect } from "chai";
import { ProgramRun, runProgram } from "../support/pulumiMocks";
import { runProducer } from "../support/producerRun";
import { duration, iteratorAgeEvaluationPeriods, iteratorAgeThresholdMs, recordAgeLimitSeconds } from "../../components/parts/alarms";
import { DASHBOARD_ROWS } from "../../components/parts/dashboard";
import { defaultDashboardName, OperationsDashboard } from "../../components/operationsDashboard";
import { API_METRICS, ARCHIVER_METRICS, BRIDGE_METRICS, FUNCTION_DIMENSION, METRICS_NAMESPACE, PROJECTOR_METRICS } from "../../handlers/observability/metrics";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const FUNCTION = "aws:lambda/function:Function";

/** The dashboard's body, parsed. */
function dashboardOf(run: ProgramRun): { name: string; widgets: any[] } {
  const d = run.one("aws:cloudwatch/dashboard:Dashboard").inputs;
  return { name: d.dashboardName, widgets: JSON.parse(d.dashboardBody).widgets };
}

/** Every metric line of the dashboard's graphs, as `namespace metric {dimensions}`. */
function graphedMetrics(widgets: any[]): { namespace: string; metricName: string; dimensions: Record<string, string>; stat: string }[] {
  return widgets
    .filter((w) => w.type === "metric")
    .flatMap((w) => w.properties.metrics)
    .map((line: any[]) => {
      const render = line[line.length - 1];
      const dims = line.slice(2, -1);
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < dims.length; i += 2) dimensions[dims[i]] = dims[i + 1];
      return { namespace: line[0], metricName: line[1], dimensions, stat: render.stat };
    });
}

function consumerRun(): Promise<ProgramRun> {
  return runProgram({
    stack: "consumer",
    account: "222222222222",
    region: "us-east-1",
    config: { role: "consumer", producerAccountId: "111111111111", externalId: "test-external-id" },
  });
}

describe("alarms and dashboards (mocks)", function () {
  this.timeout(120_000);
  let producer: ProgramRun;
  let consumer: ProgramRun;
  before(async () => {
    producer = await runProducer();
    consumer = await consumerRun();
  });

  describe("iterator age against the mapping's record age", () => {
    it("fires at a quarter of the age at which records are given up, at most 5 minutes, and soon enough for short ages", () => {
      expect([60, 600, 3600, 302_400].map((s) => [iteratorAgeThresholdMs(s), iteratorAgeEvaluationPeriods(s)])).to.deep.equal([
        [15_000, 1],
        [150_000, 2],
        [300_000, 5],
        [300_000, 5],
      ]);
      // Fires (threshold + evaluation window) within half of the limit whenever the limit allows a minute-long datapoint.
      for (const s of [600, 3600, 302_400]) expect(iteratorAgeThresholdMs(s) / 1000 + iteratorAgeEvaluationPeriods(s) * 60).to.be.at.most(s / 2);
      expect(recordAgeLimitSeconds(-1, 24)).to.equal(86_400);
      expect(recordAgeLimitSeconds(3600, 24)).to.equal(3600);
      expect([duration(15_000), duration(300_000), duration(302_400_000)]).to.deep.equal(["15 s", "5 min", "84 h"]);
    });

    it("on the stack: both stream functions' alarms say when records are given up (half the 168 h retention by default)", () => {
      for (const prefix of ["orders-projector", "analytics-bridge-forwarder"]) {
        const a = producer.one(ALARM, `${prefix}-iterator-age`).inputs;
        expect(a).to.include({ threshold: 300_000, evaluationPeriods: 5, comparisonOperator: "GreaterThanThreshold" });
        expect(a.alarmDescription).to.include("at 84 h (the mapping's maximum record age)");
      }
    });
  });

  it("alarms on parked events and reported batch failures from the functions' own metrics, and on the API's 5xx from the gateway", () => {
    const fnName = (suffix: string) => producer.one(FUNCTION, suffix).state.name;
    for (const prefix of ["orders-projector", "analytics-bridge-forwarder"]) {
      const parked = producer.one(ALARM, `${prefix}-parked`).inputs;
      expect(parked).to.include({
        namespace: METRICS_NAMESPACE,
        metricName: "EventsParked",
        statistic: "Sum",
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
      });
      expect(parked.dimensions).to.deep.equal({ [FUNCTION_DIMENSION]: fnName(prefix) });
      const failures = producer.one(ALARM, `${prefix}-batch-failures`).inputs;
      expect(failures).to.include({ namespace: METRICS_NAMESPACE, metricName: "BatchFailures", threshold: 1, evaluationPeriods: 3 });
      expect(failures.dimensions).to.deep.equal({ [FUNCTION_DIMENSION]: fnName(prefix) });
    }
    expect(producer.one(ALARM, "orders-projector-parked").inputs.alarmDescription).to.match(
      /npm run redrive -- --table orders-read-model-\w+ --parked orders-parked-\w+/,
    );
    expect(producer.one(ALARM, "analytics-bridge-forwarder-parked").inputs.alarmDescription).to.match(
      /--bridge-parked analytics-bridge-parked-\w+ --target-stream-arn arn:aws:kinesis:/,
    );
    const fiveXx = producer.one(ALARM, "commands-5xx").inputs;
    expect(fiveXx).to.include({ namespace: "AWS/ApiGateway", metricName: "5xx", statistic: "Sum", threshold: 1 });
    expect(fiveXx.dimensions).to.deep.equal({ ApiId: producer.one("aws:apigatewayv2/api:Api").id, Stage: "$default" });
  });

  it("every alarm of both stacks says what is wrong and what to do, never fires on missing data, and notifies OK too", () => {
    for (const run of [producer, consumer]) {
      for (const a of run.ofType(ALARM)) {
        expect(a.inputs.alarmDescription, a.name).to.be.a("string").with.length.above(80);
        expect(a.inputs.treatMissingData, a.name).to.equal("notBreaching");
        expect(a.inputs.okActions, a.name).to.deep.equal(a.inputs.alarmActions);
      }
    }
  });

  describe("dashboards", () => {
    for (const which of ["producer", "consumer"] as const) {
      it(`${which}: one dashboard graphs every alarm's metric as the alarm watches it, and shows every alarm's state`, () => {
        const run = which === "producer" ? producer : consumer;
        const { name, widgets } = dashboardOf(run);
        expect(name).to.equal(`event-sourced-pipeline-${which}`);
        const graphed = graphedMetrics(widgets);
        const alarms = run.ofType(ALARM);
        for (const a of alarms) {
          const same = graphed.filter((g) => g.namespace === a.inputs.namespace && g.metricName === a.inputs.metricName && g.stat === a.inputs.statistic);
          expect(
            same.map((g) => g.dimensions),
            a.name,
          ).to.deep.include(a.inputs.dimensions);
        }
        const statusWidget = widgets.find((w) => w.type === "alarm");
        expect([...statusWidget.properties.alarms].sort()).to.deep.equal(alarms.map((a) => a.state.arn).sort());
        for (const w of widgets.filter((x) => x.type === "metric")) expect(w.properties.region, w.properties.title).to.equal("us-east-1");
      });
    }

    it("producer: every metric of the functions' namespace is one that function emits, under its physical name", () => {
      const emits: Record<string, readonly string[]> = {
        [producer.one(FUNCTION, "orders-projector").state.name]: PROJECTOR_METRICS,
        [producer.one(FUNCTION, "analytics-bridge-forwarder").state.name]: BRIDGE_METRICS,
        [producer.one(FUNCTION, "commands-handler").state.name]: API_METRICS,
        [producer.one(FUNCTION, "events-archive-archiver").state.name]: ARCHIVER_METRICS,
      };
      const ours = graphedMetrics(dashboardOf(producer).widgets).filter((g) => g.namespace === METRICS_NAMESPACE);
      expect(ours.length).to.be.at.least(15);
      for (const g of ours) {
        expect(Object.keys(g.dimensions), g.metricName).to.deep.equal([FUNCTION_DIMENSION]);
        expect(emits[g.dimensions[FUNCTION_DIMENSION]], `${g.metricName} of ${g.dimensions[FUNCTION_DIMENSION]}`).to.include(g.metricName);
      }
    });

    it("rows come in order — throughput, lag, parked, errors, then landing freshness on the consumer — each under its heading", () => {
      const headings = (run: ProgramRun) =>
        dashboardOf(run)
          .widgets.filter((w) => w.type === "text")
          .map((w) => w.properties.markdown);
      const all = DASHBOARD_ROWS.map((r) => `## ${r.heading}`);
      expect(headings(producer)).to.deep.equal(all.filter((h) => h !== "## Landing freshness"));
      expect(headings(consumer)).to.deep.equal(all.filter((h) => h !== "## Parked events"));
      const freshness = dashboardOf(consumer).widgets.find((w) => w.properties?.title?.includes("oldest record not landed"));
      expect(freshness.properties.annotations.horizontal[0].value).to.equal(900);
      // No two widgets overlap on the 24-column grid.
      const cells = new Set<string>();
      for (const w of dashboardOf(producer).widgets)
        for (let x = w.x; x < w.x + w.width; x++)
          for (let y = w.y; y < w.y + w.height; y++) {
            expect(cells.has(`${x},${y}`), `overlap at ${x},${y}`).to.equal(false);
            cells.add(`${x},${y}`);
          }
    });

    it("exports the dashboard's console URL from both stacks", () => {
      expect(producer.outputs.dashboardUrl).to.equal(
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/event-sourced-pipeline-producer",
      );
      expect(consumer.outputs.dashboardUrl).to.match(/#dashboards\/dashboard\/event-sourced-pipeline-consumer$/);
    });

    it("refuses a dashboard of nothing and an invalid name, before registering anything", () => {
      expect(() => new OperationsDashboard("d", { parts: [] })).to.throw("OperationsDashboard d: parts must list at least one component's monitoring, got 0");
      const part = { title: "x", throughput: [], alarms: [] };
      expect(() => new OperationsDashboard("d", { parts: [part], dashboardName: "my dashboard" })).to.throw(
        'OperationsDashboard d: dashboardName must be 1–255 characters of A-Z a-z 0-9 _ -, got "my dashboard"',
      );
      expect(defaultDashboardName("my.project", "org/prod")).to.equal("my-project-org-prod");
    });
  });
});
