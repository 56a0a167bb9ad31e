/**
 * A seeded fault-injecting layer between the handlers and the emulators: SDK
 * middleware on the real clients the handlers use. Every decision comes from
 * one seeded PRNG, so a failing property run replays exactly from its seed.
 *
 * Faults, by kind (counted per plan and in {@link FAULT_TOTALS} for the run):
 * - `throttle`: the request never reaches the emulator; ProvisionedThroughputExceededException (400, throttling).
 * - `serverError`: the request never reaches the emulator; InternalServerError / ServiceUnavailable (500/503).
 * - `timeout`: the request never reaches the emulator; TimeoutError.
 * - `timeoutAfterSend`: the emulator HAS applied the request, then the caller sees TimeoutError (the ambiguous case).
 * - `connectionReset`: ECONNRESET, before or after the emulator saw the request (a coin flip each time).
 * - `partialPutRecords`: entries dropped before PutRecords is sent and marked failed in the answer, as AWS does.
 * - `stsFailure`: AssumeRole answered with ServiceUnavailable/Throttling before reaching STS.
 * - `streamUnavailable`: the target stream unavailable for a run of consecutive calls (ResourceNotFoundException or 503).
 * - `crash`: the Lambda process dies right after a write became durable: that call and every later call of the
 *   invocation fail with {@link LambdaCrash}; the test driver discards the invocation's answer and redelivers.
 *
 * For code whose clients a test cannot reach (the serialised artifacts), {@link startFaultProxy} injects failures
 * between it and the emulator instead.
 */
import * as http from "http";
import type { MiddlewareStack } from "@smithy/types";
import { header, LoopbackServer, startLoopbackServer } from "../../local/shared/loopback";
import { serviceError } from "./sdkMiddleware";

type AnyClient = { middlewareStack: MiddlewareStack<any, any> };

