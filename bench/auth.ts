/**
 * `npx ts-node --transpile-only bench/auth.ts [--quick]`: what authentication
 * and the domain's `authorize` cost, each beside its baseline in the same run.
 *
 * 1. The API function per POST: requests it sends (exact) and handler CPU
 *    over in-memory clients, without a rule and with the example domain's
 *    `authorize` (which reads the aggregate's state: one GetItem).
 * 2. The local HTTP API: requests/s through an open route, a JWT route and an
 *    AWS_IAM route, the integration answering at once, rounds interleaved so
 *    the machine's load falls on all three alike. This is the local cloud's
 *    cost; on AWS API Gateway verifies tokens and signatures itself.
 */
import { createApi, HttpApiEvent } from "../handlers/api";
import { authorize, validate } from "../domain";
import { startHttpApi } from "../local/apigateway/httpApi";
import { createRouteAccess, RouteAuth } from "../local/apigateway/routeAccess";
import { startLocalIssuer } from "../local/oidc/issuer";
import { sigv4Headers } from "../local/cloud/caller";
import { accountCredentials } from "../local/emulators/clients";
import { cpuMicros, fakeDynamo, fakeKinesis } from "./fakes";

const ACCOUNT = "111111111111";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/bench-caller`;
const ROUTE = "POST /aggregates/{id}/events";
const quick = process.argv.includes("--quick");

function post(i: number): HttpApiEvent {
  const body = JSON.stringify({ type: "OrderPlaced", data: { customerId: "c-1", lines: [{ sku: "A", quantity: 1, unitPriceCents: 100 }] } });
  return {
    version: "2.0",
    routeKey: ROUTE,
    rawPath: `/aggregates/o-${i}/events`,
    rawQueryString: "",
    headers: { "content-type": "application/json" },
    pathParameters: { id: `o-${i}` },
    body,
    isBase64Encoded: false,
    requestContext: { requestId: `r-${i}`, http: { method: "POST" }, authorizer: { jwt: { claims: { sub: "c-1" }, scopes: ["events:write"] } } },
  };
}

async function handlerCost(n: number) {
  const rows = [];
  for (const [label, rule] of [
    ["no authorize", undefined],
    ["example authorize", authorize],
  ] as const) {
    const dynamodb = fakeDynamo();
    const api = createApi({
      kinesis: fakeKinesis() as never,
      dynamodb: dynamodb as never,
      config: { streamName: "s", tableName: "t", maxBodyBytes: 65536, auth: "jwt" },
      validate,
      authorize: rule as never,
      log: () => undefined,
    });
    for (let i = 0; i < 200; i++) await api(post(i)); // warm-up
    for (const k of Object.keys(dynamodb.counts)) delete dynamodb.counts[k];
    const micros = await cpuMicros(async () => {
      for (let i = 0; i < n; i++) await api(post(i));
    });
    rows.push({
      handler: label,
      "GetItem/POST": (dynamodb.counts.GetItemCommand ?? 0) / n,
      "PutRecord/POST": 1,
      "CPU µs/POST": Math.round((micros / n) * 10) / 10,
    });
  }
  return rows;
}

async function gatewayRate(n: number, rounds: number) {
  const issuer = await startLocalIssuer({ audience: "bench" });
  const jwt = { issuer: issuer.issuer, audiences: ["bench"], identitySources: ["$request.header.Authorization"] };
  const policies = () => ({
    roles: [
      {
        arn: ROLE,
        policies: [{ name: "p", document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "execute-api:Invoke", Resource: "*" }] } }],
      },
    ],
    resourcePolicies: [],
  });
  const serve = (route: RouteAuth) =>
    startHttpApi({
      routes: [ROUTE],
      access: createRouteAccess(() => ({ routes: { [ROUTE]: route }, authorizers: { a: jwt } }), {
        region: "us-east-1",
        account: ACCOUNT,
        apiId: "bench",
        policies,
      }),
      invoke: async () => ({ statusCode: 202, headers: {}, body: "{}" }),
    });
  const apis = {
    open: await serve({ authorizationType: "NONE" }),
    jwt: await serve({ authorizationType: "JWT", authorizerId: "a", scopes: ["w"] }),
    iam: await serve({ authorizationType: "AWS_IAM" }),
  };
  const token = await issuer.token({ scopes: ["w"] });
  const body = '{"type":"OrderPlaced","data":{}}';
  const headersFor = async (mode: keyof typeof apis, url: URL) =>
    mode === "jwt"
      ? { authorization: `Bearer ${token}` }
      : mode === "iam"
        ? await sigv4Headers(url, { method: "POST", headers: {}, body }, accountCredentials(ACCOUNT, ROLE), "us-east-1")
        : {};
  const seconds: Record<string, number> = { open: 0, jwt: 0, iam: 0 };
  // Round 0 warms the JIT, the sockets and the JWKS cache, and is not counted.
  for (let r = 0; r <= rounds; r++) {
    // Each round starts with another mode, so neither load drift nor order favours one.
    const modes = Object.keys(apis) as (keyof typeof apis)[];
    for (const mode of [...modes.slice(r % 3), ...modes.slice(0, r % 3)]) {
      const url = new URL("aggregates/o-1/events", apis[mode].url);
      // Signatures are made before the clock starts: the client's cost is not the gateway's.
      const headers = await Promise.all(Array.from({ length: n }, () => headersFor(mode, url)));
      let next = 0;
      const t0 = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = next++; i < n; i = next++) {
            const res = await fetch(url, { method: "POST", headers: headers[i], body });
            if (res.status !== 202) throw new Error(`${mode}: ${res.status} ${await res.text()}`);
          }
        }),
      );
      if (r > 0) seconds[mode] += Number(process.hrtime.bigint() - t0) / 1e9;
    }
  }
  await Promise.all([...Object.values(apis), issuer].map((s) => s.stop()));
  return Object.entries(seconds).map(([mode, s]) => ({
    route: mode,
    "requests/s": Math.round((n * rounds) / s),
    "× open": Math.round((seconds.open / s) * 100) / 100,
  }));
}

(async () => {
  console.table(await handlerCost(quick ? 2_000 : 20_000));
  console.table(await gatewayRate(quick ? 300 : 1_000, quick ? 3 : 6));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
