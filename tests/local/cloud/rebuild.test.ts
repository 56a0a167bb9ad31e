/**
 * A rebuild has no side effects (issue 9), end to end: a local cloud with the
 * bridge deployed and version 2 declared (rebuilding, no mapping), a few
 * writes projected, forwarded to the analytics account, landed and archived;
 * then `npm run rebuild -- --version 2 --local` (scripts/rebuild.ts, as an
 * operator runs it). Every table but version 2's two, every stream of both
 * accounts (the source and the analytics stream) and every object of every
 * bucket (the landing, the archive) are byte-for-byte the same before and
 * after, while version 2's table holds the rebuilt aggregates. The same
 * comparison catches a rebuild whose outputs point it at the bridge's
 * forwarded-ids table, and a write into version 1's table.
 */
import { expect } from "chai";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AttributeValue, DeleteItemCommand, DynamoDBClient, ListTablesCommand, PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { ListStreamsCommand } from "@aws-sdk/client-kinesis";
import { GetObjectCommand, ListBucketsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { LocalCloud, startLocalCloud } from "../../../local/cloud/cloud";
import { describeCloud } from "../../../local/cloud/current";
import { emulatorDynamo, emulatorKinesis, emulatorS3 } from "../../../local/emulators/clients";
import { LOCAL_ACCOUNTS } from "../../../local/shared/manifest";
import { listArchive, readObject } from "../../../handlers/archive/reader";
import { readStream } from "../../support/aws";
import { COMPONENT_TYPES, TYPES } from "../../../components/parts/typeTokens";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const CUSTOMER = "c-rebuild";

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 150_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** JSON with every object's keys sorted: DynamoDB answers attributes in no set order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

async function scanAll(dynamo: DynamoDBClient, table: string): Promise<string[]> {
  const items: string[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []).map(canonical));
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort();
}

