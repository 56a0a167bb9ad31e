/**
 * The example domain's demo traffic: the commands `npm start -- --demo` sends
 * and the sample request the banner prints. They live with the domain, not in
 * the local cloud, so that replacing `reduce`, `map` and `validate` replaces
 * the demo too, and local/ knows no command types or fields.
 */
import type { EventCommand } from "../handlers/api/validation";

/** Who sends the i-th demo order's commands (a JWT's `sub`): its customer, whom `authorize` lets write and read it. */
export function demoCaller(i: number): string {
  return `c-${i % 50}`;
}

/** The commands of the i-th demo order, in order; deterministic per index, 2–5 of them, each one `validate` and `authorize` accept from demoCaller(i). */
export function demoHistory(i: number): EventCommand[] {
  const lines = [{ sku: `SKU-${i % 17}`, quantity: 1 + (i % 3), unitPriceCents: 199 + (i % 7) * 100 }];
  const history: EventCommand[] = [{ type: "OrderPlaced", data: { customerId: demoCaller(i), lines } }];
  let total = lines[0].quantity * lines[0].unitPriceCents;
  for (let k = 0; k < i % 3; k++) {
    const line = { sku: `SKU-${(i + k) % 23}`, quantity: 1, unitPriceCents: 350 };
    total += 350;
    history.push({ type: "LineAdded", data: line });
  }
  history.push({ type: "OrderPaid", data: { amountCents: total } });
  if (i % 4 === 0) history.push({ type: "OrderShipped", data: {} });
  return history;
}

/** One request to show in the banner: the aggregate to post to, the command it carries, and who sends it (the token's `sub`). */
export const sampleCommand: { aggregateId: string; command: EventCommand; caller: string } = {
  aggregateId: "order-1",
  command: { type: "OrderPlaced", data: { customerId: "c-1", lines: [{ sku: "A", quantity: 2, unitPriceCents: 500 }] } },
  caller: "c-1",
};
