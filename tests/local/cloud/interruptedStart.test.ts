/**
 * A signal while `npm start` is still starting: it says so, stops at the next step, stops what had started
 * (the emulators run out of the terminal's process group, so they are stopped, not signalled), removes its
 * temporary data dir, and exits 128 + the signal's number. Before, Ctrl-C at that point ended the process at
 * once with nothing said, and left the temporary dir behind.
 */
import { expect } from "chai";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_ROOT } from "../../../local/shared/project";
import { pidAlive } from "../../../local/shared/runningCloud";
import { childrenOf, until } from "../../support/processes";

async function interrupt(how: "SIGINT to the group" | "SIGTERM to the orchestrator"): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "interrupted-"));
  const stateDir = path.join(tmp, "state");
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "local/cloud/start.ts", "--port", "0"], {
    cwd: PROJECT_ROOT,
    // TMPDIR: where the in-memory run makes its temporary data dir, so that what is left of it can be seen.
    env: { ...process.env, LOCAL_CLOUD_DIR: stateDir, TMPDIR: tmp },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    // The first step: the emulators starting, the issuer too; the stack runs come after.
    await until("start-up to begin", async () => (output.includes("starting emulators") ? true : undefined), 60_000);
    const started = await until("the emulators' processes", async () => (childrenOf(child.pid!).length > 0 ? childrenOf(child.pid!) : undefined), 60_000);
    if (how === "SIGINT to the group") process.kill(-child.pid!, "SIGINT");
    else process.kill(child.pid!, "SIGTERM");
    const code = await Promise.race([exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000))]);
    expect(code, output).to.equal(how === "SIGINT to the group" ? 130 : 143);
    expect(output).to.include("stopping… (start-up interrupted)");
    expect(output, "no trace: an interrupted start is not an error").to.not.match(/\n\s+at /);
    await until("its processes to exit", async () => ([...started, ...childrenOf(child.pid!)].every((p) => !pidAlive(p)) ? true : undefined), 30_000);
    expect(
      fs.readdirSync(tmp).filter((f) => f.startsWith("local-cloud-")),
      "temporary data dirs left behind",
    ).to.deep.equal([]);
    expect(fs.existsSync(path.join(stateDir, "current.json")), "a current.json naming a cloud that never ran").to.equal(false);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, "SIGKILL");
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

describe("npm start interrupted while starting", function () {
  this.timeout(180_000);
  it("Ctrl-C (SIGINT to the process group) during start-up: stops what started, leaves nothing, exits 130", () => interrupt("SIGINT to the group"));
  it("SIGTERM to the orchestrator during start-up: the same, exit 143", () => interrupt("SIGTERM to the orchestrator"));
});
