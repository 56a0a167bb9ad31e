/**
 * `npm run smoke`: is the deployed stack alive? Right after `pulumi up`, it
 * invokes each function with a harmless event that runs its handler through
 * its SDK calls (a changed Lambda runtime, a missing grant or a broken trust
 * shows in the first minute), and with --canary follows one real event of the
 * domain to the read model and the landing. One line per step, with its time;
 * exit 1 when a step failed. See handlers/ops/smoke.ts for the events.
 *
 *   npm run smoke -- --stack producer             against AWS: the standard AWS environment, outputs from `pulumi stack output --json`
 *   npm run smoke -- --stack producer --local     against the running local cloud (.local-cloud/current.json)
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import { cliOptions, usageError } from "../local/shared/cliOptions";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { consumerChecks, followCanary, invokeFunctions, lambdaInvoker, ProducerOutputs, smokeId, SmokeStep } from "../handlers/ops/smoke";
import { sampleCommand } from "../domain/demo";
import { emulatorKinesis, emulatorLambda, emulatorS3 } from "../local/emulators/clients";
import { LOCAL_ACCOUNTS, LOCAL_REGION } from "../local/shared/manifest";
import { localApiCallerRole, sigv4Headers } from "../local/cloud/caller";
import { issuerClient } from "../local/oidc/client";
import { accountCredentials } from "../local/emulators/clients";
import type { AwsCredentialIdentity } from "@smithy/types";
import { CURRENT_FILE } from "../local/shared/runningCloud";

const OPTIONS = {
  stack: { type: "string" },
  local: { type: "boolean", default: false },
  current: { type: "string" },
  outputs: { type: "string" },
  canary: { type: "boolean", default: false },
  "landing-bucket": { type: "string" },
  "landing-profile": { type: "string" },
  timeout: { type: "string", default: "60" },
  token: { type: "string" },
  help: { type: "boolean", default: false },
} as const;

const USAGE = `usage: npm run smoke -- --stack producer|consumer [options]
  --stack producer|consumer  the stack to check (required)
  --local                    check the running local cloud (.local-cloud/current.json) instead of AWS
  --current FILE             with --local: where that cloud described itself (default .local-cloud/current.json)
  --outputs FILE             the stack's outputs as JSON (default: \`pulumi stack output --json --stack <stack>\`)
  --canary                   producer: also write one event of the domain through the API and follow it
  --landing-bucket NAME      with --canary on AWS: the consumer's landing bucket, to follow the canary there too
  --landing-profile NAME     the AWS profile that may read that bucket (default: the standard environment)
  --timeout SECONDS          how long the canary may take, 1-900 (default 60)
  --token JWT                with --canary on AWS against a jwt-mode API: the bearer token to send (scopes events:write and
                             aggregates:read); an iam-mode API is signed with the standard AWS credentials, the local cloud's
                             API with its own issuer's token or its caller role
  --help                     this text`;

type Args = {
  stack: "producer" | "consumer";
  local: boolean;
  current: string;
  outputs?: string;
  canary: boolean;
  landingBucket?: string;
  landingProfile?: string;
  timeoutMs: number;
  token?: string;
};

/** The arguments, checked before any work; a problem is one line and exit 64. */
function readArgs(argv: string[]): Args {
  const fail: (message: string) => never = (message) => usageError("smoke", message);
  const values: Record<string, string | boolean | undefined> = cliOptions("smoke", USAGE, OPTIONS, argv);
  if (values.stack !== "producer" && values.stack !== "consumer") fail(`--stack must be producer or consumer, got ${JSON.stringify(values.stack ?? "")}`);
  const timeout = Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 900) fail(`--timeout must be whole seconds 1-900, got ${JSON.stringify(values.timeout)}`);
  if (values.canary && values.stack !== "producer") fail("--canary applies to the producer stack, which has the API");
  if (values.current && !values.local) fail("--current applies with --local");
  if (values.local && (values.outputs || values["landing-bucket"]))
    fail("--local reads the outputs and the landing from .local-cloud/current.json; drop --outputs and --landing-bucket");
  return {
    stack: values.stack as Args["stack"],
    local: values.local === true,
    current: (values.current as string | undefined) ?? CURRENT_FILE,
    outputs: values.outputs as string | undefined,
    canary: values.canary === true,
    landingBucket: values["landing-bucket"] as string | undefined,
    landingProfile: values["landing-profile"] as string | undefined,
    timeoutMs: timeout * 1000,
    token: values.token as string | undefined,
  };
}

/** The clients and outputs one target gives. */
interface Target {
  outputs: Record<string, any>;
  lambda: LambdaClient;
  kinesis: KinesisClient;
  s3: S3Client;
  landing?: { s3: S3Client; bucket: string };
  /** Authenticates the canary's requests as the API's mode asks. */
  sign: CanarySigner;
}

type CanarySigner = NonNullable<Parameters<typeof followCanary>[0]["sign"]>;

/** A signer for the API's auth mode: a bearer token (jwt), SigV4 with these credentials (iam), nothing (none). */
function signerFor(apiAuth: string | undefined, token: () => Promise<string>, credentials: () => Promise<AwsCredentialIdentity>, region: string): CanarySigner {
  if (apiAuth === "jwt") return async () => ({ authorization: `Bearer ${await token()}` });
  if (apiAuth === "iam") return async (url, init) => sigv4Headers(url, init, await credentials(), region);
  return async () => ({});
}

