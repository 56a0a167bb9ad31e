/**
 * The example domain: orders. Four closures the components serialise into
 * the Lambdas — `reduce` builds the read model, `map` the analytics contract,
 * `validate` and `authorize` guard the command API. Replace them with your own; keep them
 * pure and self-contained (no I/O, no module-level Set/Map), since they run
 * serialised, and operator tools (re-drive) and tests use the same ones.
 */
import type { AccessAction, AnalyticsRecord, Principal } from "../handlers/shared/domain";
import type { EventEnvelope } from "../handlers/shared/envelope";

/** An order line. */
export interface Line {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

/** The fields order events carry (checked by `validate` before they are written). */
interface OrderEventData {
  customerId?: unknown;
  lines?: Line[];
  sku?: unknown;
  quantity?: unknown;
  unitPriceCents?: unknown;
  amountCents?: unknown;
}

/** The read model of one order. */
export interface Order {
  status: "open" | "paid" | "shipped" | "cancelled";
  customerId: string;
  lines: Line[];
  totalCents: number;
  paidCents: number;
}

const COMMANDS: Record<string, string[]> = {
  OrderPlaced: ["customerId", "lines"],
  LineAdded: ["sku", "quantity", "unitPriceCents"],
  OrderPaid: ["amountCents"],
  OrderShipped: [],
  OrderCancelled: [],
  OrderErased: [],
};

/** Rejects unknown commands and missing fields before anything is written. */
export const validate = (type: string, data: unknown): string | undefined => {
  const fields = COMMANDS[type];
  if (!fields) return `unknown command type ${type}; expected one of ${Object.keys(COMMANDS).join(", ")}`;
  const d = data as Record<string, unknown>;
  const missing = fields.filter((f) => d[f] === undefined);
  if (missing.length) return `${type} needs ${missing.join(", ")}`;
  if (type === "LineAdded" && (!Number.isInteger(d.quantity) || (d.quantity as number) <= 0)) return "quantity must be a positive integer";
  return undefined;
};

const lineTotal = (lines: Line[]) => lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);

/** Folds one order event into the order; `null` erases it. Unknown types are ignored (forward compatible). */
export const reduce = (order: Order | undefined, event: EventEnvelope): Order | null => {
  const d = event.data as OrderEventData;
  if (event.type === "OrderPlaced") {
    const lines: Line[] = d.lines ?? [];
    return { status: "open", customerId: String(d.customerId), lines, totalCents: lineTotal(lines), paidCents: 0 };
  }
  if (event.type === "OrderErased") return null;
  if (!order) throw new Error(`${event.type} before OrderPlaced`);
  switch (event.type) {
    case "LineAdded": {
      const lines = [...order.lines, { sku: String(d.sku), quantity: Number(d.quantity), unitPriceCents: Number(d.unitPriceCents) }];
      return { ...order, lines, totalCents: lineTotal(lines) };
    }
    case "OrderPaid": {
      const paidCents = order.paidCents + Number(d.amountCents);
      return { ...order, paidCents, status: paidCents >= order.totalCents ? "paid" : order.status };
    }
    case "OrderShipped":
      return { ...order, status: "shipped" };
    case "OrderCancelled":
      return { ...order, status: "cancelled" };
    default:
      return order;
  }
};

/** The analytics contract `order-lifecycle.v1`: no personal data crosses the account boundary. */
export const map = (event: EventEnvelope): AnalyticsRecord | undefined => {
  const d = event.data as OrderEventData;
  const base = { orderId: event.aggregateId, occurredAt: event.occurredAt };
  switch (event.type) {
    case "OrderPlaced":
      return { contract: "order-lifecycle.v1", data: { ...base, stage: "placed", amountCents: lineTotal(d.lines ?? []), lineCount: (d.lines ?? []).length } };
    case "LineAdded":
      return {
        contract: "order-lifecycle.v1",
        data: { ...base, stage: "line-added", amountCents: Number(d.quantity) * Number(d.unitPriceCents), lineCount: 1 },
      };
    case "OrderPaid":
      return { contract: "order-lifecycle.v1", data: { ...base, stage: "paid", amountCents: Number(d.amountCents), lineCount: 0 } };
    case "OrderShipped":
      return { contract: "order-lifecycle.v1", data: { ...base, stage: "shipped", amountCents: 0, lineCount: 0 } };
    case "OrderCancelled":
      return { contract: "order-lifecycle.v1", data: { ...base, stage: "cancelled", amountCents: 0, lineCount: 0 } };
    default:
      return undefined;
  }
};

/**
 * Who may touch which order. A customer (a JWT's `sub`) may place an order
 * for themself, then write to and read only their own orders; a service
 * calling with IAM may do whatever its `execute-api:Invoke` allows; with
 * `apiAuth: none` (chosen explicitly) nobody is told apart, so nothing is refused.
 */
export const authorize = (principal: Principal, action: AccessAction, _orderId: string, order?: Order): string | undefined => {
  if (principal.kind !== "jwt") return undefined;
  const me = principal.subject;
  if (!me) return "a customer's token must carry a sub claim (the customer id)";
  // Absent (or erased) orders have no owner to protect: a poller waiting for its first event gets 404, not 403.
  if (order && order.customerId !== me) return `the order belongs to another customer, not to ${me}`;
  if (action.kind === "read") return undefined;
  if (action.type === "OrderPlaced") {
    const customerId = (action.data as OrderEventData | null)?.customerId;
    return customerId === me ? undefined : `a customer may place orders only for themself (customerId ${JSON.stringify(customerId)}, token sub ${me})`;
  }
  // Not projected yet (the read model lags by about a second): its owner is unknown here, and reduce refuses an order event before OrderPlaced.
  return undefined;
};

/**
 * Read-model versions beyond 1, each with its own `reduce` (see README "Rebuilding a read model"). Deployed only when the
 * producer's `readModelVersions` lists them. The example v2 also counts the units ordered, which v1 never stored: a rebuild
 * from the archive gives every existing order its count.
 */
export const readModels: Record<number, (order: Order | undefined, event: EventEnvelope) => Order | null> = {
  2: (order, event) => {
    const next = reduce(order, event);
    return next && { ...next, unitCount: next.lines.reduce((sum, l) => sum + l.quantity, 0) };
  },
};
