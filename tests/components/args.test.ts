/**
 * Every component resolves and checks all its args before `super()`
 * registers anything: a bad arg throws `<Component> <name>: <field> <what is
 * wrong, the rule, the value>` and nothing reaches the engine, so a bad
 * value fails the preview instead of the Lambda's cold start. Also the one
 * merge of defaults with args, and the mapping defaults that depend on the
 * stream's retention.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { AnalyticsSink, AnalyticsSinkArgs } from "../../components/analyticsSink";
import { CommandApi, CommandApiArgs } from "../../components/commandApi";
import { CrossAccountBridge, CrossAccountBridgeArgs } from "../../components/crossAccountBridge";
import { EventSourcedTable, EventSourcedTableArgs } from "../../components/eventSourcedTable";
import { resolveMappingSettings } from "../../components/parts/streamMapping";
import { ArgCheck, withDefaults } from "../../components/parts/validation";

const STREAM_ARN = "arn:aws:kinesis:us-east-1:111111111111:stream/orders-events";
const TARGET_ARN = "arn:aws:kinesis:us-east-1:222222222222:stream/analytics-stream";
const KEY_ARN = "arn:aws:kms:us-east-1:222222222222:key/11111111-2222-3333-4444-555555555555";

const table = (over: Partial<EventSourcedTableArgs<unknown>>) => () => new EventSourcedTable("orders", { reduce: () => null, ...over });
const bridge = (over: Partial<CrossAccountBridgeArgs>) => () =>
  new CrossAccountBridge("analytics-bridge", {
    sourceStreamArn: STREAM_ARN,
    sourceRetentionHours: 168,
    map: () => undefined,
    targetStreamArn: TARGET_ARN,
    targetKeyArn: KEY_ARN,
    access: { mode: "resourcePolicy" },
    ...over,
  });
const api = (over: Partial<CommandApiArgs>) => () =>
  new CommandApi("commands", { stream: { name: "orders-events", arn: STREAM_ARN }, table: { name: "read-model", arn: STREAM_ARN }, ...over });
const sink = (over: Partial<AnalyticsSinkArgs>) => () =>
  new AnalyticsSink("analytics", { producerAccountId: "111111111111", accessMode: "resourcePolicy", ...over });

/** Runs `build` under mocks that record every registration, and waits until the engine has seen them all. */
async function registrations(build: () => unknown): Promise<{ error?: Error; registered: string[] }> {
  const registered: string[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push(`${args.type} ${args.name}`);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "event-sourced-pipeline",
    "args",
    false,
  );
  let error: Error | undefined;
  try {
    build();
  } catch (e) {
    error = e as Error;
  }
  await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
  return { error, registered };
}

