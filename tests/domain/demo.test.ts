/** The example domain's demo traffic (domain/demo.ts) is traffic the domain accepts and folds. */
import { expect } from "chai";
import { reduce, validate } from "../../domain";
import { demoHistory, sampleCommand } from "../../domain/demo";
import { EventEnvelope, ID_PATTERN } from "../../handlers/shared/envelope";

const envelope = (aggregateId: string, k: number, command: { type: string; data: Record<string, unknown> }): EventEnvelope => ({
  eventId: `e-${k}`,
  aggregateId,
  type: command.type,
  occurredAt: "2024-01-01T00:00:00.000Z",
  schemaVersion: 1,
  data: command.data,
});

describe("domain demo traffic", () => {
  it("gives each demo aggregate 2–5 commands that validate and fold without error, the same for the same index", () => {
    for (let i = 0; i < 60; i++) {
      const history = demoHistory(i);
      expect(history.length, `aggregate ${i}`).to.be.within(2, 5);
      expect(demoHistory(i)).to.deep.equal(history);
      let state: ReturnType<typeof reduce> | undefined;
      history.forEach((command, k) => {
        expect(validate(command.type, command.data), `${i}/${k} ${command.type}`).to.equal(undefined);
        state = reduce(state ?? undefined, envelope(`demo-${i}`, k, command));
      });
      expect(state, `aggregate ${i} ends paid or shipped`).to.have.property("status").that.is.oneOf(["paid", "shipped"]);
    }
  });

  it("offers a sample command the API accepts", () => {
    expect(validate(sampleCommand.command.type, sampleCommand.command.data)).to.equal(undefined);
    expect(sampleCommand.aggregateId).to.match(ID_PATTERN);
  });
});
