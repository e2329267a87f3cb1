import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Hono } from 'hono';
import { silentLogger } from '../../logger.js';
import { testBackends } from '../../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../../store/test-support/open-test-store.js';
import { createApp } from '../create-app.js';
import { createMetrics } from '../metrics.js';
import { adminAuth } from './admin-auth.js';
import { adminOf } from './admin-deps.js';
import { csrfTokenFor } from './admin-security.js';
import { SIGN_IN_THROTTLE, signInRoutes } from './sign-in-routes.js';

/**
 * Sign-in and sign-out on their own: the gateway's app shell with the sign-in routes, the admin guard and
 * one page behind it, on a real SQLite file. The peer address comes from the socket as @hono/node-server
 * hands it over (`env.incoming.socket`), given here per request so the throttle can see several
 * addresses. Milliseconds per test; admin-auth.test.ts does the same through a whole gateway.
 */

const SECRET = 'correct-horse-battery-staple-0123456789';
const BASE = 'http://127.0.0.1:4000';
const MAX_MS = 12 * 3600_000;
const WRONG = 'That is not the admin secret.';
const PAUSED = 'Too many failed sign-ins. Sign-in is paused for up to 15 minutes; the secret was not checked.';

interface Console {
  app: Hono;
  t: TestStore;
}

function consoleApp(t: TestStore, options: { baseUrl?: string; secret?: string | null } = {}): Console {
  const deps = {
    repos: t.repos,
    clock: t.clock,
    baseUrl: options.baseUrl ?? BASE,
    appName: 'Test gateway',
    admin: { secret: options.secret === undefined ? SECRET : options.secret, sessionMaxMs: MAX_MS, sessionIdleMs: 30 * 60_000 },
  };
  const whoami = { method: 'GET' as const, path: '/admin/whoami', auth: 'admin' as const, summary: 'test page', handler: (c: Parameters<typeof adminOf>[0]) => c.json(adminOf(c)) };
  const { app } = createApp({ store: t.store, logger: silentLogger(), metrics: createMetrics({ defaultMetrics: false }), version: 'test', routes: [...signInRoutes(deps), whoami], auth: { admin: adminAuth(deps) } });
  return { app, t };
}

/** The socket's peer as @hono/node-server passes it; null = a request with no socket (app.request). */
const peer = (ip: string | null) => (ip === null ? undefined : { incoming: { socket: { remoteAddress: ip } } });

interface Sent {
  res: Response;
  status: number;
  html: string;
  location: string | null;
  cookie: string | undefined;
}

async function send(app: Hono, path: string, init: RequestInit, ip: string | null): Promise<Sent> {
  const res = await app.request(`${BASE}${path}`, init, peer(ip));
  const setCookie = res.headers.get('set-cookie') ?? undefined;
  return { res, status: res.status, html: await res.clone().text(), location: res.headers.get('location'), cookie: setCookie?.split(';')[0] };
}

/** The sign-in form as the console's page posts it. */
function signIn(app: Hono, fields: Record<string, string>, options: { ip?: string | null; headers?: Record<string, string | null>; rawBody?: string } = {}): Promise<Sent> {
  const body = options.rawBody ?? new URLSearchParams(fields).toString();
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', origin: BASE, 'content-length': String(Buffer.byteLength(body)) };
  for (const [k, v] of Object.entries(options.headers ?? {})) {
    if (v === null) delete headers[k];
    else headers[k] = v;
  }
  return send(app, '/admin/sign-in', { method: 'POST', headers, body }, options.ip === undefined ? '198.51.100.1' : options.ip);
}

const failures = (t: TestStore, actorId?: string) => t.repos.audit.query({ action: 'admin.sign_in_failed', ...(actorId ? { actorId } : {}), limit: 1000 });

/** Whether a page holds a piece of HTML; a failure names the piece. */
function has(html: string, text: string, present = true): void {
  assert.equal(html.includes(text), present, `${present ? 'missing' : 'not expected'}: ${text}`);
}

function assertConsoleHeaders(res: Response): void {
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('referrer-policy'), 'same-origin');
}

async function fresh(): Promise<TestStore> {
  const sqlite = testBackends().find((b) => b.name === 'sqlite');
  assert.ok(sqlite, 'the SQLite backend is always there');
  return openTestStore(sqlite);
}

