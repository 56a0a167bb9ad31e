/**
 * Step 2 of the local cloud: the local OpenID Connect issuer (local/oidc/),
 * started before the stacks are deployed because the producer's JWT
 * authorizer names it: local stacks authenticate API callers by JWT unless
 * their config says otherwise, so the walkthrough shows auth.
 */
import { createHash } from "crypto";
import * as path from "path";
import { LocalIssuer, startLocalIssuer } from "../../oidc/issuer";
import { PROJECT_ROOT } from "../../shared/project";
import { CloudContext } from "../context";

/** The audience the local producer's authorizer accepts and the local issuer's tokens carry. */
export const LOCAL_API_AUDIENCE = "local-api";

/**
 * The issuer's port when free: one per checkout (20000–29999, below Linux's
 * ephemeral range), so its URL, which is the producer's `jwtIssuer` config,
 * is the same from one start to the next and the stack run's closure cache
 * (local/deploy/closureCache.ts, keyed by the config among the rest) hits.
 */
export function preferredIssuerPort(root = PROJECT_ROOT): number {
  return 20000 + (parseInt(createHash("sha256").update(root).digest("hex").slice(0, 8), 16) % 10000);
}

/** Starts the issuer: with its signing key kept in the data dir when there is one (tokens outlive a restart), else one for this run. */
export async function startIssuer(ctx: CloudContext): Promise<LocalIssuer> {
  const dir = ctx.persistDir("oidc");
  const keyFile = dir === undefined ? undefined : path.join(dir, "signing-key.json");
  const issuer = await startLocalIssuer({ audience: LOCAL_API_AUDIENCE, preferredPort: preferredIssuerPort(), keyFile });
  const key =
    keyFile === undefined ? "RS256 key made now" : `RS256 key ${issuer.key === "kept" ? "kept" : "made now and kept"} in ${keyFile}: tokens outlive a restart`;
  ctx.progress(`local OIDC issuer on ${issuer.issuer} (${key}); local stacks default to apiAuth jwt against it`);
  return issuer;
}

/** The producer config the local cloud deploys with unless told otherwise: jwt against this issuer. */
export function localAuthDefaults(issuer: LocalIssuer): Record<string, string> {
  return { apiAuth: "jwt", jwtIssuer: issuer.issuer, jwtAudiences: issuer.audience };
}
