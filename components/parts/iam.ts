/**
 * IAM policy documents as plain JSON built from outputs, so they render the
 * same under mocks, in preview and on AWS, and tests can read every statement.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { serviceHost } from "../../handlers/shared/arn";

/** One IAM statement; resources and principals may be outputs. */
export interface Statement {
  Sid?: string;
  Effect?: "Allow" | "Deny";
  Principal?: pulumi.Input<Record<string, pulumi.Input<string | pulumi.Input<string>[]>>> | "*";
  Action: string | string[];
  Resource?: pulumi.Input<string> | pulumi.Input<string>[];
  Condition?: pulumi.Input<Record<string, Record<string, pulumi.Input<string | pulumi.Input<string>[]>>>>;
}

/** The encryption context Kinesis passes in every KMS call it makes for a stream: the stream's ARN (Kinesis's "Kinesis Data Streams encryption context"). */
export const KINESIS_ENCRYPTION_CONTEXT = "kms:EncryptionContext:aws:kinesis:arn";

/**
 * The condition that a key be used only by Kinesis in the stream's region (`kms:ViaService`) and only for that
 * stream (its encryption context): a key shared with other streams then reads or writes none of theirs.
 */
export function viaKinesis(streamArn: pulumi.Input<string>): { StringEquals: Record<string, pulumi.Output<string>> } {
  const arn = pulumi.output(streamArn);
  const host = arn.apply((a) => {
    const [, partition, , region] = a.split(":");
    return serviceHost("kinesis", region, partition);
  });
  return { StringEquals: { "kms:ViaService": host, [KINESIS_ENCRYPTION_CONTEXT]: arn } };
}

/**
 * The encryption context S3 passes in every KMS call it makes for an object: the object's ARN, or the bucket's
 * when the object is written with an S3 Bucket Key (secureBucket enables them; _Using S3 Bucket Keys_).
 */
export const S3_ENCRYPTION_CONTEXT = "kms:EncryptionContext:aws:s3:arn";

/**
 * The condition that a key be used only by S3 in `region` (`kms:ViaService`) and only for objects of one bucket
 * (its encryption context, either form): a key shared with other buckets then encrypts or decrypts none of theirs.
 */
export function viaS3(
  region: pulumi.Input<string>,
  bucketArn: pulumi.Input<string>,
): { StringEquals: Record<string, pulumi.Output<string>>; StringLike: Record<string, pulumi.Output<string>[]> } {
  const arn = pulumi.output(bucketArn);
  return {
    StringEquals: { "kms:ViaService": pulumi.all([region, arn]).apply(([r, a]) => serviceHost("s3", r, a.split(":")[1])) },
    StringLike: { [S3_ENCRYPTION_CONTEXT]: [arn, pulumi.interpolate`${arn}/*`] },
  };
}

/** Renders statements into a policy document string. */
export function policyJson(statements: Statement[]): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: statements.map((s) => ({ Effect: "Allow", ...s })),
  });
}

/**
 * Trust policy letting Firehose assume a role for `accountId` only. Firehose
 * passes the delivery stream's account id as the ExternalId when it assumes
 * its role, and AWS's Firehose developer guide conditions the trust on
 * exactly that ("Allow Firehose to assume an IAM role": `sts:ExternalId` =
 * the account id); it is not documented to send `aws:SourceAccount`, and a
 * trust requiring that key fails CreateDeliveryStream with "Firehose is
 * unable to assume role".
 */
export function firehoseTrust(accountId: pulumi.Input<string>): pulumi.Output<string> {
  return policyJson([
    {
      Principal: { Service: "firehose.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: { StringEquals: { "sts:ExternalId": accountId } },
    },
  ]);
}

/** Args of {@link roleWithPolicy}. */
export interface RoleWithPolicyArgs {
  /** Trust policy JSON. */
  assumeRolePolicy: pulumi.Input<string>;
  /** The only permissions the role gets: one inline policy. */
  statements: Statement[];
  /** Fixed role name, when another stack must know it before it exists. */
  name?: string;
  description?: string;
}

/**
 * A role whose permissions are exactly one inline policy, declared on the role
 * itself: anything that depends on the role (a function, an event-source
 * mapping) then waits for its permissions too, which `pulumi up` needs to work
 * the first time.
 */
export function roleWithPolicy(name: string, args: RoleWithPolicyArgs, opts: pulumi.CustomResourceOptions): aws.iam.Role {
  return new aws.iam.Role(
    name,
    {
      name: args.name,
      description: args.description,
      assumeRolePolicy: args.assumeRolePolicy,
      maxSessionDuration: 3600,
      inlinePolicies: [{ name: "least-privilege", policy: policyJson(args.statements) }],
    },
    opts,
  );
}
