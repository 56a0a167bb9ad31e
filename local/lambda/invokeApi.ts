/**
 * Lambda's Invoke API on localhost (`POST /2015-03-31/functions/{name}/invocations`),
 * so operator tools call the local cloud's functions with the SDK's own
 * LambdaClient exactly as they call AWS (`npm run smoke` does). A function
 * error answers 200 with `X-Amz-Function-Error: Unhandled` and the error as
 * the payload, as Lambda does; an unknown function 404 ResourceNotFoundException.
 * Only synchronous invokes (RequestResponse); any caller may invoke: the
 * local cloud has one operator.
 */
import { startLoopbackServer, LoopbackServer, header } from "../shared/loopback";
import type { ManifestFunction } from "../shared/manifest";

/** Lambda's limit on a synchronous request payload. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** What the API invokes: the declared functions, and a way to run one by ARN. */
export interface InvokeTargets {
  functions(): ManifestFunction[];
  invoke(arn: string, event: unknown): Promise<unknown>;
}

/** Starts the Invoke API on a free loopback port. */
export async function startInvokeApi(targets: InvokeTargets): Promise<LoopbackServer> {
  return startLoopbackServer({
    maxBodyBytes: MAX_PAYLOAD_BYTES,
    handle: async (req, body, res) => {
      const json = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(JSON.stringify(payload));
      };
      const path = INVOKE_PATH.exec((req.url ?? "").split("?")[0]);
      if (req.method !== "POST" || !path) return json(404, { message: `no such operation: ${req.method} ${req.url}; this API answers Invoke only` });
      const name = decodeURIComponent(path[1]);
      const fn = targets.functions().find((f) => f.functionName === name || f.arn === name || f.arn === name.replace(/:\$LATEST$/, ""));
      if (!fn) {
        const known = targets.functions().map((f) => f.functionName);
        return json(
          404,
          { message: `Function not found: ${name}; the local cloud runs ${known.join(", ")}` },
          { "x-amzn-errortype": "ResourceNotFoundException" },
        );
      }
      const type = header(req.headers, "x-amz-invocation-type") ?? "RequestResponse";
      if (type !== "RequestResponse")
        return json(
          400,
          { message: `InvocationType ${type} is not supported locally; use RequestResponse` },
          { "x-amzn-errortype": "InvalidParameterValueException" },
        );
      let event: unknown;
      try {
        event = body.length ? JSON.parse(body.toString("utf8")) : {};
      } catch (err) {
        return json(400, { message: `payload is not JSON: ${(err as Error).message}` }, { "x-amzn-errortype": "InvalidRequestContentException" });
      }
      try {
        json(200, await targets.invoke(fn.arn, event), { "x-amz-executed-version": "$LATEST" });
      } catch (err) {
        const e = err as Error;
        json(200, { errorType: e.name, errorMessage: e.message }, { "x-amz-function-error": "Unhandled", "x-amz-executed-version": "$LATEST" });
      }
    },
  });
}
