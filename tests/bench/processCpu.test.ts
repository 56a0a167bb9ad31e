/**
 * The end-to-end bench's CPU-by-role reading (bench/localCloud/processCpu.ts):
 * which process is which role, and that /proc's ticks add up per role.
 */
import { expect } from "chai";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cpuSecondsByRole, cpuSnapshot, processRole } from "../../bench/localCloud/processCpu";

describe("the bench's CPU by role", () => {
  it("names kinesis-local and each function's environments by their command lines, and nothing else", () => {
    expect(processRole(["/usr/bin/node", "/x/local/emulators/kinesisSupervisor.js", "/x/kinesis-local/main.js"])).to.equal("kinesis-local");
    expect(processRole(["/usr/bin/node", "/x/local/lambda/functionWorker.js", '{"functionName":"commands-handler-c38d7da","memorySize":256}'])).to.equal(
      "function commands-handler",
    );
    // A name without the provider's random suffix is kept whole; a worker whose argument does not parse is still a function.
    expect(processRole(["node", "functionWorker.js", '{"functionName":"my-fn"}'])).to.equal("function my-fn");
    expect(processRole(["node", "functionWorker.js", "{not json"])).to.equal("function");
    expect(processRole(["node", "local/deploy/runStack.ts", "--preload"])).to.equal(undefined);
  });

  it("sums a role's ticks over its processes, counting one started between the snapshots from zero", async function () {
    if (!fs.existsSync("/proc/self/stat")) this.skip();
    // A process that looks like a function's environment to the reader, and burns CPU.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpu-role-"));
    const worker = path.join(dir, "functionWorker.js");
    fs.writeFileSync(worker, "const end = Date.now() + 400; while (Date.now() < end); setTimeout(() => undefined, 60000);");
    const before = cpuSnapshot();
    const child = spawn(process.execPath, [worker, '{"functionName":"burner-0123abc"}'], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const seconds = cpuSecondsByRole(before, cpuSnapshot());
      expect(seconds).to.not.equal(null);
      expect(seconds!["function burner"]).to.be.within(0.2, 1.5);
      expect(seconds!.orchestrator).to.be.at.least(0);
    } finally {
      child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
