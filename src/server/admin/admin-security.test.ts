import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { basePathOf, clientIp, cookiePolicy, csrfTokenFor, isLoopback, readCookie, safeNext, sameOrigin, sameSecret, sessionBinding, setCookieHeader } from './admin-security.js';

test('cookie policy: __Host- over https, path-scoped without Secure over http', () => {
  assert.deepEqual(cookiePolicy('https://gw.example.com/onbehalf'), { name: '__Host-onbehalf_admin', attributes: 'Path=/; HttpOnly; Secure; SameSite=Strict' });
  assert.deepEqual(cookiePolicy('http://127.0.0.1:4000'), { name: 'onbehalf_admin', attributes: 'Path=/admin; HttpOnly; SameSite=Strict' });
  assert.deepEqual(cookiePolicy('http://127.0.0.1:4000/gw/'), { name: 'onbehalf_admin', attributes: 'Path=/gw/admin; HttpOnly; SameSite=Strict' });
  assert.equal(readCookie('a=1; onbehalf_admin=oba_x; b=2', 'onbehalf_admin'), 'oba_x');
  assert.equal(readCookie('xonbehalf_admin=oba_x', 'onbehalf_admin'), undefined);
  assert.equal(isLoopback('http://127.0.0.1:4000'), true);
  assert.equal(isLoopback('http://localhost:4000'), true);
  assert.equal(isLoopback('http://[::1]:4000'), true);
  assert.equal(isLoopback('http://gateway.internal:4000'), false);
  assert.equal(isLoopback('http://127.10.200.30:4000'), true, 'all of 127.0.0.0/8, with numbers of any width');
  assert.equal(isLoopback('http://127.0.0.1.evil.example:4000'), false, 'a name that only starts like a loopback address');
  assert.equal(isLoopback('http://localhost.evil.example:4000'), false);
});

test('the cookie header: attributes of the policy, Max-Age in whole seconds and never negative', () => {
  const policy = cookiePolicy('http://127.0.0.1:4000');
  assert.equal(setCookieHeader(policy, 'oba_x', 43_200), 'onbehalf_admin=oba_x; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=43200');
  assert.equal(setCookieHeader(policy, 'oba_x', 1.9), 'onbehalf_admin=oba_x; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=1');
  assert.equal(setCookieHeader(policy, '', -5), 'onbehalf_admin=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0', 'sign-out: expire now');
});

test('reading the cookie: no header, spacing, and names that only look alike', () => {
  assert.equal(readCookie(undefined, 'onbehalf_admin'), undefined);
  assert.equal(readCookie('', 'onbehalf_admin'), undefined);
  assert.equal(readCookie(' onbehalf_admin = oba_x ;b=2', 'onbehalf_admin'), 'oba_x', 'spaces around name and value are not part of them');
  assert.equal(readCookie('onbehalf_adminx; b=2', 'onbehalf_admin'), undefined, 'a part without "=" is no cookie of that name');
  assert.equal(readCookie('onbehalf_admin_old=oba_y; onbehalf_admin=oba_x', 'onbehalf_admin'), 'oba_x');
  assert.equal(readCookie('onbehalf_admin=a=b', 'onbehalf_admin'), 'a=b', 'the value is everything after the first "="');
});

test('the base path: no trailing slashes, empty at the root', () => {
  assert.equal(basePathOf('http://127.0.0.1:4000'), '');
  assert.equal(basePathOf('http://127.0.0.1:4000/'), '');
  assert.equal(basePathOf('https://gw.example.com/on/behalf//'), '/on/behalf');
});

test('next after sign-in stays inside the console', () => {
  const cases: [string | undefined, string][] = [
    [undefined, '/admin'],
    ['/admin/links?q=x', '/admin/links?q=x'],
    ['/admin?x=1', '/admin?x=1'],
    ['/adminx', '/admin'],
    ['//evil.example/admin', '/admin'],
    ['https://evil.example/admin', '/admin'],
    ['/admin/\\evil', '/admin'],
    ['/admin/links next', '/admin'],
    ['/admin/links//', '/admin/links//'],
    ['/admin', '/admin'],
  ];
  for (const [given, expected] of cases) assert.equal(safeNext(given, ''), expected, String(given));
  assert.equal(safeNext('/gw/admin/audit', '/gw'), '/gw/admin/audit');
  assert.equal(safeNext('/admin/audit', '/gw'), '/gw/admin');
});

