import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { createConsoleAgent, type ConsoleAgent } from '../support/console-agent.js';
import { clickAllow, createApiWorld, GATEWAY_ORIGIN, SANDBOX_ORIGIN, type ApiWorld } from './support/api-world.js';

const SECRET = 'activity-test-secret-activity-test-secret';

/** The console's activity view over the gateway's own app: what the proxy recorded, filters, and "try it". */
describe('admin console: activity', () => {
  let w: ApiWorld;
  let key: string;
  let a: ConsoleAgent;
  before(async () => {
    w = await createApiWorld({ ONBEHALF_ADMIN_SECRET: SECRET });
    key = await w.apiKey();
    const s = await w.gateway.linking.sessions.start({ externalUserId: 'u-act', route: 'connect', cloudId: w.cloudId, requireConfirmation: false });
    await clickAllow(w.fetch, SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.alice, s.url);
    a = createConsoleAgent((url, init) => w.gateway.app.request(url, init), GATEWAY_ORIGIN);
    await a.signIn(SECRET);
  }, { timeout: 120_000 });
  after(async () => {
    await w.close();
  }, { timeout: 120_000 });
  const act = (user: string, path: string) => w.gateway.app.request(`${GATEWAY_ORIGIN}/v1/act/${user}/acme${path}`, { headers: { authorization: `Bearer ${key}`, 'x-request-id': `req-${user}-1` } });

  test('each proxied call shows who, as whom, route, method, path, upstream status, latency and request id; never the key or a token', { timeout: 180_000 }, async () => {
    assert.equal((await act('u-act', '/api/v2/pages/98305?access_token=leak-me')).status, 200);
    assert.equal((await act('u-nobody', '/api/v2/spaces')).status, 404);
    const page = await a.get('/admin/activity');
    assert.equal(page.status, 200);
    const rows = page.html.split('<tr>').slice(2);
    const ok = rows.find((r) => r.includes('req-u-act-1'));
    assert.ok(ok, 'the linked call is listed with its request id');
    assert.match(ok, /GET \/api\/v2\/pages\/98305/);
    assert.match(ok, new RegExp(DEFAULT_ACCOUNTS.alice));
    assert.match(ok, />connect</);
    assert.match(ok, /status active">200</);
    assert.match(ok, /\d+ ms/);
    const refused = rows.find((r) => r.includes('req-u-nobody-1'));
    assert.ok(refused);
    assert.match(refused, /USER_NOT_LINKED/);
    assert.doesNotMatch(page.html, /leak-me/, 'credential-like query values are hidden');
    assert.ok(!page.html.includes(key) && !page.html.includes(key.slice(4, 20)), 'the API key never shows');
    assert.match(page.html, /this gateway instance/);
  });

  test('filters narrow the list by user and outcome', { timeout: 180_000 }, async () => {
    const mine = await a.get('/admin/activity?user=u-act');
    assert.match(mine.html, /req-u-act-1/);
    assert.doesNotMatch(mine.html, /req-u-nobody-1/);
    const refused = await a.get('/admin/activity?outcome=refused');
    assert.match(refused.html, /req-u-nobody-1/);
    assert.doesNotMatch(refused.html, /req-u-act-1/);
  });

  test('"try it": a test GET as a linked user shows Confluence\'s answer and is recorded; a link session can be started', { timeout: 180_000 }, async () => {
    const call = await a.post('/admin/activity/try', { action: 'call', externalUserId: 'u-act', site: 'acme', path: '/api/v2/pages/98305' });
    assert.equal(call.status, 200);
    assert.match(call.html, /Confluence answered <strong>200<\/strong>/);
    assert.match(call.html, /Engineering Home/);
    assert.match((await a.get('/admin/activity?caller=admin+console')).html, /GET \/api\/v2\/pages\/98305/);

    const notLinked = await a.post('/admin/activity/try', { action: 'call', externalUserId: 'u-ghost', site: 'acme', path: '/api/v2/spaces' });
    assert.equal(notLinked.status, 400);
    assert.match(notLinked.html, /USER_NOT_LINKED/);

    const link = await a.post('/admin/activity/try', { action: 'link', externalUserId: 'u-new', site: 'acme', route: 'connect' });
    assert.equal(link.status, 200);
    const url = /id="try-link-url"[^>]*value="([^"]+)"/.exec(link.html)?.[1] ?? /value="([^"]+)"[^>]*id="try-link-url"/.exec(link.html)?.[1];
    assert.ok(url?.startsWith(`${GATEWAY_ORIGIN}/link/`), `a link URL is shown: ${url}`);
    const r = await clickAllow(w.fetch, SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.bob, url!.replace(/&amp;/g, '&'));
    assert.equal(r.status, 'linked');
    const audit = await w.gateway.repos.audit.query({ action: 'link_session.started_in_console', limit: 5 });
    assert.equal(audit.length, 1);
  });

  test('bad "try it" input is refused with a clear message and changes nothing', { timeout: 180_000 }, async () => {
    const before = (await w.gateway.repos.audit.query({ limit: 1000 })).length;
    const r = await a.post('/admin/activity/try', { action: 'link', externalUserId: '', site: 'acme' });
    assert.equal(r.status, 400);
    assert.match(r.html, /Give a user ID and pick a site/);
    const badPath = await a.post('/admin/activity/try', { action: 'call', externalUserId: 'u-act', site: 'acme', path: 'https://evil.test/x' });
    assert.equal(badPath.status, 400);
    assert.equal((await w.gateway.repos.audit.query({ limit: 1000 })).length, before);
  });
});
