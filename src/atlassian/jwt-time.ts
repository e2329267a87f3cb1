/** Shared time rules for JWTs we verify. */

/** Atlassian's Java `JwtConstants.TIME_CLAIM_LEEWAY_SECONDS`; we never allow more. */
export const MAX_LEEWAY_SECONDS = 30;

/** Validates a caller-supplied leeway; a wrong value is a programming error, so it throws RangeError. */
export function checkLeewaySeconds(leewaySeconds: number | undefined, fn: string): number {
  const leeway = leewaySeconds ?? 0;
  if (!Number.isInteger(leeway) || leeway < 0 || leeway > MAX_LEEWAY_SECONDS) {
    throw new RangeError(`${fn}: leewaySeconds must be an integer from 0 to ${MAX_LEEWAY_SECONDS}, got ${String(leewaySeconds)}`);
  }
  return leeway;
}

export type TimeCheck = 'ok' | 'expired' | 'not_yet_valid';

/**
 * `exp` is exclusive (ACE rejects when `now >= exp`); leeway extends it. `nbf`, when present, must have
 * been reached (with the same leeway).
 */
export function checkTimeClaims(nowSeconds: number, exp: number, nbf: number | undefined, leeway: number): TimeCheck {
  if (nowSeconds >= exp + leeway) return 'expired';
  if (nbf !== undefined && nowSeconds + leeway < nbf) return 'not_yet_valid';
  return 'ok';
}
