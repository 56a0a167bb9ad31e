/**
 * The local cloud end to end, as `npm start` runs it, on ephemeral ports:
 * both stacks deployed by running index.ts under the local provider, then
 * driven over HTTP like a client would. A second cloud runs with KPL
 * aggregation on (producer config `aggregateRecords`).
 */
import { expect } from "chai";
import { wrongExternalIdConfig } from "../../support/bridge";
import * as zlib from "zlib";
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from "@aws-sdk/client-kinesis";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { LocalCloud, startLocalCloud } from "../../../local/cloud/cloud";
import { deaggregateKpl } from "../../../handlers/kpl/deaggregate";
import { LOCAL_ACCOUNTS } from "../../../local/shared/manifest";
import { accountCredentials, emulatorKinesis } from "../../../local/emulators/clients";
import { sigv4Headers } from "../../../local/cloud/caller";
import { runDemo } from "../../../local/cloud/demo";
import { Writable } from "stream";
import { execFile } from "child_process";
import { banner } from "../../../local/cloud/status";
import { PROJECT_ROOT } from "../../../local/shared/project";

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function landedRecords(cloud: LocalCloud): Promise<any[]> {
  const listed = await cloud.s3.send(new ListObjectsV2Command({ Bucket: cloud.landingBucket, Prefix: "events/" }));
  const out: any[] = [];
  for (const o of listed.Contents ?? []) {
    const body = await cloud.s3.send(new GetObjectCommand({ Bucket: cloud.landingBucket, Key: o.Key! }));
    const bytes = Buffer.from(await body.Body!.transformToByteArray());
    const text = (o.Key!.endsWith(".gz") ? zlib.gunzipSync(bytes) : bytes).toString("utf8");
    out.push(
      ...text
        .split("\n")
        .filter(Boolean)
        .map((l) => ({ key: o.Key, ...JSON.parse(l) })),
    );
  }
  return out;
}

/** A POST as customer `as`, authenticated the way the stack's apiAuth asks (jwt by default locally). */
const post = (cloud: LocalCloud, id: string, body: unknown, headers: Record<string, string> = {}, as = "c") =>
  cloud.call(`aggregates/${id}/events`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    as,
  });

