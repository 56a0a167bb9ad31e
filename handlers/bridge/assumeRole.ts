/**
 * A cached STS AssumeRole credential provider, written here because
 * `@aws-sdk/credential-providers` is not guaranteed in the Lambda runtime.
 * Built once per container, it calls STS about once per credential lifetime.
 */
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";

/** What to assume, and when to refresh. */
export interface AssumeRoleParams {
  roleArn: string;
  externalId?: string;
  sessionName: string;
  /** Requested credential lifetime; STS's default (3600) when absent. */
  durationSeconds?: number;
  /** Refresh this long before expiry; default 5 minutes. */
  refreshBeforeMs?: number;
}

/** Default margin before expiry at which credentials are refreshed. */
export const DEFAULT_REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * A credential provider that calls STS AssumeRole once, and again only shortly
 * before expiry; concurrent callers share one in-flight call; a failed call is
 * not cached (while the previous credentials are still unexpired they are
 * served instead of the error).
 */
export function assumeRoleCredentials(
  sts: STSClient,
  params: AssumeRoleParams,
  now: () => number = Date.now,
  /** Called before each AssumeRole call (the bridge counts them as StsRefreshes). */
  onCall: () => void = () => undefined,
): AwsCredentialIdentityProvider {
  const refreshBeforeMs = params.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
  // Per-provider state in the closure, never at module level (closure serialisation).
  let cached: AwsCredentialIdentity | undefined;
  let inFlight: Promise<AwsCredentialIdentity> | undefined;

  const expiresAt = (c: AwsCredentialIdentity) => (c.expiration ? c.expiration.getTime() : Number.POSITIVE_INFINITY);

  async function callSts(): Promise<AwsCredentialIdentity> {
    onCall();
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: params.roleArn,
        ExternalId: params.externalId,
        RoleSessionName: params.sessionName,
        DurationSeconds: params.durationSeconds,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${params.roleArn} returned no credentials`);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  }

  return async () => {
    if (cached && expiresAt(cached) - refreshBeforeMs > now()) return cached;
    if (!inFlight) {
      inFlight = callSts().then(
        (fresh) => {
          cached = fresh;
          inFlight = undefined;
          return fresh;
        },
        (err) => {
          inFlight = undefined;
          throw err;
        },
      );
    }
    try {
      return await inFlight;
    } catch (err) {
      // A failed refresh inside the margin should not stop writes the old credentials still allow.
      if (cached && expiresAt(cached) > now()) return cached;
      throw err;
    }
  };
}
