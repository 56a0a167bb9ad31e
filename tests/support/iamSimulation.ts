/**
 * IAM simulation over the policies the program really emits.
 *
 * `buildWorld(mode)` runs index.ts under mocks for the consumer stack, then for
 * the producer stack fed with the consumer's real outputs (as the
 * StackReference would be on AWS), and collects:
 * - principals: every role the program creates, acting as a session of that
 *   role (`arn:aws:sts::<acct>:assumed-role/<name>/<session>`) with its one
 *   inline policy as identity policy; the AWS services its trust policies name;
 *   and a few actors that are not the program's, to knock on its doors
 *   (an administrator of the producer account, a role with the bridge's name
 *   in a third account, an administrator of the consumer account);
 * - resources: every ARN those policies name, each with the resource-side
 *   policy the program emits for it (trust policy of a role, key policy,
 *   Kinesis resource policy, bucket policy, the function's invoke permission).
 *
 * `simulate(world, case)` evaluates one request with @cloud-copilot/iam-simulate
 * (AGPL: a devDependency, used by tests only). Cross-account requests need
 * both sides, and the simulator evaluates both: the identity policy in the
 * caller's account and the resource or trust policy in the resource's.
 */
import { runSimulation, type RunSimulationResults } from "@cloud-copilot/iam-simulate";
import type { AccessMode } from "../../handlers/bridge/contract";
import { policyDocument, ProgramRun, RecordedResource, runProgram } from "./pulumiMocks";
import { CONSUMER, CONSUMER_STACK, PRODUCER, REGION, runProducer } from "./producerRun";
import { invokePolicy } from "../../components/commandApi/callers";

/** An account that is neither the producer's nor the consumer's. */
export const STRANGER = "333333333333";
/** The ExternalId the consumer stack is configured with in these runs. */
export const EXTERNAL_ID = "ext-5b1e0c7d9a";
/** `kms:ViaService` values of the region. */
export const VIA = { kinesis: `kinesis.${REGION}.amazonaws.com`, s3: `s3.${REGION}.amazonaws.com`, sqs: `sqs.${REGION}.amazonaws.com` };
export { CONSUMER, PRODUCER, REGION };

type PolicyDoc = { Version: string; Statement: any[] };
const ADMIN: PolicyDoc = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };

/** Who makes a request. */
export interface SimPrincipal {
  /** The request's principal: a role session ARN, or a service principal. */
  arn: string;
  /** `aws:PrincipalArn`: the role's IAM ARN for a session; undefined for a service. */
  principalArn?: string;
  account?: string;
  identityPolicies: { name: string; policy: PolicyDoc }[];
  /** True for actors that are not the program's (used to keep them out of coverage checks). */
  synthetic: boolean;
}

/** What a request is made on. */
export interface SimResource {
  arn: string;
  account: string;
  /** The resource-side policy the program emits for it, if any. */
  policy?: PolicyDoc;
}

export const PRINCIPALS = [
  "projector",
  "archiver",
  "api",
  "bridge",
  "writer",
  "firehose",
  "producerAdmin",
  "consumerAdmin",
  "stranger",
  "apiCaller",
  "lambdaService",
  "firehoseService",
  "apigatewayService",
] as const;
export type PrincipalKey = (typeof PRINCIPALS)[number];

export const RESOURCES = [
  "sourceStream",
  "readModelTable",
  "parkedTable",
  "bridgeParkedTable",
  "bridgeForwardedTable",
  "projectorQueue",
  "bridgeQueue",
  "projectorLogStream",
  "apiLogStream",
  "bridgeLogStream",
  "apiFunction",
  "projectorRole",
  "apiRole",
  "bridgeRole",
  "writerRole",
  "firehoseRole",
  "analyticsStream",
  "analyticsKey",
  "landingBucket",
  "landingObject",
  "deliveryLogStream",
  "archiveObject",
  "archiveOtherObject",
  "archiveConsumer",
  "archiveKey",
  "archiverQueue",
  "archiverLogStream",
  "otherTable",
  "otherStream",
  "otherQueue",
  "otherKey",
  "otherBucketObject",
  "otherRole",
  "apiPostRoute",
  "apiGetRoute",
  "apiDeleteRoute",
  "apiOtherStageRoute",
  "apiDefaultRoute",
  "otherApiRoute",
] as const;
export type ResourceKey = (typeof RESOURCES)[number];

