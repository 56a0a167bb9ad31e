/**
 * The stack runs' closure cache (local/deploy/closureCache.ts) with Pulumi's
 * real serializeFunction and computeCodePaths: a second run with the same
 * inputs reads the first one's answer, and a change of code (a captured
 * value's module), of a project file the program could read, or of the run's
 * inputs (config) is a miss that serialises anew. Each install plays one
 * stack-run process (its world hash is made once per install).
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { installClosureCache, MAX_ENTRIES } from "../../../local/deploy/closureCache";

describe("local deploy: closure cache", function () {
  this.timeout(60_000);
  let root: string;
  let dir: string;
  const modulePath = () => path.join(root, "greeting.js");

  /** The callback a program would pass, from a module of the project whose captured value is `greeting`. */
  const writeModule = (greeting: string) => {
    fs.writeFileSync(modulePath(), `const greeting = ${JSON.stringify(greeting)};\nmodule.exports = () => async () => greeting;\n`);
    delete require.cache[modulePath()];
    return require(modulePath()) as () => () => Promise<string>;
  };
  /** A fresh runtime object (never Pulumi's own) with the cache installed, as one stack run has it. */
  const run = (inputs: unknown = { config: { a: "1" } }) => {
    const runtime = { serializeFunction: pulumi.runtime.serializeFunction, computeCodePaths: pulumi.runtime.computeCodePaths };
    const stats = installClosureCache(runtime, { dir, root, inputs: () => inputs });
    return { runtime, stats };
  };
  const serialise = (r: ReturnType<typeof run>, factory: (...args: any[]) => unknown) =>
    r.runtime.serializeFunction(factory, { serialize: () => true, exportName: "handler", isFactoryFunction: true, allowSecrets: true });

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "closure-cache-root-"));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "closure-cache-"));
  });
  afterEach(() => {
    delete require.cache[modulePath()];
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("answers a second run with the same inputs from disk, byte for byte", async () => {
    const factory = writeModule("hello");
    const first = run();
    const a = await serialise(first, factory);
    expect(first.stats).to.deep.equal({ hits: 0, misses: 1 });
    expect(a.text).to.contain('"hello"');
    const second = run();
    const b = await serialise(second, factory);
    expect(second.stats).to.deep.equal({ hits: 1, misses: 0 });
    expect(b).to.deep.equal(a);
  });

  it("misses when the code of a captured value changes, and serialises the new value", async () => {
    await serialise(run(), writeModule("hello"));
    const changed = run();
    const text = (await serialise(changed, writeModule("goodbye"))).text;
    expect(changed.stats).to.deep.equal({ hits: 0, misses: 1 });
    expect(text).to.contain('"goodbye"').and.not.contain('"hello"');
  });

  it("misses when any project file changes, loaded or not (a file the program could read)", async () => {
    const factory = writeModule("hello");
    fs.writeFileSync(path.join(root, "data.json"), '{"v":1}');
    await serialise(run(), factory);
    fs.writeFileSync(path.join(root, "data.json"), '{"v":2}');
    const changed = run();
    await serialise(changed, factory);
    expect(changed.stats.misses).to.equal(1);
  });

  it("misses when the run's inputs (its config) change", async () => {
    const factory = writeModule("hello");
    await serialise(run({ config: { a: "1" } }), factory);
    const changed = run({ config: { a: "2" } });
    await serialise(changed, factory);
    expect(changed.stats.misses).to.equal(1);
  });

  it("tells apart closures of one text that capture different values in one run (each read-model version's projector)", async () => {
    // The same callback text, capturing another reducer: what EventSourcedTable builds for each version.
    const make = (reduce: () => string) => () => async () => reduce();
    const versions = [() => "version-1-reduce", () => "version-2-reduce"];
    const first = run();
    const a = [await serialise(first, make(versions[0])), await serialise(first, make(versions[1]))];
    expect(first.stats).to.deep.equal({ hits: 0, misses: 2 });
    const second = run();
    const b = [await serialise(second, make(versions[0])), await serialise(second, make(versions[1]))];
    expect(second.stats).to.deep.equal({ hits: 2, misses: 0 });
    expect(b[0].text).to.contain("version-1-reduce").and.not.contain("version-2-reduce");
    expect(b[1].text).to.contain("version-2-reduce");
    expect(b).to.deep.equal(a);
  });

  it("never keeps a closure that captured a secret", async () => {
    const secret = pulumi.secret("s3cr3t");
    const first = run();
    await serialise(first, () => async () => secret);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".json"))).to.have.length(0);
  });

  it(`keeps at most ${MAX_ENTRIES} entries, removing the oldest`, async () => {
    for (let i = 0; i < MAX_ENTRIES + 3; i++) {
      const file = path.join(dir, `old-${i}.json`);
      fs.writeFileSync(file, "{}");
      fs.utimesSync(file, new Date(1_000_000 + i * 1000), new Date(1_000_000 + i * 1000));
    }
    await serialise(run(), writeModule("hello"));
    const kept = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
    expect(kept).to.have.length(MAX_ENTRIES);
    expect(kept).to.not.include.members(["old-0.json", "old-1.json", "old-2.json", "old-3.json"]);
    expect(kept).to.include("old-4.json");
  });

  it("gives the code paths (the archive's packages) back as the same assets", async () => {
    const options = { extraExcludePackages: ["@pulumi/pulumi", "@pulumi/aws"] };
    const first = run();
    const a = await first.runtime.computeCodePaths(options);
    const second = run();
    const b = await second.runtime.computeCodePaths(options);
    expect([first.stats.misses, second.stats.hits]).to.deep.equal([1, 1]);
    const describe = async (m: Map<string, any>) => Promise.all([...m].map(async ([at, asset]) => [at, asset.constructor.name, await asset.path]));
    expect(await describe(b)).to.deep.equal(await describe(a));
    expect(a.size).to.be.greaterThan(0);
  });
});
