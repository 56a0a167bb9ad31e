/**
 * What the archives assume of the Lambda runtime, pinned, and the smoke
 * check that catches a runtime that no longer provides it. The archives
 * require nothing but Node built-ins and the runtime's `@aws-sdk/client-*`
 * at the path the serialiser wrote, which must be the installed package's
 * `main` (an SDK whose entry moved fails here, before a deploy); the smoke
 * check (`npm run smoke`'s harmless invokes, handlers/ops/smoke.ts) reports a
 * function whose archive no longer loads.
 */
import * as fs from "fs";
import * as path from "path";
import { builtinModules } from "module";
import { expect } from "chai";
import { Artifact, loadHandler, writeArtifact } from "../../local/deploy/artifacts";
import { PRODUCER_FUNCTIONS, runProducer } from "../../local/deploy/sampleProducer";
import { PROJECT_MODULES } from "../../local/shared/project";
import { FunctionInvoker, invokeFunctions, ProducerOutputs } from "../../handlers/ops/smoke";
import { ensureTable } from "../../local/deploy/emulatorResources";
import { emulatorDynamo } from "../../local/emulators/clients";
import { startStsStub, StsStub } from "../../local/sts/stub";

/** Loads and invokes archives as Lambda would, answering an init failure as Lambda's FunctionError. */
function localInvoke(artifacts: Record<string, Artifact>, env: Record<string, Record<string, string>>): FunctionInvoker {
  return async (name, payload) => {
    try {
      return { payload: await loadHandler(artifacts[name], env[name])(payload) };
    } catch (err) {
      const e = err as Error & { code?: string };
      return {
        functionError: "Unhandled",
        payload: { errorType: e.code === "MODULE_NOT_FOUND" ? "Runtime.ImportModuleError" : e.name, errorMessage: e.message },
      };
    }
  };
}

describe("Lambda runtime layout (what the archives require of it)", function () {
  this.timeout(120_000);
  const artifacts: Record<string, Artifact> = {};
  const env: Record<string, Record<string, string>> = {};
  let outputs: ProducerOutputs;
  let sts: StsStub;
  /** The smoke check's failing steps, one line each. */
  const problems = async (invoke: FunctionInvoker) =>
    (await invokeFunctions(invoke, outputs, "smoke-layout")).filter((s) => !s.ok).map((s) => `${s.name}: ${s.detail}`);

  before(async () => {
    const run = await runProducer();
    sts = await startStsStub();
    // The harmless invokes read the read model and (the bridge) assume the writer role: give them both.
    const dynamo = emulatorDynamo();
    for (const t of run.ofType("aws:dynamodb/table:Table")) await ensureTable(dynamo, t.state.name, t.inputs);
    for (const fn of PRODUCER_FUNCTIONS) {
      const r = run.one("aws:lambda/function:Function", fn);
      artifacts[fn] = await writeArtifact(r.inputs.code, fn);
      env[fn] = { ...r.inputs.environment.variables, AWS_ENDPOINT_URL_STS: sts.endpoint };
    }
    // Invoked by logical name here, as Lambda Invoke takes the physical one.
    outputs = {
      ...run.outputs,
      apiFunctionName: "commands-handler",
      projectorFunctionName: "orders-projector",
      bridgeFunctionName: "analytics-bridge-forwarder",
    } as ProducerOutputs;
  });
  after(() => sts?.stop());

  it("covers every function the producer deploys", async () => {
    const run = await runProducer();
    expect(
      run
        .ofType("aws:lambda/function:Function")
        .map((f) => f.name)
        .sort(),
    ).to.deep.equal([...PRODUCER_FUNCTIONS].sort());
  });

  it("requires only Node built-ins and the runtime's SDK clients, at each package's main", () => {
    for (const fn of PRODUCER_FUNCTIONS) {
      const code = fs.readFileSync(path.join(artifacts[fn].dir, "__index.js"), "utf8");
      const literal = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
      for (const id of literal) {
        if (builtinModules.includes(id)) continue;
        const m = /^(@aws-sdk\/client-(?:dynamodb|kinesis|sts|s3))\/(.+)$/.exec(id);
        expect(m, `${fn} requires ${id}, which the runtime does not provide`).to.not.equal(null);
        const main = JSON.parse(fs.readFileSync(path.join(PROJECT_MODULES, m![1], "package.json"), "utf8")).main.replace(/^\.\//, "");
        expect(m![2], `${fn}: ${id} is not ${m![1]}'s main (${main})`).to.equal(main);
      }
      // The one dynamic require: the HTTP/1.1 handler, resolved next to the runtime's client-kinesis.
      const dynamic = [...code.matchAll(/require\((?!")([^)]*\)?)/g)].map((m) => m[1]);
      for (const d of dynamic) expect(d, fn).to.match(/^require\.resolve\("@smithy\/node-http-handler", \{ paths: \[kinesisEntry\] \}/);
    }
  });

  it("smoke check: every function loads and answers its harmless event", async () => {
    expect(await problems(localInvoke(artifacts, env))).to.deep.equal([]);
  });

  it("smoke check: names a function whose archive requires a path the runtime lost", async () => {
    const broken: Artifact = { ...artifacts["orders-projector"], dir: fs.mkdtempSync(path.join(path.dirname(artifacts["orders-projector"].dir), "drift-")) };
    const code = fs.readFileSync(path.join(artifacts["orders-projector"].dir, "__index.js"), "utf8");
    fs.writeFileSync(path.join(broken.dir, "__index.js"), code.replace(/client-dynamodb\/dist-cjs\/index\.js/g, "client-dynamodb/dist-cjs/moved.js"));
    const found = await problems(localInvoke({ ...artifacts, "orders-projector": broken }, env));
    expect(found).to.have.length(1);
    expect(found[0]).to.match(
      /^invoke orders-projector \(projector\): orders-projector failed to load or run \(Runtime\.ImportModuleError: Cannot find module '@aws-sdk\/client-dynamodb\/dist-cjs\/moved\.js'/,
    );
    expect(found[0]).to.include("the Lambda runtime no longer provides a module the archive requires");
  });
});
