import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandboxServer } from './start-sandbox-server.js';
import { startTestConnectAppServer } from './testing/start-test-connect-app-server.js';
import { computeQsh } from './jwt/canonical-request.js';
import { signHmacJwt } from './jwt/hs256.js';
import { DEFAULT_ACCOUNTS, DEFAULT_OAUTH_CLIENT } from './seed/default-seed.js';

describe('over real HTTP: Connect JWT, email, lifecycle, 3LO refresh', () => {
  test('app JWT over the wire (qsh after /wiki), email API, restricted page, disable/uninstall', { timeout: 180_000 }, async (t) => {
    const sb = await startSandboxServer();
    const app = await startTestConnectAppServer();
    t.after(async () => {
      await app.close();
      await sb.close();
    });
    const res = await fetch(`${sb.url}/_sandbox/sites/acme/apps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ descriptorUrl: app.testApp.descriptorUrl }) });
    const info = (await res.json()) as { key: string; clientKey: string; sharedSecret: string; baseUrl: string };
    const jwtCall = (method: string, path: string) => {
      const now = Math.floor(sb.sandbox.clock.now() / 1000);
      const token = signHmacJwt({ iss: info.key, iat: now, exp: now + 180, qsh: computeQsh({ method, url: path }), aud: [info.clientKey] }, info.sharedSecret);
      return fetch(`${info.baseUrl}${path}`, { method, headers: { authorization: `JWT ${token}` } });
    };
    const search = `/rest/api/search/user?cql=${encodeURIComponent('user.fullname~"bob"')}&limit=10`;
    const found = await jwtCall('GET', search);
    assert.equal(found.status, 200);
    const results = ((await found.json()) as { results: { user: { accountId: string; email: string | null } }[] }).results;
    assert.deepEqual(results.map((r) => [r.user.accountId, r.user.email]), [[DEFAULT_ACCOUNTS.bob, null]]);
    const email = await jwtCall('GET', `/rest/api/user/email?accountId=${DEFAULT_ACCOUNTS.bob}`);
    assert.deepEqual(await email.json(), { accountId: DEFAULT_ACCOUNTS.bob, email: 'bob@acme.example' });
    assert.equal((await jwtCall('GET', '/api/v2/pages/98308')).status, 404);
    assert.equal((await fetch(`${sb.url}/_sandbox/sites/acme/apps/${info.key}/disable`, { method: 'POST' })).status, 200);
    assert.equal((await jwtCall('GET', '/rest/api/user/current')).status, 401);
    assert.ok(app.testApp.received.some((r) => r.path === '/disabled'));
    assert.equal((await fetch(`${sb.url}/_sandbox/sites/acme/apps/${info.key}`, { method: 'DELETE' })).status, 200);
    assert.ok(app.testApp.received.some((r) => r.path === '/uninstalled'));
    const after = (await (await fetch(`${sb.url}/_sandbox/sites/acme/apps/${info.key}`)).json()) as { installed: boolean };
    assert.equal(after.installed, false);
  });

  test('3LO over the wire: missing scope 401, refresh rotation, reuse after the leeway kills the family', { timeout: 180_000 }, async (t) => {
    const sb = await startSandboxServer();
    t.after(() => sb.close());
    const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const redirectUri = 'http://127.0.0.1:8080/callback';
    const { code } = (await (await post(`${sb.url}/_sandbox/oauth/codes`, { clientId: DEFAULT_OAUTH_CLIENT.clientId, accountId: DEFAULT_ACCOUNTS.bob, redirectUri, scopes: ['read:page:confluence', 'offline_access'] })).json()) as { code: string };
    const client = { client_id: DEFAULT_OAUTH_CLIENT.clientId, client_secret: DEFAULT_OAUTH_CLIENT.clientSecret };
    const first = (await (await post(`${sb.url}/oauth/token`, { grant_type: 'authorization_code', ...client, code, redirect_uri: redirectUri })).json()) as { access_token: string; refresh_token: string };
    const cloudId = sb.sandbox.control.discovery().sites[0]!.cloudId;
    const denied = await fetch(`${sb.url}/ex/confluence/${cloudId}/wiki/rest/api/user/current`, { headers: { authorization: `Bearer ${first.access_token}` } });
    assert.equal(denied.status, 401);
    assert.deepEqual(await denied.json(), { code: 401, message: 'Unauthorized; scope does not match' });
    const second = (await (await post(`${sb.url}/oauth/token`, { grant_type: 'refresh_token', ...client, refresh_token: first.refresh_token })).json()) as { refresh_token: string };
    assert.notEqual(second.refresh_token, first.refresh_token);
    await post(`${sb.url}/_sandbox/clock/advance`, { ms: 10 * 60 * 1000 + 1 });
    const reuse = await post(`${sb.url}/oauth/token`, { grant_type: 'refresh_token', ...client, refresh_token: first.refresh_token });
    assert.equal(reuse.status, 403);
    assert.deepEqual(await reuse.json(), { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' });
    assert.equal((await post(`${sb.url}/oauth/token`, { grant_type: 'refresh_token', ...client, refresh_token: second.refresh_token })).status, 403);
    const counters = (await (await fetch(`${sb.url}/_sandbox/counters?app=${DEFAULT_OAUTH_CLIENT.clientId}`)).json()) as { totals: Record<string, number> };
    assert.equal(counters.totals['refresh_grant'], 1);
    assert.equal(counters.totals['authorization_code_grant'], 1);
  });
});
