/**
 * `npm run redrive`: list parked events and, with --apply, re-drive them after a fix; --discard an event that can never apply.
 *
 *   npm run redrive -- --table <read-model table> --parked <parked table> [--apply]
 *   npm run redrive -- --table <read-model table> --parked <parked table> --discard <eventId | aggregateId@position> --reason "…" [--by <who>]
 *   npm run redrive -- --bridge-parked <bridge parked table> [--target-stream-arn <analytics stream ARN>] [--apply]
 *
 * Projector: the listing shows every parked event (position, status, reason)
 * and, per blocked aggregate, what blocks it and what waits behind it (count
 * and range), then the discarded events' audit rows. --apply applies every
 * blocked aggregate's parked events in position order with the CURRENT
 * `reduce` (domain/index.ts), with the projector's own fold and conditional
 * write (rows parked before KPL deaggregation are unpacked first); the block
 * is lifted when the whole backlog applies, an event that still fails stays
 * parked with everything after it. --discard skips an event for good (its
 * position passed, never applied), writes an audit row (who: --by, or the
 * caller's ARN from STS GetCallerIdentity; when; --reason; its data) and
 * re-drives its aggregate. Bridge: parked events that decode and map now
 * (`map`) are re-sent with the bridge's own code (target credentials: the
 * standard chain, or ACCESS_MODE=assumeRole with WRITER_ROLE_ARN /
 * EXTERNAL_ID as the function has). All are idempotent: run them again, or
 * while the functions run. Uses the standard AWS environment (AWS_REGION,
 * AWS_PROFILE, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_STS, …).
 * Exit codes: 0 done, 2 a discard refused, 3 something still parked after --apply, 64 bad options, 1 any other error.
 */
import { cliOptions, usageError } from "../local/shared/cliOptions";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { map, readModels, reduce } from "../domain";
import { readModelVersionOfTable } from "../stacks/naming";
import { bridgeKinesisClient } from "../handlers/bridge";
import { dynamoClient, kinesisClient, stsClient } from "../handlers/shared/clients";
import { DEFAULT_DEDUP_WINDOW } from "../handlers/projector";
import { PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_RECORDS } from "../handlers/bridge/putRecordsChunks";
import {
  blockSummaries,
  DiscardRefused,
  DiscardTarget,
  discardParked,
  listParked,
  parseDiscardTarget,
  redriveBridge,
  redriveProjector,
} from "../handlers/ops/redrive";
import { parkedPositionText, parkedTable } from "../handlers/shared/parkedTable";
import { IDEMPOTENCY_CONFLICT } from "../handlers/shared/readModelItem";
import { DEFAULT_RETRY_BUDGET } from "../handlers/shared/retry";

const OPTIONS = {
  table: { type: "string" },
  parked: { type: "string" },
  "bridge-parked": { type: "string" },
  "target-stream-arn": { type: "string" },
  apply: { type: "boolean" },
  discard: { type: "string" },
  reason: { type: "string" },
  by: { type: "string" },
  "dedup-window": { type: "string" },
  version: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const HELP = `usage: npm run redrive -- --table <read-model table> --parked <parked table> [--apply]
       npm run redrive -- --table <read-model table> --parked <parked table> --discard <eventId | aggregateId@position> --reason "…" [--by <who>]
       npm run redrive -- --bridge-parked <bridge parked table> [--target-stream-arn <arn>] [--apply]
  --table <name>              the read-model table (with --parked)
  --parked <name>             the projector's parked table: list it (status per row, blocked aggregates, discarded events)
  --apply                     re-drive: apply blocked aggregates' parked events with the current reduce; re-send the bridge's with the current map
  --discard <event>           skip a parked event for good (an eventId, or <aggregateId>@<position> for one without an id) and lift its block
  --reason <text>             why it is discarded (required with --discard; kept in the audit row)
  --by <who>                  who discards it (default: the caller's ARN from STS GetCallerIdentity)
  --dedup-window <n>          event ids kept per aggregate, as the projector's DEDUP_WINDOW (default ${DEFAULT_DEDUP_WINDOW})
  --version <n>               the read-model version the tables belong to, whose reduce applies (default: as the table's
                              name says, orders-v<n>-…, else 1); version n ≥ 2 applies readModels[n] of domain/index.ts
  --bridge-parked <name>      the bridge's parked table: list it
  --target-stream-arn <arn>   the analytics stream, for --apply on the bridge (or TARGET_STREAM_ARN)
  -h, --help                  this text`;

type Options = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]["type"] extends "string" ? string : boolean };

