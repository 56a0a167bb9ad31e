/**
 * Step 2 of the local cloud: the local OpenID Connect issuer (local/oidc/),
 * started before the stacks are deployed because the producer's JWT
 * authorizer names it: local stacks authenticate API callers by JWT unless
 * their config says otherwise, so the walkthrough shows auth.
 */
import { LocalIssuer, startLocalIssuer } from "../../oidc/issuer";
import { CloudContext } from "../context";

/** The audience the local producer's authorizer accepts and the local issuer's tokens carry. */
export const LOCAL_API_AUDIENCE = "local-api";

/** Starts the issuer with a fresh signing key. */
export async function startIssuer(ctx: CloudContext): Promise<LocalIssuer> {
  const issuer = await startLocalIssuer({ audience: LOCAL_API_AUDIENCE });
  ctx.progress(`local OIDC issuer on ${issuer.issuer} (RS256 key made now); local stacks default to apiAuth jwt against it`);
  return issuer;
}

/** The producer config the local cloud deploys with unless told otherwise: jwt against this issuer. */
export function localAuthDefaults(issuer: LocalIssuer): Record<string, string> {
  return { apiAuth: "jwt", jwtIssuer: issuer.issuer, jwtAudiences: issuer.audience };
}
