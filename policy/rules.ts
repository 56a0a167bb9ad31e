/**
 * The project's own CrossGuard rules, as a plain array of policies.
 *
 * Kept apart from the pack (policy/index.ts): constructing a `PolicyPack`
 * starts the gRPC server the Pulumi CLI talks to, so tests import this module
 * and call each policy's `validateResource` / `validateStack` directly.
 *
 * Rules read raw properties by type token (no @pulumi/aws import), and call
 * `args.notApplicable()` for other types, as the typed helpers do. During a
 * preview, a property that is not known yet throws UnknownValueError through
 * the CLI's proxy and the policy is reported as advisory for that resource.
 */
import { UnknownValueError } from "@pulumi/policy";
import type {
  Policies,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { TYPES } from "../components/parts/typeTokens";

/** Resource types holding IAM policy documents, and the properties that hold them. */
export const POLICY_PROPERTIES: Record<string, { fields: string[]; keyPolicy?: boolean; trust?: string[] }> = {
  [TYPES.role]: { fields: ["inlinePolicies[].policy"], trust: ["assumeRolePolicy"] },
  [TYPES.policy]: { fields: ["policy"] },
  [TYPES.rolePolicy]: { fields: ["policy"] },
  [TYPES.userPolicy]: { fields: ["policy"] },
  [TYPES.groupPolicy]: { fields: ["policy"] },
  [TYPES.streamResourcePolicy]: { fields: ["policy"] },
  [TYPES.bucketPolicy]: { fields: ["policy"] },
  [TYPES.queuePolicy]: { fields: ["policy"] },
  [TYPES.topicPolicy]: { fields: ["policy"] },
  [TYPES.keyPolicy]: { fields: ["policy"], keyPolicy: true },
  [TYPES.key]: { fields: ["policy"], keyPolicy: true },
};

/**
 * Actions AWS only authorises on `Resource: "*"` (no resource-level
 * permissions); a policy may name them with "*". Extend through the pack's
 * config (`pulumi preview --policy-pack-config <file>` with
 * `{"iam-no-wildcards": {"wildcardResourceActions": [...]}}`).
 */
export const DEFAULT_WILDCARD_RESOURCE_ACTIONS = ["cloudwatch:PutMetricData", "xray:PutTraceSegments", "xray:PutTelemetryRecords"];

const list = <V>(v: V | V[] | undefined): V[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function only(args: ResourceValidationArgs, ...types: string[]): void {
  if (!types.includes(args.type)) args.notApplicable(`applies to ${types.join(", ")}`);
}

function parseDoc(value: unknown): { Statement?: unknown } | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  return typeof value === "string" ? JSON.parse(value) : (value as { Statement?: unknown });
}

/** Every policy document of a resource, labelled by where it sits. */
function policyDocuments(type: string, props: Record<string, any>): { where: string; doc: any; trust: boolean; keyPolicy: boolean }[] {
  const spec = POLICY_PROPERTIES[type];
  if (!spec) return [];
  const out: { where: string; doc: any; trust: boolean; keyPolicy: boolean }[] = [];
  for (const field of spec.fields) {
    if (field === "inlinePolicies[].policy") {
      for (const [i, p] of list(props.inlinePolicies as { name?: string; policy?: string }[] | undefined).entries()) {
        const doc = parseDoc(p?.policy);
        if (doc) out.push({ where: `inlinePolicies[${p?.name ?? i}]`, doc, trust: false, keyPolicy: false });
      }
    } else {
      const doc = parseDoc(props[field]);
      if (doc) out.push({ where: field, doc, trust: false, keyPolicy: spec.keyPolicy === true });
    }
  }
  for (const field of spec.trust ?? []) {
    const doc = parseDoc(props[field]);
    if (doc) out.push({ where: field, doc, trust: true, keyPolicy: false });
  }
  return out;
}

const isAccountRoot = (p: unknown) => typeof p === "string" && /^arn:aws[\w-]*:iam::\d{12}:root$/.test(p);
const principalsOf = (s: any): unknown[] =>
  s.Principal === "*" ? ["*"] : s.Principal && typeof s.Principal === "object" ? Object.values(s.Principal).flatMap((v) => list(v)) : [];

/** The findings of the wildcard rule on one document. */
export function wildcardFindings(doc: any, opts: { keyPolicy: boolean; trust: boolean; wildcardResourceActions: string[] }): string[] {
  const findings: string[] = [];
  for (const [i, s] of list(doc?.Statement).entries()) {
    const st = s as any;
    if (st.Effect === "Deny") continue; // Denies may be broad: they only take away.
    const label = st.Sid ? `statement "${st.Sid}"` : `statement #${i}`;
    const actions = list<string>(st.Action);
    const resources = list<string>(st.Resource);
    const principals = principalsOf(st);
    if (st.NotAction !== undefined) findings.push(`${label}: Allow with NotAction`);
    if (st.NotResource !== undefined) findings.push(`${label}: Allow with NotResource`);
    if (st.NotPrincipal !== undefined) findings.push(`${label}: Allow with NotPrincipal`);
    if (principals.includes("*")) findings.push(`${label}: Allow for any principal ("*")`);
    // A key policy's administrator statement for the account root is the one place "kms:*" belongs.
    const keyAdmin = opts.keyPolicy && principals.length > 0 && principals.every(isAccountRoot) && actions.every((a) => a.toLowerCase() === "kms:*");
    for (const a of actions) if (a.includes("*") && !keyAdmin) findings.push(`${label}: wildcard action "${a}"`);
    // In a key policy "*" is the key itself; a trust policy has no Resource.
    if (!opts.keyPolicy && !opts.trust) {
      for (const r of resources) {
        if (r !== "*") continue;
        const unnamed = actions.filter((a) => !opts.wildcardResourceActions.some((w) => w.toLowerCase() === a.toLowerCase()));
        if (unnamed.length > 0) findings.push(`${label}: Resource "*" for ${unnamed.join(", ")}, whose resources can be named`);
      }
    }
  }
  return findings;
}

const resourcePolicy = (p: Omit<ResourceValidationPolicy, "enforcementLevel">): ResourceValidationPolicy => ({ enforcementLevel: "mandatory", ...p });
const stackPolicy = (p: Omit<StackValidationPolicy, "enforcementLevel">): StackValidationPolicy => ({ enforcementLevel: "mandatory", ...p });

/** A property, or undefined while a preview does not know it yet. */
function known<V>(read: () => V): V | undefined {
  try {
    return read();
  } catch (e) {
    if (e instanceof UnknownValueError) return undefined;
    throw e;
  }
}

/**
 * Is this mapping reading a Kinesis (or DynamoDB) stream? By its ARN when
 * known; before the stream exists (first preview), by its starting position,
 * which only stream and Kafka sources take.
 */
function isStreamMapping(props: Record<string, any>): boolean {
  const arn = known(() => props.eventSourceArn);
  if (typeof arn === "string" && arn.startsWith("arn:")) return /^arn:aws[\w-]*:kinesis:/.test(arn) || /^arn:aws[\w-]*:dynamodb:.*\/stream\//.test(arn);
  return props.startingPosition !== undefined && props.selfManagedEventSource === undefined && props.topics === undefined;
}

/** A function's name from a mapping's `functionName` (name, ARN, or qualified ARN). */
export function functionNameOf(value: string): string {
  const m = /^arn:aws[\w-]*:lambda:[^:]+:\d{12}:function:([^:]+)/.exec(value);
  return m ? m[1] : value.split(":")[0];
}

export const encryptedStreams = resourcePolicy({
  name: "kinesis-stream-encrypted",
  description: "Kinesis streams are encrypted at rest with KMS.",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.stream);
    if (args.props.encryptionType !== "KMS") report(`encryptionType is ${JSON.stringify(args.props.encryptionType ?? "NONE")}; set "KMS"`);
    else if (!args.props.kmsKeyId) report("encryptionType is KMS but no kmsKeyId is set");
  },
});

