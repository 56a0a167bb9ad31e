/**
 * Function hosts: a closure serialised by Pulumi (as a CallbackFunction's
 * archive holds it) run in its own process with a clean environment, the
 * runtime's @aws-sdk only, its own identity against kinesis-local, the
 * declared timeout, and a restart after a crash or a timeout.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { execFile } from "child_process";
import { promisify } from "util";
import { FunctionHost, LOCAL_CONCURRENCY, startFunctionHost } from "../../../local/lambda/functionHost";
import { RUNTIME_MODULES } from "../../../local/deploy/artifacts";
import { ManifestFunction } from "../../../local/shared/manifest";
import { CONSUMER_ACCOUNT, createStream, REGION, testKinesis, uniqueName } from "../../support/aws";

const ROLE = `arn:aws:iam::${CONSUMER_ACCOUNT}:role/host-test-role`;

/** The code under test: one closure, driven by `event.op`. */
const behaviour = async (event: any) => {
  switch (event.op) {
    case "env":
      return { ...process.env };
    case "echo":
      return { event, cwd: process.cwd() };
    case "pid":
      return process.pid;
    case "pidAfter":
      await new Promise((r) => setTimeout(r, event.ms));
      return process.pid;
    case "throw":
      throw new TypeError(`bad input ${event.detail}`);
    case "crash":
      setImmediate(() => process.exit(3));
      return new Promise(() => undefined);
    case "sleep":
      await new Promise((r) => setTimeout(r, event.ms));
      return "slept";
    case "resolve": {
      const sdk = require.resolve("@aws-sdk/client-kinesis");
      let chai: string;
      try {
        chai = require.resolve("chai");
      } catch (e) {
        chai = (e as any).code;
      }
      return { sdk, chai };
    }
    case "describe": {
      const { KinesisClient, DescribeStreamSummaryCommand } = require("@aws-sdk/client-kinesis");
      // HTTP/1.1 (the emulator speaks no HTTP/2), with the handler next to the runtime's SDK, as handlers/clients.ts does.
      const { NodeHttpHandler } = require(require.resolve("@smithy/node-http-handler", { paths: [require.resolve("@aws-sdk/client-kinesis")] }));
      const out = await new KinesisClient({ requestHandler: new NodeHttpHandler() }).send(new DescribeStreamSummaryCommand({ StreamName: event.stream }));
      return out.StreamDescriptionSummary.StreamARN;
    }
    default:
      return undefined;
  }
};

async function writeClosureArtifact(parent: string, fn: (...args: never[]) => unknown): Promise<string> {
  const serialised = await pulumi.runtime.serializeFunction(fn, { exportName: "handler" });
  const dir = path.join(parent, "task");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "__index.js"), serialised.text);
  return dir;
}

function manifestFunction(dir: string, overrides: Partial<ManifestFunction> = {}): ManifestFunction {
  return {
    name: "host-test",
    functionName: "host-test-0a1b2c3",
    arn: `arn:aws:lambda:${REGION}:${CONSUMER_ACCOUNT}:function:host-test-0a1b2c3`,
    roleArn: ROLE,
    dir,
    environment: { GREETING: "hello", TABLE_NAME: "orders-0a1b2c3" },
    timeout: 1,
    memorySize: 128,
    zipBytes: 0,
    ...overrides,
  };
}