describe('admin console sign-in and sign-out (sign-in-routes.tsx) on a real SQLite store', () => {
  let t: TestStore;
  before(async () => {
    t = await fresh();
  }, { timeout: 60_000 });
  after(async () => {
    await t?.close();
  }, { timeout: 60_000 });

  test('the sign-in page: its form, where it goes next, the signed-out note', { timeout: 30_000 }, async () => {
    const { app } = consoleApp(t);
    const page = await send(app, `/admin/sign-in?next=${encodeURIComponent('/admin/links?q=x')}`, {}, null);
    assert.equal(page.status, 200);
    assertConsoleHeaders(page.res);
    assert.ok(page.html.includes('<title>Sign in · Test gateway admin</title>'), page.html);
    has(page.html, '<h1>Test gateway admin console</h1>');
    has(page.html, '<form method="post" action="/admin/sign-in">');
    assert.ok(page.html.includes('<input type="hidden" name="next" value="/admin/links?q=x"/>'), 'where the console was going');
    assert.match(page.html, /<input id="secret" name="secret" type="password" autocomplete="current-password" required="" spellcheck="false" autofocus=""\/>/, 'the secret is never spell-checked (some spell checkers send text away)');
    has(page.html, 'You are signed out.', false);
    assert.ok(!page.html.includes('plain http'), 'loopback over http: no warning');
    has(page.html, 'The admin console is off', false);

    const out = await send(app, '/admin/sign-in?signed_out=1', {}, null);
    has(out.html, '<p>You are signed out.</p>');
    has(out.html, 'name="next" value="/admin"');
    assert.ok(!(await send(app, '/admin/sign-in?signed_out=yes', {}, null)).html.includes('You are signed out.'));
    assert.ok((await send(app, `/admin/sign-in?next=${encodeURIComponent('https://evil.example/admin')}`, {}, null)).html.includes('name="next" value="/admin"'), 'never another site');
  });

  test('plain http off loopback is warned about on the sign-in page; https and loopback are not', { timeout: 30_000 }, async () => {
    const warning = 'This gateway is served over plain http: the secret and the session travel unencrypted. Serve it over https.';
    assert.ok((await send(consoleApp(t, { baseUrl: 'http://gateway.internal:4000' }).app, '/admin/sign-in', {}, null)).html.includes(warning));
    assert.ok(!(await send(consoleApp(t, { baseUrl: 'https://gw.example.com' }).app, '/admin/sign-in', {}, null)).html.includes('plain http'));
    assert.ok(!(await send(consoleApp(t, { baseUrl: 'http://localhost:4000' }).app, '/admin/sign-in', {}, null)).html.includes('plain http'));
  });

  test('with no secret the console is off: the page says how to turn it on, and no sign-in works', { timeout: 30_000 }, async () => {
    const { app } = consoleApp(t, { secret: null });
    const sessions = async () => (await t.store.db.selectFrom('admin_sessions').select('id').execute()).length;
    const rows = await sessions();
    const page = await send(app, '/admin/sign-in', {}, null);
    assert.equal(page.status, 200);
    has(page.html, 'The admin console is off.');
    has(page.html, 'ONBEHALF_ADMIN_SECRET');
    assert.ok(!page.html.includes('name="secret"'), 'no secret field');
    const post = await signIn(app, { secret: SECRET });
    assert.equal(post.status, 403);
    has(post.html, 'The admin console is off.');
    assert.equal(post.cookie, undefined);
    assert.equal(await sessions(), rows, 'no session row');
  });

  test('the right secret starts a session for the page it was going to, audited with the address', { timeout: 30_000 }, async () => {
    const { app } = consoleApp(t);
    const ok = await signIn(app, { secret: SECRET, next: '/admin/whoami' }, { ip: '203.0.113.7' });
    assert.equal(ok.status, 303, ok.html);
    assert.equal(ok.location, '/admin/whoami');
    assertConsoleHeaders(ok.res);
    assert.match(ok.res.headers.get('set-cookie') ?? '', /^onbehalf_admin=oba_[\w-]+; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const page = await send(app, '/admin/whoami', { headers: { cookie: ok.cookie ?? '' } }, null);
    assert.equal(page.status, 200, 'the session opens the console it was made for');
    const me = JSON.parse(page.html) as { session: { id: string; clientIp: string | null; expiresAt: number; createdAt: number } };
    assert.equal(me.session.clientIp, '203.0.113.7');
    assert.equal(me.session.expiresAt - me.session.createdAt, MAX_MS);
    const signedIn = (await t.repos.audit.query({ action: 'admin.signed_in' }))[0];
    assert.equal(signedIn?.actorType, 'admin');
    assert.equal(signedIn?.actorId, `console:${me.session.id}`);
    assert.deepEqual(signedIn?.data, { ip: '203.0.113.7' });
    assert.ok(!JSON.stringify(await t.repos.audit.query({})).includes(SECRET), 'the secret is not in the audit log');

    // Signing in again (the browser still holding that cookie) makes a new session and ends the old one.
    const again = await signIn(app, { secret: SECRET }, { ip: '203.0.113.7', headers: { cookie: ok.cookie ?? '' } });
    assert.equal(again.location, '/admin');
    assert.notEqual(again.cookie, ok.cookie);
    assert.equal((await send(app, '/admin/whoami', { headers: { cookie: ok.cookie ?? '' } }, null)).status, 303, 'the old session ended');
    assert.equal((await send(app, '/admin/whoami', { headers: { cookie: again.cookie ?? '' } }, null)).status, 200);
  });

  test('a wrong or missing secret is refused, audited by address and reason, and never stored', { timeout: 30_000 }, async () => {
    const { app } = consoleApp(t);
    const wrong = await signIn(app, { secret: `${SECRET}x`, next: '/admin/audit' }, { ip: '203.0.113.8' });
    assert.equal(wrong.status, 401);
    assertConsoleHeaders(wrong.res);
    has(wrong.html, `<p>${WRONG}</p>`);
    assert.ok(wrong.html.includes('name="next" value="/admin/audit"'), 'the form keeps where it was going');
    assert.equal(wrong.cookie, undefined);
    const [failed] = await failures(t, 'ip:203.0.113.8');
    assert.equal(failed?.actorType, 'admin');
    assert.equal(failed?.reason, 'wrong_secret');
    assert.equal((await signIn(app, { next: '/admin' }, { ip: '203.0.113.8' })).status, 401);
    assert.equal((await failures(t, 'ip:203.0.113.8'))[0]?.reason, 'no_secret');
    assert.equal((await signIn(app, { secret: '' }, { ip: '203.0.113.8' })).status, 401);
    assert.equal((await failures(t, 'ip:203.0.113.8'))[0]?.reason, 'no_secret');
    // No socket (app.request, or an adapter without one): counted under one shared name.
    assert.equal((await signIn(app, { secret: 'guess' }, { ip: null })).status, 401);
    assert.equal((await failures(t, 'ip:unknown')).length, 1);
    // A body that is no form at all is a sign-in without a secret, not a crash.
    const garbage = await signIn(app, {}, { ip: '203.0.113.8', rawBody: 'not multipart', headers: { 'content-type': 'multipart/form-data; boundary=x' } });
    assert.equal(garbage.status, 401);
    assert.equal((await failures(t, 'ip:203.0.113.8')).length, 4);
    assert.ok(!JSON.stringify(await failures(t)).includes('guess'), 'what was typed is not in the audit log');
  });

  test('a sign-in must come from the console, say its length and stay small', { timeout: 30_000 }, async () => {
    const { app } = consoleApp(t);
    const before = (await failures(t)).length;
    const cross = await signIn(app, { secret: SECRET }, { headers: { origin: 'https://evil.example' } });
    assert.equal(cross.status, 403);
    has(cross.html, '<h1>Request refused</h1>');
    has(cross.html, '<p>This sign-in was not sent from the console itself; nothing was done.</p>');
    assert.equal(cross.cookie, undefined);
    const tooBig = 'A sign-in form is small; this one was too large or had no length.';
    const unsized = await signIn(app, { secret: SECRET }, { headers: { 'content-length': null } });
    assert.equal(unsized.status, 413);
    has(unsized.html, '<h1>Request refused</h1>');
    has(unsized.html, `<p>${tooBig}</p>`);
    const limit = 16 * 1024;
    const padded = (bytes: number) => ({ secret: SECRET, pad: 'p'.repeat(bytes - Buffer.byteLength(new URLSearchParams({ secret: SECRET, pad: '' }).toString())) });
    const over = await signIn(app, padded(limit + 1));
    assert.equal(over.status, 413);
    has(over.html, `<p>${tooBig}</p>`);
    assert.equal(over.cookie, undefined);
    assert.equal((await failures(t)).length, before, 'a refused request is not even counted');
    const atLimit = await signIn(app, padded(limit));
    assert.equal(atLimit.status, 303, 'exactly 16 KiB is a form like any other');
  });

  test('sign-out ends the session server-side, expires the cookie and is audited', { timeout: 30_000 }, async () => {
    const { app } = consoleApp(t);
    const { cookie } = await signIn(app, { secret: SECRET });
    const token = (cookie ?? '').split('=')[1] ?? '';
    const me = JSON.parse((await send(app, '/admin/whoami', { headers: { cookie: cookie ?? '' } }, null)).html) as { session: { id: string } };
    const body = new URLSearchParams({ _csrf: csrfTokenFor(token) }).toString();
    const out = await send(app, '/admin/sign-out', { method: 'POST', headers: { cookie: cookie ?? '', origin: BASE, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) }, body }, null);
    assert.equal(out.status, 303);
    assert.equal(out.location, '/admin/sign-in?signed_out=1');
    assert.equal(out.res.headers.get('set-cookie'), 'onbehalf_admin=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0');
    assert.equal(await t.store.db.selectFrom('admin_sessions').select('id').where('id', '=', me.session.id).executeTakeFirst(), undefined, 'the row is gone');
    assert.equal((await send(app, '/admin/whoami', { headers: { cookie: cookie ?? '' } }, null)).status, 303, 'the old cookie opens nothing');
    const [event] = await t.repos.audit.query({ action: 'admin.signed_out' });
    assert.equal(event?.actorType, 'admin');
    assert.equal(event?.actorId, `console:${me.session.id}`);
  });
});

