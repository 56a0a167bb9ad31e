/**
 * DynamoDB tables as the components create them: string keys, on-demand,
 * point-in-time recovery, encryption at rest, deletion protection.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** A table keyed by `pk` (and `rangeKey`, when given), both strings; `ttlAttribute` turns on DynamoDB's TTL on that attribute. */
export function keyedTable(
  name: string,
  rangeKey: string | undefined,
  deletionProtection: boolean,
  opts: pulumi.CustomResourceOptions,
  ttlAttribute?: string,
): aws.dynamodb.Table {
  return new aws.dynamodb.Table(
    name,
    {
      billingMode: "PAY_PER_REQUEST",
      hashKey: "pk",
      rangeKey,
      attributes: [{ name: "pk", type: "S" }, ...(rangeKey ? [{ name: rangeKey, type: "S" }] : [])],
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
      deletionProtectionEnabled: deletionProtection,
      ...(ttlAttribute ? { ttl: { attributeName: ttlAttribute, enabled: true } } : {}),
    },
    opts,
  );
}
