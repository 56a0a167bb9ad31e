/**
 * `npm run redrive`: list parked events and, with --apply, re-drive them after a fix.
 *
 *   npm run redrive -- --table <read-model table> --parked <parked table> [--apply]
 *   npm run redrive -- --bridge-parked <bridge parked table> [--target-stream-arn <analytics stream ARN>] [--apply]
 *
 * Projector: every blocked aggregate's parked events are applied in sequence
 * order with the CURRENT `reduce` (domain.ts), with the projector's own fold
 * and conditional write; the block is lifted when the whole backlog applies,
 * an event that still fails stays parked with everything after it. Bridge:
 * parked events that decode and map now (domain.ts `map`) are re-sent with
 * the bridge's own code (target credentials: the standard chain, or
 * ACCESS_MODE=assumeRole with WRITER_ROLE_ARN / EXTERNAL_ID as the function has).
 * Both are idempotent: run them again, or while the functions run.
 * Uses the standard AWS environment (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_DYNAMODB, …).
 */
import { map, reduce } from "../domain";
import { bridgeKinesisClient } from "../handlers/bridge";
import { dynamoClient, kinesisClient } from "../handlers/shared/clients";
import { DEFAULT_DEDUP_WINDOW } from "../handlers/projector";
import { PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_RECORDS } from "../handlers/bridge/putRecordsChunks";
import { listParked, redriveBridge, redriveProjector } from "../handlers/ops/redrive";
import { DEFAULT_RETRY_BUDGET } from "../handlers/shared/retry";

function parseArgs(argv: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const [name, inline] = a.slice(2).split("=", 2);
    if (inline !== undefined) out[name] = inline;
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith("--")) out[name] = argv[++i];
    else out[name] = true;
  }
  return out;
}

const USAGE =
  "usage: npm run redrive -- --table <read-model table> --parked <parked table> [--apply]\n" +
  "       npm run redrive -- --bridge-parked <bridge parked table> [--target-stream-arn <arn>] [--apply]";

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const known = ["table", "parked", "bridge-parked", "target-stream-arn", "apply", "dedup-window", "help"];
  const unknown = Object.keys(args).filter((k) => !known.includes(k));
  if (args.help || unknown.length || (!args.parked && !args["bridge-parked"])) {
    console.error(unknown.length ? `unknown option(s): ${unknown.map((u) => `--${u}`).join(", ")}\n${USAGE}` : USAGE);
    return args.help ? 0 : 64;
  }
  const apply = args.apply === true;
  const dynamodb = dynamoClient({ maxAttempts: 3 });
  let stuck = 0;

  if (args.parked) {
    if (typeof args.parked !== "string" || typeof args.table !== "string") throw new Error(`--parked needs --table (the read-model table)\n${USAGE}`);
    const rows = await listParked(dynamodb, args.parked, args.table);
    console.log(`${rows.length} parked event(s) in ${args.parked}`);
    console.log(["table", "aggregate", "sequence", "status", "eventId", "reason"].join("\t"));
    for (const r of rows) console.log([r.table, r.aggregateId, r.sequenceNumber, r.status, r.eventId ?? "-", r.reason].join("\t"));
    if (apply) {
      const dedupWindow = args["dedup-window"] ? Number(args["dedup-window"]) : DEFAULT_DEDUP_WINDOW;
      const results = await redriveProjector(dynamodb, reduce, {
        tableName: args.table,
        parkedTableName: args.parked,
        dedupWindow,
        retry: DEFAULT_RETRY_BUDGET,
      });
      for (const r of results) {
        console.log(
          `${r.outcome}\t${r.aggregateId}\tapplied ${r.applied}, deleted ${r.deleted}, still parked ${r.stillParked}${r.reason ? `\t${r.reason}` : ""}`,
        );
        if (r.stranded?.length)
          console.log(`  STRANDED (parked while the re-drive ran, could not re-block): ${r.stranded.map((s) => s.sequenceNumber).join(", ")}`);
        if (r.outcome !== "applied" && r.outcome !== "notBlocked") stuck += 1;
      }
    }
  }

  if (args["bridge-parked"]) {
    if (typeof args["bridge-parked"] !== "string") throw new Error(USAGE);
    const rows = await listParked(dynamodb, args["bridge-parked"]);
    console.log(`${rows.length} parked event(s) in ${args["bridge-parked"]}`);
    console.log(["table", "aggregate", "sequence", "eventId", "reason"].join("\t"));
    for (const r of rows) console.log([r.table, r.aggregateId, r.sequenceNumber, r.eventId ?? "-", r.reason].join("\t"));
    if (apply) {
      const target = args["target-stream-arn"] ?? process.env.TARGET_STREAM_ARN;
      if (typeof target !== "string") throw new Error("--apply for the bridge needs --target-stream-arn (or TARGET_STREAM_ARN)");
      const kinesis = process.env.ACCESS_MODE ? bridgeKinesisClient(process.env) : kinesisClient();
      const result = await redriveBridge({
        kinesis,
        dynamodb,
        map,
        config: {
          targetStreamArn: target,
          parkedTableName: args["bridge-parked"],
          retry: DEFAULT_RETRY_BUDGET,
          maxRecordsPerCall: PUT_RECORDS_MAX_RECORDS,
          maxBytesPerCall: PUT_RECORDS_MAX_BYTES,
        },
      });
      console.log(`re-sent ${result.resent}, deleted ${result.deleted}, still parked ${result.stillParked.length}`);
      for (const s of result.stillParked) console.log(`  ${s.aggregateId}\t${s.sequenceNumber}\t${s.reason}`);
      stuck += result.stillParked.length ? 1 : 0;
    }
  }
  return stuck ? 3 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
