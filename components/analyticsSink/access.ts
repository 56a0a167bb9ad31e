/**
 * AnalyticsSink's access: how the producer's bridge is let write the
 * analytics stream in each access mode (a writer role it assumes, or the
 * stream's resource policy), and the key policy naming every principal that
 * uses the sink's key. Apart from the component so each reads on its own.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { policyJson, roleWithPolicy, Statement, viaKinesis, viaS3 } from "../parts/iam";
import { SinkPrincipals, SinkSettings } from "./settings";

/** The writing principal, as it appears in the key policy. */
export interface WriterKeyStatement {
  Principal: { AWS: pulumi.Input<string> };
  Condition?: Record<string, Record<string, pulumi.Input<string>>>;
}

/** The bridge's write access for the mode, and how the key policy names the writer. */
export function writerAccess(
  name: string,
  settings: SinkSettings,
  principals: SinkPrincipals,
  stream: aws.kinesis.Stream,
  key: aws.kms.Key,
  parent: pulumi.Resource,
): { role?: aws.iam.Role; keyStatement: WriterKeyStatement } {
  // The producer root, narrowed to the bridge role by aws:PrincipalArn: an ARN
  // compared at request time, so it survives the role's replacement, and valid
  // before the bridge role exists (the consumer deploys first; a role ARN as
  // principal is rejected until the role exists, then pinned to its unique id).
  const bridgeOnly = { ArnEquals: { "aws:PrincipalArn": principals.bridgeRoleArn } };
  if (settings.accessMode === "assumeRole") {
    const role = roleWithPolicy(
      `${name}-writer`,
      {
        description: "Assumed by the producer's bridge to write the analytics stream",
        assumeRolePolicy: policyJson([
          {
            Principal: { AWS: principals.producerRoot },
            Action: "sts:AssumeRole",
            Condition: { ...bridgeOnly, StringEquals: { "sts:ExternalId": settings.externalId! } },
          },
        ]),
        statements: [
          // The bridge sends only PutRecords.
          { Sid: "PutAnalyticsRecords", Action: "kinesis:PutRecords", Resource: stream.arn },
          // Only through Kinesis: the writer cannot mint data keys for anything else.
          { Sid: "EncryptAnalyticsRecords", Action: "kms:GenerateDataKey", Resource: key.arn, Condition: viaKinesis(stream.arn) },
        ],
      },
      { parent },
    );
    return { role, keyStatement: { Principal: { AWS: role.arn } } };
  }
  new aws.kinesis.ResourcePolicy(
    `${name}-stream-policy`,
    {
      resourceArn: stream.arn,
      policy: policyJson([
        {
          Sid: "BridgePutsRecords",
          Principal: { AWS: principals.producerRoot },
          // PutRecords takes the stream ARN and needs no describe or list call, so
          // DescribeStreamSummary and ListShards are not granted; the bridge never sends PutRecord.
          Action: "kinesis:PutRecords",
          Resource: stream.arn,
          Condition: bridgeOnly,
        },
      ]),
    },
    { parent },
  );
  return { keyStatement: { Principal: { AWS: principals.producerRoot }, Condition: bridgeOnly } };
}

/** Inputs of {@link keyStatements}. */
export interface KeyPolicyInputs {
  accountId: pulumi.Input<string>;
  /** The consumer account's partition (`aws`, `aws-us-gov`, `aws-cn`). */
  partition: pulumi.Input<string>;
  region: pulumi.Input<string>;
  writer: WriterKeyStatement;
  firehoseRoleArn: pulumi.Input<string>;
  /** The analytics stream: Kinesis's encryption context, so the key serves that stream alone. */
  streamArn: pulumi.Input<string>;
  /** The landing bucket: S3's encryption context, so the key serves that bucket alone. */
  bucketArn: pulumi.Input<string>;
}

/**
 * The key policy. `Resource: "*"` in a key policy means this key itself. The
 * root statement is the standard admin grant that keeps the key manageable
 * (and lets IAM policies in this account apply); the rest name each principal.
 */
export function keyStatements(k: KeyPolicyInputs): Statement[] {
  const viaStream = viaKinesis(k.streamArn).StringEquals;
  return [
    { Sid: "ConsumerAccountAdministers", Principal: { AWS: pulumi.interpolate`arn:${k.partition}:iam::${k.accountId}:root` }, Action: "kms:*", Resource: "*" },
    {
      Sid: "WriterEncryptsRecords",
      Principal: k.writer.Principal,
      Action: "kms:GenerateDataKey",
      Resource: "*",
      Condition: { ...k.writer.Condition, StringEquals: viaStream },
    },
    {
      Sid: "FirehoseReadsStream",
      Principal: { AWS: k.firehoseRoleArn },
      Action: "kms:Decrypt",
      Resource: "*",
      Condition: { StringEquals: viaStream },
    },
    {
      Sid: "FirehoseWritesObjects",
      Principal: { AWS: k.firehoseRoleArn },
      Action: ["kms:GenerateDataKey", "kms:Decrypt"],
      Resource: "*",
      Condition: viaS3(k.region, k.bucketArn),
    },
  ];
}
