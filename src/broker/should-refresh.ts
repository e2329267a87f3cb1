export type RefreshReason = 'missing' | 'expired' | 'expiring_soon' | 'fresh';

export interface RefreshDecision {
  refresh: boolean;
  reason: RefreshReason;
}

/**
 * Whether a cached access token must be replaced before use. Tokens are replaced `skewMs` before they
 * expire, so a token never leaves the gateway with less than that much life left (clock drift, slow
 * requests). A decision with a reason, tested as a table.
 */
export function shouldRefresh(token: { expiresAt: number } | undefined, nowMs: number, skewMs: number): RefreshDecision {
  if (!token) return { refresh: true, reason: 'missing' };
  if (token.expiresAt <= nowMs) return { refresh: true, reason: 'expired' };
  if (token.expiresAt - nowMs <= skewMs) return { refresh: true, reason: 'expiring_soon' };
  return { refresh: false, reason: 'fresh' };
}