/** Both stacks of one access mode, and what the simulation needs from them. */
export interface World {
  mode: AccessMode;
  consumer: ProgramRun;
  producer: ProgramRun;
  principals: Partial<Record<PrincipalKey, SimPrincipal>>;
  resources: Partial<Record<ResourceKey, SimResource>>;
}

const ROLE = "aws:iam/role:Role";

function inlinePolicy(role: RecordedResource): PolicyDoc {
  const policies = (role.inputs.inlinePolicies ?? []) as { policy: string }[];
  if (policies.length !== 1) throw new Error(`${role.name}: expected one inline policy, found ${policies.length}`);
  return policyDocument(policies[0].policy) as PolicyDoc;
}

function roleSession(run: ProgramRun, suffix: string, account: string): SimPrincipal {
  const role = run.one(ROLE, suffix);
  const name = role.state.name as string;
  return {
    arn: `arn:aws:sts::${account}:assumed-role/${name}/sim-session`,
    principalArn: role.state.arn,
    account,
    identityPolicies: [{ name: `${role.name}.least-privilege`, policy: inlinePolicy(role) }],
    synthetic: false,
  };
}

function synthetic(roleArn: string, policy?: PolicyDoc, policyName = "admin"): SimPrincipal {
  const [, , , , account, rest] = roleArn.split(":");
  const name = rest.split("/").pop();
  return {
    arn: `arn:aws:sts::${account}:assumed-role/${name}/sim-session`,
    principalArn: roleArn,
    account,
    identityPolicies: policy ? [{ name: policyName, policy }] : [],
    synthetic: true,
  };
}

const service = (name: string): SimPrincipal => ({ arn: name, identityPolicies: [], synthetic: true });

/** How AWS renders an aws.lambda.Permission into the function's resource policy. */
function permissionPolicy(permission: RecordedResource, functionArn: string): PolicyDoc {
  const i = permission.inputs;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: permission.name,
        Effect: "Allow",
        Principal: { Service: i.principal },
        Action: i.action,
        Resource: functionArn,
        ...(i.sourceArn ? { Condition: { ArnLike: { "AWS:SourceArn": i.sourceArn } } } : {}),
      },
    ],
  };
}

/** Options of {@link buildWorld}: a test may swap in a policy to prove a case can fail. */
export interface WorldOptions {
  /** Rewrites a policy after capture: (where, document) → document. */
  tamper?: (where: string, doc: PolicyDoc) => PolicyDoc;
}

const captured = new Map<AccessMode, Promise<{ consumer: ProgramRun; producer: ProgramRun }>>();

/** Runs both stacks of `mode` under mocks, once per process (the runs are plain data afterwards). */
function captureStacks(mode: AccessMode): Promise<{ consumer: ProgramRun; producer: ProgramRun }> {
  if (!captured.has(mode)) {
    captured.set(
      mode,
      (async () => {
        const consumer = await runProgram({
          stack: "consumer",
          account: CONSUMER,
          region: REGION,
          config: { role: "consumer", producerAccountId: PRODUCER, accessMode: mode, ...(mode === "assumeRole" ? { externalId: EXTERNAL_ID } : {}) },
        });
        // The producer reads the consumer's actual outputs, as its StackReference does on AWS.
        const producer = await runProducer({ accessMode: mode }, { [CONSUMER_STACK]: consumer.outputs });
        return { consumer, producer };
      })(),
    );
  }
  return captured.get(mode)!;
}

/**
 * Both stacks of `mode`, and the principals and resources their policies
 * define. Policies are parsed afresh on every call, so `tamper` may change them.
 */
