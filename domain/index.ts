/**
 * The example domain: orders. Four closures the components serialise into
 * the Lambdas — `reduce` builds the read model, `map` the analytics contract,
 * `validate` and `authorize` guard the command API; `commands` declares each command's schema, and
 * all three of `validate`, `reduce` and `map` see data parsed by it. Replace them with your own; keep them
 * pure and self-contained (no I/O, no module-level Set/Map), since they run
 * serialised, and operator tools (re-drive) and tests use the same ones.
 */
import * as v from "valibot";
import type { AccessAction, AnalyticsRecord, Principal, Reducer } from "../handlers/shared/domain";
import { CommandOf, EventOf, schemaValidator, typedMapper, typedReducer } from "../handlers/commands/schema";

/** A strict object (an unknown field is refused, not stored) whose messages say what is wrong in words. */
const strict = <E extends v.ObjectEntries>(entries: E) =>
  v.strictObject(entries, (issue) => (issue.expected === "never" ? "unknown field" : `expected an object, got ${issue.received}`));

// Amounts are integer cents: a safe integer, so no client can make the read model round (2^64 + 1) or hold null (1e400).
const cents = v.pipe(v.number(), v.safeInteger("must be a safe integer number of cents"), v.minValue(0));

/** An order line. */
const LineSchema = strict({
  sku: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  quantity: v.pipe(v.number(), v.safeInteger("must be a whole number"), v.minValue(1), v.maxValue(10_000)),
  unitPriceCents: cents,
});

/**
 * The commands, one schema each (Valibot: see the README for why). Strict objects: an unknown
 * field is refused rather than stored, so a typo never reaches the read model.
 */
export const commands = {
  OrderPlaced: strict({ customerId: v.pipe(v.string(), v.minLength(1), v.maxLength(128)), lines: v.pipe(v.array(LineSchema), v.maxLength(100)) }),
  LineAdded: LineSchema,
  OrderPaid: strict({ amountCents: v.pipe(cents, v.minValue(1)) }),
  OrderShipped: strict({}),
  OrderCancelled: strict({}),
  OrderErased: strict({}),
};

/** An order line, as the schema parses it. */
export type Line = v.InferOutput<typeof LineSchema>;
/** A parsed order command. */
export type OrderCommand = CommandOf<typeof commands>;
/** An order event, its data parsed by its command's schema. */
export type OrderEvent = EventOf<typeof commands>;

/** The read model of one order. */
export interface Order {
  status: "open" | "paid" | "shipped" | "cancelled";
  customerId: string;
  lines: Line[];
  totalCents: number;
  paidCents: number;
}

const lineTotal = (lines: Line[]) => lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);

/** Refuses a command its schema refuses (400 with the field's path), then one rule across fields that sees typed data. */
export const validate = schemaValidator(commands, (command) => {
  const total = command.type === "OrderPlaced" ? lineTotal(command.data.lines) : command.type === "LineAdded" ? lineTotal([command.data]) : 0;
  return Number.isSafeInteger(total) ? undefined : `${command.type} data: the lines total ${total} cents, beyond a safe integer`;
});

/** Folds one parsed order event into the order; `null` erases it. Types without a schema leave it as it is (forward compatible). */
export const reduce = typedReducer(commands, (order: Order | undefined, event: OrderEvent): Order | null => {
  if (event.type === "OrderPlaced") {
    // An order keeps its first customer: `authorize` sees the read model, which lags the stream by about a second, so
    // another customer's OrderPlaced on a brand-new id can be accepted before the first is projected. It changes nothing.
    if (order && order.customerId !== event.data.customerId) return order;
    const lines = event.data.lines;
    return { status: "open", customerId: event.data.customerId, lines, totalCents: lineTotal(lines), paidCents: 0 };
  }
  // Exact ownership: the API records who wrote each event (`actor`), and authorize, which sees only the lagging read
  // model, lets any customer write to an order it does not see yet. A customer's event on another's order changes nothing,
  // and one before OrderPlaced leaves the id unplaced (null) rather than parking, which would block the id for its owner.
  const customer = event.actor?.kind === "jwt" ? event.actor.subject : undefined;
  if (customer !== undefined && order?.customerId !== customer) return order ?? null;
  if (event.type === "OrderErased") return null;
  if (!order) throw new Error(`${event.type} before OrderPlaced`);
  switch (event.type) {
    case "LineAdded": {
      const lines = [...order.lines, event.data];
      return { ...order, lines, totalCents: lineTotal(lines) };
    }
    case "OrderPaid": {
      const paidCents = order.paidCents + event.data.amountCents;
      return { ...order, paidCents, status: paidCents >= order.totalCents ? "paid" : order.status };
    }
    case "OrderShipped":
      return { ...order, status: "shipped" };
    case "OrderCancelled":
      return { ...order, status: "cancelled" };
  }
});

/** The analytics contract `order-lifecycle.v1`: no personal data crosses the account boundary. */
export const map = typedMapper(commands, (event: OrderEvent): AnalyticsRecord | undefined => {
  const base = { orderId: event.aggregateId, occurredAt: event.occurredAt };
  switch (event.type) {
    case "OrderPlaced":
      return {
        contract: "order-lifecycle.v1",
        data: { ...base, stage: "placed", amountCents: lineTotal(event.data.lines), lineCount: event.data.lines.length },
      };
    case "LineAdded":
      return { contract: "order-lifecycle.v1", data: { ...base, stage: "line-added", amountCents: lineTotal([event.data]), lineCount: 1 } };
    case "OrderPaid":
      return { contract: "order-lifecycle.v1", data: { ...base, stage: "paid", amountCents: event.data.amountCents, lineCount: 0 } };
    case "OrderShipped":
      return { contract: "order-lifecycle.v1", data: { ...base, stage: "shipped", amountCents: 0, lineCount: 0 } };
    case "OrderCancelled":
      return { contract: "order-lifecycle.v1", data: { ...base, stage: "cancelled", amountCents: 0, lineCount: 0 } };
    default:
      return undefined;
  }
});

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
    const customerId = (action.data as { customerId?: unknown } | null)?.customerId;
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
export const readModels: Record<number, Reducer<Order>> = {
  2: (order, event) => {
    const next = reduce(order, event);
    return next && { ...next, unitCount: next.lines.reduce((sum, l) => sum + l.quantity, 0) };
  },
};
