/** What the local cloud's steps share (local/cloud/context.ts): stopping in reverse, and the manifest lookups. */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { accountOf, cloudContext, Services } from "../../../local/cloud/context";

describe("local cloud context", () => {
  it("appends the runtime log's lines of one turn together, in the file once the next turn starts", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "context-log-"));
    const ctx = cloudContext({ dataDir: dir });
    try {
      ctx.runtime.write("first");
      ctx.runtime.write("second");
      expect(fs.readFileSync(ctx.runtime.file, "utf8"), "held until the turn ends").to.equal("");
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      ctx.runtime.write("third");
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      const lines = fs.readFileSync(ctx.runtime.file, "utf8").split("\n");
      expect(lines.map((l) => l.replace(/^\S+ /, ""))).to.deep.equal(["first", "second", "third", ""]);
      expect(lines[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z first$/);
    } finally {
      ctx.cleanUp();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops services in the reverse of their start, and a failing stop does not keep the others running", async () => {
    const stopped: string[] = [];
    const services = new Services();
    const a = services.add({ name: "a", stop: async () => void stopped.push("a") });
    services.add({
      stop: async () => {
        stopped.push("b");
        throw new Error("b is stuck");
      },
    });
    services.add({
      stop: () => {
        stopped.push("c");
        throw new Error("c threw before returning a promise");
      },
    });
    expect(a.name, "add hands the service back").to.equal("a");
    await services.stop();
    expect(stopped).to.deep.equal(["c", "b", "a"]);
    await services.stop();
    expect(stopped, "each service stops once").to.deep.equal(["c", "b", "a"]);
  });

  it("reads the account an ARN names, and says what it expected otherwise", () => {
    expect(accountOf("arn:aws:kinesis:us-east-1:222222222222:stream/s")).to.equal("222222222222");
    expect(() => accountOf("arn:aws:s3:::bucket")).to.throw("12 digits, got arn:aws:s3:::bucket");
  });
});