const CASES: [string, () => unknown, string][] = [
  ["EventSourcedTable", table({ stream: { retentionHours: 12 } }), "EventSourcedTable orders: stream.retentionHours must be 24–8760 h, got 12"],
  ["EventSourcedTable", table({ stream: { mode: "PROVISIONED" } }), "EventSourcedTable orders: stream.shardCount is required when stream.mode is PROVISIONED"],
  ["EventSourcedTable", table({ stream: { shardCount: 2 } }), "EventSourcedTable orders: stream.shardCount applies only when stream.mode is PROVISIONED"],
  ["EventSourcedTable", table({ dedupWindow: 0 }), "EventSourcedTable orders: dedupWindow must be 1–1000, got 0"],
  ["EventSourcedTable", table({ memorySize: 64 }), "EventSourcedTable orders: memorySize must be 128–10240 MB, got 64"],
  ["EventSourcedTable", table({ mapping: { batchSize: 10_001 } }), "EventSourcedTable orders: mapping.batchSize must be 1–10000, got 10001"],
  [
    "EventSourcedTable",
    table({ mapping: { parallelizationFactor: 1.5 } }),
    "EventSourcedTable orders: mapping.parallelizationFactor must be an integer 1–10, got 1.5",
  ],
  [
    "EventSourcedTable",
    table({ mapping: { parallelizationFactor: 6 } }),
    "EventSourcedTable orders: mapping.parallelizationFactor 6 needs kplMixedKeys: false: above 1, Lambda keeps order per Kinesis partition key only",
  ],
  [
    "EventSourcedTable",
    table({ mapping: { parallelizationFactor: 2 }, kplMixedKeys: true }),
    "EventSourcedTable orders: mapping.parallelizationFactor 2 needs kplMixedKeys: false",
  ],
  [
    "EventSourcedTable",
    table({ stream: { retentionHours: 24 }, mapping: { maximumRecordAgeInSeconds: 86_400 } }),
    "EventSourcedTable orders: mapping.maximumRecordAgeInSeconds must be below the stream's retention (86400 s)",
  ],
  [
    "CrossAccountBridge",
    bridge({ roleName: "no spaces" }),
    'CrossAccountBridge analytics-bridge: roleName must be an IAM role name (1–64 characters of letters, digits and +=,.@_-), got "no spaces"',
  ],
  ["CrossAccountBridge", bridge({ roleName: "r".repeat(65) }), "CrossAccountBridge analytics-bridge: roleName must be an IAM role name"],
  [
    "CrossAccountBridge",
    bridge({ access: { writerRoleArn: "arn:aws:iam::222222222222:role/writer" } as CrossAccountBridgeArgs["access"] }),
    'CrossAccountBridge analytics-bridge: access.externalId is required when access.mode is "assumeRole"',
  ],
  [
    "CrossAccountBridge",
    bridge({ aggregateRecords: "shard" as never }),
    'CrossAccountBridge analytics-bridge: aggregateRecords must be one of off, sourceShard, partitionKey, got "shard"',
  ],
  ["CrossAccountBridge", bridge({ sourceRetentionHours: 9000 }), "CrossAccountBridge analytics-bridge: sourceRetentionHours must be 24–8760 h, got 9000"],
  [
    "CrossAccountBridge",
    bridge({ mapping: { maximumBatchingWindowInSeconds: 301 } }),
    "CrossAccountBridge analytics-bridge: mapping.maximumBatchingWindowInSeconds must be 0–300 s, got 301",
  ],
  [
    "CrossAccountBridge",
    bridge({ mapping: { parallelizationFactor: 3 } }),
    "CrossAccountBridge analytics-bridge: mapping.parallelizationFactor 3 needs kplMixedKeys: false",
  ],
  [
    "CrossAccountBridge",
    bridge({ mapping: { maximumRetryAttempts: -2 } }),
    "CrossAccountBridge analytics-bridge: mapping.maximumRetryAttempts must be -1–10000, got -2",
  ],
  [
    "CrossAccountBridge",
    bridge({ mapping: { maximumRecordAgeInSeconds: 30 } }),
    "CrossAccountBridge analytics-bridge: mapping.maximumRecordAgeInSeconds must be 60–604800 s (or -1), got 30",
  ],
  ["CrossAccountBridge", bridge({ timeout: 901 }), "CrossAccountBridge analytics-bridge: timeout must be 1–900 s, got 901"],
  ["CommandApi", api({ maxBodyBytes: 0 }), "CommandApi commands: maxBodyBytes must be 1–921600, got 0"],
  ["CommandApi", api({ maxBodyBytes: 921_601 }), "CommandApi commands: maxBodyBytes must be 1–921600, got 921601"],
  ["CommandApi", api({ rateLimit: 0 }), "CommandApi commands: rateLimit must be above 0 and at most 10000 requests/s, got 0"],
  ["CommandApi", api({ burstLimit: 5001 }), "CommandApi commands: burstLimit must be 1–5000, got 5001"],
  ["CommandApi", api({ timeout: 21 }), "CommandApi commands: timeout must be 1–20 s, got 21"],
  ["CommandApi", api({ auth: { mode: "open" as never } }), 'CommandApi commands: auth.mode must be one of iam, jwt, none, got "open"'],
  ["CommandApi", api({ auth: { mode: "jwt", audiences: ["a"] } }), "CommandApi commands: auth.issuer is required for auth.mode jwt (the tokens' iss)"],
  [
    "CommandApi",
    api({ auth: { mode: "jwt", issuer: "http://issuer.example.com", audiences: ["a"] } }),
    'CommandApi commands: auth.issuer must be an https URL with no query or fragment (API Gateway fetches <issuer>/.well-known/openid-configuration), got "http://issuer.example.com"',
  ],
  [
    "CommandApi",
    api({ auth: { mode: "jwt", issuer: "https://issuer.example.com", audiences: [] } }),
    "CommandApi commands: auth.audiences must be a list of 1–10 non-empty strings, got []",
  ],
  [
    "CommandApi",
    api({ auth: { mode: "jwt", issuer: "https://issuer.example.com", audiences: ["a"], writeScopes: ["events write"] } }),
    'CommandApi commands: auth.writeScopes: each scope is printable ASCII without spaces, quotes or backslashes (RFC 6749), got "events write"',
  ],
  [
    "CommandApi",
    api({ auth: { mode: "iam", issuer: "https://issuer.example.com" } }),
    "CommandApi commands: auth.issuer is only for auth.mode jwt, got auth.mode iam",
  ],
  [
    "CommandApi",
    api({ authorize: "owner" as never }),
    "CommandApi commands: authorize must be a function (principal, action, aggregateId, state) => message | undefined, got string",
  ],
  ["CommandApi", api({ cors: { maxAge: 60 } }), "CommandApi commands: cors.allowOrigins is required to turn CORS on"],
  [
    "CommandApi",
    api({ cors: { allowOrigins: ["https://app.example.com/path"] } }),
    'CommandApi commands: cors.allowOrigins: each origin is "*" or scheme://host[:port] with no path, got "https://app.example.com/path"',
  ],
  ["CommandApi", api({ cors: { allowOrigins: ["*"], allowMethods: ["TRACE"] } }), "CommandApi commands: cors.allowMethods: each method is one of GET, POST"],
  ["CommandApi", api({ cors: { allowOrigins: ["*"], maxAge: 86_401 } }), "CommandApi commands: cors.maxAge must be 0–86400 s, got 86401"],
  ["AnalyticsSink", sink({ retentionHours: 8761 }), "AnalyticsSink analytics: retentionHours must be 24–8760 h, got 8761"],
  ["AnalyticsSink", sink({ producerAccountId: "1234" }), 'AnalyticsSink analytics: producerAccountId must be a 12-digit account id, got "1234"'],
  [
    "AnalyticsSink",
    sink({ bridgeRoleName: "" }),
    'AnalyticsSink analytics: bridgeRoleName must be an IAM role name (1–64 characters of letters, digits and +=,.@_-), got ""',
  ],
  ["AnalyticsSink", sink({ streamMode: "STANDARD" as never }), 'AnalyticsSink analytics: streamMode must be one of ON_DEMAND, PROVISIONED, got "STANDARD"'],
  ["AnalyticsSink", sink({ landing: { bufferingSizeMb: 0 } }), "AnalyticsSink analytics: landing.bufferingSizeMb must be 1–128 MiB, got 0"],
  [
    "AnalyticsSink",
    sink({ landing: { expirationDays: 30 } }),
    "AnalyticsSink analytics: landing.expirationDays must be 31–36500 days (after transitionToInfrequentAccessDays), got 30",
  ],
  ["AnalyticsSink", sink({ accessMode: "assumeRole", externalId: "x" }), "AnalyticsSink analytics: externalId must be 2-1224 characters"],
];