class UsageError extends Error {}

/** The checked options, or a UsageError naming the bad one; nothing has been done yet. */
function options(argv: string[]): Options & { target?: DiscardTarget; dedupWindow: number; reducer: typeof reduce; modelVersion: number } {
  const values = cliOptions("npm run redrive", HELP, OPTIONS, argv) as Options;
  if (!values.parked && !values["bridge-parked"]) throw new UsageError("give --parked (with --table) or --bridge-parked");
  if (values.parked && !values.table) throw new UsageError("--parked needs --table (the read-model table)");
  if (values.table && !values.parked) throw new UsageError("--table needs --parked (the projector's parked table)");
  if (values["target-stream-arn"] && !values["bridge-parked"]) throw new UsageError("--target-stream-arn goes with --bridge-parked");
  const dedupText = values["dedup-window"] ?? String(DEFAULT_DEDUP_WINDOW);
  const dedupWindow = Number(dedupText);
  if (!/^\d+$/.test(dedupText) || dedupWindow < 1 || dedupWindow > 10_000) throw new UsageError(`--dedup-window must be an integer 1-10000, got ${dedupText}`);
  if ((values.reason !== undefined || values.by !== undefined) && values.discard === undefined) throw new UsageError("--reason and --by go with --discard");
  if (values.discard !== undefined && values.apply)
    throw new UsageError("--discard re-drives its own aggregate already: run --apply on its own for the other blocked aggregates");
  const { reducer, modelVersion } = versionReducer(values);
  if (values.discard === undefined) return { ...values, dedupWindow, reducer, modelVersion };
  if (!values.parked) throw new UsageError("--discard needs --table and --parked (the projector's tables)");
  const target = parseDiscardTarget(values.discard);
  if (!target) throw new UsageError(`--discard takes an eventId or <aggregateId>@<sequence>[.<sub-sequence>], got ${JSON.stringify(values.discard)}`);
  if (!values.reason?.trim()) throw new UsageError('--discard needs --reason "…" (why the event can never apply; kept in the audit row)');
  if (values.by !== undefined && !values.by.trim()) throw new UsageError("--by must name someone, got an empty value");
  return { ...values, target, dedupWindow, reducer, modelVersion };
}

/**
 * The reduce of the tables' read-model version: --version, or what the table names say. A re-drive or discard with
 * another version's reduce would write that version's state into these tables.
 */
function versionReducer(values: Options): { reducer: typeof reduce; modelVersion: number } {
  const named = values.table ? [values.table, values.parked!].map(readModelVersionOfTable) : [1];
  if (values.version !== undefined && !values.table) throw new UsageError("--version goes with --table and --parked");
  if (named[0] !== named[1] && values.table)
    throw new UsageError(`--table ${values.table} is read-model version ${named[0]}'s but --parked ${values.parked} version ${named[1]}'s`);
  let modelVersion = named[0];
  if (values.version !== undefined) {
    if (!/^\d{1,3}$/.test(values.version) || Number(values.version) < 1) throw new UsageError(`--version must be an integer 1-999, got ${values.version}`);
    modelVersion = Number(values.version);
    if (named[0] !== 1 && named[0] !== modelVersion)
      throw new UsageError(`--table ${values.table} is read-model version ${named[0]}'s, not version ${modelVersion}'s`);
  }
  const reducer = modelVersion === 1 ? reduce : (readModels[modelVersion] as typeof reduce | undefined);
  if (!reducer) throw new UsageError(`read-model version ${modelVersion} has no reduce: domain/index.ts has no readModels[${modelVersion}]`);
  return { reducer, modelVersion };
}

