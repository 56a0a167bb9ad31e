/**
 * The project file as the Pulumi CLI reads it before `preview` and `up`
 * (sdk/go/common/workspace/config.go, ValidateStackConfigAndApplyProjectConfig):
 * a key in the project's namespace declared under `config:` with neither a
 * `default` nor a `value` must be set by every stack, or the CLI stops with
 * "Stack '<stack>' is missing configuration value '<key>'" before running the
 * program. Mocks never read Pulumi.yaml, so the rule is applied here to the
 * committed files, as a first `pulumi up` would meet them.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_KEYS } from "../../stacks/configKeys";

const ROOT = path.join(__dirname, "..", "..");
const read = (file: string) => parse(fs.readFileSync(path.join(ROOT, file), "utf8")) as Record<string, any>;

/** The keys the CLI would report missing for `stack`, as it words them. */
function missingProjectKeys(project: Record<string, any>, stackConfig: Record<string, unknown>): string[] {
  const missing: string[] = [];
  for (const [key, declared] of Object.entries<Record<string, unknown> | null>(project.config ?? {})) {
    const [namespace, name] = key.includes(":") ? key.split(":") : [project.name, key];
    if (namespace !== project.name) continue;
    const hasValue = declared !== null && typeof declared === "object" && ("default" in declared || "value" in declared);
    if (!hasValue && !(`${namespace}:${name}` in stackConfig)) missing.push(`${namespace}:${name}`);
  }
  return missing;
}

describe("the project file and the stack files (what the CLI checks before running the program)", () => {
  const project = read("Pulumi.yaml");

  for (const stack of ["producer", "consumer"]) {
    it(`Pulumi.${stack}.yaml as committed sets every project key Pulumi.yaml requires`, () => {
      expect(missingProjectKeys(project, read(`Pulumi.${stack}.yaml`).config ?? {})).to.deep.equal([]);
    });
  }

  for (const stack of ["producer", "consumer"] as const) {
    it(`Pulumi.${stack}.yaml shows every key the ${stack} stack reads (set, or a commented example)`, () => {
      const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
      const missing = CONFIG_KEYS[stack].filter((key) => !new RegExp(`^\\s*(#\\s*)?${project.name}:${key}:`, "m").test(text));
      expect(missing).to.deep.equal([]);
    });
  }

  it("the rule as the CLI applies it: a declared key without a default is required, with one it is not", () => {
    const declared = { name: "p", config: { "p:a": { type: "string" }, "p:b": { type: "string", default: "x" }, "aws:region": { type: "string" } } };
    expect(missingProjectKeys(declared, {})).to.deep.equal(["p:a"]);
    expect(missingProjectKeys(declared, { "p:a": "set" })).to.deep.equal([]);
  });
});
