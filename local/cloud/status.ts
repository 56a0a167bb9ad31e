/**
 * The terminal side of the local cloud: what was deployed, and a live
 * one-line status.
 */
import { CloudStats, LocalCloud } from "./cloud";
import { StackManifest } from "../shared/manifest";
import { TYPES } from "../../components/parts/typeTokens";
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
    const names = m.resources.filter((r) => r.type === type).map((r) => r.state.name ?? r.inputs.routeKey ?? r.name);
    if (names.length) lines.push(`  ${label(type).padEnd(22)} ${names.join(", ")}`);
  }
  const skipped = Object.entries(m.notEmulated).map(([type, n]) => `${label(type)} ×${n}`);
  if (skipped.length) lines.push(`  not emulated (declared, recorded only): ${skipped.join(", ")}`);
  return lines;
}

/** The one-line status. */
export function statusLine(s: CloudStats): string {
  const lag = s.mappings.map((m) => `${m.name.replace(/-mapping$/, "")} ${Math.round(m.lagMs / 1000)}s`).join(", ");
  const denied = s.iam.denied ? ` · AccessDenied ${s.iam.denied}` : "";
  const waiting = s.parkedRows !== s.parked ? ` (${s.parkedRows} in the parked tables)` : "";
  return `accepted ${s.accepted} · applied ${s.applied} · skipped ${s.skipped} · forwarded ${s.forwarded} · landed ${s.landed} · parked ${s.parked}${waiting} · dead-lettered ${s.deadLettered} · lag ${lag}${denied}`;
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
    `parked events: AWS_ENDPOINT_URL_DYNAMODB=${cloud.endpoints.dynamodb} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local npm run redrive -- --table ${cloud.manifests.producer.outputs.readModelTableName} --parked ${cloud.manifests.producer.outputs.parkedTableName}`,
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