/** The identity convention of the local cloud. */
function identity(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: CONSUMER_ACCOUNT,
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_SESSION_TOKEN: `role:${ROLE}`,
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL_KINESIS: process.env.AWS_ENDPOINT_URL_KINESIS!,
    AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB!,
  };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("Function host (a serialised closure in its own process)", function () {
  this.timeout(30_000);
  let root: string;
  let dir: string;
  let host: FunctionHost;
  const logs: string[] = [];

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "host-test-"));
    // A package above the task root: node would find it by walking up; Lambda would not.
    fs.mkdirSync(path.join(root, "node_modules"));
    fs.symlinkSync(path.dirname(require.resolve("chai/package.json")), path.join(root, "node_modules", "chai"), "dir");
    dir = await writeClosureArtifact(root, behaviour);
    host = await startFunctionHost(manifestFunction(dir), identity(), { onLog: (l) => logs.push(l) });
  });
  after(async () => {
    await host?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("loads the archive, measures its cold start and answers an invocation with the JSON result", async () => {
    expect(host.coldStarts).to.equal(1);
    expect(host.coldStartMs).to.be.a("number").and.to.be.above(0);
    const out = (await host.invoke({ op: "echo", n: 1, nested: { ok: true } })) as any;
    expect(out.event).to.deep.equal({ op: "echo", n: 1, nested: { ok: true } });
    expect(fs.realpathSync(out.cwd)).to.equal(fs.realpathSync(dir));
    expect(await host.invoke({ op: "unknown" })).to.equal(null);
  });

  it("runs in a process of its own with a clean environment: PATH, declared variables, identity, NODE_PATH only", async () => {
    const env = (await host.invoke({ op: "env" })) as Record<string, string>;
    expect(await host.invoke({ op: "pid" })).to.not.equal(process.pid);
    expect(Object.keys(env).sort()).to.deep.equal(["GREETING", "NODE_PATH", "PATH", "TABLE_NAME", ...Object.keys(identity())].sort());
    expect(env).to.include({ GREETING: "hello", TABLE_NAME: "orders-0a1b2c3", AWS_ACCESS_KEY_ID: CONSUMER_ACCOUNT, AWS_SESSION_TOKEN: `role:${ROLE}` });
    expect(fs.readdirSync(env.NODE_PATH)).to.deep.equal(["@aws-sdk"]);
    expect(env.NODE_PATH, "kept in the project, not one directory per process in the temp dir").to.equal(RUNTIME_MODULES);
  });

  it("resolves the runtime's @aws-sdk but no package outside the archive, even one above the task root", async () => {
    const out = (await host.invoke({ op: "resolve" })) as { sdk: string; chai: string };
    expect(out.sdk).to.include(`${path.sep}@aws-sdk${path.sep}client-kinesis${path.sep}`);
    expect(out.chai).to.equal("MODULE_NOT_FOUND");
  });

  it("calls AWS with its own account's identity (the stream exists only in that account)", async () => {
    const stream = uniqueName("host-identity");
    const arn = await createStream(testKinesis(CONSUMER_ACCOUNT), stream, 1);
    expect(process.env.AWS_ACCESS_KEY_ID).to.not.equal(CONSUMER_ACCOUNT);
    expect(await host.invoke({ op: "describe", stream })).to.equal(arn);
  });

  it("serves concurrent invocations", async () => {
    const results = await Promise.all([1, 2, 3].map((n) => host.invoke({ op: "echo", n })));
    expect(results.map((r: any) => r.event.n)).to.deep.equal([1, 2, 3]);
  });

  it("rejects with the function's own error, and the container lives on", async () => {
    const pid = await host.invoke({ op: "pid" });
    const errorsBefore = host.errors;
    const err = await rejection(host.invoke({ op: "throw", detail: "x1" }));
    expect(err.name).to.equal("TypeError");
    expect(err.message).to.equal("bad input x1");
    expect(err.stack).to.include("__index.js");
    expect(host.errors).to.equal(errorsBefore + 1);
    expect(await host.invoke({ op: "pid" })).to.equal(pid);
  });

  it("after a crash, rejects that invocation, and the next one is served", async () => {
    const err = await rejection(host.invoke({ op: "crash" }));
    expect(err.name).to.equal("Runtime.ExitError");
    expect(err.message).to.match(/exit status 3/);
    expect(await host.invoke({ op: "sleep", ms: 1 })).to.equal("slept");
  });

  it("enforces the declared timeout and ends that invocation's environment", async () => {
    const pid = await host.invoke({ op: "pid" });
    const running = host.environments;
    const err = await rejection(host.invoke({ op: "sleep", ms: 20_000 }));
    expect(err.name).to.equal("Sandbox.Timedout");
    expect(err.message).to.equal("Task timed out after 1.00 seconds");
    expect(await host.invoke({ op: "sleep", ms: 1 })).to.equal("slept");
    expect(await host.invoke({ op: "pid" })).to.not.equal(pid);
    expect(host.environments).to.equal(Math.max(1, running - 1));
  });

  it("stop() ends the container and rejects what is pending and what comes after", async () => {
    const other = await startFunctionHost(manifestFunction(dir, { timeout: 30 }), identity(), { onLog: () => undefined });
    const pid = other.pid!;
    const pending = rejection(other.invoke({ op: "sleep", ms: 20_000 }));
    await new Promise((r) => setImmediate(r)); // the invocation has reached the container
    await other.stop();
    expect((await pending).name).to.equal("Runtime.Stopped");
    expect((await rejection(other.invoke({ op: "pid" }))).name).to.equal("Runtime.Stopped");
    expect(() => process.kill(pid, 0)).to.throw(/ESRCH/);
  });

  it("fails to start with the import error when the module throws at load", async () => {
    const bad = path.join(root, "bad");
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, "__index.js"), "throw new RangeError('broken at load');");
    const err = await rejection(startFunctionHost(manifestFunction(bad), identity(), { onLog: () => undefined }));
    expect(err.name).to.equal("Runtime.ImportModuleError: RangeError");
    expect(err.message).to.equal("broken at load");
  });
});

