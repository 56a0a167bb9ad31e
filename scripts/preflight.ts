/**
 * `npm run preflight -- --stack producer|consumer`: the preflight the
 * program runs at `pulumi preview` time, without the Pulumi CLI or AWS. It
 * reads the stack's file (Pulumi.<stack>.yaml), runs the program under mocks
 * with that config (so the very checks of preflight/program.ts run, on the
 * same code), answers the producer's StackReference from the consumer's
 * outputs in a file, and then checks every name the program would create
 * against AWS's limits, generated suffixes included. Secrets stay encrypted
 * in the file and are only known to be set.
 */
import * as fs from "fs";
import * as path from "path";
import { cliOptions, usageError, USAGE_EXIT } from "../local/shared/cliOptions";
import { parse } from "yaml";
import { runProgram } from "../local/deploy/program";
import { mockResources } from "../local/deploy/resourceState";
import { PROJECT_ROOT, projectName } from "../local/shared/project";
import { nameProblems } from "../preflight/limits";

const HELP = `npm run preflight -- --stack producer|consumer [options]

  --stack <name>              the stack to check: its file is Pulumi.<name>.yaml; its role is config "role" or the name (required)
  --file <path>               the stack file instead of Pulumi.<stack>.yaml
  --consumer-outputs <path>   producer only: the consumer's outputs, as \`pulumi stack output --json --show-secrets --stack consumer\` prints them
                              (required when the file sets consumerStack)
  --account <id>              the account the stack deploys to (default: aws:allowedAccountIds[0] in the file)
  --region <name>             the region (default: aws:region in the file)
  --help                      this text

Exit 0: no problem; 1: problems, one per line; ${USAGE_EXIT}: a bad option.`;

/** A stand-in for a secret the file holds encrypted: valid wherever an ExternalId is. */
const SECRET_STAND_IN = "secret-set-in-the-stack-file";

function bad(message: string): never {
  return usageError("preflight", message);
}

function options() {
  return cliOptions("preflight", HELP, {
    stack: { type: "string" },
    file: { type: "string" },
    "consumer-outputs": { type: "string" },
    account: { type: "string" },
    region: { type: "string" },
  });
}

/** The file's config as the program's harness takes it: project keys bare, `aws:` keys as they are, secrets replaced by a stand-in. */
function stackConfig(file: string, project: string): Record<string, string> {
  const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    const bare = key.startsWith(`${project}:`) ? key.slice(project.length + 1) : key;
    if (value && typeof value === "object" && "secure" in value) out[bare] = SECRET_STAND_IN;
    else out[bare] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
}

async function main() {
  const o = options();
  if (!o.stack) bad("--stack is required");
  const project = projectName();
  const file = path.resolve(o.file ?? path.join(PROJECT_ROOT, `Pulumi.${o.stack}.yaml`));
  if (!fs.existsSync(file)) bad(`no stack file ${file}`);
  const config = stackConfig(file, project);
  const role = config.role ?? o.stack;
  if (role !== "producer" && role !== "consumer")
    bad(`the stack's role (config "role" or the stack name) must be producer or consumer, got ${JSON.stringify(role)}`);
  const account = o.account ?? (JSON.parse(config["aws:allowedAccountIds"] ?? "[]") as string[])[0];
  const region = o.region ?? config["aws:region"];
  if (!account || !/^\d{12}$/.test(account))
    bad(`--account must be a 12-digit account id (or set aws:allowedAccountIds in ${file}), got ${JSON.stringify(account)}`);
  if (!region) bad(`--region is required (or set aws:region in ${file})`);
  const stackReferences: Record<string, Record<string, unknown>> = {};
  if (o["consumer-outputs"] && !(role === "producer" && config.consumerStack))
    console.log(
      `preflight: note: --consumer-outputs is not read: ${file} sets no consumerStack (set it, or the consumer's outputs as analyticsStreamArn, analyticsKeyArn, …)`,
    );
  if (role === "producer" && config.consumerStack) {
    const outputs = o["consumer-outputs"];
    if (!outputs)
      bad(
        `--consumer-outputs <file> is required: ${file} sets consumerStack; write it with pulumi stack output --json --show-secrets --stack ${config.consumerStack}`,
      );
    if (!fs.existsSync(outputs)) bad(`no consumer outputs file ${outputs}`);
    stackReferences[config.consumerStack] = JSON.parse(fs.readFileSync(outputs, "utf8"));
  }
  const { "aws:region": _region, ...rest } = config;
  try {
    const run = await runProgram({ stack: o.stack, region, config: rest, stackReferences, handler: mockResources({ account, region }) });
    const names = nameProblems(run.resources);
    if (names.length) {
      console.error(`preflight: ${names.length} name(s) over AWS's limits in stack ${o.stack}:\n${names.map((p) => `  - ${p}`).join("\n")}`);
      process.exit(1);
    }
    console.log(
      `preflight: stack ${o.stack} (${role}, account ${account}, ${region}): no problem; ${run.resources.length} resources, every name within AWS's limits`,
    );
    const alarms = run.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm").length;
    if (!config.alarmTopicArn)
      console.log(`preflight: note: alarmTopicArn is not set, so the stack's ${alarms} alarms notify no one (they still show on its dashboard)`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
