import { unixSeconds, type Clock } from '../clock.js';
import { signHs256 } from './compact-jwt.js';

export interface JwtBearerAssertionInput {
  /** `oauthClientId` from the tenant's `installed` payload. */
  oauthClientId: string;
  /** The Atlassian accountId of the user to act as. */
  accountId: string;
  /** The tenant's `baseUrl` from the `installed` payload (for Confluence it ends in `/wiki`); sent as-is. */
  tenantBaseUrl: string;
  /** The auth server base URL, the assertion's `aud` (endpoints.impersonationAudience). */
  authServerUrl: string;
  /** The tenant's shared secret (HS256 key). */
  sharedSecret: string;
  clock: Clock;
  /** Lifetime, at most (and by default) 60 s: Atlassian documents "no later than 60 seconds". */
  ttlSeconds?: number;
}

export const MAX_ASSERTION_TTL_SECONDS = 60;

function required(name: string, value: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`createJwtBearerAssertion: ${name} is required`);
}

/**
 * The HS256 assertion of the OAuth 2.0 JWT-bearer grant for Connect user impersonation (doc §3.2).
 * Header `{"typ":"JWT","alg":"HS256"}`; claims exactly iss, sub, tnt, aud, iat, exp, in that order; no qsh.
 */
export function createJwtBearerAssertion(input: JwtBearerAssertionInput): string {
  required('oauthClientId', input.oauthClientId);
  required('accountId', input.accountId);
  required('tenantBaseUrl', input.tenantBaseUrl);
  required('authServerUrl', input.authServerUrl);
  required('sharedSecret', input.sharedSecret);
  const ttl = input.ttlSeconds ?? MAX_ASSERTION_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_ASSERTION_TTL_SECONDS) {
    throw new RangeError(`createJwtBearerAssertion: ttlSeconds must be an integer from 1 to ${MAX_ASSERTION_TTL_SECONDS}, got ${ttl}`);
  }
  const iat = unixSeconds(input.clock);
  const payload = {
    iss: `urn:atlassian:connect:clientid:${input.oauthClientId}`,
    sub: `urn:atlassian:connect:useraccountid:${input.accountId}`,
    tnt: input.tenantBaseUrl,
    aud: input.authServerUrl,
    iat,
    exp: iat + ttl,
  };
  return signHs256(JSON.stringify(payload), input.sharedSecret);
}