export const encryptedTables = resourcePolicy({
  name: "dynamodb-table-encrypted",
  description: "DynamoDB tables use KMS server-side encryption (serverSideEncryption.enabled).",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.table);
    if (args.props.serverSideEncryption?.enabled !== true) report("serverSideEncryption.enabled is not true");
  },
});

export const tablePitr = resourcePolicy({
  name: "dynamodb-point-in-time-recovery",
  description: "DynamoDB tables have point-in-time recovery on.",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.table);
    if (args.props.pointInTimeRecovery?.enabled !== true) report("pointInTimeRecovery.enabled is not true");
  },
});

export const encryptedQueues = resourcePolicy({
  name: "sqs-queue-encrypted",
  description: "SQS queues are encrypted at rest (SQS-managed SSE or a KMS key).",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.queue);
    if (args.props.sqsManagedSseEnabled !== true && !args.props.kmsMasterKeyId) report("neither sqsManagedSseEnabled nor kmsMasterKeyId is set");
  },
});

const KMS_SSE = ["aws:kms", "aws:kms:dsse"];

export const bucketSseKms = resourcePolicy({
  name: "s3-bucket-sse-kms",
  description: "S3 default encryption uses KMS (aws:kms or aws:kms:dsse), in the configuration resource or inline on the bucket.",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.bucketSse, TYPES.bucketSseV2, TYPES.bucket, TYPES.bucketV2);
    const rules =
      args.type === TYPES.bucketSse || args.type === TYPES.bucketSseV2
        ? list<any>(args.props.rules)
        : list<any>(args.props.serverSideEncryptionConfiguration?.rule ?? args.props.serverSideEncryptionConfigurations?.[0]?.rules);
    if ((args.type === TYPES.bucket || args.type === TYPES.bucketV2) && rules.length === 0) return; // checked by s3-bucket-encrypted (stack)
    if (rules.length === 0) report("no encryption rule");
    for (const r of rules) {
      const algorithm = r?.applyServerSideEncryptionByDefault?.sseAlgorithm;
      if (!KMS_SSE.includes(algorithm)) report(`sseAlgorithm is ${JSON.stringify(algorithm)}; use aws:kms with a customer-managed key`);
    }
  },
});