export async function buildWorld(mode: AccessMode, options: WorldOptions = {}): Promise<World> {
  const { consumer, producer } = await captureStacks(mode);
  const tamper = options.tamper ?? ((_w: string, d: PolicyDoc) => d);

  const t = (run: ProgramRun, type: string, suffix?: string) => run.one(type, suffix);
  const arnOf = (run: ProgramRun, type: string, suffix?: string) => t(run, type, suffix).state.arn as string;
  const logStream = (run: ProgramRun, suffix: string) =>
    `${arnOf(run, "aws:cloudwatch/logGroup:LogGroup", suffix)}:log-stream:2025/01/01/[$LATEST]0123456789abcdef`;
  const trustOf = (run: ProgramRun, suffix: string) =>
    tamper(`${suffix}.assumeRolePolicy`, policyDocument(t(run, ROLE, suffix).inputs.assumeRolePolicy) as PolicyDoc);
  const session = (run: ProgramRun, suffix: string, account: string): SimPrincipal => {
    const p = roleSession(run, suffix, account);
    p.identityPolicies = p.identityPolicies.map((x) => ({ ...x, policy: tamper(`${suffix}.inline`, x.policy) }));
    return p;
  };

  const principals: World["principals"] = {
    projector: session(producer, "orders-projector-role", PRODUCER),
    archiver: session(producer, "events-archive-archiver-role", PRODUCER),
    api: session(producer, "commands-handler-role", PRODUCER),
    bridge: session(producer, "analytics-bridge-forwarder-role", PRODUCER),
    firehose: session(consumer, "-delivery", CONSUMER),
    producerAdmin: synthetic(`arn:aws:iam::${PRODUCER}:role/ops-admin`, ADMIN),
    consumerAdmin: synthetic(`arn:aws:iam::${CONSUMER}:role/analytics-admin`, ADMIN),
    stranger: synthetic(`arn:aws:iam::${STRANGER}:role/event-pipeline-bridge`, ADMIN),
    // A service a platform team granted the README's caller policy, over the route ARNs the stack exports.
    apiCaller: synthetic(
      `arn:aws:iam::${PRODUCER}:role/order-service`,
      tamper("api-caller.policy", invokePolicy(producer.outputs.apiRouteArns as string[]) as PolicyDoc),
      "invoke-command-api",
    ),
    lambdaService: service("lambda.amazonaws.com"),
    firehoseService: service("firehose.amazonaws.com"),
    apigatewayService: service("apigateway.amazonaws.com"),
  };
  if (mode === "assumeRole") principals.writer = session(consumer, "-writer", CONSUMER);

  const p = (arn: string, policy?: PolicyDoc): SimResource => ({ arn, account: arn.split(":")[4], policy });
  const bucketName = t(consumer, "aws:s3/bucket:Bucket").state.bucket as string;
  const bucketPolicy = tamper("landing-tls-only", policyDocument(t(consumer, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy) as PolicyDoc);
  const apiFn = t(producer, "aws:lambda/function:Function", "commands-handler");
  const archiveBucket = t(producer, "aws:s3/bucket:Bucket").state.bucket as string;
  const archivePolicy = tamper("archive-tls-only", policyDocument(t(producer, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy) as PolicyDoc);
  const resources: World["resources"] = {
    sourceStream: p(arnOf(producer, "aws:kinesis/stream:Stream")),
    readModelTable: p(arnOf(producer, "aws:dynamodb/table:Table", "read-model")),
    parkedTable: p(arnOf(producer, "aws:dynamodb/table:Table", "orders-parked")),
    bridgeParkedTable: p(arnOf(producer, "aws:dynamodb/table:Table", "bridge-parked")),
    bridgeForwardedTable: p(arnOf(producer, "aws:dynamodb/table:Table", "bridge-forwarded")),
    projectorQueue: p(arnOf(producer, "aws:sqs/queue:Queue", "projector-failures")),
    bridgeQueue: p(arnOf(producer, "aws:sqs/queue:Queue", "bridge-failures")),
    projectorLogStream: p(logStream(producer, "orders-projector-logs")),
    apiLogStream: p(logStream(producer, "commands-handler-logs")),
    bridgeLogStream: p(logStream(producer, "analytics-bridge-forwarder-logs")),
    apiFunction: p(
      apiFn.state.arn,
      tamper("commands-invoke", permissionPolicy(t(producer, "aws:lambda/permission:Permission", "commands-invoke"), apiFn.state.arn)),
    ),
    projectorRole: p(arnOf(producer, ROLE, "orders-projector-role"), trustOf(producer, "orders-projector-role")),
    apiRole: p(arnOf(producer, ROLE, "commands-handler-role"), trustOf(producer, "commands-handler-role")),
    bridgeRole: p(arnOf(producer, ROLE, "analytics-bridge-forwarder-role"), trustOf(producer, "analytics-bridge-forwarder-role")),
    firehoseRole: p(arnOf(consumer, ROLE, "-delivery"), trustOf(consumer, "-delivery")),
    analyticsStream: p(arnOf(consumer, "aws:kinesis/stream:Stream")),
    analyticsKey: p(
      arnOf(consumer, "aws:kms/key:Key"),
      tamper("analytics-key-policy", policyDocument(t(consumer, "aws:kms/keyPolicy:KeyPolicy").inputs.policy) as PolicyDoc),
    ),
    landingBucket: { arn: `arn:aws:s3:::${bucketName}`, account: CONSUMER, policy: bucketPolicy },
    landingObject: { arn: `arn:aws:s3:::${bucketName}/events/year=2025/month=01/day=01/analytics-delivery-1.gz`, account: CONSUMER, policy: bucketPolicy },
    deliveryLogStream: p(`${arnOf(consumer, "aws:cloudwatch/logGroup:LogGroup", "delivery-logs")}:log-stream:DestinationDelivery`),
    archiveObject: { arn: `arn:aws:s3:::${archiveBucket}/records/shardId-000000000000/1/2.jsonl.gz`, account: PRODUCER, policy: archivePolicy },
    archiveOtherObject: { arn: `arn:aws:s3:::${archiveBucket}/elsewhere/1.json`, account: PRODUCER, policy: archivePolicy },
    archiveConsumer: p(arnOf(producer, "aws:kinesis/streamConsumer:StreamConsumer")),
    // No explicit key policy: KMS applies its default one, which lets the account's IAM policies decide.
    archiveKey: p(arnOf(producer, "aws:kms/key:Key", "events-archive-key"), {
      Version: "2012-10-17",
      Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${PRODUCER}:root` }, Action: "kms:*", Resource: "*" }],
    }),
    archiverQueue: p(arnOf(producer, "aws:sqs/queue:Queue", "archiver-failures")),
    archiverLogStream: p(logStream(producer, "events-archive-archiver-logs")),
    otherTable: p(`arn:aws:dynamodb:${REGION}:${PRODUCER}:table/customers`),
    otherStream: p(`arn:aws:kinesis:${REGION}:${PRODUCER}:stream/payments-events`),
    otherQueue: p(`arn:aws:sqs:${REGION}:${PRODUCER}:payments-dlq`),
    otherKey: p(`arn:aws:kms:${REGION}:${PRODUCER}:key/99999999-8888-7777-6666-555555555555`),
    otherBucketObject: { arn: "arn:aws:s3:::acme-payroll/2025/01.csv", account: PRODUCER },
    otherRole: p(`arn:aws:iam::${CONSUMER}:role/analytics-admin`, {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${CONSUMER}:root` }, Action: "sts:AssumeRole" }],
    }),
  };
  // What execute-api:Invoke is asked on: <execution ARN>/<stage>/<METHOD>/<path as requested> (HTTP APIs have no resource policies).
  const execution = t(producer, "aws:apigatewayv2/api:Api").state.executionArn as string;
  Object.assign(resources, {
    apiPostRoute: p(`${execution}/$default/POST/aggregates/order-1/events`),
    apiGetRoute: p(`${execution}/$default/GET/aggregates/order-1`),
    apiDeleteRoute: p(`${execution}/$default/DELETE/aggregates/order-1`),
    apiOtherStageRoute: p(`${execution}/test/POST/aggregates/order-1/events`),
    apiDefaultRoute: p(`${execution}/$default/POST/admin/reset`),
    otherApiRoute: p(`${execution.replace(/:[^:]+$/, ":zz99yy88xx")}/$default/POST/aggregates/order-1/events`),
  });
  if (mode === "assumeRole") resources.writerRole = p(arnOf(consumer, ROLE, "-writer"), trustOf(consumer, "-writer"));
  if (mode === "resourcePolicy") {
    resources.analyticsStream!.policy = tamper(
      "analytics-stream-policy",
      policyDocument(t(consumer, "aws:kinesis/resourcePolicy:ResourcePolicy").inputs.policy) as PolicyDoc,
    );
  }
  return { mode, consumer, producer, principals, resources };
}