/** Who runs this: --by, or the caller's identity. */
async function caller(by: string | undefined): Promise<string> {
  if (by) return by;
  try {
    const arn = (await stsClient().send(new GetCallerIdentityCommand({}))).Arn;
    if (arn) return arn;
  } catch (err) {
    throw new Error(`cannot tell who discards (STS GetCallerIdentity failed: ${(err as Error).message}); pass --by <who>`, { cause: err });
  }
  throw new Error("cannot tell who discards (STS GetCallerIdentity returned no ARN); pass --by <who>");
}

async function projector(o: ReturnType<typeof options>): Promise<number> {
  const dynamodb = dynamoClient({ maxAttempts: 3 });
  const config = { tableName: o.table!, parkedTableName: o.parked!, dedupWindow: o.dedupWindow, retry: DEFAULT_RETRY_BUDGET };
  let stuck = 0;
  console.log(`read-model version ${o.modelVersion}: ${o.modelVersion === 1 ? "reduce" : `readModels[${o.modelVersion}]`} of domain/index.ts applies`);
  if (o.target) {
    // Who discards is asked of STS only once there is something to discard: a refusal needs no identity.
    const out = await discardParked(dynamodb, o.reducer, config, o.target, { by: () => caller(o.by), reason: o.reason!.trim() });
    for (const d of out.alreadyDiscarded) console.log(`already discarded\t${d.aggregateId}\t${parkedPositionText(d)}\tby ${d.discardedBy} at ${d.discardedAt}`);
    for (const d of out.discarded) console.log(`discarded\t${d.aggregateId}\t${parkedPositionText(d)}\t${d.eventId ?? "-"}\tby ${d.discardedBy}`);
    for (const s of out.stillParked)
      console.log(
        `not discarded\t${s.aggregateId}\t${parkedPositionText(s)}\tit waits behind an earlier event that still fails: discard or fix that one first`,
      );
    if (out.redrive)
      console.log(
        `${out.redrive.outcome}\t${out.aggregateId}\tapplied ${out.redrive.applied}, still parked ${out.redrive.stillParked}${out.redrive.reason ? `\t${out.redrive.reason}` : ""}`,
      );
    if (out.stillParked.length) stuck += 1;
  }
  const rows = await listParked(dynamodb, config.parkedTableName, config.tableName);
  console.log(`${rows.length} parked event(s) in ${config.parkedTableName}`);
  console.log(["table", "aggregate", "position", "status", "eventId", "reason"].join("\t"));
  for (const r of rows) {
    const note = r.aggregateOf === undefined ? "" : ` [a KPL aggregate of ${r.aggregateOf} user records, parked before deaggregation: --apply unpacks it]`;
    console.log([r.table, r.aggregateId, parkedPositionText(r), r.status, r.eventId ?? "-", r.reason + note].join("\t"));
  }
  const blocks = blockSummaries(rows);
  console.log(`${blocks.length} blocked aggregate(s)`);
  for (const b of blocks) {
    const behind = b.waiting ? `${b.waiting} waiting behind it (${b.waitingFrom} … ${b.waitingTo})` : "nothing waiting behind it";
    console.log(`  ${b.aggregateId}\tblocked at ${b.blockedAt} (${b.eventId ?? "no eventId"}): ${b.reason}; ${behind}`);
  }
  const discarded = await parkedTable({ dynamodb, tableName: config.parkedTableName, retry: config.retry }).listDiscarded();
  console.log(`${discarded.length} discarded event(s)`);
  for (const d of discarded)
    console.log(
      `  ${d.aggregateId}\t${parkedPositionText(d)}\t${d.eventId ?? "-"}\tby ${d.discardedBy} at ${d.discardedAt}: ${d.discardReason} (parked as: ${d.reason})`,
    );
  if (o.apply) {
    for (const r of await redriveProjector(dynamodb, o.reducer, config)) {
      console.log(
        `${r.outcome}\t${r.aggregateId}\tapplied ${r.applied}, deleted ${r.deleted}, still parked ${r.stillParked}${r.reason ? `\t${r.reason}` : ""}`,
      );
      if (r.stranded?.length)
        console.log(`  STRANDED (parked while the re-drive ran, could not re-block): ${r.stranded.map((s) => parkedPositionText(s)).join(", ")}`);
      if (r.outcome !== "applied" && r.outcome !== "notBlocked") stuck += 1;
    }
  }
  return stuck;
}

