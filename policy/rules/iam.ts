/**
 * The least-privilege rule: in every IAM, resource and key policy of the
 * stack, no wildcard action, no "*" resource where a name is known, no
 * Not* element and no Allow for any principal.
 */
import { TYPES } from "../../components/parts/typeTokens";
import { list, only, resourcePolicy } from "./shared";

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
