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