describe('sign-in throttle (its own store: it counts the whole audit log)', () => {
  test('10 failures from one address pause it for the window; other addresses and other events do not count', { timeout: 60_000 }, async () => {
    const t = await fresh();
    try {
      const { app } = consoleApp(t);
      // A busy console: 100 successful sign-ins are not failures.
      for (let i = 0; i < 100; i++) assert.equal((await signIn(app, { secret: SECRET }, { ip: '192.0.2.50' })).status, 303);
      for (let i = 0; i < 5; i++) assert.equal((await signIn(app, { secret: `other-${i}` }, { ip: '192.0.2.2' })).status, 401);
      for (let i = 0; i < SIGN_IN_THROTTLE.perAddress; i++) {
        assert.equal((await signIn(app, { secret: `guess-${i}` }, { ip: '192.0.2.1' })).status, 401, `failure ${i + 1} is checked`);
      }
      const paused = await signIn(app, { secret: SECRET }, { ip: '192.0.2.1' });
      assert.equal(paused.status, 429);
      assert.equal(paused.res.headers.get('retry-after'), '900');
      has(paused.html, `<p>${PAUSED}</p>`);
      assert.equal(paused.cookie, undefined, 'even the right secret does not sign in while paused');
      assert.equal((await failures(t, 'ip:192.0.2.1')).length, SIGN_IN_THROTTLE.perAddress, 'a paused attempt is not written');
      assert.equal((await signIn(app, { secret: SECRET }, { ip: '192.0.2.2' })).status, 303, 'another address is not paused');
      // Requests without a socket address share one name, and are paused under it too.
      for (let i = 0; i < SIGN_IN_THROTTLE.perAddress; i++) assert.equal((await signIn(app, { secret: `guess-${i}` }, { ip: null })).status, 401);
      assert.equal((await signIn(app, { secret: SECRET }, { ip: null })).status, 429);
      t.clock.advance(SIGN_IN_THROTTLE.windowMs);
      assert.equal((await signIn(app, { secret: SECRET }, { ip: '192.0.2.1' })).status, 429, 'still inside the window at its very end');
      t.clock.advance(1);
      assert.equal((await signIn(app, { secret: SECRET }, { ip: '192.0.2.1' })).status, 303, 'the window has passed');
    } finally {
      await t.close();
    }
  });

  test('100 failures in all pause sign-in for every address', { timeout: 60_000 }, async () => {
    const t = await fresh();
    try {
      const { app } = consoleApp(t);
      for (let i = 0; i < SIGN_IN_THROTTLE.global - 1; i++) {
        assert.equal((await signIn(app, { secret: `guess-${i}` }, { ip: `192.0.2.${10 + Math.floor(i / 9)}` })).status, 401);
      }
      assert.equal((await signIn(app, { secret: 'the-hundredth' }, { ip: '198.51.100.200' })).status, 401, 'the 100th failure is still checked');
      const paused = await signIn(app, { secret: SECRET }, { ip: '198.51.100.201' });
      assert.equal(paused.status, 429, 'a fresh address too');
      has(paused.html, `<p>${PAUSED}</p>`);
      assert.equal(paused.cookie, undefined);
    } finally {
      await t.close();
    }
  });
});
