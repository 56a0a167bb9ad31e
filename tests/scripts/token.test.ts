/**
 * `npm run token`: its options, read with node:util parseArgs and checked
 * before any work; a bad one is one line and a non-zero exit, `--help` lists
 * every option.
 */
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as path from "path";
import { tokenArgs } from "../../scripts/token";

const SCRIPT = path.join(__dirname, "../../scripts/token.ts");
const run = (...args: string[]) => spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", SCRIPT, ...args], { encoding: "utf8" });

describe("npm run token (options)", function () {
  this.timeout(60_000);

  it("reads the subject, repeated scopes, audience and lifetime", () => {
    expect(tokenArgs(["--sub", "c-1", "--scope", "events:write", "--scope", "aggregates:read", "--audience", "local-api", "--expires-in", "60"])).to.deep.equal(
      {
        request: { sub: "c-1", scopes: ["events:write", "aggregates:read"], audience: "local-api", expiresInSeconds: 60 },
      },
    );
    expect(tokenArgs([])).to.deep.equal({ request: {} });
  });

  it("answers a bad option in one line, naming it", () => {
    expect((tokenArgs(["--scopes", "x"]) as { error: string }).error).to.equal("Unknown option '--scopes'");
    expect(tokenArgs(["--expires-in", "90000"])).to.deep.equal({ error: "--expires-in must be 1–86400 seconds, got 90000" });
    expect(tokenArgs(["--scope", "a b"])).to.deep.equal({ error: 'each --scope must be printable ASCII without spaces, quotes or backslashes, got "a b"' });
  });

  it("exits 64 with one line on a bad option and lists every option on --help, before looking for a cloud", () => {
    const bad = run("--expires-in", "0");
    expect(bad.status).to.equal(64);
    expect(bad.stderr.trim().split("\n")).to.deep.equal(["npm run token: --expires-in must be 1–86400 seconds, got 0 (see --help)"]);
    const help = run("--help");
    expect(help.status).to.equal(0);
    for (const option of ["--sub", "--scope", "--audience", "--expires-in", "--help"]) expect(help.stdout).to.include(option);
  });
});
