import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { SandboxUser } from '../state/types.js';

export const SESSION_COOKIE = 'onbehalf_sandbox_session';

/** The signed-in sandbox user (cookie session picked on the sign-in page), or undefined. */
export function sessionUser(deps: SandboxDeps, c: Context): SandboxUser | undefined {
  const sid = getCookie(c, SESSION_COOKIE);
  const accountId = sid ? deps.state.sessions.get(sid) : undefined;
  const user = accountId ? deps.state.users.get(accountId) : undefined;
  return user && user.accountStatus === 'active' ? user : undefined;
}

export function startSession(deps: SandboxDeps, c: Context, accountId: string): string {
  const sid = randomBytes(24).toString('base64url');
  deps.state.sessions.set(sid, accountId);
  setCookie(c, SESSION_COOKIE, sid, { path: '/', httpOnly: true, sameSite: 'Lax' });
  return sid;
}

export function endSession(deps: SandboxDeps, c: Context): void {
  const sid = getCookie(c, SESSION_COOKIE);
  if (sid) deps.state.sessions.delete(sid);
  deleteCookie(c, SESSION_COOKIE, { path: '/' });
}

/** Only same-origin relative return paths are followed after sign-in. */
export function safeReturnTo(raw: string | undefined): string {
  return raw && raw.startsWith('/') && !raw.startsWith('//') && !raw.startsWith('/\\') ? raw : '/';
}
