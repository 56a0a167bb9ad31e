/** The example domain's demo traffic (domain/demo.ts) is traffic the domain accepts and folds. */
import { expect } from "chai";
import { authorize, Order, reduce, validate } from "../../domain";
import { demoCaller, demoHistory, sampleCommand } from "../../domain/demo";
import type { Principal } from "../../handlers/shared/domain";
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

  it("sends each demo order's commands as its customer, whom authorize lets write and read it, and no other customer", () => {
    const as = (sub: string): Principal => ({ kind: "jwt", subject: sub, scopes: [], claims: { sub } });
    for (let i = 0; i < 60; i++) {
      let state: Order | undefined;
      demoHistory(i).forEach((command, k) => {
        const write = { kind: "write" as const, type: command.type, data: command.data };
        expect(authorize(as(demoCaller(i)), write, `demo-${i}`, state), `${i}/${k}`).to.equal(undefined);
        // Another customer may place a first order under this id only while nothing is projected (see authorize).
        if (state) expect(authorize(as(`${demoCaller(i)}-other`), write, `demo-${i}`, state), `${i}/${k} by another`).to.be.a("string");
        state = reduce(state, envelope(`demo-${i}`, k, command)) ?? undefined;
      });
      expect(authorize(as(demoCaller(i)), { kind: "read" }, `demo-${i}`, state)).to.equal(undefined);
      expect(authorize(as("someone-else"), { kind: "read" }, `demo-${i}`, state)).to.match(/belongs to another customer/);
    }
  });

  it("offers a sample command the API accepts from its caller", () => {
    expect(validate(sampleCommand.command.type, sampleCommand.command.data)).to.equal(undefined);
    const caller: Principal = { kind: "jwt", subject: sampleCommand.caller, scopes: [], claims: {} };
    expect(authorize(caller, { kind: "write", ...sampleCommand.command }, sampleCommand.aggregateId)).to.equal(undefined);
    expect(sampleCommand.aggregateId).to.match(ID_PATTERN);
  });
});