describe("Function host: a pool of execution environments, as Lambda runs them", function () {
  this.timeout(60_000);
  let root: string;
  let dir: string;
  const hosts: FunctionHost[] = [];
  const start = async (overrides: Partial<ManifestFunction> = {}, options: { maxEnvironments?: number } = {}, logs: string[] = []) => {
    const h = await startFunctionHost(manifestFunction(dir, overrides), identity(), { onLog: (l) => logs.push(l), ...options });
    hosts.push(h);
    return h;
  };

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "pool-test-"));
    dir = await writeClosureArtifact(root, behaviour);
  });
  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("starts an environment per concurrent invocation (a cold start each) and reuses idle ones", async () => {
    const h = await start();
    expect([h.coldStarts, h.environments, h.concurrency]).to.deep.equal([1, 1, LOCAL_CONCURRENCY]);
    const concurrent = (await Promise.all([1, 2, 3].map(() => h.invoke({ op: "pidAfter", ms: 300 })))) as number[];
    expect(new Set(concurrent).size, "one environment per invocation in flight").to.equal(3);
    expect(h.coldStarts).to.equal(3);
    for (let i = 0; i < 3; i++) expect(concurrent).to.include(await h.invoke({ op: "pid" }));
    expect([h.coldStarts, h.environments]).to.deep.equal([3, 3]);
  });

  it("a timed-out invocation ends its own environment only: the others in flight are answered, and the timeout is logged with its request id", async () => {
    const logs: string[] = [];
    const h = await start({}, {}, logs);
    const slow = rejection(h.invoke({ op: "sleep", ms: 20_000 }));
    const others = Promise.all([1, 2, 3].map(() => h.invoke({ op: "pidAfter", ms: 500 })));
    const timedOut = (await slow) as Error & { requestId?: string };
    expect(timedOut.name).to.equal("Sandbox.Timedout");
    expect(timedOut.requestId).to.match(/^[0-9a-f-]{36}$/);
    expect(await others).to.have.length(3);
    expect(logs).to.include(`REPORT RequestId: ${timedOut.requestId} Status: timeout Task timed out after 1.00 seconds`);
    expect(h.environments).to.equal(3);
  });

  it("after a crash, an invocation in another environment is answered", async () => {
    const h = await start();
    const other = h.invoke({ op: "pidAfter", ms: 500 });
    expect((await rejection(h.invoke({ op: "crash" }))).name).to.equal("Runtime.ExitError");
    expect(await other).to.be.a("number");
    expect(h.environments).to.equal(1);
  });

  it("at the local cap, invocations wait for a free environment instead of failing", async () => {
    const h = await start({}, { maxEnvironments: 2 });
    const pids = (await Promise.all([1, 2, 3, 4, 5].map(() => h.invoke({ op: "pidAfter", ms: 200 })))) as number[];
    expect(pids).to.have.length(5);
    expect(new Set(pids).size).to.equal(2);
    expect([h.coldStarts, h.concurrency]).to.deep.equal([2, 2]);
  });

  it("honours a declared reservedConcurrentExecutions: at most that many environments, and a throttle beyond, as Lambda answers", async () => {
    const h = await start({ reservedConcurrency: 1 }, { maxEnvironments: 5 });
    expect(h.concurrency).to.equal(1);
    const first = h.invoke({ op: "pidAfter", ms: 300 });
    const throttled = await rejection(h.invoke({ op: "pid" }));
    expect(throttled.name).to.equal("TooManyRequestsException");
    expect(throttled.message).to.match(/^Rate Exceeded/);
    expect(await first).to.be.a("number");
    const none = await start({ reservedConcurrency: 0 });
    expect([none.environments, none.coldStarts]).to.deep.equal([0, 0]);
    expect((await rejection(none.invoke({ op: "pid" }))).name).to.equal("TooManyRequestsException");
  });
});

describe("Function host: the runtime's module directory", function () {
  this.timeout(120_000);

  it("is made once per checkout, whole when several processes make it at once, with nothing left aside", async () => {
    fs.rmSync(path.dirname(RUNTIME_MODULES), { recursive: true, force: true });
    const make = `process.stdout.write(JSON.stringify(require("fs").readdirSync(require(${JSON.stringify(require.resolve("../../../local/deploy/artifacts"))}).runtimeModules())))`;
    const runs = await Promise.all(
      [1, 2, 3, 4].map(() =>
        promisify(execFile)(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", make], { cwd: path.join(__dirname, "..", "..", "..") }),
      ),
    );
    for (const run of runs) expect(JSON.parse(run.stdout)).to.deep.equal(["@aws-sdk"]);
    expect(fs.readdirSync(path.dirname(RUNTIME_MODULES)), "no staging directory left").to.deep.equal(["node_modules"]);
    expect(fs.realpathSync(path.join(RUNTIME_MODULES, "@aws-sdk"))).to.equal(
      fs.realpathSync(path.join(__dirname, "..", "..", "..", "node_modules", "@aws-sdk")),
    );
  });
});
