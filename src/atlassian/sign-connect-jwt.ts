import { unixSeconds, type Clock } from '../clock.js';
import { signHs256 } from './compact-jwt.js';

/** Claims the caller chooses for an app→product Connect JWT (ACE style). */
export interface ConnectJwtClaimsInput {
  /** The app key from the descriptor. */
  iss: string;
  /** Optional; unused by Jira/Confluence for impersonation (that is the JWT-bearer grant). */
  sub?: string;
  /** ACE sends `[clientKey]`. */
  aud?: string | readonly string[];
  /** `queryStringHash(...)` of the request being signed. */
  qsh: string;
  context?: Readonly<Record<string, unknown>>;
}

/** ACE's default validity (`jwt.validityInMinutes: 3`). */
export const DEFAULT_CONNECT_JWT_TTL_SECONDS = 180;
const MAX_CONNECT_JWT_TTL_SECONDS = 3600;

/**
 * Signs an HS256 Connect JWT with the tenant's shared secret, header `{"typ":"JWT","alg":"HS256"}` and the
 * claim order iss, iat, exp, qsh, aud, sub, context (the B.3 example reproduces byte for byte).
 */
export function signConnectJwt(
  claims: ConnectJwtClaimsInput,
  secret: string,
  clock: Clock,
  ttlSeconds: number = DEFAULT_CONNECT_JWT_TTL_SECONDS,
): string {
  if (typeof claims.iss !== 'string' || claims.iss === '') throw new TypeError('signConnectJwt: iss (the app key) is required');
  if (typeof claims.qsh !== 'string' || claims.qsh === '') throw new TypeError('signConnectJwt: qsh is required');
  if (typeof secret !== 'string' || secret === '') throw new TypeError('signConnectJwt: the shared secret is empty');
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_CONNECT_JWT_TTL_SECONDS) {
    throw new RangeError(`signConnectJwt: ttlSeconds must be an integer from 1 to ${MAX_CONNECT_JWT_TTL_SECONDS}, got ${ttlSeconds}`);
  }
  const iat = unixSeconds(clock);
  const payload: Record<string, unknown> = { iss: claims.iss, iat, exp: iat + ttlSeconds, qsh: claims.qsh };
  if (claims.aud !== undefined) payload.aud = typeof claims.aud === 'string' ? claims.aud : [...claims.aud];
  if (claims.sub !== undefined) payload.sub = claims.sub;
  if (claims.context !== undefined) payload.context = claims.context;
  return signHs256(JSON.stringify(payload), secret);
}
