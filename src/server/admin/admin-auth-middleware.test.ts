import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import { GatewayError } from '../../errors.js';
import { silentLogger } from '../../logger.js';
import { testBackends } from '../../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../../store/test-support/open-test-store.js';
import { createApp } from '../create-app.js';
import { createMetrics } from '../metrics.js';
import { errorHandler } from '../middleware/error-handler.js';
import type { RouteDef } from '../routes.js';
import { adminAuth, MAX_FORM_BYTES } from './admin-auth.js';
import { adminOf, formOf } from './admin-deps.js';
import { csrfTokenFor, sessionBinding } from './admin-security.js';

/**
 * The console's guard (admin-auth.tsx) on its own: the gateway's real app shell (createApp: request ids,
 * the error handler, the route table) with the admin middleware in front of a few pages, on a real SQLite
 * file. Sessions are made as sign-in makes them (the sessions repo, bound to the secret); sign-in itself
 * is tested with a whole gateway in admin-auth.test.ts. Milliseconds per test, so mutation runs fit.
 */

const SECRET = 'correct-horse-battery-staple-0123456789';
const BASE = 'http://127.0.0.1:4000';
const IDLE_MS = 30 * 60_000;
const MAX_MS = 12 * 3600_000;
const SIGNED_OUT = 'Your console session has ended (or never began); nothing was changed. Sign in again.';
const CROSS_SITE = 'This form was not sent from the console itself (its Origin is another site), so nothing was changed.';
const NO_TOKEN = 'The form had no valid security token (it may come from another site, or from a page older than your session). Nothing was changed; reload the page and try again.';

interface Console {
  app: Hono;
  /** Every form the POST page accepted: a refused request must add nothing here. */
  changes: Record<string, string>[];
}

function pages(changes: Record<string, string>[]): RouteDef[] {
  const page = (method: RouteDef['method'], path: string, handler: RouteDef['handler']): RouteDef => ({ method, path, auth: 'admin', summary: 'test page', handler });
  return [
    page('GET', '/admin/whoami', (c) => c.json(adminOf(c))),
    page('POST', '/admin/notes', async (c) => {
      changes.push(await formOf(c));
      return c.text('saved');
    }),
    page('GET', '/admin/conflict', () => {
      throw new GatewayError('CONFLICT', 'That link is already confirmed.');
    }),
    page('GET', '/admin/broken', () => {
      throw new Error('connect ECONNREFUSED db.internal:5432 password=hunter2');
    }),
    page('GET', '/admin/sealed', () => {
      throw new GatewayError('DECRYPT_FAILED', 'key k7 of the keyring is missing');
    }),
  ];
}

function consoleApp(t: TestStore, options: { baseUrl?: string; secret?: string | null } = {}): Console {
  const changes: Record<string, string>[] = [];
  const admin = adminAuth({
    repos: t.repos,
    baseUrl: options.baseUrl ?? BASE,
    appName: 'Test gateway',
    admin: { secret: options.secret === undefined ? SECRET : options.secret, sessionMaxMs: MAX_MS, sessionIdleMs: IDLE_MS },
  });
  const { app } = createApp({ store: t.store, logger: silentLogger(), metrics: createMetrics({ defaultMetrics: false }), version: 'test', routes: pages(changes), auth: { admin } });
  return { app, changes };
}

/** A session as sign-in starts one: its cookie and the CSRF token its pages carry. */
async function signedIn(t: TestStore): Promise<{ id: string; token: string; cookie: string; csrf: string }> {
  const { session, token } = await t.repos.adminSessions.create({ maxAgeMs: MAX_MS, clientIp: null, binding: sessionBinding(SECRET) });
  return { id: session.id, token, cookie: `onbehalf_admin=${token}`, csrf: csrfTokenFor(token) };
}

/** A form POST as a browser sends it from the console's own page (Origin and Content-Length), unless told otherwise. */
function postForm(app: Hono, path: string, fields: Record<string, string>, headers: Record<string, string | null> = {}): Promise<Response> {
  const body = new URLSearchParams(fields).toString();
  const sent: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(BASE).origin, 'content-length': String(Buffer.byteLength(body)) };
  for (const [k, v] of Object.entries(headers)) {
    if (v === null) delete sent[k];
    else sent[k] = v;
  }
  return Promise.resolve(app.request(`${BASE}${path}`, { method: 'POST', headers: sent, body }));
}

function assertConsoleHeaders(res: Response, what: string): void {
  assert.equal(res.headers.get('cache-control'), 'no-store', `${what}: never cached`);
  assert.equal(res.headers.get('referrer-policy'), 'same-origin', `${what}: Referer kept same-origin`);
}