/** One request to simulate. */
export interface IamRequest {
  principal: PrincipalKey;
  action: string;
  resource: ResourceKey;
  /**
   * Request context beyond what the helper derives (aws:PrincipalArn,
   * aws:PrincipalAccount, aws:SecureTransport=true); `{apiExecutionArn}` in a
   * value stands for the recorded HTTP API's execution ARN, `{analyticsStreamArn}`
   * for the analytics stream's (the encryption context of Kinesis's KMS calls),
   * `{landingBucketArn}` and `{archiveBucketArn}` for the buckets' (S3's, with bucket keys).
   */
  context?: Record<string, string | string[]>;
  /** Context keys to leave out of the request (e.g. "aws:SecureTransport"). */
  omit?: string[];
}

/** What the simulation decided and why. */
export interface IamOutcome {
  allowed: boolean;
  result: string;
  crossAccount: boolean;
  /** Identity side allowed (the caller's own policies). */
  identityAllows: boolean;
  /** Resource side allowed (trust, key, stream, bucket or function policy), undefined without one. */
  resourceAllows?: boolean;
  /** Context keys the simulator dropped as not applicable to the action. */
  ignoredContextKeys: string[];
  raw: RunSimulationResults;
}

/** The prefix of KMS's encryption-context condition keys (Kinesis's and S3's: the stream's or the bucket's ARN). */
const ENCRYPTION_CONTEXT = "kms:EncryptionContext:";

