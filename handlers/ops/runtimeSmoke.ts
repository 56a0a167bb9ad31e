/**
 * The runtime-layout smoke check, for the first minute after `pulumi up`.
 * The archives carry no node_modules: they require the Lambda runtime's own
 * SDK by the paths the closure serialiser wrote (`@aws-sdk/client-*\/dist-cjs/index.js`),
 * and the HTTP/1.1 handler through the runtime's `@aws-sdk/client-kinesis`
 * (handlers/shared/clients.ts). The artifact tests resolve those from the
 * project's node_modules, so they cannot see the runtime change; this check
 * can: it invokes each deployed function with an event that does nothing
 * (an empty Kinesis batch; a request no route matches) but loads the whole
 * handler, which fails with Runtime.ImportModuleError when a path moved.
 * The caller supplies `invoke` (e.g. Lambda Invoke with RequestResponse), so
 * this module needs no Lambda client: `npm run smoke` wires it in.
 */

/** Which harmless event a function takes. */
export type SmokeKind = "stream" | "api";

/** A deployed function to check. */
export interface SmokeTarget {
  functionName: string;
  kind: SmokeKind;
}

/** What an invocation returned: Lambda's FunctionError header (e.g. "Unhandled") and the decoded payload. */
export interface SmokeAnswer {
  functionError?: string;
  payload: unknown;
}

/** Invokes one function synchronously with `payload`. */
export type SmokeInvoke = (functionName: string, payload: unknown) => Promise<SmokeAnswer>;

/** The harmless events: neither reads nor writes anything. */
export const SMOKE_EVENTS: Record<SmokeKind, unknown> = {
  stream: { Records: [] },
  api: {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/__smoke",
    rawQueryString: "",
    headers: {},
    isBase64Encoded: false,
    requestContext: { requestId: "runtime-smoke", http: { method: "GET", path: "/__smoke" } },
  },
};

/** A healthy answer: an empty batch failure list, or the API's own 404 for an unknown route. */
function healthy(kind: SmokeKind, payload: unknown): boolean {
  const p = payload as { batchItemFailures?: unknown[]; statusCode?: number } | null;
  return kind === "stream" ? Array.isArray(p?.batchItemFailures) && p.batchItemFailures.length === 0 : p?.statusCode === 404;
}

/** One line per function that did not load or answer as designed; empty when the runtime still provides what the archives require. */
export async function runtimeSmokeProblems(invoke: SmokeInvoke, targets: readonly SmokeTarget[]): Promise<string[]> {
  const problems: string[] = [];
  for (const t of targets) {
    let answer: SmokeAnswer;
    try {
      answer = await invoke(t.functionName, SMOKE_EVENTS[t.kind]);
    } catch (err) {
      problems.push(`${t.functionName}: the smoke invoke itself failed: ${(err as Error).message}`);
      continue;
    }
    const p = answer.payload as { errorType?: string; errorMessage?: string } | null;
    if (answer.functionError || p?.errorType) {
      const layout = /ImportModuleError|Cannot find module|is not a constructor|is not a function/.test(`${p?.errorType} ${p?.errorMessage}`);
      problems.push(
        `${t.functionName}: failed to load or run (${p?.errorType ?? answer.functionError}: ${p?.errorMessage ?? "no message"})` +
          (layout ? "; the Lambda runtime no longer provides a module the archive requires (see README, Lambda artifacts)" : ""),
      );
    } else if (!healthy(t.kind, answer.payload)) {
      problems.push(
        `${t.functionName}: answered the harmless ${t.kind} event with ${JSON.stringify(answer.payload)}, expected ${t.kind === "stream" ? '{"batchItemFailures":[]}' : "a 404"}`,
      );
    }
  }
  return problems;
}
