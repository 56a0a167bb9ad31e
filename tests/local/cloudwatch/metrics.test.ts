/**
 * The local cloud reads the functions' EMF lines back as CloudWatch does:
 * only documents of the pipeline's namespace count, summed per function, with
 * durations summarised by mean and maximum.
 */
import { expect } from "chai";
import { emfSink } from "../../../handlers/observability/emf";
import { createMetricStore, metricsSummary } from "../../../local/cloudwatch/metrics";

describe("local cloud metrics (EMF read back from the functions' logs)", () => {
  it("sums each function's metrics from its EMF lines and ignores every other line", () => {
    const store = createMetricStore();
    const lines: string[] = [];
    const sink = emfSink("orders-projector-1a2b", (l) => lines.push(l));
    sink({ EventsApplied: 3, EventsParked: 1, BatchDuration: 10 });
    sink({ EventsApplied: 2, EventsParked: 0, BatchDuration: 30 });
    for (const l of lines) expect(store.ingest("orders-projector", l)).to.equal(true);
    expect(store.ingest("orders-projector", '{"level":"info","msg":"parked poison event"}')).to.equal(false);
    const foreign = JSON.stringify({
      _aws: { Timestamp: 1, CloudWatchMetrics: [{ Namespace: "Other", Dimensions: [[]], Metrics: [{ Name: "EventsApplied" }] }] },
      EventsApplied: 99,
    });
    expect(store.ingest("orders-projector", foreign)).to.equal(false);
    emfSink("bridge-1", (l) => store.ingest("bridge", l))({ EventsParked: 2, RecordsForwarded: 5 });
    expect(store.total("EventsApplied")).to.equal(5);
    expect(store.total("EventsParked")).to.equal(3);
    expect(store.byFunction()["orders-projector"]).to.deep.include({ documents: 2, sums: { EventsApplied: 5, EventsParked: 1, BatchDuration: 40 } });
    expect(metricsSummary(store.byFunction())).to.deep.equal([
      "metrics (EMF, as CloudWatch extracts them):",
      "  bridge (1 invocations): EventsParked 2 · RecordsForwarded 5",
      "  orders-projector (2 invocations): BatchDuration mean 20 ms, max 30 ms · EventsApplied 5 · EventsParked 1",
    ]);
    expect(metricsSummary({})).to.deep.equal(["metrics (EMF, as CloudWatch extracts them):", "  none yet"]);
  });
});
