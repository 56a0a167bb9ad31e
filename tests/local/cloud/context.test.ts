/** What the local cloud's steps share (local/cloud/context.ts): stopping in reverse, and the manifest lookups. */
import { expect } from "chai";
import { accountOf, Services } from "../../../local/cloud/context";

describe("local cloud context", () => {
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