describe("component args: checked before anything is registered", function () {
  this.timeout(60_000);

  it("the recording mocks see a registration (so an empty list below means nothing was registered)", async () => {
    const { error, registered } = await registrations(() => new pulumi.ComponentResource("test:index:Control", "control"));
    expect(error).to.equal(undefined);
    expect(registered).to.deep.equal(["test:index:Control control"]);
  });

  for (const [component, build, message] of CASES) {
    it(`${component}: ${message.slice(message.indexOf(": ") + 2)}`, async () => {
      const { error, registered } = await registrations(build);
      expect(error?.message)
        .to.be.a("string")
        .and.satisfy((m: string) => m.startsWith(message), error?.message);
      expect(registered, "registered before the check").to.deep.equal([]);
    });
  }
});

describe("component defaults", () => {
  const check = new ArgCheck("Test", "t");

  it("merges args over the defaults in one call, an undefined arg keeping its default", () => {
    expect(withDefaults({ a: 1, b: 2 }, { a: undefined, b: 3, c: "x" })).to.deep.equal({ a: 1, b: 3, c: "x" });
    expect(withDefaults({ a: 1 }, undefined)).to.deep.equal({ a: 1 });
  });

  it("gives up on records at half the stream's retention, within Lambda's 60–604800 s", () => {
    expect(resolveMappingSettings(check, "mapping", undefined, 168).maximumRecordAgeInSeconds).to.equal(302_400);
    expect(resolveMappingSettings(check, "mapping", {}, 8760).maximumRecordAgeInSeconds).to.equal(604_800);
    expect(resolveMappingSettings(check, "mapping", { maximumRecordAgeInSeconds: undefined }, 24).maximumRecordAgeInSeconds).to.equal(43_200);
  });

  it("accepts Lambda's -1 (no limit) for retries and record age", () => {
    const s = resolveMappingSettings(check, "mapping", { maximumRetryAttempts: -1, maximumRecordAgeInSeconds: -1 }, 168);
    expect(s).to.include({ maximumRetryAttempts: -1, maximumRecordAgeInSeconds: -1, batchSize: 500, startingPosition: "TRIM_HORIZON" });
  });
});