async function refusal(res: Response, status: number, title: string, message: string): Promise<string> {
  const html = await res.text();
  assert.equal(res.status, status, html.slice(0, 400));
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.ok(html.includes(`<h1>${title}</h1>`), `title "${title}" in ${html.slice(0, 600)}`);
  assert.ok(html.includes(`<p>${message}</p>`), `message "${message}" in ${html.slice(0, 600)}`);
  assertConsoleHeaders(res, title);
  return html;
}

const BACK_LINK = '<a href="/admin">Back to the console</a>';
const SIGN_IN_LINK = '<a href="/admin/sign-in">Sign in to the console</a>';

describe('admin console guard (admin-auth.tsx) on a real SQLite store', () => {
  let t: TestStore;
  before(async () => {
    const sqlite = testBackends().find((b) => b.name === 'sqlite');
    assert.ok(sqlite);
    t = await openTestStore(sqlite);
  }, { timeout: 60_000 });
  after(async () => {
    await t?.close();
  }, { timeout: 60_000 });

  test('a GET or HEAD without a live session goes to sign-in, keeping the page it asked for', { timeout: 30_000 }, async () => {
    const { app } = consoleApp(t);
    const next = `/admin/sign-in?next=${encodeURIComponent('/admin/whoami?site=a%2Fb&q=1')}`;
    const none = await app.request(`${BASE}/admin/whoami?site=a%2Fb&q=1`);
    assert.equal(none.status, 303);
    assert.equal(none.headers.get('location'), next);
    assertConsoleHeaders(none, 'the redirect');
    const head = await app.request(`${BASE}/admin/whoami?site=a%2Fb&q=1`, { method: 'HEAD' });
    assert.equal(head.status, 303, 'HEAD reads like GET');
    assert.equal(head.headers.get('location'), next);
    const forged = await app.request(`${BASE}/admin/whoami`, { headers: { cookie: 'onbehalf_admin=oba_made-up-by-the-client' } });
    assert.equal(forged.status, 303, 'a cookie that is no session');
    assert.equal(forged.headers.get('location'), '/admin/sign-in?next=%2Fadmin%2Fwhoami');

    const under = consoleApp(t, { baseUrl: `${BASE}/gw` });
    const moved = await under.app.request(`${BASE}/admin/whoami?q=1`);
    assert.equal(moved.headers.get('location'), '/gw/admin/sign-in?next=%2Fgw%2Fadmin%2Fwhoami%3Fq%3D1', 'under a base path, both the sign-in page and next carry it');
  });

  test('a signed-in GET reaches the page as the session, with its CSRF token and frame', { timeout: 30_000 }, async () => {
    const { app } = consoleApp(t);
    const s = await signedIn(t);
    const res = await app.request(`${BASE}/admin/whoami`, { headers: { cookie: `a=1; ${s.cookie}; b=2` } });
    assert.equal(res.status, 200);
    assertConsoleHeaders(res, 'a page');
    const seen = (await res.json()) as { session: { id: string }; actorId: string; frame: Record<string, string> };
    assert.equal(seen.session.id, s.id);
    assert.equal(seen.actorId, `console:${s.id}`, 'the audit log names the session');
    assert.deepEqual(seen.frame, { basePath: '', csrf: s.csrf, appName: 'Test gateway', sessionLabel: s.id.slice(0, 8) });
    assert.equal(seen.frame['sessionLabel']?.length, 8);
    const head = await app.request(`${BASE}/admin/whoami`, { method: 'HEAD', headers: { cookie: s.cookie } });
    assert.equal(head.status, 200, 'HEAD needs no Origin or token: it changes nothing');

    const under = consoleApp(t, { baseUrl: `${BASE}/gw/` });
    const framed = (await (await under.app.request(`${BASE}/admin/whoami`, { headers: { cookie: s.cookie } })).json()) as { frame: { basePath: string } };
    assert.equal(framed.frame.basePath, '/gw');
  });

  test('a session idle for the configured time opens nothing', { timeout: 30_000 }, async () => {
    const { app } = consoleApp(t);
    const s = await signedIn(t);
    t.clock.advance(IDLE_MS - 60_000);
    assert.equal((await app.request(`${BASE}/admin/whoami`, { headers: { cookie: s.cookie } })).status, 200);
    t.clock.advance(IDLE_MS);
    assert.equal((await app.request(`${BASE}/admin/whoami`, { headers: { cookie: s.cookie } })).status, 303);
  });

  test('a POST without a live session is 401 with a way back to sign-in, and changes nothing', { timeout: 30_000 }, async () => {
    const { app, changes } = consoleApp(t);
    const s = await signedIn(t);
    const none = await postForm(app, '/admin/notes', { note: 'x', _csrf: s.csrf });
    const html = await refusal(none, 401, 'Signed out', SIGNED_OUT);
    assert.ok(html.includes(SIGN_IN_LINK), html);
    assert.ok(!html.includes(BACK_LINK));
    await t.repos.adminSessions.delete(s.token, sessionBinding(SECRET));
    await refusal(await postForm(app, '/admin/notes', { note: 'x', _csrf: s.csrf }, { cookie: s.cookie }), 401, 'Signed out', SIGNED_OUT);
    assert.deepEqual(changes, []);
  });

  test('a POST must come from the console origin (Origin, else Referer), checked before anything else', { timeout: 30_000 }, async () => {
    const { app, changes } = consoleApp(t);
    const s = await signedIn(t);
    const good = { note: 'x', _csrf: s.csrf };
    // Even with the victim's cookie and a valid token, another site's form is refused.
    const html = await refusal(await postForm(app, '/admin/notes', good, { cookie: s.cookie, origin: 'https://evil.example' }), 403, 'Request refused', CROSS_SITE);
    assert.ok(html.includes(BACK_LINK), html);
    assert.ok(!html.includes(SIGN_IN_LINK));
    await refusal(await postForm(app, '/admin/notes', good, { cookie: s.cookie, origin: null }), 403, 'Request refused', CROSS_SITE);
    await refusal(await postForm(app, '/admin/notes', good, { cookie: s.cookie, origin: null, referer: 'https://evil.example/admin/notes' }), 403, 'Request refused', CROSS_SITE);
    await refusal(await postForm(app, '/admin/notes', good, { origin: 'https://evil.example' }), 403, 'Request refused', CROSS_SITE);
    assert.deepEqual(changes, []);
    const viaReferer = await postForm(app, '/admin/notes', good, { cookie: s.cookie, origin: null, referer: `${BASE}/admin/notes` });
    assert.equal(viaReferer.status, 200, 'a browser that sends no Origin is judged by its Referer');
    assert.equal(await viaReferer.text(), 'saved');
    assert.deepEqual(changes, [{ note: 'x', _csrf: s.csrf }]);
  });

  test("a POST must carry the session's own CSRF token", { timeout: 30_000 }, async () => {
    const { app, changes } = consoleApp(t);
    const s = await signedIn(t);
    const other = await signedIn(t);
    const html = await refusal(await postForm(app, '/admin/notes', { note: 'x' }, { cookie: s.cookie }), 403, 'Request refused', NO_TOKEN);
    assert.ok(html.includes(BACK_LINK));
    await refusal(await postForm(app, '/admin/notes', { note: 'x', _csrf: '' }, { cookie: s.cookie }), 403, 'Request refused', NO_TOKEN);
    await refusal(await postForm(app, '/admin/notes', { note: 'x', _csrf: other.csrf }, { cookie: s.cookie }), 403, 'Request refused', NO_TOKEN);
    await refusal(await postForm(app, '/admin/notes', { note: 'x', _csrf: s.token }, { cookie: s.cookie }), 403, 'Request refused', NO_TOKEN);
    // A token sent as a file upload is not a form field: refused, even when the file holds the right token.
    const multipart = new FormData();
    multipart.append('note', 'x');
    multipart.append('_csrf', new Blob([s.csrf], { type: 'text/plain' }), 'token.txt');
    const asFile = new Request(`${BASE}/admin/notes`, { method: 'POST', body: multipart });
    const bytes = Buffer.from(await asFile.arrayBuffer());
    const upload = await app.request(`${BASE}/admin/notes`, {
      method: 'POST',
      headers: { cookie: s.cookie, origin: BASE, 'content-type': asFile.headers.get('content-type') ?? '', 'content-length': String(bytes.length) },
      body: bytes,
    });
    await refusal(upload, 403, 'Request refused', NO_TOKEN);
    assert.deepEqual(changes, []);
    const ok = await postForm(app, '/admin/notes', { note: 'kept', _csrf: s.csrf }, { cookie: s.cookie });
    assert.equal(ok.status, 200);
    assertConsoleHeaders(ok, 'an accepted POST');
    assert.deepEqual(changes, [{ note: 'kept', _csrf: s.csrf }]);
  });

  test(`a POST must say its length, and a form is at most ${MAX_FORM_BYTES} bytes`, { timeout: 30_000 }, async () => {
    assert.equal(MAX_FORM_BYTES, 512 * 1024);
    const { app, changes } = consoleApp(t);
    const s = await signedIn(t);
    // A body streamed without Content-Length (chunked), otherwise a valid console form.
    const streamed = await app.request(`${BASE}/admin/notes`, {
      method: 'POST',
      headers: { cookie: s.cookie, origin: BASE, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ note: 'x', _csrf: s.csrf }).toString(),
    });
    const html = await refusal(streamed, 411, 'Request refused', 'The form was sent without a length; nothing was changed.');
    assert.ok(html.includes(BACK_LINK));
    await refusal(await postForm(app, '/admin/notes', { note: 'x', _csrf: s.csrf }, { cookie: s.cookie, 'content-length': 'lots' }), 411, 'Request refused', 'The form was sent without a length; nothing was changed.');

    /** A valid form padded to exactly `bytes` bytes. */
    const sized = (bytes: number): Record<string, string> => {
      const head = new URLSearchParams({ _csrf: s.csrf, note: '' }).toString();
      return { _csrf: s.csrf, note: 'n'.repeat(bytes - Buffer.byteLength(head)) };
    };
    const over = await postForm(app, '/admin/notes', sized(MAX_FORM_BYTES + 1), { cookie: s.cookie });
    await refusal(over, 413, 'Request refused', 'The form is larger than 512 KiB; nothing was changed.');
    assert.deepEqual(changes, []);
    const atLimit = await postForm(app, '/admin/notes', sized(MAX_FORM_BYTES), { cookie: s.cookie });
    assert.equal(atLimit.status, 200, 'exactly the limit is allowed');
    assert.equal(changes.length, 1);
    assert.equal(Buffer.byteLength(new URLSearchParams(changes[0]).toString()), MAX_FORM_BYTES);
  });

  test('an error thrown by a page becomes a console page, never internal details', { timeout: 30_000 }, async () => {
    const { app } = consoleApp(t);
    const s = await signedIn(t);
    const get = (path: string) => app.request(`${BASE}${path}`, { headers: { cookie: s.cookie, 'x-request-id': 'req-42' } });

    const known = await refusal(await get('/admin/conflict'), 409, 'That did not work', 'That link is already confirmed.');
    assert.ok(known.includes(BACK_LINK));
    assert.ok(!known.includes('"error"'), 'not the API JSON envelope');

    const generic = 'Something went wrong inside the gateway; the log has the details under request id req-42.';
    const broken = await refusal(await get('/admin/broken'), 500, 'Something went wrong', generic);
    assert.ok(!broken.includes('hunter2') && !broken.includes('db.internal'), 'an unknown error says nothing of itself');
    const sealed = await refusal(await get('/admin/sealed'), 500, 'Something went wrong', generic);
    assert.ok(!sealed.includes('k7'), 'an internal code keeps its message to the log');
  });

  test('an error page in an app without request ids says only that the log has the details', { timeout: 30_000 }, async () => {
    const app = new Hono();
    app.onError(errorHandler(silentLogger()));
    app.get('/admin/broken', adminAuth({ repos: t.repos, baseUrl: BASE, appName: 'Test gateway', admin: { secret: SECRET, sessionMaxMs: MAX_MS, sessionIdleMs: IDLE_MS } }), () => {
      throw new Error('boom');
    });
    const s = await signedIn(t);
    await refusal(await app.request(`${BASE}/admin/broken`, { headers: { cookie: s.cookie } }), 500, 'Something went wrong', 'Something went wrong inside the gateway; the log has the details.');
  });

  test('sessions are bound to the admin secret: another secret, or none, opens none of them', { timeout: 30_000 }, async () => {
    const s = await signedIn(t);
    assert.equal((await consoleApp(t).app.request(`${BASE}/admin/whoami`, { headers: { cookie: s.cookie } })).status, 200, 'the session is live');
    const rotated = consoleApp(t, { secret: `${SECRET}-rotated` });
    assert.equal((await rotated.app.request(`${BASE}/admin/whoami`, { headers: { cookie: s.cookie } })).status, 303, 'a new secret ends it');

    // With the console off, no session row opens anything, whatever it was made with.
    const off = consoleApp(t, { secret: null });
    assert.equal((await off.app.request(`${BASE}/admin/whoami`)).status, 303);
    // `null` as text is what a missing secret would become if it were ever hashed in.
    const rows = [s];
    for (const binding of [undefined, '', 'null']) {
      const { token } = await t.repos.adminSessions.create({ maxAgeMs: MAX_MS, clientIp: null, ...(binding === undefined ? {} : { binding }) });
      rows.push({ id: '', token, cookie: `onbehalf_admin=${token}`, csrf: csrfTokenFor(token) });
    }
    for (const row of rows) {
      const res = await off.app.request(`${BASE}/admin/whoami`, { headers: { cookie: row.cookie } });
      assert.equal(res.status, 303, `console off: ${row.token.slice(0, 8)}`);
      await refusal(await postForm(off.app, '/admin/notes', { note: 'x', _csrf: row.csrf }, { cookie: row.cookie }), 401, 'Signed out', SIGNED_OUT);
    }
    assert.deepEqual(off.changes, []);
  });
});
