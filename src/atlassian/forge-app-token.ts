import { decodeJwt } from 'jose';
import type { Clock } from '../clock.js';

/**
 * When an app system or user token from `x-forge-oauth-system` / `x-forge-oauth-user` stops working. They
 * are JWTs with an `exp` but otherwise opaque (§10.5: "cache a token until exp"), so only `exp` is read,
 * never trusted for anything else. A token whose `exp` cannot be read is given one hour, less than the 2 h a
 * direct trigger guarantees, so a gateway never holds on to it past its real life by much.
 */
export function forgeAppTokenExpiry(token: string, clock: Clock): number {
  try {
    const exp = decodeJwt(token).exp;
    if (typeof exp === 'number' && Number.isFinite(exp)) return exp * 1000;
  } catch {
    // Not a JWT: fall through to the cautious default.
  }
  return clock.now() + 3_600_000;
}