describe("local cloud end to end", function () {
  this.timeout(300_000);
  let cloud: LocalCloud;
  before(async () => {
    cloud = await startLocalCloud({ apiPort: 0, maxFirehoseBufferSeconds: 1 });
  });
  after(async () => {
    await cloud?.stop();
  });

  it("deploys both accounts from the program and lists what it does not emulate", () => {
    expect(cloud.manifests.consumer.account).to.equal("222222222222");
    expect(cloud.manifests.producer.account).to.equal("111111111111");
    expect(cloud.manifests.producer.functions.map((f) => f.name).sort()).to.deep.equal([
      "analytics-bridge-forwarder",
      "commands-handler",
      "events-archive-archiver",
      "orders-projector",
    ]);
    expect(Object.keys(cloud.manifests.producer.notEmulated)).to.include("aws:cloudwatch/metricAlarm:MetricAlarm");
    expect(cloud.apiUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it("accepts a write with 202, shows it in the read model after polling, and lands the mapped record in the consumer account", async () => {
    const id = `e2e-${Date.now().toString(36)}`;
    const res = await post(cloud, id, { type: "OrderPlaced", data: { customerId: "c-9", lines: [{ sku: "X", quantity: 3, unitPriceCents: 100 }] } }, {}, "c-9");
    expect(res.status).to.equal(202);
    const accepted = (await res.json()) as { eventId: string; poll: string };
    const view = await until("the read model", async () => {
      const r = await cloud.call(accepted.poll, { as: "c-9" });
      const body: any = await r.json();
      return r.status === 200 && body.visible ? body : undefined;
    });
    expect(view.state).to.include({ status: "open", customerId: "c-9", totalCents: 300 });
    const landed = await until("the landing", async () => (await landedRecords(cloud)).find((w) => w.id === accepted.eventId));
    expect(landed).to.include({ aggregateId: id, contract: "order-lifecycle.v1" });
    expect(landed.data).to.include({ stage: "placed", amountCents: 300 });
    expect(landed.key).to.match(/^events\/year=\d{4}\/month=\d{2}\/day=\d{2}\//);
  });

  it("runs the demo's traffic: every accepted event applied and landed, polls counted, none without pollers", async () => {
    const silent = new Writable({ write: (_c, _e, done) => done() });
    const writers = await runDemo(cloud, { orders: 2, out: silent, pollers: 0, tty: false });
    expect(writers).to.include({ ok: true, rejected: 0, polls: 0 });
    expect(writers.accepted).to.be.greaterThan(2);
    expect(writers.visibleP50Ms).to.be.NaN;
    const polled = await runDemo(cloud, { orders: 2, out: silent, pollers: 2, tty: false });
    expect(polled).to.include({ ok: true, rejected: 0 });
    // One aggregate per order polled until visible, at least once each.
    expect(polled.polls).to.be.at.least(2);
    expect(polled.visibleP50Ms).to.be.a("number").and.not.NaN;
  });
  it("answers bad input with a clear error and changes nothing", async () => {
    const before = await cloud.stats();
    const bad = [
      await post(cloud, "bad-1", "{not json"),
      await post(cloud, "bad-2", { type: "OrderTeleported", data: {} }),
      await post(cloud, "bad%2F..", { type: "OrderPlaced", data: {} }),
      await post(cloud, "bad-3", { type: "OrderPlaced", data: { customerId: "c", lines: [] } }, { "content-type": "text/plain" }),
      await cloud.call("nowhere"),
    ];
    expect(bad.map((r) => r.status)).to.deep.equal([400, 400, 400, 415, 404]);
    for (const r of bad) expect(((await r.json()) as any).error?.message ?? "").to.not.equal("");
    await new Promise((r) => setTimeout(r, 1500));
    const after = await cloud.stats();
    expect([after.accepted, after.projected, after.forwarded]).to.deep.equal([before.accepted, before.projected, before.forwarded]);
  });

  it("prints re-drive commands that run as printed and stay local: STS is the local one, asked only when there is something to discard", async () => {
    const hints = banner(cloud).filter((l) => l.startsWith("parked events: "));
    expect(hints).to.have.length(2);
    const [, assignments, args] = /^parked events: ((?:\S+=\S+ )+)npm run redrive -- (--table .*)$/.exec(hints.find((h) => h.includes("--table"))!)!;
    const env = Object.fromEntries(
      assignments
        .trim()
        .split(" ")
        .map((kv) => kv.split("=", 2) as [string, string]),
    );
    expect(env.AWS_ENDPOINT_URL_STS).to.equal(cloud.endpoints.sts);
    const redrive = (...extra: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          ["-r", "ts-node/register/transpile-only", "scripts/redrive.ts", ...args.split(" "), ...extra],
          { env: { PATH: process.env.PATH ?? "", NODE_NO_WARNINGS: "1", ...env }, cwd: PROJECT_ROOT },
          (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr }),
        ),
      );
    const [listing, refused] = await Promise.all([redrive(), redrive("--discard", "no-such-event", "--reason", "e2e")]);
    expect(listing.code, listing.stderr).to.equal(0);
    expect(listing.stdout).to.match(/^read-model version 1: reduce of domain\/index.ts applies\n0 parked event\(s\) in orders-parked-/);
    // Refused (exit 2) for what it is, before any STS call: before, the caller lookup came first and went to AWS's own endpoint.
    expect([refused.code, refused.stderr.trim()]).to.deep.equal([
      2,
      `eventId no-such-event is not parked in ${args.split(" ")[3]}: nothing to discard (npm run redrive lists what is)`,
    ]);
  });

  it("enforces the declared JWT authorizer and the domain's authorize: 401 without a valid token, 403 without the scope or for another's order", async () => {
    const id = `auth-${Date.now().toString(36)}`;
    const placed = await post(cloud, id, { type: "OrderPlaced", data: { customerId: "c-7", lines: [] } }, {}, "c-7");
    expect(placed.status).to.equal(202);
    const poll = ((await placed.json()) as { poll: string }).poll;
    await until("the order", async () => ((await cloud.call(poll, { as: "c-7" })).status === 200 ? true : undefined));
    const before = await cloud.stats();
    const pay = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "OrderPaid", data: { amountCents: 1 } }) };
    const url = `${cloud.apiUrl}aggregates/${id}/events`;
    const hostile = [
      await fetch(url, pay),
      await fetch(url, { ...pay, headers: { ...pay.headers, authorization: "Bearer not.a.token" } }),
      await fetch(`${cloud.apiUrl}aggregates/${id}`),
      await cloud.call(`aggregates/${id}/events`, { ...pay, as: "c-7", scopes: ["aggregates:read"] }),
      await cloud.call(`aggregates/${id}/events`, { ...pay, as: "c-8" }),
      await cloud.call(`aggregates/${id}`, { as: "c-8" }),
    ];
    const answers = await Promise.all(hostile.map(async (r) => [r.status, await r.text()] as const));
    expect(answers.map(([status]) => status)).to.deep.equal([401, 401, 401, 403, 403, 403]);
    expect(answers[0][1]).to.equal('{"message":"Unauthorized"}');
    expect(answers[3][1]).to.equal('{"message":"Forbidden"}');
    expect(JSON.parse(answers[4][1]).error.message).to.include("the order belongs to another customer, not to c-8");
    expect(answers[5][1]).to.not.include("c-7");
    await new Promise((r) => setTimeout(r, 1500));
    const after = await cloud.stats();
    expect([after.accepted, after.projected]).to.deep.equal([before.accepted, before.projected]);
  });

  it("in iam mode (redeployed with apiAuth iam) lets a granted caller in by SigV4, and refuses unsigned, ungranted and tampered requests", async () => {
    // The next test redeploys with the local default (jwt) again.
    await cloud.redeploy("producer", { apiAuth: "iam" });
    const m = cloud.manifests.producer;
    expect(m.outputs.apiAuth).to.equal("iam");
    const id = `iam-${Date.now().toString(36)}`;
    const accepted = await post(cloud, id, { type: "OrderPlaced", data: { customerId: "c-1", lines: [] } });
    expect(accepted.status, await accepted.clone().text()).to.equal(202);
    const url = new URL(`aggregates/${id}/events`, cloud.apiUrl);
    const init = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "OrderShipped", data: {} }) };
    const apiRole = m.functions.find((f) => f.name === "commands-handler")!.roleArn;
    const ungranted = await sigv4Headers(url, init, accountCredentials(m.account, apiRole), m.region);
    const granted = await sigv4Headers(url, init, accountCredentials(m.account, `arn:aws:iam::${m.account}:role/local-api-caller`), m.region);
    const answers = await Promise.all(
      [
        await fetch(url, init),
        await fetch(url, { ...init, headers: ungranted }),
        await fetch(url, { ...init, headers: granted, body: JSON.stringify({ type: "OrderErased", data: {} }) }),
        await fetch(url, { ...init, headers: { ...init.headers, authorization: `Bearer ${await cloud.issuer.token({ scopes: ["events:write"] })}` } }),
      ].map(async (r) => [r.status, ((await r.json()) as { message: string }).message] as const),
    );
    expect(answers.map(([status]) => status)).to.deep.equal([403, 403, 403, 403]);
    expect(answers[0][1]).to.equal("Missing Authentication Token");
    expect(answers[1][1]).to.match(
      /^User: arn:aws:sts::111111111111:assumed-role\/.+ is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:/,
    );
    expect(answers[2][1]).to.include("The request signature we calculated does not match");
    const shipped = await fetch(url, { ...init, headers: granted });
    expect(shipped.status).to.equal(202);
  });

  it("with a wrong ExternalId the bridge fails, nothing is lost, and fixing it delivers the backlog", async () => {
    const consumer = cloud.manifests.consumer.outputs;
    // Deploy the producer with explicit consumer outputs and a wrong ExternalId (as a mistaken config would).
    await cloud.redeploy("producer", wrongExternalIdConfig(consumer));
    const id = `backlog-${Date.now().toString(36)}`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await post(
        cloud,
        id,
        i === 0 ? { type: "OrderPlaced", data: { customerId: "c", lines: [] } } : { type: "OrderPaid", data: { amountCents: i } },
      );
      expect(res.status).to.equal(202);
      ids.push(((await res.json()) as any).eventId);
    }
    // The projector is unaffected; the bridge keeps failing.
    await until("the projection", async () => {
      const r = await cloud.call(`aggregates/${id}`, { as: "c" });
      return r.status === 200 && ((await r.json()) as any).version === 3 ? true : undefined;
    });
    await until("a bridge failure", async () => ((await cloud.stats()).mappings.some((m) => m.name.includes("bridge") && m.retries > 0) ? true : undefined));
    expect((await landedRecords(cloud)).filter((w) => w.aggregateId === id)).to.deep.equal([]);

    // Fix the config (back to the StackReference) and redeploy: the backlog lands.
    await cloud.redeploy("producer", { consumerStack: "local/event-sourced-pipeline/consumer" });
    const landed = await until("the backlog", async () => {
      const mine = (await landedRecords(cloud)).filter((w) => w.aggregateId === id);
      return new Set(mine.map((w) => w.id)).size === 3 ? mine : undefined;
    });
    expect([...new Set(landed.map((w) => w.id))].sort()).to.deep.equal([...ids].sort());
    expect(cloud.deadLetters()).to.satisfy((d: Record<string, object[]>) => Object.values(d).every((m) => m.length === 0));
  });
});

