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
import { FunctionHost, startFunctionHost } from "../../../local/lambda/functionHost";
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

  it("after a crash, rejects the pending invocations and restarts on the next one (a cold start)", async () => {
    const pid = await host.invoke({ op: "pid" });
    const starts = host.coldStarts;
    const pendingSleep = rejection(host.invoke({ op: "sleep", ms: 20_000 }));
    const err = await rejection(host.invoke({ op: "crash" }));
    expect(err.name).to.equal("Runtime.ExitError");
    expect(err.message).to.match(/exit status 3/);
    expect((await pendingSleep).name).to.equal("Runtime.ExitError");
    const next = await host.invoke({ op: "pid" });
    expect(next).to.be.a("number").and.to.not.equal(pid);
    expect(host.coldStarts).to.equal(starts + 1);
  });

  it("enforces the declared timeout and replaces the container", async () => {
    const pid = await host.invoke({ op: "pid" });
    const starts = host.coldStarts;
    const err = await rejection(host.invoke({ op: "sleep", ms: 20_000 }));
    expect(err.name).to.equal("Sandbox.Timedout");
    expect(err.message).to.equal("Task timed out after 1.00 seconds");
    expect(await host.invoke({ op: "sleep", ms: 1 })).to.equal("slept");
    expect(await host.invoke({ op: "pid" })).to.not.equal(pid);
    expect(host.coldStarts).to.equal(starts + 1);
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
