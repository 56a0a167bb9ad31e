/**
 * `npm run token`: a JWT from the running local cloud's OIDC issuer (found
 * through .local-cloud/current.json, as `npm run landing` finds the landing),
 * for the API's JWT authorizer. Prints only the token, so it composes:
 *
 *   TOKEN=$(npm run -s token -- --sub c-1 --scope events:write --scope aggregates:read)
 *   curl -H "authorization: Bearer $TOKEN" http://127.0.0.1:3000/aggregates/order-1
 *
 *   --sub ID            the token's subject (the example domain's customer id); default local-user
 *   --scope SCOPE       a granted scope; repeat for several (POST needs events:write, GET aggregates:read)
 *   --audience AUD      the token's aud; default the local stack's (local-api)
 *   --expires-in SEC    lifetime, 1–86400 seconds; default 3600
 *   --help              this text
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "node:util";
import { parseArgsMessage, usageError } from "../local/shared/cliOptions";
import { TokenRequest, tokenRequestProblem } from "../local/oidc/issuer";
import { issuerClient } from "../local/oidc/client";
import { LOCAL_CLOUD_DIR } from "../local/shared/project";

const USAGE = `usage: npm run token -- [--sub ID] [--scope SCOPE …] [--audience AUD] [--expires-in SEC]\n\n${fs
  .readFileSync(__filename, "utf8")
  .split("\n")
  .filter((l) => l.startsWith(" *   "))
  .map((l) => l.slice(3))
  .join("\n")}`;

/** The token request the command line asks for, or the one-line reason it is wrong. */
export function tokenArgs(argv: string[]): { help: true } | { request: TokenRequest } | { error: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        sub: { type: "string" },
        scope: { type: "string", multiple: true },
        audience: { type: "string" },
        "expires-in": { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (err) {
    return { error: parseArgsMessage(err) };
  }
  if (values.help) return { help: true };
  const expires = values["expires-in"];
  const request: TokenRequest = {
    ...(values.sub !== undefined ? { sub: values.sub } : {}),
    ...(values.scope ? { scopes: values.scope } : {}),
    ...(values.audience !== undefined ? { audience: values.audience } : {}),
    ...(expires !== undefined ? { expiresInSeconds: Number(expires) } : {}),
  };
  const problem = tokenRequestProblem(request);
  return problem
    ? {
        error: problem
          .replace(/^expires_in/, "--expires-in")
          .replace(/^(sub|audience)/, "--$1")
          .replace(/^each scope/, "each --scope"),
      }
    : { request };
}

async function main(): Promise<number> {
  const args = tokenArgs(process.argv.slice(2));
  if ("help" in args) {
    console.log(USAGE);
    return 0;
  }
  if ("error" in args) {
    return usageError("npm run token", args.error);
  }
  const file = path.join(LOCAL_CLOUD_DIR, "current.json");
  if (!fs.existsSync(file)) {
    console.error("npm run token: no local cloud is running (no .local-cloud/current.json): start one with `npm start`");
    return 1;
  }
  const current = JSON.parse(fs.readFileSync(file, "utf8")) as { apiAuth?: string; issuer?: string };
  if (current.apiAuth !== "jwt" || !current.issuer) {
    console.error(`npm run token: the running local cloud's API authenticates by ${current.apiAuth ?? "?"}, not jwt; tokens are for apiAuth jwt`);
    return 1;
  }
  try {
    console.log(await issuerClient(current.issuer).token(args.request));
  } catch (err) {
    console.error(`npm run token: ${(err as Error).message}`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`npm run token: ${err instanceof Error ? err.message : String(err)} (is the local cloud still running?)`);
      process.exit(1);
    },
  );
}