async function objectsOf(s3: S3Client, bucket: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      out[o.Key!] = Buffer.from(await got.Body!.transformToByteArray()).toString("base64");
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Everything the emulators hold, by table, stream (per account) and bucket, less the tables named in `except`. */
async function snapshot(cloud: LocalCloud, except: string[]): Promise<Record<string, unknown>> {
  const dynamo = emulatorDynamo({ endpoint: cloud.endpoints.dynamodb });
  const s3 = emulatorS3({ endpoint: cloud.endpoints.s3 });
  const out: Record<string, unknown> = {};
  for (const t of (await dynamo.send(new ListTablesCommand({}))).TableNames ?? []) if (!except.includes(t)) out[`table ${t}`] = await scanAll(dynamo, t);
  for (const account of Object.values(LOCAL_ACCOUNTS)) {
    const kinesis = emulatorKinesis({ endpoint: cloud.endpoints.kinesis, account });
    for (const s of (await kinesis.send(new ListStreamsCommand({}))).StreamNames ?? []) {
      out[`stream ${account}/${s}`] = (await readStream(kinesis, s, account)).map((r) => r.eventID + " " + r.kinesis.partitionKey + " " + r.kinesis.data);
    }
  }
  for (const b of (await s3.send(new ListBucketsCommand({}))).Buckets ?? []) out[`bucket ${b.Name}`] = await objectsOf(s3, b.Name!);
  return out;
}

/** The names of what changed between two snapshots. */
function changed(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

/** Runs scripts/rebuild.ts as `npm run rebuild` does; resolves with its exit code and output. */
function rebuild(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "scripts/rebuild.ts", ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

describe("local cloud: a rebuild has no side effects", function () {
  this.timeout(600_000);
  let cloud: LocalCloud;
  let stateDir: string;
  let outputs: Record<string, any>;
  let v2: { tableName: string; parkedTableName: string };
  const ids = ["rb-1", "rb-2", "rb-3"].map((a) => `${a}-${Date.now().toString(36)}`);

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "rebuild-e2e-"));
    cloud = await startLocalCloud({ apiPort: 0, maxFirehoseBufferSeconds: 1, config: { producer: { readModelVersions: '[{"version":2}]' } } });
    // What `npm start` leaves for the commands beside it: the rebuild's --local reads it.
    fs.writeFileSync(path.join(stateDir, "current.json"), JSON.stringify({ pid: process.pid, ...describeCloud(cloud) }));
    outputs = cloud.manifests.producer.outputs;
    v2 = outputs.readModelVersions["2"];
    expect(v2, "version 2 deployed").to.exist;
  });
  after(async () => {
    await cloud?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("leaves every table but version 2's, both accounts' streams, the landing and the archive byte-for-byte the same", async () => {
    const lines = (n: number) => [{ sku: "A", quantity: n, unitPriceCents: 100 }];
    for (const [i, id] of ids.entries()) {
      const res = await cloud.call(`aggregates/${id}/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "OrderPlaced", data: { customerId: CUSTOMER, lines: lines(i + 1) } }),
        as: CUSTOMER,
      });
      expect(res.status).to.equal(202);
    }
    // Projected, forwarded and landed; and archived (the archiver's 60 s batching window).
    await until("projection and landing", async () => {
      const s = await cloud.stats();
      return s.projected >= ids.length && s.landed >= ids.length ? true : undefined;
    });
    const archive = {
      s3: emulatorS3({ endpoint: cloud.endpoints.s3, account: LOCAL_ACCOUNTS.producer }),
      bucket: outputs.archiveBucketName,
      prefix: outputs.archivePrefix,
    };
    await until("the archive", async () => {
      let n = 0;
      for (const k of await listArchive(archive)) n += (await readObject(archive, k.key)).length;
      return n >= ids.length ? true : undefined;
    });
    const own = [v2.tableName, v2.parkedTableName];
    const before = await snapshot(cloud, own);
    expect(Object.keys(before).filter((k) => k.startsWith("stream "))).to.have.length.at.least(2);
    expect(before[`bucket ${cloud.landingBucket}`]).to.not.deep.equal({});
    expect(before[`table ${outputs.bridgeParkedTableName}`]).to.deep.equal([]);
    expect(before[`table ${outputs.readModelTableName}`]).to.have.length.at.least(ids.length);

    const run = await rebuild(["--version", "2", "--local", "--state", path.join(stateDir, "cursor.json")], { LOCAL_CLOUD_DIR: stateDir });
    expect(run.code, run.out).to.equal(3); // done; cut-over not allowed yet: version 2 has no live mapping
    expect(run.out).to.match(/objects, \d+ events/);
    expect(run.out).to.include("cut-over NOT allowed yet: version 2 has no live mapping");

    const dynamo = emulatorDynamo({ endpoint: cloud.endpoints.dynamodb });
    const rebuilt = (await scanAll(dynamo, v2.tableName)).map((i) => JSON.parse(i).pk.S);
    expect(rebuilt).to.include.members(ids);
    expect(changed(before, await snapshot(cloud, own))).to.deep.equal([]);
  });

  it("catches a rebuild pointed at the bridge's forwarded-ids table, and a write into version 1's table", async () => {
    // The bridge's forwarded-ids table: its table keyed by pk alone (the parked table has a sort key).
    const forwarded = cloud.manifests.producer.resources.find(
      (r) => r.type === TYPES.table && r.parentType === COMPONENT_TYPES.CrossAccountBridge && !r.inputs.rangeKey,
    )!.state.name as string;
    expect(forwarded).to.not.equal(outputs.bridgeParkedTableName);
    const own = [v2.tableName, v2.parkedTableName];
    const before = await snapshot(cloud, own);
    // The operator's outputs file with version 2's table mistaken for the bridge's: the rebuild writes there.
    const wrong = path.join(stateDir, "wrong-outputs.json");
    fs.writeFileSync(wrong, JSON.stringify({ ...outputs, readModelVersions: { "2": { ...v2, tableName: forwarded, live: false } } }));
    const run = await rebuild(["--version", "2", "--outputs", wrong, "--state", path.join(stateDir, "wrong-cursor.json")], {
      AWS_ACCESS_KEY_ID: LOCAL_ACCOUNTS.producer,
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_DYNAMODB: cloud.endpoints.dynamodb,
      AWS_ENDPOINT_URL_KINESIS: cloud.endpoints.kinesis,
      AWS_ENDPOINT_URL_S3: cloud.endpoints.s3,
      AWS_S3_FORCE_PATH_STYLE: "true",
    });
    expect(run.code, run.out).to.equal(3);
    expect(changed(before, await snapshot(cloud, own))).to.deep.equal([`table ${forwarded}`]);

    const dynamo = emulatorDynamo({ endpoint: cloud.endpoints.dynamodb });
    const v1 = outputs.readModelTableName as string;
    const key = { pk: { S: "written-by-a-rebuild" } };
    await dynamo.send(new PutItemCommand({ TableName: v1, Item: { ...key, state: { S: "{}" } } }));
    try {
      expect(changed(before, await snapshot(cloud, own))).to.deep.equal([`table ${forwarded}`, `table ${v1}`].sort());
    } finally {
      await dynamo.send(new DeleteItemCommand({ TableName: v1, Key: key }));
    }
  });

  it("retires version 1 after the cut-over: refused while protected, then its tables leave the emulator and the API serves v2", async () => {
    const dynamo = emulatorDynamo({ endpoint: cloud.endpoints.dynamodb });
    const tables = async () => (await dynamo.send(new ListTablesCommand({}))).TableNames ?? [];
    const v1 = [outputs.readModelTableName as string, outputs.parkedTableName as string];
    const live = '{"version":2,"liveFrom":"2026-12-01T10:00:00Z"}';
    const retire = { readModelActiveVersion: "2", readModelVersions: `[{"version":1,"retired":true},${live}]` };
    const refused = await cloud.redeploy("producer", retire).then(
      () => "deployed",
      (err: Error) => err.message,
    );
    expect(refused).to.match(/^the producer stack would delete .*orders-read-model \(orders-read-model-\w+\).*deletion protection on/);
    expect(await tables()).to.include.members(v1);
    await cloud.redeploy("producer", { readModelActiveVersion: "2", readModelVersions: `[{"version":1,"deletionProtection":false},${live}]` });
    await cloud.redeploy("producer", retire);
    const left = await tables();
    expect(left).to.not.include.members([v1[0]]);
    expect(left).to.not.include.members([v1[1]]);
    expect(left).to.include.members([v2.tableName, v2.parkedTableName, outputs.bridgeParkedTableName]);
    const producer = cloud.manifests.producer.outputs;
    expect(producer.readModelTableName).to.equal(v2.tableName);
    const res = await cloud.call(`aggregates/${ids[0]}`, { as: CUSTOMER });
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { state: { unitCount?: number } }).state.unitCount).to.equal(1);
  });
});
