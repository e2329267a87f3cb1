import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createManualClock, type ManualClock } from '../../clock.js';
import { loadConfig } from '../../config.js';
import { createGateway, type Gateway } from '../../gateway.js';
import { createLogger, silentLogger } from '../../logger.js';
import { hashToken } from '../../store/ids.js';
import { createConsoleAgent } from '../../../test/support/console-agent.js';
import { sessionBinding } from './admin-security.js';
import { SIGN_IN_THROTTLE } from './sign-in-routes.js';

const binding = sessionBinding('correct-horse-battery-staple-0123456789');

const SECRET = 'correct-horse-battery-staple-0123456789';

async function gateway(env: Record<string, string>, clock?: ManualClock): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'onbehalf-admin-'));
  return createGateway(loadConfig({ ONBEHALF_DATA_DIR: dir, ONBEHALF_ADMIN_IDLE_MINUTES: '30', ONBEHALF_ADMIN_SESSION_HOURS: '12', ...env }, {}, dir), { logger: silentLogger(), ...(clock ? { clock } : {}) });
}

const agentFor = (gw: Gateway) => createConsoleAgent((url, init) => gw.app.request(url, init), gw.config.server.baseUrl);

describe('admin console: sign-in and sessions', () => {
  let gw: Gateway;
  let clock: ManualClock;
  before(async () => {
    clock = createManualClock(Date.UTC(2026, 10, 27, 9, 0, 0));
    gw = await gateway({ ONBEHALF_ADMIN_SECRET: SECRET, ONBEHALF_BASE_URL: 'http://127.0.0.1:4000' }, clock);
  }, { timeout: 120_000 });
  after(async () => {
    await gw.close();
  }, { timeout: 120_000 });

  test('a GET without a session goes to sign-in, keeping where it was going', { timeout: 180_000 }, async () => {
    const a = agentFor(gw);
    const r = await a.get('/admin/links?status=linked');
    assert.equal(r.status, 303);
    assert.equal(r.location, '/admin/sign-in?next=%2Fadmin%2Flinks%3Fstatus%3Dlinked');
    const page = await a.get(r.location ?? '');
    assert.equal(page.status, 200);
    assert.match(page.html, /<label for="secret">Admin secret<\/label>/);
    assert.match(page.html, /name="next" value="\/admin\/links\?status=linked"/);
    assert.equal(page.res.headers.get('cache-control'), 'no-store');
    assert.equal(page.res.headers.get('referrer-policy'), 'same-origin');
    assert.match(page.html, /^<!DOCTYPE html>/);
  });

  test('a wrong secret is refused and audited; the right one starts a hashed, HttpOnly, SameSite=Strict session', { timeout: 180_000 }, async () => {
    const a = agentFor(gw);
    const wrong = await a.post('/admin/sign-in', { secret: `${SECRET}x`, next: '/admin' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.html, /That is not the admin secret/);
    assert.equal(a.cookie, undefined);
    const failed = await gw.repos.audit.query({ action: 'admin.sign_in_failed' });
    assert.equal(failed[0]?.reason, 'wrong_secret');
    assert.ok(!JSON.stringify(failed).includes(SECRET), 'the audit log never holds what was typed');

    const ok = await a.post('/admin/sign-in', { secret: SECRET, next: '/admin/audit' });
    assert.equal(ok.status, 303);
    assert.equal(ok.location, '/admin/audit');
    const setCookie = ok.res.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^onbehalf_admin=oba_[\w-]+; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    assert.ok(!/Secure/.test(setCookie), 'plain http on loopback: a Secure cookie would be dropped by browsers');
    const token = (a.cookie ?? '').split('=')[1] ?? '';
    const rows = await gw.store.db.selectFrom('admin_sessions').selectAll().execute();
    assert.ok(rows.some((r) => r.token_hash === hashToken(`${binding}:${token}`)), 'stored as a hash bound to the admin secret');
    assert.ok(!JSON.stringify(rows).includes(token), 'the cookie value is not in the database');
    const signedIn = (await gw.repos.audit.query({ action: 'admin.signed_in' }))[0];
    assert.match(signedIn?.actorId ?? '', /^console:[0-9a-f-]{36}$/);
    const page = await a.get('/admin/audit');
    assert.equal(page.status, 200);
    assert.match(page.html, /<a href="\/admin\/audit" aria-current="page">Audit log<\/a>/);
  });

  test('sign-in refuses a cross-site form, an off-site next, and replaces any session the browser brought', { timeout: 180_000 }, async () => {
    const a = agentFor(gw);
    const cross = await a.post('/admin/sign-in', { secret: SECRET }, { origin: 'https://evil.example' });
    assert.equal(cross.status, 403);
    assert.equal(a.cookie, undefined);
    const offsite = await a.post('/admin/sign-in', { secret: SECRET, next: '//evil.example/admin' });
    assert.equal(offsite.location, '/admin');
    const first = a.cookie;
    const again = await a.post('/admin/sign-in', { secret: SECRET, next: 'https://evil.example/' });
    assert.equal(again.location, '/admin');
    assert.notEqual(a.cookie, first, 'a new session id after every sign-in');
    const firstToken = (first ?? '').split('=')[1] ?? '';
    assert.equal(await gw.repos.adminSessions.verify(firstToken, { idleMs: 60_000, binding }), undefined, 'the old session ended');
    assert.ok(await gw.repos.adminSessions.verify((a.cookie ?? '').split('=')[1] ?? '', { idleMs: 60_000, binding }), 'while the new one is live (the check can tell)');
  });

  test('idle timeout and sign-out both end the session server-side', { timeout: 180_000 }, async () => {
    const a = agentFor(gw);
    await a.signIn(SECRET);
    clock.advance(29 * 60_000);
    assert.equal((await a.get('/admin')).status, 200, 'used within the idle window');
    clock.advance(30 * 60_000);
    const idle = await a.get('/admin');
    assert.equal(idle.status, 303, 'idle for 30 minutes: signed out');

    await a.signIn(SECRET);
    const kept = a.cookie ?? '';
    const out = await a.post('/admin/sign-out', {});
    assert.equal(out.status, 303);
    assert.equal(out.location, '/admin/sign-in?signed_out=1');
    assert.match(out.res.headers.get('set-cookie') ?? '', /Max-Age=0/);
    assert.equal(await gw.store.db.selectFrom('admin_sessions').select('id').where('token_hash', '=', hashToken(`${binding}:${kept.split('=')[1] ?? ''}`)).executeTakeFirst(), undefined, 'the row is gone');
    const replay = await gw.app.request('/admin', { headers: { cookie: kept } });
    assert.equal(replay.status, 303, 'the old cookie opens nothing');
    assert.equal((await gw.repos.audit.query({ action: 'admin.signed_out' })).length, 1);
  });

  test('failed sign-ins pause sign-in per address for the window, without checking the secret', { timeout: 180_000 }, async () => {
    const a = agentFor(gw);
    clock.advance(SIGN_IN_THROTTLE.windowMs);
    for (let i = 0; i < SIGN_IN_THROTTLE.perAddress; i++) assert.equal((await a.post('/admin/sign-in', { secret: `guess-${i}` })).status, 401);
    const paused = await a.post('/admin/sign-in', { secret: SECRET });
    assert.equal(paused.status, 429);
    assert.equal(paused.res.headers.get('retry-after'), String(SIGN_IN_THROTTLE.windowMs / 1000));
    assert.equal(a.cookie, undefined, 'even the right secret does not sign in while paused');
    assert.equal(await gw.repos.audit.count({ action: 'admin.sign_in_failed', since: clock.now() - SIGN_IN_THROTTLE.windowMs }), SIGN_IN_THROTTLE.perAddress, 'a paused attempt is not written');
    clock.advance(SIGN_IN_THROTTLE.windowMs + 1);
    assert.equal((await a.post('/admin/sign-in', { secret: SECRET })).status, 303);
  });
});

test('a new admin secret ends every session made under the old one', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onbehalf-admin-'));
  const env = { ONBEHALF_DATA_DIR: dir, ONBEHALF_BASE_URL: 'http://127.0.0.1:4000' };
  const first = await createGateway(loadConfig({ ...env, ONBEHALF_ADMIN_SECRET: SECRET }, {}, dir), { logger: silentLogger() });
  const a = agentFor(first);
  let cookie: string;
  try {
    await a.signIn(SECRET);
    cookie = a.cookie ?? '';
    assert.equal((await first.app.request('/admin', { headers: { cookie } })).status, 200);
  } finally {
    await first.close();
  }
  const rotated = await createGateway(loadConfig({ ...env, ONBEHALF_ADMIN_SECRET: `${SECRET}-rotated` }, {}, dir), { logger: silentLogger() });
  try {
    assert.equal((await rotated.app.request('/admin', { headers: { cookie } })).status, 303, 'the old cookie opens nothing');
  } finally {
    await rotated.close();
  }
  const back = await createGateway(loadConfig({ ...env, ONBEHALF_ADMIN_SECRET: SECRET }, {}, dir), { logger: silentLogger() });
  try {
    assert.equal((await back.app.request('/admin', { headers: { cookie } })).status, 200, 'same secret, same session: the refusal above came from the rotation');
  } finally {
    await back.close();
  }
});