export const firehoseEncrypted = resourcePolicy({
  name: "firehose-s3-encrypted",
  description: "Firehose deliveries to S3 encrypt objects with a KMS key; Direct PUT streams also encrypt at rest.",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.firehose);
    const s3 = args.props.extendedS3Configuration;
    if (args.props.destination === "extended_s3" && !s3?.kmsKeyArn) report("extendedS3Configuration.kmsKeyArn is not set");
    // A stream fed by Kinesis is encrypted by its source; server-side encryption applies to Direct PUT only.
    if (!args.props.kinesisSourceConfiguration && !args.props.mskSourceConfiguration && args.props.serverSideEncryption?.enabled !== true) {
      report("a Direct PUT delivery stream needs serverSideEncryption.enabled");
    }
  },
});

export const noWildcards = resourcePolicy({
  name: "iam-no-wildcards",
  description:
    'IAM, resource and key policies allow no wildcard action and no "*" resource where a name is known (a key policy\'s own "*" and its root kms:* administrator statement excepted), no NotAction/NotResource, and no Allow for any principal.',
  severity: "critical",
  configSchema: { properties: { wildcardResourceActions: { type: "array", items: { type: "string" } } } },
  validateResource: (args, report) => {
    only(args, ...Object.keys(POLICY_PROPERTIES));
    const config = args.getConfig<{ wildcardResourceActions?: string[] }>();
    const wildcardResourceActions = config?.wildcardResourceActions ?? DEFAULT_WILDCARD_RESOURCE_ACTIONS;
    for (const { where, doc, trust, keyPolicy } of policyDocuments(args.type, args.props)) {
      for (const finding of wildcardFindings(doc, { keyPolicy, trust, wildcardResourceActions })) report(`${where}: ${finding}`);
    }
  },
});

