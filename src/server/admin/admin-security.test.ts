import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { cookiePolicy, csrfTokenFor, isLoopback, readCookie, safeNext, sameOrigin, sameSecret } from './admin-security.js';

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
});
