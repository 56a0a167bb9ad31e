/**
 * Every project config key each stack's program reads (index.ts reads `role`,
 * stacks/config.ts the rest), so tools can refuse a key the program would
 * ignore (`npm start -- --config`). A file of its own with no imports: the
 * command line checks keys before it loads Pulumi. tests/stacks/config.test.ts
 * checks the list against what the program reads.
 */
export const CONFIG_KEYS = {
  consumer: [
    "role",
    "producerAccountId",
    "bridgeRoleName",
    "producerStack",
    "accessMode",
    "externalId",
    "retentionHours",
    "landingExpirationDays",
    "alarmTopicArn",
  ],
  producer: [
    "role",
    "consumerStack",
    "analyticsStreamArn",
    "analyticsKeyArn",
    "writerRoleArn",
    "externalId",
    "bridgeRoleName",
    "accessMode",
    "streamRetentionHours",
    "streamMode",
    "shardCount",
    "streamKmsKeyArn",
    "maxBodyBytes",
    "parallelizationFactor",
    "kplMixedKeys",
    "alarmTopicArn",
    "aggregateRecords",
    "apiAuth",
    "jwtIssuer",
    "jwtAudiences",
    "jwtWriteScopes",
    "jwtReadScopes",
    "corsAllowOrigins",
    "corsAllowMethods",
    "corsAllowHeaders",
    "corsMaxAge",
    "archiveStorageClass",
    "archiveTransitionDays",
    "archiveObjectLockMode",
    "archiveObjectLockDays",
    "readModelVersions",
    "readModelActiveVersion",
  ],
} as const;