test('admin console over https: __Host- cookie, Secure, Path=/', { timeout: 180_000 }, async () => {
  const gw = await gateway({ ONBEHALF_ADMIN_SECRET: SECRET, ONBEHALF_BASE_URL: 'https://gw.example.com' });
  try {
    const a = agentFor(gw);
    const ok = await a.post('/admin/sign-in', { secret: SECRET });
    assert.match(ok.res.headers.get('set-cookie') ?? '', /^__Host-onbehalf_admin=oba_[\w-]+; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=43200$/);
    assert.equal((await a.get('/admin')).status, 200);
  } finally {
    await gw.close();
  }
});

test('with no admin secret the console is off and says how to turn it on', { timeout: 180_000 }, async () => {
  const gw = await gateway({});
  try {
    const a = agentFor(gw);
    const r = await a.get('/admin');
    assert.equal(r.status, 303);
    const page = await a.get(r.location ?? '');
    assert.match(page.html, /The admin console is off/);
    assert.match(page.html, /ONBEHALF_ADMIN_SECRET/);
    assert.ok(!page.html.includes('name="secret"'), 'no secret field when there is no secret');
    const post = await a.post('/admin/sign-in', { secret: 'anything-at-all-anything-at-all-1' });
    assert.equal(post.status, 403);
    assert.equal(a.cookie, undefined);
    // A session row made behind the console's back still opens nothing while the console is off.
    const { token } = await gw.repos.adminSessions.create({ maxAgeMs: 3_600_000, clientIp: null });
    assert.equal((await gw.app.request('/admin', { headers: { cookie: `onbehalf_admin=${token}` } })).status, 303);
  } finally {
    await gw.close();
  }
});

