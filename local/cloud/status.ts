/**
 * The terminal side of the local cloud: what was deployed, and a live
 * one-line status: on a terminal one line rewritten in place and cut to its
 * width (a line that wraps leaves a stale copy at each rewrite), anywhere
 * else (a log file, a pipe) a plain line every few seconds when it changed.
 */
import { CloudStats, LocalCloud } from "./cloud";
import { StackManifest } from "../shared/manifest";
import { TYPES } from "../../components/parts/typeTokens";
import { ENV } from "../../handlers/shared/env";
import { sampleCommand } from "../../domain/demo";
import { declaredScopes, localApiCallerRole } from "./caller";

const DRIVEN = [TYPES.stream, TYPES.table, TYPES.bucket, TYPES.function, TYPES.mapping, TYPES.firehose, TYPES.role, TYPES.route, TYPES.authorizer];

function label(type: string): string {
  return type.split(":").pop()!;
}

/** Lines describing one account's resources and what is not emulated. */
export function describeStack(m: StackManifest): string[] {
  const lines = [`${m.stack} account ${m.account} (${m.region})`];
  for (const type of DRIVEN) {
    // The physical name (a bucket's is `bucket`), as the SDK and the console name it; a route by its key.
    const names = m.resources.filter((r) => r.type === type).map((r) => r.state.name ?? r.state.bucket ?? r.inputs.routeKey ?? r.name);
    if (names.length) lines.push(`  ${label(type).padEnd(22)} ${names.join(", ")}`);
  }
  const skipped = Object.entries(m.notEmulated).map(([type, n]) => `${label(type)} ×${n}`);
  if (skipped.length) lines.push(`  not emulated (declared, recorded only): ${skipped.join(", ")}`);
  return lines;
}

/** The status line's parts, most telling first: what a narrow terminal drops comes last. */
export function statusParts(s: CloudStats): string[] {
  const lag = s.mappings.map((m) => `${m.name.replace(/-mapping$/, "")} ${Math.round(m.lagMs / 1000)}s`).join(", ");
  const waiting = s.parkedRows !== s.parked ? ` (${s.parkedRows} in the parked tables)` : "";
  return [
    `accepted ${s.accepted}`,
    `applied ${s.applied}`,
    `skipped ${s.skipped}`,
    `forwarded ${s.forwarded}`,
    `landed ${s.landed}`,
    `parked ${s.parked}${waiting}`,
    `dead-lettered ${s.deadLettered}`,
    ...(s.iam.denied ? [`AccessDenied ${s.iam.denied}`] : []),
    `lag ${lag}`,
  ];
}

/**
 * Joins parts with " · " in at most `width` - 1 characters (a line that fills
 * the last column wraps on some terminals): the parts that fit, then "…";
 * the first part cut when even it does not fit.
 */
export function fitLine(parts: string[], width = Infinity): string {
  const max = Math.max(1, width - 1);
  const full = parts.join(" · ");
  if (full.length <= max) return full;
  let line = "";
  for (const part of parts) {
    const next = line ? `${line} · ${part}` : part;
    if (next.length + 2 > max) break;
    line = next;
  }
  return line ? `${line} …` : `${full.slice(0, max - 1)}…`;
}

/** The one-line status, cut to `width` columns when given. */
export function statusLine(s: CloudStats, width?: number): string {
  return fitLine(statusParts(s), width);
}

/** Where the status goes and how often. */
export interface StatusOutput {
  write(text: string): void;
  /** A terminal: rewrite one line in place. Otherwise print plain lines. */
  tty: boolean;
  /** The terminal's width now (it may be resized). */
  columns?: () => number | undefined;
}

/** The live status: `tick()` at each interval; `clear()` before printing anything else, so no half line stays. */
export function statusPrinter(out: StatusOutput, options: { plainEveryMs?: number; heartbeatMs?: number; now?: () => number } = {}) {
  const now = options.now ?? Date.now;
  const plainEveryMs = options.plainEveryMs ?? 5_000;
  const heartbeatMs = options.heartbeatMs ?? 60_000;
  let shown = false;
  let last = "";
  let lastAt = -Infinity;
  return {
    show(s: CloudStats): void {
      if (out.tty) {
        out.write(`\r\x1b[2K${statusLine(s, out.columns?.() ?? 80)}`);
        shown = true;
        return;
      }
      // A log gets a line when the counts moved (at most every plainEveryMs), and one a minute when idle.
      const line = statusLine(s);
      const t = now();
      if ((line !== last && t - lastAt >= plainEveryMs) || t - lastAt >= heartbeatMs) {
        out.write(`${new Date(t).toISOString()} ${line}\n`);
        [last, lastAt] = [line, t];
      }
    },
    clear(): void {
      if (out.tty && shown) out.write("\r\x1b[2K");
      shown = false;
    },
  };
}

