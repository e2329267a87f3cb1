import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';

/**
 * The console's small security primitives, each testable alone: where its cookie may go, its CSRF token,
 * the same-origin check for POSTs, and the constant-time secret comparison.
 */

export interface CookiePolicy {
  name: string;
  /** Attributes after `name=value`, without Max-Age. */
  attributes: string;
}

/**
 * An https gateway gets `__Host-` (Secure, Path=/, no Domain: the browser itself guarantees the cookie
 * came from this host over TLS and reaches nothing else). On plain http a Secure cookie would be dropped by
 * browsers (localhost aside, inconsistently), so there the cookie is scoped to the console's path
 * instead; plain http is only sensible on loopback, and the gateway warns at start otherwise.
 */
export function cookiePolicy(baseUrl: string): CookiePolicy {
  const url = new URL(baseUrl);
  if (url.protocol === 'https:') return { name: '__Host-onbehalf_admin', attributes: 'Path=/; HttpOnly; Secure; SameSite=Strict' };
  return { name: 'onbehalf_admin', attributes: `Path=${basePathOf(baseUrl)}/admin; HttpOnly; SameSite=Strict` };
}

export function setCookieHeader(policy: CookiePolicy, value: string, maxAgeSeconds: number): string {
  return `${policy.name}=${value}; ${policy.attributes}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The path the gateway is served under (`''` at the root), so links and cookies follow ONBEHALF_BASE_URL. */
export function basePathOf(baseUrl: string): string {
  return new URL(baseUrl).pathname.replace(/\/+$/, '');
}

/** True for a base URL whose host is this machine (where plain http never crosses a network). */
export function isLoopback(baseUrl: string): boolean {
  const host = new URL(baseUrl).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The synchronizer token of a session, derived from the cookie's secret (HMAC), so it needs no storage,
 * differs per session, and cannot be computed without the cookie.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('onbehalf-admin-csrf').digest('base64url');
}

/** Bound into every stored session hash: a new admin secret ends every session made under the old one. */
export function sessionBinding(adminSecret: string): string {
  return createHmac('sha256', adminSecret).update('onbehalf-admin-session').digest('hex');
}

export function sameSecret(given: string, expected: string): boolean {
  // Hashing first gives equal lengths, so the comparison's time says nothing about either value.
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/**
 * A state-changing request must come from the console's own pages: its Origin (or, when a browser sends
 * none, its Referer) must be the gateway's public origin. Requests with neither are refused: every browser
 * that runs the console sends one (the console's pages set Referrer-Policy: same-origin so both survive).
 */
export function sameOrigin(c: Context, expectedOrigin: string): boolean {
  const origin = c.req.header('origin');
  if (origin !== undefined && origin !== 'null') return origin === expectedOrigin;
  const referer = c.req.header('referer');
  if (!referer) return false;
  try {
    return new URL(referer).origin === expectedOrigin;
  } catch {
    return false;
  }
}

/** The peer's address as the socket saw it (proxies' X-Forwarded-For is not trusted: anyone can send it). */
export function clientIp(c: Context): string | null {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? null;
}

/** A `next` target after sign-in: only a path inside the console, never another site. */
export function safeNext(next: string | undefined, basePath: string): string {
  const home = `${basePath}/admin`;
  if (!next || !next.startsWith(`${home}`) || next.startsWith('//') || /[\\\s]/.test(next)) return home;
  const rest = next.slice(home.length);
  if (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?')) return home;
  return next;
}