function localTarget(stack: Args["stack"], file: string): Target {
  if (!fs.existsSync(file)) throw new Error("no local cloud is running: start one with `npm start`");
  const current = JSON.parse(fs.readFileSync(file, "utf8"));
  if (!current.endpoints?.lambda) throw new Error(`${file} names no Lambda endpoint: restart the local cloud with this version of \`npm start\``);
  const account = LOCAL_ACCOUNTS[stack];
  const s3 = emulatorS3({ endpoint: current.endpoints.s3, account: LOCAL_ACCOUNTS.consumer });
  return {
    // The stack's apiUrl is the one it would have on AWS; locally the API is served here.
    outputs: { ...current[stack], apiUrl: current.apiUrl },
    lambda: emulatorLambda({ endpoint: current.endpoints.lambda, account }),
    kinesis: emulatorKinesis({ endpoint: current.endpoints.kinesis, account }),
    s3,
    landing: { s3, bucket: current.landingBucket },
    sign: signerFor(
      current.apiAuth,
      // The local issuer's token endpoint (npm run token), as the sample command's customer with the routes' scopes.
      () => issuerClient(current.issuer!).token({ sub: sampleCommand.caller, scopes: ["events:write", "aggregates:read"] }),
      async () => accountCredentials(LOCAL_ACCOUNTS.producer, localApiCallerRole(LOCAL_ACCOUNTS.producer)),
      LOCAL_REGION,
    ),
  };
}

function awsTarget(args: Args): Target {
  let text: string;
  if (args.outputs) text = fs.readFileSync(args.outputs, "utf8");
  else {
    try {
      text = execFileSync("pulumi", ["stack", "output", "--json", "--stack", args.stack], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      throw new Error(
        `\`pulumi stack output --json --stack ${args.stack}\` failed (${(err as Error).message.split("\n")[0]}): pass --outputs <file> with the stack's outputs`,
        { cause: err },
      );
    }
  }
  const landingS3 = args.landingBucket ? new S3Client({ profile: args.landingProfile }) : undefined;
  const outputs = JSON.parse(text);
  const lambda = new LambdaClient({ maxAttempts: 1 });
  const apiRegion = String(outputs.apiUrl ?? "").match(/execute-api\.([a-z0-9-]+)\.amazonaws/)?.[1] ?? process.env.AWS_REGION ?? "";
  return {
    outputs,
    lambda,
    kinesis: new KinesisClient({}),
    s3: new S3Client({}),
    landing: landingS3 && args.landingBucket ? { s3: landingS3, bucket: args.landingBucket } : undefined,
    sign: signerFor(
      outputs.apiAuth,
      async () => {
        if (!args.token) throw new Error("the API authenticates by jwt: pass --token <a bearer token with events:write and aggregates:read>");
        return args.token;
      },
      async () => lambda.config.credentials(),
      apiRegion,
    ),
  };
}

/** The outputs named, each a non-empty string, or a clear error naming the missing ones. */
function requireOutputs<K extends string>(outputs: Record<string, unknown>, stack: string, names: K[]): Record<K, string> {
  const missing = names.filter((n) => typeof outputs?.[n] !== "string" || outputs[n] === "");
  if (missing.length)
    throw new Error(`the ${stack} stack's outputs lack ${missing.join(", ")}: is this the ${stack} stack, deployed with this version of the program?`);
  return outputs as Record<K, string>;
}

async function run(args: Args): Promise<SmokeStep[]> {
  const target = args.local ? localTarget(args.stack, args.current) : awsTarget(args);
  if (args.stack === "consumer")
    return consumerChecks(target.kinesis, target.s3, requireOutputs(target.outputs, "consumer", ["analyticsStreamArn", "landingBucketName"]));
  const outputs: ProducerOutputs = requireOutputs(target.outputs, "producer", [
    "apiUrl",
    "apiFunctionName",
    "projectorFunctionName",
    "bridgeFunctionName",
    "eventStreamArn",
  ]);
  const id = smokeId();
  const steps = await invokeFunctions(lambdaInvoker(target.lambda), outputs, id);
  if (args.canary)
    steps.push(
      ...(await followCanary({
        apiUrl: outputs.apiUrl,
        command: sampleCommand.command,
        id,
        timeoutMs: args.timeoutMs,
        landing: target.landing,
        sign: target.sign,
      })),
    );
  return steps;
}

async function main() {
  const args = readArgs(process.argv.slice(2));
  const started = Date.now();
  const steps = await run(args);
  for (const s of steps) console.log(`${s.ok ? "ok  " : "FAIL"} ${s.name.padEnd(48)} ${String(s.ms).padStart(6)} ms  ${s.detail}`);
  const failed = steps.filter((s) => !s.ok).length;
  console.log(
    `${failed ? `${failed} of ${steps.length} steps failed` : `all ${steps.length} steps passed`} in ${Date.now() - started} ms (${args.local ? "local cloud" : "AWS"}, ${args.stack} stack)`,
  );
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(`smoke: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