/** Text to put between single quotes in a shell command: each `'` closes the quote, is escaped, and reopens it. */
const shellQuoted = (text: string) => text.replace(/'/g, "'\\''");

/** How to call the API in the producer's `apiAuth` mode: a line saying how, and the curl options that authenticate. */
export function howToCall(cloud: LocalCloud): { line: string; curl: string[] } {
  const m = cloud.manifests.producer;
  if (m.outputs.apiAuth === "jwt") {
    const scopes = declaredScopes(m)
      .map((s) => `--scope ${s}`)
      .join(" ");
    return {
      line: `auth: jwt, tokens from the local issuer ${cloud.issuer.issuer}: TOKEN=$(npm run -s token -- --sub ${sampleCommand.caller} ${scopes})`,
      curl: [`-H "authorization: Bearer $TOKEN"`],
    };
  }
  if (m.outputs.apiAuth === "iam") {
    const role = localApiCallerRole(m.account);
    return {
      line: `auth: iam, SigV4 as ${role} (allowed execute-api:Invoke on the stack's apiRouteArns)`,
      curl: [`--aws-sigv4 aws:amz:${m.region}:execute-api --user ${m.account}:local -H 'x-amz-security-token: role:${role}'`],
    };
  }
  return { line: "auth: none — the API is open to anyone (chosen with apiAuth none)", curl: [] };
}

/**
 * The re-drive listing of every parked table the stack declares, found by
 * what reads it: a function whose environment names a parked table and a
 * read model is a projector (`--table --parked`), one that names an
 * analytics stream is a bridge (`--bridge-parked --target-stream-arn`).
 */
export function redriveHints(m: StackManifest): string[] {
  const hints: string[] = [];
  for (const fn of m.functions) {
    const env = fn.environment;
    const parked = env[ENV.PARKED_TABLE_NAME];
    if (!parked) continue;
    if (env[ENV.TABLE_NAME]) hints.push(`--table ${env[ENV.TABLE_NAME]} --parked ${parked}`);
    else if (env[ENV.TARGET_STREAM_ARN]) hints.push(`--bridge-parked ${parked} --target-stream-arn ${env[ENV.TARGET_STREAM_ARN]}`);
  }
  return [...new Set(hints)];
}

/** The environment `npm run redrive` needs to reach the local cloud as the producer account (STS: who discards, for `--discard` without `--by`). */
const redriveEnv = (cloud: LocalCloud) =>
  `AWS_ENDPOINT_URL_DYNAMODB=${cloud.endpoints.dynamodb} AWS_ENDPOINT_URL_KINESIS=${cloud.endpoints.kinesis} AWS_ENDPOINT_URL_STS=${cloud.endpoints.sts} AWS_REGION=${cloud.manifests.producer.region} AWS_ACCESS_KEY_ID=${cloud.manifests.producer.account} AWS_SECRET_ACCESS_KEY=local`;

/** What `npm start` prints once everything is up. */
export function banner(cloud: LocalCloud): string[] {
  const auth = howToCall(cloud);
  return [
    "",
    ...describeStack(cloud.manifests.consumer),
    ...describeStack(cloud.manifests.producer),
    "",
    `functions cold start: ${Object.entries(cloud.coldStarts)
      .map(([n, ms]) => `${n} ${Math.round(ms)} ms`)
      .join(", ")}`,
    `emulators: Kinesis ${cloud.endpoints.kinesis}, DynamoDB ${cloud.endpoints.dynamodb}, S3 ${cloud.endpoints.s3}, STS ${cloud.endpoints.sts}`,
    `landing bucket: s3://${cloud.landingBucket} (consumer account ${cloud.manifests.consumer.account})`,
    ...redriveHints(cloud.manifests.producer).map((args) => `parked events: ${redriveEnv(cloud)} npm run redrive -- ${args}`),
    `logs of functions, mappings and Firehose: ${cloud.logFile}`,
    `up in ${cloud.startupSeconds.toFixed(1)} s`,
    "",
    `API: ${cloud.apiUrl}`,
    `  ${auth.line}`,
    `  curl -s -X POST ${cloud.apiUrl}aggregates/${sampleCommand.aggregateId}/events ${[...auth.curl, "-H 'content-type: application/json'"].join(" ")} \\`,
    `       -d '${shellQuoted(JSON.stringify(sampleCommand.command))}'`,
    "",
  ];
}