test('plain http off loopback: a warning at start and on the sign-in page', { timeout: 180_000 }, async () => {
  let logged = '';
  const dir = mkdtempSync(join(tmpdir(), 'onbehalf-admin-'));
  const logger = createLogger({ level: 'warn', destination: new Writable({ write(chunk, _e, cb) { logged += String(chunk); cb(); } }) });
  const gw = await createGateway(loadConfig({ ONBEHALF_DATA_DIR: dir, ONBEHALF_ADMIN_SECRET: SECRET, ONBEHALF_BASE_URL: 'http://gateway.internal:4000' }, {}, dir), { logger });
  try {
    assert.match(logged, /admin console is on, but ONBEHALF_BASE_URL is plain http on a non-loopback host/);
    assert.ok(!logged.includes(SECRET), 'the secret is never logged');
    const page = await agentFor(gw).get('/admin/sign-in');
    assert.match(page.html, /served over plain http: the secret and the session travel unencrypted/);
  } finally {
    await gw.close();
  }
  const local = await gateway({ ONBEHALF_ADMIN_SECRET: SECRET, ONBEHALF_BASE_URL: 'http://127.0.0.1:4000' });
  try {
    assert.ok(!(await agentFor(local).get('/admin/sign-in')).html.includes('plain http'));
  } finally {
    await local.close();
  }
});
