/**
 * The IAM enforcer in front of an emulator in this process (dynalite): the
 * same wire requests sent through a proxy that hands them to dynalite's own
 * handler and through one that forwards them over HTTP get the same answers
 * (status, body, headers), allowed, refused, unchecked and failing alike.
 */
import { expect } from "chai";
import * as http from "http";
import { ensureTable, stringKeys } from "../../../local/deploy/emulatorResources";
import { emulatorDynamo } from "../../../local/emulators/clients";
import { IamEnforcer, PolicySet, startIamEnforcer } from "../../../local/iam/enforcer";
import { RequestDecision } from "../../../local/iam/authorize";
import { Emulator, startDynalite } from "../../support/emulators";

const ACCOUNT = "111111111111";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/projector`;
const TABLE = "in-process";
const set: PolicySet = {
  roles: [
    {
      arn: ROLE,
      policies: [
        {
          name: "tables",
          document: {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: ["dynamodb:GetItem", "dynamodb:PutItem"], Resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/in-*` }],
          },
        },
      ],
    },
  ],
  resourcePolicies: [],
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw DynamoDB request, the same bytes whichever proxy it goes to. */
function send(endpoint: string, target: string, payload: unknown, token: string | undefined = `role:${ROLE}`): Promise<Answer> {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: "POST",
        path: "/",
        headers: {
          "content-type": "application/x-amz-json-1.0",
          "x-amz-target": `DynamoDB_20120810.${target}`,
          "x-amz-date": "20260101T000000Z",
          authorization: `AWS4-HMAC-SHA256 Credential=${ACCOUNT}/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00`,
          ...(token ? { "x-amz-security-token": token } : {}),
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("local IAM enforcer with an emulator in this process", function () {
  this.timeout(60_000);
  let dynalite: Emulator;
  let viaHttp: IamEnforcer;
  let inProcess: IamEnforcer;
  let served = 0;
  const answered: { via: string; status: number }[] = [];
  const onAnswered = (via: string) => (_d: RequestDecision, status: number) => answered.push({ via, status });

  before(async () => {
    dynalite = await startDynalite();
    await ensureTable(emulatorDynamo({ endpoint: dynalite.endpoint }), TABLE, stringKeys("pk"));
    const common = { service: "dynamodb" as const, upstream: dynalite.endpoint, policies: () => set, region: "us-east-1" };
    viaHttp = await startIamEnforcer({ ...common, onAnswered: onAnswered("http") });
    inProcess = await startIamEnforcer({
      ...common,
      onAnswered: onAnswered("in process"),
      inProcess: (request, res) => {
        served += 1;
        dynalite.serve!(request, res);
      },
    });
  });
  after(async () => {
    await Promise.all([viaHttp?.stop(), inProcess?.stop()]);
    await dynalite?.close();
  });

  /** The same request through both proxies; the answers must agree but for the random request id. `reaches`: whether the emulator answers it. */
  async function both(reaches: boolean, target: string, payload: unknown, token?: string): Promise<Answer> {
    const before = served;
    const [a, b] = [await send(viaHttp.endpoint, target, payload, token), await send(inProcess.endpoint, target, payload, token)];
    expect(b.status, b.body).to.equal(a.status);
    expect(b.body).to.equal(a.body);
    const comparable = (h: Answer["headers"]) => ({ ...h, date: undefined, "x-amzn-requestid": h["x-amzn-requestid"] === undefined ? "none" : "some" });
    expect(comparable(b.headers)).to.deep.equal(comparable(a.headers));
    expect(served - before).to.equal(reaches ? 1 : 0);
    return a;
  }

  it("answers allowed writes and reads as dynalite does over HTTP, and reports each answer's status", async () => {
    answered.length = 0;
    const put = await both(true, "PutItem", { TableName: TABLE, Item: { pk: { S: "a" }, n: { N: "1" } } });
    expect(put.status).to.equal(200);
    const got = await both(true, "GetItem", { TableName: TABLE, Key: { pk: { S: "a" } } });
    expect(JSON.parse(got.body)).to.deep.equal({ Item: { pk: { S: "a" }, n: { N: "1" } } });
    expect(answered).to.deep.equal([
      { via: "http", status: 200 },
      { via: "in process", status: 200 },
      { via: "http", status: 200 },
      { via: "in process", status: 200 },
    ]);
  });

  it("answers dynalite's own errors alike (a missing table, a request that fails validation), and refuses a body it cannot read", async () => {
    expect((await both(true, "GetItem", { TableName: "in-missing", Key: { pk: { S: "a" } } })).body).to.contain("ResourceNotFoundException");
    expect((await both(true, "GetItem", { TableName: TABLE })).body).to.contain("ValidationException");
    expect((await both(false, "GetItem", "{not json")).status).to.equal(400);
  });

  it("refuses what the role may not do without reaching the emulator, and forwards a request without a role token unchecked", async () => {
    expect((await both(false, "DeleteItem", { TableName: TABLE, Key: { pk: { S: "a" } } })).body).to.contain("AccessDeniedException");
    expect((await both(false, "GetItem", { TableName: "other", Key: { pk: { S: "a" } } })).body).to.contain("AccessDeniedException");
    expect((await both(true, "GetItem", { TableName: "other", Key: { pk: { S: "a" } } }, "")).body).to.contain("ResourceNotFoundException");
  });
});
