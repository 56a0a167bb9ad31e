/**
 * Realistic state for mocked resources: the names, ARNs and URLs AWS would
 * return, with the stack's account id and region, so that every ARN a policy
 * is built from looks as it will in the account. {@link mockResources} answers
 * with it alone (the stack tests, `npm run artifacts`); the local provider
 * adds the emulators (provider.ts).
 */
import { createHash } from "crypto";
import { FUNCTION_TOKENS, TYPES } from "../../components/parts/typeTokens";
import type { ResourceHandler } from "./program";
import { roleUniqueId } from "../shared/identity";
import { PARTITION_DNS_SUFFIX, partitionOfRegion } from "../../handlers/shared/arn";

export interface AccountContext {
  account: string;
  region: string;
}

/** Pulumi's auto-naming: the logical name and 7 hex characters. */
export function physicalName(logicalName: string): string {
  return `${logicalName}-${createHash("sha256").update(logicalName).digest("hex").slice(0, 7)}`;
}

/** The partition of `region` and its DNS suffix, as `aws.getPartition` answers them (an ISO partition's suffix is not modelled). */
function partitionOf(region: string): { partition: string; dnsSuffix: string } {
  const partition = partitionOfRegion(region);
  return { partition, dnsSuffix: PARTITION_DNS_SUFFIX[partition] ?? "amazonaws.com" };
}

/** The ARN and name fields AWS returns for a resource of `type`. */
export function realisticState(type: string, logicalName: string, inputs: Record<string, any>, ctx: AccountContext): Record<string, unknown> {
  const { account, region } = ctx;
  const { partition, dnsSuffix: suffix } = partitionOf(region);
  const name: string = inputs.name ?? physicalName(logicalName);
  switch (type) {
    case TYPES.stream:
      return { name, arn: `arn:${partition}:kinesis:${region}:${account}:stream/${name}` };
    case TYPES.table:
      return { name, arn: `arn:${partition}:dynamodb:${region}:${account}:table/${name}` };
    case TYPES.queue:
      return { name, arn: `arn:${partition}:sqs:${region}:${account}:${name}`, url: `https://sqs.${region}.${suffix}/${account}/${name}` };
    case TYPES.role:
      return {
        name,
        arn: `arn:${partition}:iam::${account}:role${inputs.path ?? "/"}${name}`,
        uniqueId: roleUniqueId(name),
      };
    case TYPES.policy:
      return { name, arn: `arn:${partition}:iam::${account}:policy/${name}` };
    case TYPES.function: {
      const arn = `arn:${partition}:lambda:${region}:${account}:function:${name}`;
      return {
        name,
        arn,
        qualifiedArn: `${arn}:$LATEST`,
        invokeArn: `arn:${partition}:apigateway:${region}:lambda:path/2015-03-31/functions/${arn}/invocations`,
      };
    }
    case TYPES.mapping:
      return { uuid: createHash("md5").update(logicalName).digest("hex"), state: "Enabled" };
    case TYPES.key: {
      const keyId = createHash("md5")
        .update(logicalName)
        .digest("hex")
        .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
      return { keyId, arn: `arn:${partition}:kms:${region}:${account}:key/${keyId}` };
    }
    case TYPES.keyAlias:
      return { arn: `arn:${partition}:kms:${region}:${account}:${inputs.name}` };
    case TYPES.bucket:
    case TYPES.bucketV2: {
      const bucket = inputs.bucket ?? physicalName(logicalName).toLowerCase();
      return { bucket, arn: `arn:${partition}:s3:::${bucket}`, bucketDomainName: `${bucket}.s3.${suffix}`, region };
    }
    case TYPES.streamConsumer:
      // AWS appends the consumer's creation time (Unix seconds); a hash of the name keeps it stable across runs.
      return { name, arn: `${inputs.streamArn}/consumer/${name}:${parseInt(createHash("md5").update(logicalName).digest("hex").slice(0, 8), 16)}` };
    case TYPES.firehose:
      return { name, arn: `arn:${partition}:firehose:${region}:${account}:deliverystream/${name}` };
    case TYPES.httpApi: {
      const id = createHash("md5").update(logicalName).digest("hex").slice(0, 10);
      return {
        name,
        apiEndpoint: `https://${id}.execute-api.${region}.${suffix}`,
        executionArn: `arn:${partition}:execute-api:${region}:${account}:${id}`,
        arn: `arn:${partition}:apigateway:${region}::/apis/${id}`,
      };
    }
    case TYPES.logGroup:
      return { name, arn: `arn:${partition}:logs:${region}:${account}:log-group:${name}` };
    case TYPES.alarm:
      return { name, arn: `arn:${partition}:cloudwatch:${region}:${account}:alarm:${name}` };
    case TYPES.topic:
      return { name, arn: `arn:${partition}:sns:${region}:${account}:${name}` };
    default: {
      const service = type.split(":")[1]?.split("/")[0] ?? "unknown";
      return { name, arn: `arn:${partition}:${service}:${region}:${account}:${name}` };
    }
  }
}

/** Answers the provider functions the program calls. */
export function realisticCall(token: string, inputs: Record<string, any>, ctx: AccountContext): Record<string, unknown> {
  switch (token) {
    case FUNCTION_TOKENS.getCallerIdentity:
      return {
        accountId: ctx.account,
        arn: `arn:${partitionOf(ctx.region).partition}:iam::${ctx.account}:user/deployer`,
        userId: "AIDADEPLOYER",
        id: ctx.account,
      };
    case FUNCTION_TOKENS.getRegion:
      return { name: ctx.region, region: ctx.region, id: ctx.region, endpoint: `ec2.${ctx.region}.amazonaws.com` };
    case FUNCTION_TOKENS.getPartition: {
      const p = partitionOf(ctx.region);
      return { ...p, id: p.partition };
    }
    default:
      throw new Error(`no mock for provider function ${token}`);
  }
}

const shortHash = (text: string, length: number) => createHash("md5").update(text).digest("hex").slice(0, length);

/**
 * The physical id AWS gives a resource of `type` (what `resource.id` resolves
 * to), derived from its state, so references between resources
 * (`bucket: bucket.id`, `integrations/<id>`, a stage's `apiId`) read as on AWS.
 */
export function realisticId(type: string, logicalName: string, state: Record<string, any>): string {
  switch (type) {
    case TYPES.stream:
    case TYPES.firehose:
    case TYPES.streamResourcePolicy:
      return state.arn ?? state.resourceArn;
    case TYPES.bucket:
    case TYPES.bucketV2:
      return state.bucket;
    case TYPES.queue:
      return state.url;
    case TYPES.key:
    case TYPES.keyPolicy:
      return state.keyId;
    case TYPES.mapping:
      return state.uuid;
    case TYPES.httpApi:
      // The same id realisticState puts in apiEndpoint and executionArn.
      return shortHash(logicalName, 10);
    case TYPES.integration:
    case TYPES.route:
    case TYPES.authorizer:
      return shortHash(logicalName, 7);
    case TYPES.permission:
      return `${state.function}|${logicalName}`;
    default:
      return state.name ?? `${logicalName}-id`;
  }
}

/**
 * The resource handler that creates nothing: realistic state over the inputs,
 * and `<logical name>-id` as every id, so a test can tell an id from a name.
 */
export function mockResources(ctx: AccountContext): ResourceHandler {
  return {
    newResource: (args, inputs) => ({ id: `${args.name}-id`, state: { ...args.inputs, ...realisticState(args.type, args.name, inputs, ctx) } }),
    call: (token, inputs) => realisticCall(token, inputs, ctx),
  };
}
