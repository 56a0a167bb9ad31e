/**
 * A private S3 bucket as the components create them: SSE-KMS with a given
 * key (bucket key on, so S3 calls KMS per bucket rather than per object),
 * versioned, public access blocked, owner-enforced, TLS-only, with the
 * caller's lifecycle rules and, when asked, S3 Object Lock. The analytics
 * landing and the event archive both build theirs here, so the two cannot
 * drift apart. Uses aws.s3.Bucket: BucketV2 and the *V2 configuration
 * resources are deprecated in @pulumi/aws 7.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { policyJson } from "../parts/iam";

/** Object Lock retention applied by default to every new object version. */
export interface ObjectLockSettings {
  /** GOVERNANCE (a privileged principal may lift it) or COMPLIANCE (nobody can, not even the root user, until it expires). */
  mode: "GOVERNANCE" | "COMPLIANCE";
  days: number;
}

/** Args of {@link secureBucket}. */
export interface SecureBucketArgs {
  keyArn: pulumi.Input<string>;
  lifecycleRules: aws.types.input.s3.BucketLifecycleConfigurationRule[];
  /**
   * Turned on by the bucket's Object Lock configuration, on a new bucket or an existing one (versioned), never by
   * the bucket's own `objectLockEnabled`: that input forces a new bucket in the provider, so turning it on later would
   * replace the bucket and its data (a bucket created with it keeps it: the attribute is computed). Once on, S3 never
   * turns it off.
   */
  objectLock?: ObjectLockSettings;
  /**
   * The one role that may put objects (its ARN): the bucket policy denies `s3:PutObject` (and so multipart parts and
   * copies into it) to every other principal of any account, administrators included, so the landed or archived
   * history is written by its pipeline only. A deferred output (pulumi.deferredOutput) when the role is made after the
   * bucket, as its policy names the bucket.
   */
  writer?: pulumi.Input<string>;
  /** Pulumi `protect` on the bucket itself (see DATA_PROTECTION_DEFAULT); its settings' resources stay unprotected. Default false. */
  protect?: boolean;
}

/** Creates the bucket and its configuration resources, named `<name>-sse`, `-versioning`, `-public-access`, `-ownership`, `-tls-only`, `-lifecycle`. */
export function secureBucket(name: string, args: SecureBucketArgs, parent: pulumi.Resource): aws.s3.Bucket {
  const opts = { parent };
  const bucket = new aws.s3.Bucket(name, {}, { ...opts, protect: args.protect ?? false });
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-sse`,
    {
      bucket: bucket.id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.keyArn }, bucketKeyEnabled: true }],
    },
    opts,
  );
  const versioning = new aws.s3.BucketVersioning(
    `${name}-versioning`,
    {
      bucket: bucket.id,
      versioningConfiguration: { status: "Enabled" },
    },
    opts,
  );
  const publicAccess = new aws.s3.BucketPublicAccessBlock(
    `${name}-public-access`,
    {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  new aws.s3.BucketOwnershipControls(
    `${name}-ownership`,
    {
      bucket: bucket.id,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    },
    opts,
  );
  new aws.s3.BucketPolicy(
    `${name}-tls-only`,
    {
      bucket: bucket.id,
      policy: policyJson([
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          // A Deny for everyone: "*" is the only principal that covers every caller.
          Principal: "*",
          Action: "s3:*",
          Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
        ...(args.writer === undefined
          ? []
          : [
              {
                Sid: "DenyOtherWriters",
                Effect: "Deny" as const,
                Principal: "*" as const,
                Action: "s3:PutObject",
                Resource: pulumi.interpolate`${bucket.arn}/*`,
                // aws:PrincipalArn is the role's ARN for its sessions too (not the assumed-role session ARN).
                Condition: { ArnNotEquals: { "aws:PrincipalArn": args.writer } },
              },
            ]),
      ]),
    },
    { parent, dependsOn: [publicAccess] },
  );
  new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, { bucket: bucket.id, rules: args.lifecycleRules }, { parent, dependsOn: [versioning] });
  if (args.objectLock) {
    new aws.s3.BucketObjectLockConfiguration(
      `${name}-object-lock`,
      {
        bucket: bucket.id,
        objectLockEnabled: "Enabled",
        rule: { defaultRetention: { mode: args.objectLock.mode, days: args.objectLock.days } },
      },
      { parent, dependsOn: [versioning] },
    );
  }
  return bucket;
}