export const FAULT_KINDS = [
  "throttle",
  "serverError",
  "timeout",
  "timeoutAfterSend",
  "connectionReset",
  "partialPutRecords",
  "stsFailure",
  "streamUnavailable",
  "crash",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Probabilities per request (per entry for partialPutRecords; per write for crash). */
export type FaultRates = Record<FaultKind, number> & { /** Longest outage, in calls. */ outageCalls: number };

export const NO_FAULTS: FaultRates = {
  throttle: 0,
  serverError: 0,
  timeout: 0,
  timeoutAfterSend: 0,
  connectionReset: 0,
  partialPutRecords: 0,
  stsFailure: 0,
  streamUnavailable: 0,
  crash: 0,
  outageCalls: 0,
};

/** Fault levels the properties pick from: none, some, a lot. */
export function faultRates(level: number): FaultRates {
  if (level <= 0) return NO_FAULTS;
  const k = level >= 2 ? 2 : 1;
  return {
    throttle: 0.06 * k,
    serverError: 0.04 * k,
    timeout: 0.03 * k,
    timeoutAfterSend: 0.04 * k,
    connectionReset: 0.03 * k,
    partialPutRecords: 0.1 * k,
    stsFailure: 0.1 * k,
    streamUnavailable: 0.03 * k,
    crash: 0.04 * k,
    outageCalls: 3 * k,
  };
}

/** Faults injected in this process, by kind (printed by the property suites). */
export const FAULT_TOTALS: Record<FaultKind, number> = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;

/** The process died: raised by every call after a crash until the driver starts the next invocation. */
export class LambdaCrash extends Error {
  constructor() {
    super("the Lambda process died (injected)");
    this.name = "LambdaCrash";
  }
}

/** mulberry32: small, fast, good enough for fault decisions. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WRITES = ["PutItemCommand", "BatchWriteItemCommand", "DeleteItemCommand", "PutRecordsCommand", "PutRecordCommand"];

function networkError(code: string, message: string): Error {
  const err = new Error(`${message} (injected)`) as Error & { code: string; $metadata: object };
  err.code = code;
  err.$metadata = {};
  return err;
}

function timeoutError(): Error {
  const err = new Error("socket timed out (injected)") as Error & { $metadata: object };
  err.name = "TimeoutError";
  err.$metadata = {};
  return err;
}

/** One run's faults: one PRNG, counters, the crash state and the target stream's outage. */
export class FaultPlan {
  readonly counts: Record<FaultKind, number> = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  readonly random: () => number;
  /** The driver turns faults off to model an outage that ends (after enough redeliveries). */
  enabled = true;
  /** Set by a crash; the driver clears it before the next invocation. */
  crashed = false;
  private outageLeft = 0;

  constructor(
    readonly seed: number,
    readonly rates: FaultRates,
  ) {
    this.random = prng(seed);
  }

  /** True when the PRNG fires at probability `p` (and faults are on). */
  roll(p: number): boolean {
    return this.enabled && p > 0 && this.random() < p;
  }

  count(kind: FaultKind, n = 1): void {
    this.counts[kind] += n;
    FAULT_TOTALS[kind] += n;
  }

  total(): number {
    return FAULT_KINDS.reduce((s, k) => s + this.counts[k], 0);
  }

  /** Attaches the plan to a client. `role` picks which faults apply. */
  attach(client: AnyClient, role: "dynamodb" | "target" | "sts"): void {
    client.middlewareStack.add(
      (next, context) => async (args: any) => {
        const name = String(context.commandName);
        if (this.crashed) throw new LambdaCrash();
        const r = this.rates;
        if (role === "sts") {
          if (this.roll(r.stsFailure)) {
            this.count("stsFailure");
            throw this.random() < 0.5 ? serviceError("ServiceUnavailable", 503) : serviceError("Throttling", 400);
          }
          return next(args);
        }
        if (role === "target" && name === "PutRecordsCommand") {
          if (this.outageLeft === 0 && this.roll(r.streamUnavailable)) this.outageLeft = 1 + Math.floor(this.random() * Math.max(1, r.outageCalls));
          if (this.outageLeft > 0 && this.enabled) {
            this.outageLeft -= 1;
            this.count("streamUnavailable");
            throw this.random() < 0.5 ? serviceError("ResourceNotFoundException", 400) : serviceError("ServiceUnavailable", 503);
          }
        }
        if (this.roll(r.throttle)) {
          this.count("throttle");
          const e = serviceError("ProvisionedThroughputExceededException", 400) as Error & { $retryable?: object };
          e.$retryable = { throttling: true };
          throw e;
        }
        if (this.roll(r.serverError)) {
          this.count("serverError");
          throw this.random() < 0.5 ? serviceError("InternalServerError", 500) : serviceError("ServiceUnavailable", 503);
        }
        if (this.roll(r.timeout)) {
          this.count("timeout");
          throw timeoutError();
        }
        const resetAfter = this.roll(r.connectionReset) ? (this.random() < 0.5 ? "before" : "after") : undefined;
        if (resetAfter === "before") {
          this.count("connectionReset");
          throw networkError("ECONNRESET", "socket hang up");
        }
        const timeoutAfter = this.roll(r.timeoutAfterSend);

        let result: any;
        if (role === "target" && name === "PutRecordsCommand") result = await this.partialPutRecords(next, args);
        else result = await next(args);

        // The write is durable now; what follows is what the caller sees.
        if (WRITES.includes(name) && this.roll(r.crash)) {
          this.count("crash");
          this.crashed = true;
          throw new LambdaCrash();
        }
        if (resetAfter === "after") {
          this.count("connectionReset");
          throw networkError("ECONNRESET", "socket hang up after the request was sent");
        }
        if (timeoutAfter) {
          this.count("timeoutAfterSend");
          throw timeoutError();
        }
        return result;
      },
      { step: "initialize", name: `faultPlan-${role}`, priority: "high" },
    );
  }

  /** Drops entries before sending and marks them failed at their positions (as tests/support/bridge.ts does, without parsing the data). */
  private async partialPutRecords(next: (args: any) => Promise<any>, args: any): Promise<any> {
    const entries = args.input.Records as unknown[];
    const fail = entries.map(() => this.roll(this.rates.partialPutRecords));
    const failed = fail.filter(Boolean).length;
    if (failed === 0) return next(args);
    this.count("partialPutRecords", failed);
    const throttled = () => ({ ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded for shard (injected)" });
    if (failed === entries.length) {
      return { output: { $metadata: { httpStatusCode: 200 }, FailedRecordCount: failed, Records: entries.map(throttled) }, response: {} };
    }
    const result = await next({ ...args, input: { ...args.input, Records: entries.filter((_, i) => !fail[i]) } });
    const answered = result.output.Records as object[];
    let k = 0;
    const merged = fail.map((f) => (f ? throttled() : answered[k++]));
    result.output = { ...result.output, Records: merged, FailedRecordCount: (result.output.FailedRecordCount ?? 0) + failed };
    return result;
  }
}

/** "kind=n, ..." for the non-zero counters. */
export function formatCounts(counts: Record<FaultKind, number>): string {
  return (
    FAULT_KINDS.filter((k) => counts[k] > 0)
      .map((k) => `${k}=${counts[k]}`)
      .join(", ") || "none"
  );
}

/** What the fault proxy does with one request: pass it, fail it whole, or fail some PutRecords entries. */
export type ProxyDecision = undefined | "fail" | { failEntries: (entry: { Data: string; PartitionKey: string }) => boolean };

/**
 * A loopback proxy in front of an emulator that injects faults into the requests `decide` picks (by X-Amz-Target and
 * JSON body), for code whose SDK clients a test cannot reach: the serialised artifacts. "fail": the request never
 * reaches the emulator and is answered 500 InternalFailure (a service error the SDK and the handlers retry).
 * `failEntries`: those PutRecords entries are removed before it is sent and marked failed in the answer, as AWS does.
 */
export async function startFaultProxy(upstream: string, decide: (target: string, body: any) => ProxyDecision): Promise<LoopbackServer & { injected: number }> {
  const stats = { injected: 0 };
  const forward = (req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const url = new URL(req.url ?? "/", upstream);
      const headers = { ...req.headers, host: url.host, "content-length": String(body.length) };
      const out = http.request(url, { method: req.method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 500, headers: res.headers as Record<string, string>, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      });
      out.on("error", reject);
      out.end(body);
    });
  const server = await startLoopbackServer({
    maxBodyBytes: 16 << 20,
    handle: async (req, body, res) => {
      const target = header(req.headers, "x-amz-target") ?? "";
      let parsed: any;
      try {
        parsed = body.length ? JSON.parse(body.toString("utf8")) : {};
      } catch {
        parsed = undefined;
      }
      const decision = parsed === undefined ? undefined : decide(target, parsed);
      const reply = (r: { status: number; headers: Record<string, string>; body: Buffer }) => {
        const headers: Record<string, string> = { ...r.headers, "content-length": String(r.body.length) };
        delete headers["transfer-encoding"];
        res.writeHead(r.status, headers);
        res.end(r.body);
      };
      if (decision === "fail") {
        stats.injected += 1;
        const payload = Buffer.from(JSON.stringify({ __type: "InternalFailure", message: "injected by the fault proxy" }));
        reply({ status: 500, headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": "InternalFailure" }, body: payload });
        return;
      }
      if (decision === undefined || !Array.isArray(parsed.Records)) return reply(await forward(req, body));
      const fail: boolean[] = parsed.Records.map(decision.failEntries);
      const kept = parsed.Records.filter((_: unknown, i: number) => !fail[i]);
      const failed = { ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded for shard (injected by the fault proxy)" };
      stats.injected += fail.filter(Boolean).length;
      let answered: any[] = [];
      let base: { status: number; headers: Record<string, string>; body: Buffer } = {
        status: 200,
        headers: { "content-type": "application/x-amz-json-1.1" },
        body: Buffer.alloc(0),
      };
      if (kept.length) {
        base = await forward(req, Buffer.from(JSON.stringify({ ...parsed, Records: kept })));
        if (base.status !== 200) return reply(base);
        answered = JSON.parse(base.body.toString("utf8")).Records;
      }
      let k = 0;
      const records = fail.map((f) => (f ? failed : answered[k++]));
      const merged = Buffer.from(JSON.stringify({ FailedRecordCount: records.filter((r) => r.ErrorCode).length, Records: records }));
      reply({ ...base, body: merged });
    },
  });
  // A getter, so the count is read when asked (Object.assign would copy its value once).
  return Object.defineProperty(server, "injected", { get: () => stats.injected }) as LoopbackServer & { injected: number };
}