export const mappingFailureHandling = resourcePolicy({
  name: "stream-mapping-failure-handling",
  description:
    "Every Kinesis/DynamoDB-stream event-source mapping has bounded retries and record age, bisects on error, reports batch item failures, and sends what it gives up to an on-failure destination.",
  severity: "high",
  validateResource: (args, report) => {
    only(args, TYPES.mapping);
    const p = args.props;
    if (!isStreamMapping(p)) args.notApplicable("not a stream event source");
    const retries = p.maximumRetryAttempts;
    if (typeof retries !== "number" || retries < 0 || retries > 10_000)
      report(`maximumRetryAttempts is ${JSON.stringify(retries)}; set a bound (0–10000; the default -1 retries until the record expires)`);
    const age = p.maximumRecordAgeInSeconds;
    if (typeof age !== "number" || age < 60 || age > 604_800)
      report(`maximumRecordAgeInSeconds is ${JSON.stringify(age)}; set 60–604800 (the default -1 keeps retrying for the stream's whole retention)`);
    if (p.bisectBatchOnFunctionError !== true) report("bisectBatchOnFunctionError is not true");
    if (!list<string>(p.functionResponseTypes).includes("ReportBatchItemFailures")) report("functionResponseTypes does not include ReportBatchItemFailures");
    if (!p.destinationConfig?.onFailure?.destinationArn) report("no destinationConfig.onFailure.destinationArn");
  },
});

/** Resources of any of the types. */
const ofType = (resources: PolicyResource[], ...types: string[]) => resources.filter((r) => types.includes(r.type));

export const bucketEncrypted = stackPolicy({
  name: "s3-bucket-encrypted",
  description: "Every S3 bucket has a KMS default-encryption configuration (a configuration resource naming it, or inline).",
  severity: "high",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const configs = ofType(args.resources, TYPES.bucketSse, TYPES.bucketSseV2);
    for (const bucket of ofType(args.resources, TYPES.bucket, TYPES.bucketV2)) {
      const ids = [bucket.props.bucket, bucket.props.id].filter(Boolean);
      const inline = bucket.props.serverSideEncryptionConfiguration?.rule ?? bucket.props.serverSideEncryptionConfigurations?.[0]?.rules;
      const configured = configs.some((c) => ids.includes(c.props.bucket) || (c.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn));
      if (!configured && !inline) report(`bucket ${bucket.name} has no server-side encryption configuration`, bucket.urn);
    }
  },
});

export const streamConsumerAlarms = stackPolicy({
  name: "stream-consumer-alarms",
  description: "Each Lambda fed by a stream event-source mapping has an IteratorAge alarm and an Errors alarm, and its on-failure queue a depth alarm.",
  severity: "medium",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const alarms = ofType(args.resources, TYPES.alarm).map((a) => a.props);
    const functions = ofType(args.resources, TYPES.function);
    const has = (namespace: string, metric: string, dimension: string, value: string) =>
      alarms.some((a) => a.namespace === namespace && a.metricName === metric && a.dimensions?.[dimension] === value);
    for (const m of ofType(args.resources, TYPES.mapping)) {
      if (!isStreamMapping(m.props)) continue;
      const ref = String(m.props.functionName ?? "");
      const fn = functions.find((f) => f.props.arn === ref || f.props.name === ref || f.props.name === functionNameOf(ref));
      const name = fn?.props.name ?? functionNameOf(ref);
      for (const metric of ["IteratorAge", "Errors"]) {
        if (!has("AWS/Lambda", metric, "FunctionName", name)) report(`function ${name} (fed by ${m.name}) has no ${metric} alarm`, m.urn);
      }
      const queueArn: string | undefined = m.props.destinationConfig?.onFailure?.destinationArn;
      if (queueArn?.startsWith("arn:aws") && queueArn.includes(":sqs:")) {
        const queue = queueArn.split(":").pop()!;
        if (!has("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue))
          report(`on-failure queue ${queue} of ${m.name} has no depth alarm`, m.urn);
      }
    }
  },
});

/** Every rule of the pack. */
export const policies: Policies = [
  encryptedStreams,
  encryptedTables,
  tablePitr,
  encryptedQueues,
  bucketSseKms,
  bucketEncrypted,
  firehoseEncrypted,
  noWildcards,
  mappingFailureHandling,
  streamConsumerAlarms,
];