/** The analytics stream as its consumers read it: each Kinesis record, and its user records (KPL aggregates split). */
async function analyticsRecords(cloud: LocalCloud): Promise<{ partitionKey: string; aggregated: boolean; wire: any[] }[]> {
  const kinesis = emulatorKinesis({ endpoint: cloud.endpoints.kinesis, account: LOCAL_ACCOUNTS.consumer });
  const stream = String(cloud.manifests.consumer.outputs.analyticsStreamArn).split("/").pop()!;
  const out: { partitionKey: string; aggregated: boolean; wire: any[] }[] = [];
  for (const shard of (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? []) {
    let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId!, ShardIteratorType: "TRIM_HORIZON" })))
      .ShardIterator;
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? []) {
        const data = Buffer.from(r.Data!);
        const users = deaggregateKpl(data);
        out.push({
          partitionKey: r.PartitionKey!,
          aggregated: users !== undefined,
          wire: (users?.map((u) => u.data) ?? [data]).map((d) => JSON.parse(d.toString("utf8"))),
        });
      }
      if (!page.Records?.length || page.MillisBehindLatest === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

describe("local cloud end to end, KPL aggregation on (aggregateRecords: sourceShard)", function () {
  this.timeout(300_000);
  let cloud: LocalCloud;
  before(async () => {
    cloud = await startLocalCloud({ apiPort: 0, maxFirehoseBufferSeconds: 1, config: { producer: { aggregateRecords: "sourceShard" } } });
  });
  after(async () => {
    await cloud?.stop();
  });

  it("aggregates the bridge's writes, and Firehose lands them as individual records with their ids", async () => {
    const bridge = cloud.manifests.producer.functions.find((f) => f.name === "analytics-bridge-forwarder")!;
    expect(bridge.environment.AGGREGATE_RECORDS).to.equal("sourceShard");
    const run = Date.now().toString(36);
    const orders = [`kpl-a-${run}`, `kpl-b-${run}`];
    const ids: Record<string, string[]> = Object.fromEntries(orders.map((o) => [o, []]));
    // Written back to back, so the bridge's batches (1 s window) hold several events each.
    for (let i = 0; i < 4; i++) {
      for (const id of orders) {
        const res = await post(
          cloud,
          id,
          i === 0 ? { type: "OrderPlaced", data: { customerId: "c", lines: [] } } : { type: "OrderPaid", data: { amountCents: i } },
        );
        expect(res.status).to.equal(202);
        ids[id].push(((await res.json()) as any).eventId);
      }
    }
    const all = orders.flatMap((o) => ids[o]);
    const landed = await until("the landing", async () => {
      const mine = (await landedRecords(cloud)).filter((w) => orders.includes(w.aggregateId));
      return mine.length >= all.length ? mine : undefined;
    });
    // Each write lands once, as its own JSON line, under its aggregate.
    expect(landed.map((w) => w.id).sort()).to.deep.equal([...all].sort());
    for (const w of landed) expect(ids[w.aggregateId], w.id).to.include(w.id);
    expect(landed.every((w) => w.contract === "order-lifecycle.v1")).to.equal(true);

    // On the analytics stream they travelled as KPL aggregates keyed by the source shard, each aggregate's order kept.
    const records = (await analyticsRecords(cloud)).filter((r) => r.wire.some((w) => orders.includes(w.aggregateId)));
    expect(
      records.some((r) => r.aggregated && r.wire.length > 1),
      "at least one KPL aggregate of several records",
    ).to.equal(true);
    for (const r of records) expect(r.partitionKey).to.match(/^shardId-\d+$/);
    const wire = records.flatMap((r) => r.wire);
    for (const id of orders)
      expect(
        wire.filter((w) => w.aggregateId === id).map((w) => w.id),
        id,
      ).to.deep.equal(ids[id]);
    expect((await cloud.stats()).landed).to.be.at.least(all.length);
  });
});