test('CSRF tokens differ per session and compare in constant time', () => {
  const a = csrfTokenFor('oba_one');
  assert.equal(a, csrfTokenFor('oba_one'));
  assert.notEqual(a, csrfTokenFor('oba_two'));
  assert.equal(sameSecret(a, a), true);
  assert.equal(sameSecret(`${a}x`, a), false);
  assert.equal(sameSecret('', a), false);
  assert.match(a, /^[A-Za-z0-9_-]{43}$/, 'URL-safe text: it goes into a form field');
});

test('the derivations are fixed: instances of different versions share sessions and open pages', () => {
  // A CSRF token on a page rendered by one instance is checked by whichever instance gets the POST, and
  // session hashes in the database outlive an upgrade; so these values may never change.
  assert.equal(csrfTokenFor('oba_one'), '47UDxeHRBUAuATK9Yls3f8ukiuLgrCmgx3miEca3Tgc');
  assert.equal(sessionBinding('correct-horse-battery-staple-0123456789'), '05a6803766de91919ec18a971a0f3ae714580553d5e99c4e21cb44fed0c1b193');
  assert.notEqual(sessionBinding('correct-horse-battery-staple-0123456789-rotated'), sessionBinding('correct-horse-battery-staple-0123456789'));
});

test('same origin: Origin decides; without one, the Referer; with neither or an opaque one, refused', async () => {
  const app = new Hono();
  app.post('/', (c) => c.text(String(sameOrigin(c, 'https://gw.example.com'))));
  const check = async (headers: Record<string, string>) => (await app.request('/', { method: 'POST', headers })).text();
  assert.equal(await check({ origin: 'https://gw.example.com' }), 'true');
  assert.equal(await check({ origin: 'https://gw.example.com.evil.example' }), 'false');
  assert.equal(await check({ origin: 'http://gw.example.com' }), 'false');
  assert.equal(await check({ referer: 'https://gw.example.com/admin/links' }), 'true');
  assert.equal(await check({ origin: 'null', referer: 'https://gw.example.com/admin' }), 'true');
  assert.equal(await check({ referer: 'https://evil.example/https://gw.example.com' }), 'false');
  assert.equal(await check({ origin: 'null' }), 'false');
  assert.equal(await check({}), 'false');
  assert.equal(await check({ referer: 'not a url' }), 'false', 'a Referer that is no URL');
  assert.equal(await check({ referer: '' }), 'false');
});

test('the client address is the socket peer; none without a socket, and X-Forwarded-For is ignored', { timeout: 30_000 }, async () => {
  const app = new Hono();
  app.get('/', (c) => c.json({ ip: clientIp(c) }));
  const ipOf = async (res: Response | Promise<Response>) => ((await (await res).json()) as { ip: string | null }).ip;
  assert.equal(await ipOf(app.request('/', { headers: { 'x-forwarded-for': '203.0.113.9' } })), null, 'app.request: no socket at all');
  assert.equal(await ipOf(app.request('/', {}, { incoming: {} })), null, 'an adapter whose request has no socket');
  let server: ReturnType<typeof serve> | undefined;
  const info = await new Promise<AddressInfo>((resolve) => {
    server = serve({ hostname: '127.0.0.1', port: 0, fetch: app.fetch }, resolve);
  });
  try {
    const res = await fetch(`http://127.0.0.1:${info.port}/`, { headers: { 'x-forwarded-for': '203.0.113.9' }, signal: AbortSignal.timeout(10_000) });
    assert.equal(await ipOf(res), '127.0.0.1');
  } finally {
    const s = server as unknown as { close(cb: () => void): void; closeAllConnections(): void };
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});
