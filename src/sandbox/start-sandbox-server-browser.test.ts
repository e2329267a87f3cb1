import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandboxServer } from './start-sandbox-server.js';
import { startTestConnectAppServer } from './testing/start-test-connect-app-server.js';
import { verifyConnectJwt } from './jwt/verify-connect-jwt.js';
import { DEFAULT_ACCOUNTS, DEFAULT_OAUTH_CLIENT } from './seed/default-seed.js';

describe('over real HTTP: browser flows and rate limits', () => {
  test('3LO consent flow with a cookie session, then a module page for the same signed-in user', { timeout: 180_000 }, async (t) => {
    const sb = await startSandboxServer();
    const app = await startTestConnectAppServer();
    t.after(async () => {
      await app.close();
      await sb.close();
    });
    const redirectUri = 'http://localhost:7777/callback';
    const q = new URLSearchParams({ audience: 'api.atlassian.com', client_id: DEFAULT_OAUTH_CLIENT.clientId, scope: 'read:me offline_access', redirect_uri: redirectUri, state: 's1', response_type: 'code', prompt: 'consent' });
    const toLogin = await fetch(`${sb.url}/authorize?${q}`, { redirect: 'manual' });
    assert.equal(toLogin.status, 302);
    const returnTo = new URL(toLogin.headers.get('location')!, sb.url).searchParams.get('returnTo')!;
    const login = await fetch(`${sb.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ accountId: DEFAULT_ACCOUNTS.alice, returnTo }), redirect: 'manual' });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const consent = await (await fetch(new URL(login.headers.get('location')!, sb.url), { headers: { cookie } })).text();
    const nonce = /name="consent" value="([^"]+)"/.exec(consent)![1]!;
    const decided = await fetch(`${sb.url}/authorize/decision`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ consent: nonce, decision: 'accept' }), redirect: 'manual' });
    const cb = new URL(decided.headers.get('location')!);
    assert.equal(cb.searchParams.get('state'), 's1');
    const tok = (await (await fetch(`${sb.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', client_id: DEFAULT_OAUTH_CLIENT.clientId, client_secret: DEFAULT_OAUTH_CLIENT.clientSecret, code: cb.searchParams.get('code'), redirect_uri: redirectUri }) })).json()) as { access_token: string; refresh_token: string };
    const me = (await (await fetch(`${sb.url}/me`, { headers: { authorization: `Bearer ${tok.access_token}` } })).json()) as { account_id: string };
    assert.equal(me.account_id, DEFAULT_ACCOUNTS.alice);
    assert.ok(tok.refresh_token);

    const installed = await sb.sandbox.control.installApp('acme', app.testApp.descriptorUrl);
    assert.ok(installed.ok);
    const page = await (await fetch(`${sb.url}/s/acme/wiki/plugins/servlet/ac/${installed.install.appKey}/configure`, { headers: { cookie } })).text();
    const src = /<iframe[^>]* src="([^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&');
    assert.ok(src.startsWith(`${app.testApp.baseUrl}/configure?`));
    const v = verifyConnectJwt({ token: new URL(src).searchParams.get('jwt')!, secretFor: () => installed.install.sharedSecret, method: 'GET', url: src, nowSeconds: Math.floor(sb.sandbox.clock.now() / 1000) });
    assert.ok(v.ok);
    assert.equal(v.claims['sub'], DEFAULT_ACCOUNTS.alice);
    const allJs = await fetch(`${sb.url}/atlassian-connect/all.js`);
    assert.match(await allJs.text(), /type: 'init'/);
  });

  test('429 with headers over HTTP from a per-site rule set through the control API', { timeout: 180_000 }, async (t) => {
    const sb = await startSandboxServer();
    t.after(() => sb.close());
    const rule = await fetch(`${sb.url}/_sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'rate_limit', match: { site: 'acme' }, limit: 2, windowMs: 30_000, per: 'site', reason: 'confluence-quota-global-based' }) });
    assert.equal(rule.status, 201);
    const auth = `Basic ${Buffer.from('alice@acme.example:alice-api-token').toString('base64')}`;
    const statuses: number[] = [];
    let last: Response | null = null;
    for (let i = 0; i < 3; i++) {
      last = await fetch(`${sb.url}/s/acme/wiki/rest/api/user/current`, { headers: { authorization: auth } });
      statuses.push(last.status);
      await last.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.equal(last!.headers.get('retry-after'), '30');
    assert.equal(last!.headers.get('ratelimit-reason'), 'confluence-quota-global-based');
    assert.match(last!.headers.get('x-ratelimit-reset') ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$/);
    await fetch(`${sb.url}/_sandbox/clock/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ms: 30_000 }) });
    assert.equal((await fetch(`${sb.url}/s/acme/wiki/rest/api/user/current`, { headers: { authorization: auth } })).status, 200);
  });
});
