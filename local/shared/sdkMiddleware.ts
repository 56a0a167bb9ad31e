/**
 * SDK middleware over real clients: count the requests a client really sends
 * (the bench's request counts, the tests' request budgets), and inject faults
 * explicitly (the request never reaches the emulator, or the emulator's
 * answer is rewritten), so no SDK call is mocked away.
 */
import type { MiddlewareStack } from "@smithy/types";

type AnyClient = { middlewareStack: MiddlewareStack<any, any> };

/** Counts commands by name, e.g. `{ BatchGetItemCommand: 1, PutItemCommand: 3 }`. */
export function countRequests(client: AnyClient): Record<string, number> {
  const counts: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: "finalizeRequest", name: "countRequests", priority: "low" },
  );
  return counts;
}

/** A fault decision for one request: undefined lets it through. */
export type FaultRule = (commandName: string, input: any, attempt: number) => Error | undefined;

/** Fails requests before they are sent, as the rule decides. */
export function injectFaults(client: AnyClient, rule: FaultRule): { injected: number } {
  const stats = { injected: 0 };
  let attempt = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      attempt += 1;
      const fault = rule(String(context.commandName), args.input, attempt);
      if (fault) {
        stats.injected += 1;
        throw fault;
      }
      return next(args);
    },
    { step: "initialize", name: "injectFaults", priority: "high" },
  );
  return stats;
}

/** Rewrites a command's output after the emulator answered (e.g. partial PutRecords failures). */
export function rewriteOutput(client: AnyClient, commandName: string, rewrite: (output: any, input: any) => any): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === commandName) result.output = rewrite(result.output, args.input);
      return result;
    },
    { step: "initialize", name: `rewriteOutput${commandName}`, priority: "high" },
  );
}

/** An error shaped as the SDK raises it for a service exception. */
export function serviceError(name: string, status = 400): Error {
  const err = new Error(`${name} (injected)`) as Error & { $metadata: { httpStatusCode: number }; $fault: string };
  err.name = name;
  err.$metadata = { httpStatusCode: status };
  err.$fault = status >= 500 ? "server" : "client";
  return err;
}

/** DynamoDB capacity units as billed, summed over every request a client sent. */
export interface CapacityTally {
  /** Read capacity units (RCU, or on-demand read request units). */
  read: number;
  /** Write capacity units (WCU, or on-demand write request units), failed conditional writes included. */
  write: number;
  /** PutItem calls whose condition failed (billed, though dynalite reports nothing for them). */
  conditionalFailures: number;
}

const READ_COMMANDS = new Set(["GetItemCommand", "BatchGetItemCommand", "QueryCommand", "ScanCommand"]);

/**
 * Asks DynamoDB (dynalite) for `ReturnConsumedCapacity: TOTAL` on every request and sums what it
 * answers, per item in batch requests as DynamoDB bills them. A conditional write that fails is
 * billed too, but dynalite answers it with an error and no capacity: it is counted as the item
 * it tried to write, rounded up to 1 KB (`itemSize`, the item size as DynamoDB counts it).
 */
export function countCapacity(client: AnyClient, itemSize: (item: Record<string, unknown>) => number): CapacityTally {
  const tally: CapacityTally = { read: 0, write: 0, conditionalFailures: 0 };
  client.middlewareStack.add(
    (next, context) => async (args: any) => {
      const name = String(context.commandName);
      const read = READ_COMMANDS.has(name);
      try {
        const result: any = await next({ ...args, input: { ...args.input, ReturnConsumedCapacity: "TOTAL" } });
        const consumed = result.output?.ConsumedCapacity;
        for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
          if (read) tally.read += c.CapacityUnits ?? 0;
          else tally.write += c.CapacityUnits ?? 0;
        }
        return result;
      } catch (err) {
        if ((err as Error)?.name === "ConditionalCheckFailedException" && args.input?.Item) {
          tally.conditionalFailures += 1;
          tally.write += Math.max(1, Math.ceil(itemSize(args.input.Item) / 1024));
        }
        throw err;
      }
    },
    { step: "initialize", name: "countCapacity", priority: "high" },
  );
  return tally;
}

/**
 * Delays every request (each attempt, after signing) by `delayMs(commandName)`: the latency a
 * real service adds, which the emulators don't. The bench's latency model draws it from a
 * distribution (bench/cost/latencyModel.ts).
 */
export function addLatency(client: AnyClient, delayMs: (commandName: string) => number): { requests: number; delayedMs: number } {
  const stats = { requests: 0, delayedMs: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const ms = delayMs(String(context.commandName));
      stats.requests += 1;
      stats.delayedMs += ms;
      await new Promise((resolve) => setTimeout(resolve, ms));
      return next(args);
    },
    { step: "finalizeRequest", name: "addLatency", priority: "low" },
  );
  return stats;
}