/** IAM's StringLike: `*` any run of characters, `?` any one. */
function stringLike(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`).test(value);
}

/**
 * iam-simulate drops every `kms:EncryptionContext:*` key as not applicable (0.1.173: it does not match the action's
 * `kms:EncryptionContext:${EncryptionContextKey}`), so the harness decides those conditions itself, before the
 * simulation: a statement whose StringEquals or StringLike on an encryption-context key holds for the request loses
 * that key; one whose condition does not hold (another stream's or bucket's ARN, or none given) is dropped, Allow and
 * Deny alike, as AWS would not apply it.
 */
function withEncryptionContext(doc: PolicyDoc, context: Record<string, string | string[]>): PolicyDoc {
  const statements = [doc.Statement].flat() as Record<string, any>[];
  const out: Record<string, any>[] = [];
  for (const st of statements) {
    let applies = true;
    const condition: Record<string, Record<string, unknown>> = { ...st.Condition };
    for (const op of ["StringEquals", "StringLike"]) {
      const block = condition[op] as Record<string, string | string[]> | undefined;
      if (!block) continue;
      const rest: Record<string, unknown> = {};
      for (const [key, wanted] of Object.entries(block)) {
        if (!key.startsWith(ENCRYPTION_CONTEXT)) {
          rest[key] = wanted;
          continue;
        }
        const value = context[key];
        const holds = typeof value === "string" && [wanted].flat().some((w) => (op === "StringLike" ? stringLike(w, value) : w === value));
        if (!holds) applies = false;
      }
      if (Object.keys(rest).length) condition[op] = rest;
      else delete condition[op];
    }
    if (!applies) continue;
    const { Condition: _old, ...bare } = st;
    out.push(Object.keys(condition).length ? { ...bare, Condition: condition } : bare);
  }
  return { ...doc, Statement: out };
}

/** Evaluates one request against the world's policies. */
export async function simulate(world: World, request: IamRequest): Promise<IamOutcome> {
  const principal = world.principals[request.principal];
  const resource = world.resources[request.resource];
  if (!principal) throw new Error(`no principal ${request.principal} in ${world.mode} mode`);
  if (!resource) throw new Error(`no resource ${request.resource} in ${world.mode} mode`);
  const context: Record<string, string | string[]> = { "aws:SecureTransport": "true" };
  if (principal.principalArn) {
    context["aws:PrincipalArn"] = principal.principalArn;
    context["aws:PrincipalAccount"] = principal.account!;
  }
  const executionArn = world.producer.one("aws:apigatewayv2/api:Api").state.executionArn as string;
  for (const [key, value] of Object.entries(request.context ?? {})) {
    context[key] = Array.isArray(value)
      ? value
      : value
          .replace("{apiExecutionArn}", executionArn)
          .replace("{analyticsStreamArn}", world.resources.analyticsStream!.arn)
          .replace("{landingBucketArn}", world.resources.landingBucket!.arn)
          .replace("{archiveBucketArn}", world.resources.archiveObject!.arn.split("/")[0]);
  }
  for (const key of request.omit ?? []) delete context[key];
  const encryptionContext: Record<string, string | string[]> = {};
  for (const key of Object.keys(context).filter((k) => k.startsWith(ENCRYPTION_CONTEXT))) {
    encryptionContext[key] = context[key];
    delete context[key];
  }
  const decide = (doc: PolicyDoc | undefined) => (doc ? withEncryptionContext(doc, encryptionContext) : doc);

  const raw = await runSimulation(
    {
      request: {
        principal: principal.arn,
        action: request.action,
        resource: { resource: resource.arn, accountId: resource.account },
        contextVariables: context,
      },
      identityPolicies: principal.identityPolicies.map((p) => ({ ...p, policy: decide(p.policy)! })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: decide(resource.policy),
    },
    { simulationMode: "Strict" },
  );
  if (raw.resultType === "error") throw new Error(`simulation rejected the request: ${JSON.stringify(raw.errors)}`);
  if (raw.resultType !== "single") throw new Error(`expected a single-resource simulation, got ${raw.resultType}`);
  const analysis = raw.result.analysis;
  const resourceResult = analysis.resourceAnalysis?.result;
  return {
    allowed: raw.overallResult === "Allowed",
    result: raw.overallResult,
    crossAccount: principal.account !== undefined && principal.account !== resource.account,
    identityAllows: analysis.identityAnalysis?.result === "Allowed",
    resourceAllows:
      resourceResult === undefined || resourceResult === "NotApplicable" ? undefined : resourceResult === "Allowed" || resourceResult === "AllowedForAccount",
    ignoredContextKeys: raw.result.ignoredContextKeys ?? [],
    raw,
  };
}

/**
 * Every action an emitted role's inline policy allows, with the resource
 * patterns of its statement (a statement may list a bucket and its objects:
 * an action is exercised when it is allowed on any of them).
 */
export function emittedGrants(world: World): { principal: PrincipalKey; sid?: string; action: string; resources: string[] }[] {
  const out: { principal: PrincipalKey; sid?: string; action: string; resources: string[] }[] = [];
  for (const key of PRINCIPALS) {
    const p = world.principals[key];
    if (!p || p.synthetic) continue;
    for (const { policy } of p.identityPolicies) {
      for (const s of policy.Statement) {
        if (s.Effect !== "Allow") continue;
        for (const action of [s.Action].flat()) out.push({ principal: key, sid: s.Sid, action, resources: [s.Resource].flat() });
      }
    }
  }
  return out;
}

/** IAM-style glob: `*` any run of characters, `?` one character. */
export function globMatches(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "i",
  );
  return re.test(value);
}