async function bridge(o: Options): Promise<number> {
  const dynamodb = dynamoClient({ maxAttempts: 3 });
  const table = o["bridge-parked"]!;
  const rows = await listParked(dynamodb, table);
  console.log(`${rows.length} parked event(s) in ${table}`);
  console.log(["table", "aggregate", "position", "eventId", "reason"].join("\t"));
  for (const r of rows) console.log([r.table, r.aggregateId, parkedPositionText(r), r.eventId ?? "-", r.reason].join("\t"));
  if (!o.apply) return 0;
  const target = (o["target-stream-arn"] ?? process.env.TARGET_STREAM_ARN)!; // checked by main before any work
  const kinesis = process.env.ACCESS_MODE ? bridgeKinesisClient(process.env) : kinesisClient();
  const config = {
    targetStreamArn: target,
    parkedTableName: table,
    retry: DEFAULT_RETRY_BUDGET,
    maxRecordsPerCall: PUT_RECORDS_MAX_RECORDS,
    maxBytesPerCall: PUT_RECORDS_MAX_BYTES,
  };
  const result = await redriveBridge({ kinesis, dynamodb, map, config });
  console.log(`re-sent ${result.resent}, deleted ${result.deleted}, still parked ${result.stillParked.length}`);
  for (const s of result.stillParked) console.log(`  ${s.aggregateId}\t${s.position}\t${s.reason}`);
  if (result.rejected.length)
    console.log(`kept ${result.rejected.length} rejected duplicate(s), never sent (${IDEMPOTENCY_CONFLICT}: the first data was forwarded)`);
  for (const r of result.rejected) console.log(`  ${r.aggregateId}\t${r.position}\t${r.eventId ?? "-"}`);
  return result.stillParked.length ? 1 : 0;
}

async function main(): Promise<number> {
  let o: ReturnType<typeof options>;
  try {
    o = options(process.argv.slice(2));
    if (o["bridge-parked"] && o.apply && !o["target-stream-arn"] && !process.env.TARGET_STREAM_ARN)
      throw new UsageError("--apply for the bridge needs --target-stream-arn (or TARGET_STREAM_ARN)");
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return usageError("npm run redrive", err.message);
  }
  let stuck = 0;
  try {
    if (o.parked) stuck += await projector(o);
    if (o["bridge-parked"]) stuck += await bridge(o);
  } catch (err) {
    // The SDK's messages name no table and no endpoint: name the ones given.
    const named = (["table", "parked", "bridge-parked"] as const).filter((k) => o[k]).map((k) => `--${k} ${o[k]}`);
    const where = process.env.AWS_ENDPOINT_URL_DYNAMODB ?? process.env.AWS_REGION ?? "the default region";
    const name = (err as Error)?.name;
    const message = (err as Error)?.message;
    const code = (err as { code?: string })?.code;
    let why: string | undefined;
    if (name === "ResourceNotFoundException")
      why = `a table named here does not exist in ${where} (${named.join(", ")}); \`npm start\` and \`pulumi stack output\` list the names`;
    else if (name === "ValidationException" && /key element does not match the schema/.test(message))
      why = `a table named here does not have the key it should (${named.join(", ")}): --table takes the read model, --parked and --bridge-parked the parked tables`;
    else if (/Region is missing/i.test(message ?? ""))
      why = "no AWS region: set AWS_REGION (the stack's region, as `pulumi config get aws:region` prints) or a profile's region";
    else if (code === "ECONNREFUSED" || code === "ENOTFOUND")
      why = `nothing answers at ${where}${process.env.AWS_ENDPOINT_URL_DYNAMODB ? ": is the local cloud running (npm start)?" : ""}`;
    if (why === undefined) throw err;
    throw new Error(`${message}: ${why}`, { cause: err });
  }
  return stuck ? 3 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(err instanceof DiscardRefused ? 2 : 1);
  },
);
