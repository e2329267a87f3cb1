import type { ConnectScope } from '../state/types.js';

const LADDER: ConnectScope[] = ['NONE', 'READ', 'WRITE', 'DELETE', 'SPACE_ADMIN', 'ADMIN'];
export const CONNECT_SCOPES: readonly ConnectScope[] = [...LADDER, 'ACT_AS_USER', 'ACCESS_EMAIL_ADDRESSES'];

export function isConnectScope(s: string): s is ConnectScope {
  return (CONNECT_SCOPES as readonly string[]).includes(s);
}

/** WRITE implies READ, DELETE implies WRITE, ... (protocol doc §2.1). */
export function hasConnectScope(granted: readonly ConnectScope[], needed: ConnectScope): boolean {
  if (needed === 'NONE') return true;
  if (granted.includes(needed)) return true;
  const idx = LADDER.indexOf(needed);
  if (idx < 0) return false;
  return granted.some((g) => LADDER.indexOf(g) >= idx);
}
