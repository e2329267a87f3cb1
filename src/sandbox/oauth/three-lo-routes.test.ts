import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../clock.js';
import { createSandbox } from '../create-sandbox.js';
import { DEFAULT_ACCOUNTS, DEFAULT_OAUTH_CLIENT, DEFAULT_SERVICE_ACCOUNT } from '../seed/default-seed.js';

const REDIRECT = 'http://127.0.0.1:4567/callback';
const DAY = 24 * 3600 * 1000;

function setup() {
  const sandbox = createSandbox({ clock: createManualClock(Date.UTC(2026, 5, 1)) });
  const d = sandbox.control.discovery();
  const token = async (body: Record<string, string>, asForm = false) => {
    const res = await sandbox.fetch(d.endpoints.token, {
      method: 'POST',
      headers: { 'content-type': asForm ? 'application/x-www-form-urlencoded' : 'application/json' },
      body: asForm ? new URLSearchParams(body).toString() : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string | number> };
  };
  const client = { client_id: DEFAULT_OAUTH_CLIENT.clientId, client_secret: DEFAULT_OAUTH_CLIENT.clientSecret };
  const codeFor = (scopes: string[], accountId: string = DEFAULT_ACCOUNTS.bob) =>
    sandbox.control.issueAuthorizationCode({ clientId: DEFAULT_OAUTH_CLIENT.clientId, accountId, redirectUri: REDIRECT, scopes });
  const exchange = (code: string) => token({ grant_type: 'authorization_code', ...client, code, redirect_uri: REDIRECT });
  const refresh = (refresh_token: string) => token({ grant_type: 'refresh_token', ...client, refresh_token });
  return { sandbox, d, token, client, codeFor, exchange, refresh };
}

const ALL = ['read:page:confluence', 'write:page:confluence', 'read:confluence-user', 'read:me', 'offline_access'];

describe('3LO browser flow: sign-in, consent, Accept/Deny', () => {
  async function toConsent(sandbox: ReturnType<typeof setup>['sandbox']) {
    const q = new URLSearchParams({ audience: 'api.atlassian.com', client_id: DEFAULT_OAUTH_CLIENT.clientId, scope: 'read:page:confluence offline_access', redirect_uri: REDIRECT, state: 'xyz', response_type: 'code', prompt: 'consent' });
    const first = await sandbox.fetch(`${sandbox.origin}/authorize?${q}`, { redirect: 'manual' });
    assert.equal(first.status, 302);
    const login = first.headers.get('location')!;
    assert.match(login, /^\/login\?returnTo=/);
    const returnTo = new URL(login, sandbox.origin).searchParams.get('returnTo')!;
    const loginPage = await (await sandbox.fetch(`${sandbox.origin}${login}`)).text();
    assert.ok(loginPage.includes(DEFAULT_ACCOUNTS.bob));
    assert.ok(!loginPage.includes(DEFAULT_ACCOUNTS.erin), 'inactive users are not offered');
    const signedIn = await sandbox.fetch(`${sandbox.origin}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ accountId: DEFAULT_ACCOUNTS.bob, returnTo }).toString(),
      redirect: 'manual',
    });
    assert.equal(signedIn.status, 302);
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
    const consent = await sandbox.fetch(`${sandbox.origin}${signedIn.headers.get('location')}`, { headers: { cookie } });
    const html = await consent.text();
    assert.ok(html.includes('data-scope="read:page:confluence"') && html.includes('data-scope="offline_access"'));
    const nonce = /name="consent" value="([^"]+)"/.exec(html)![1]!;
    const decide = (decision: string) =>
      sandbox.fetch(`${sandbox.origin}/authorize/decision`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ consent: nonce, decision }).toString(),
        redirect: 'manual',
      });
    return { decide };
  }
  test('Accept redirects with code and state; the code exchanges for tokens', async () => {
    const { sandbox, exchange } = setup();
    const { decide } = await toConsent(sandbox);
    const res = await decide('accept');
    const loc = new URL(res.headers.get('location')!);
    assert.equal(loc.origin + loc.pathname, REDIRECT);
    assert.equal(loc.searchParams.get('state'), 'xyz');
    const t = await exchange(loc.searchParams.get('code')!);
    assert.equal(t.status, 200);
    assert.equal(t.body['expires_in'], 3600);
    assert.equal(t.body['scope'], 'read:page:confluence offline_access');
    assert.ok(t.body['refresh_token']);
  });
  test('Deny redirects with error=access_denied', async () => {
    const { sandbox } = setup();
    const { decide } = await toConsent(sandbox);
    const loc = new URL((await decide('deny')).headers.get('location')!);
    assert.equal(loc.searchParams.get('error'), 'access_denied');
    assert.equal(loc.searchParams.get('state'), 'xyz');
    assert.equal(loc.searchParams.get('code'), null);
  });
  test('bad client_id / redirect_uri / missing state are errors on the page; unknown scope redirects invalid_scope', async () => {
    const { sandbox } = setup();
    const go = (p: Record<string, string>) => sandbox.fetch(`${sandbox.origin}/authorize?${new URLSearchParams({ client_id: DEFAULT_OAUTH_CLIENT.clientId, scope: 'read:me', redirect_uri: REDIRECT, state: 's', response_type: 'code', ...p })}`, { redirect: 'manual' });
    assert.equal((await go({ client_id: 'nope' })).status, 400);
    assert.equal((await go({ redirect_uri: 'https://evil.example/cb' })).status, 400);
    assert.equal((await go({ state: '' })).status, 400);
    const bad = await go({ scope: 'read:me manage:jira-configuration' });
    assert.equal(new URL(bad.headers.get('location')!).searchParams.get('error'), 'invalid_scope');
  });
});

describe('3LO tokens, API, rotation and expiry', () => {
  test('access token works on the gateway path only, scopes enforced with the documented 401 body', async () => {
    const { sandbox, d, codeFor, exchange } = setup();
    const t = await exchange(codeFor(['read:page:confluence', 'offline_access']));
    const at = t.body['access_token'] as string;
    const acme = d.sites[0]!;
    const ok = await sandbox.fetch(`${acme.gatewayBaseUrl}/api/v2/pages/98305`, { headers: { authorization: `Bearer ${at}` } });
    assert.equal(ok.status, 200);
    const noScope = await sandbox.fetch(`${acme.gatewayBaseUrl}/rest/api/user/current`, { headers: { authorization: `Bearer ${at}` } });
    assert.equal(noScope.status, 401);
    assert.deepEqual(await noScope.json(), { code: 401, message: 'Unauthorized; scope does not match' });
    assert.equal((await sandbox.fetch(`${acme.baseUrl}/api/v2/pages/98305`, { headers: { authorization: `Bearer ${at}` } })).status, 401, 'not at the site URL');
    assert.equal((await sandbox.fetch(`${acme.gatewayBaseUrl}/api/v2/pages/98308`, { headers: { authorization: `Bearer ${at}` } })).status, 404, 'bob cannot see the restricted page');
    const email = await sandbox.fetch(`${acme.gatewayBaseUrl}/rest/api/user/email?accountId=${DEFAULT_ACCOUNTS.alice}`, { headers: { authorization: `Bearer ${at}` } });
    assert.equal(email.status, 400, '/user/email is not for 3LO tokens');
    sandbox.clock.advance(3600_000);
    assert.equal((await sandbox.fetch(`${acme.gatewayBaseUrl}/api/v2/pages/98305`, { headers: { authorization: `Bearer ${at}` } })).status, 401, 'expired after 3600 s');
  });
  test('accessible-resources lists the user\'s sites; /me needs read:me and shows the email even when hidden', async () => {
    const { sandbox, d, codeFor, exchange } = setup();
    const bob = (await exchange(codeFor(ALL))).body['access_token'] as string;
    const res = (await (await sandbox.fetch(d.endpoints.accessibleResources, { headers: { authorization: `Bearer ${bob}` } })).json()) as { id: string; url: string; scopes: string[] }[];
    assert.deepEqual(res.map((r) => r.id), [d.sites[0]!.cloudId, d.sites[1]!.cloudId]);
    assert.equal(res[0]!.url, `${sandbox.origin}/s/acme`);
    const me = (await (await sandbox.fetch(d.endpoints.me, { headers: { authorization: `Bearer ${bob}` } })).json()) as Record<string, string>;
    assert.equal(me['account_id'], DEFAULT_ACCOUNTS.bob);
    assert.equal(me['email'], 'bob@acme.example');
    const dave = (await exchange(codeFor(['read:page:confluence'], DEFAULT_ACCOUNTS.dave))).body['access_token'] as string;
    const daveSites = (await (await sandbox.fetch(d.endpoints.accessibleResources, { headers: { authorization: `Bearer ${dave}` } })).json()) as unknown[];
    assert.equal(daveSites.length, 1);
    const noMe = await sandbox.fetch(d.endpoints.me, { headers: { authorization: `Bearer ${dave}` } });
    assert.equal(noMe.status, 401);
    assert.equal((await sandbox.fetch(d.endpoints.me)).status, 401);
  });
  test('code exchange: single use, client secret and redirect_uri checked, form bodies accepted; no offline_access = no refresh token', async () => {
    const { codeFor, exchange, token, client } = setup();
    const code = codeFor(['read:page:confluence']);
    assert.equal((await token({ grant_type: 'authorization_code', client_id: client.client_id, client_secret: 'wrong-secret', code, redirect_uri: REDIRECT })).status, 401);
    assert.equal((await token({ grant_type: 'authorization_code', ...client, code, redirect_uri: 'http://127.0.0.1:1/other' })).body['error'], 'invalid_grant');
    const ok = await token({ grant_type: 'authorization_code', ...client, code, redirect_uri: REDIRECT }, true);
    assert.equal(ok.status, 200);
    assert.equal(ok.body['refresh_token'], undefined);
    const again = await exchange(code);
    assert.equal(again.status, 403);
    assert.equal(again.body['error'], 'invalid_grant');
    assert.equal((await token({ grant_type: 'password', ...client })).body['error'], 'unsupported_grant_type');
  });
  test('refresh rotates; reuse inside the 10-minute leeway works; after it, 403 and the whole family is revoked', async () => {
    const { sandbox, codeFor, exchange, refresh } = setup();
    const first = await exchange(codeFor(ALL));
    const r0 = first.body['refresh_token'] as string;
    const second = await refresh(r0);
    assert.equal(second.status, 200);
    const r1 = second.body['refresh_token'] as string;
    assert.notEqual(r1, r0);
    sandbox.clock.advance(9 * 60 * 1000);
    const reuse = await refresh(r0);
    assert.equal(reuse.status, 200, 'reuse inside the leeway is allowed');
    sandbox.clock.advance(2 * 60 * 1000);
    const late = await refresh(r0);
    assert.equal(late.status, 403);
    assert.deepEqual(late.body, { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' });
    const newest = await refresh(r1);
    assert.equal(newest.status, 403, 'family revoked: the newest token is dead too');
    assert.equal(sandbox.control.counters.total('refresh_grant', { app: DEFAULT_OAUTH_CLIENT.clientId }), 2);
  });
  test('the leeway is configurable at run time', async () => {
    const { sandbox, codeFor, exchange, refresh } = setup();
    await sandbox.fetch(`${sandbox.origin}/_sandbox/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshTokenReuseLeewayMs: 1000 }) });
    const r0 = (await exchange(codeFor(ALL))).body['refresh_token'] as string;
    await refresh(r0);
    sandbox.clock.advance(1001);
    assert.equal((await refresh(r0)).status, 403);
  });
  test('90-day inactivity expiry, reset by each refresh', async () => {
    const { sandbox, codeFor, exchange, refresh } = setup();
    let rt = (await exchange(codeFor(ALL))).body['refresh_token'] as string;
    sandbox.clock.advance(89 * DAY);
    rt = (await refresh(rt)).body['refresh_token'] as string;
    sandbox.clock.advance(89 * DAY);
    const alive = await refresh(rt);
    assert.equal(alive.status, 200);
    sandbox.clock.advance(90 * DAY);
    assert.equal((await refresh(alive.body['refresh_token'] as string)).status, 403);
  });
  test('365-day absolute expiry despite regular refreshes', async () => {
    const { sandbox, codeFor, exchange, refresh } = setup();
    let rt = (await exchange(codeFor(ALL))).body['refresh_token'] as string;
    for (let i = 0; i < 6; i++) {
      sandbox.clock.advance(60 * DAY);
      const r = await refresh(rt);
      assert.equal(r.status, 200, `refresh ${i}`);
      rt = r.body['refresh_token'] as string;
    }
    sandbox.clock.advance(6 * DAY);
    const expired = await refresh(rt);
    assert.equal(expired.status, 403);
    assert.equal(expired.body['error_description'], 'Unknown or invalid refresh token.');
  });
  test('service account client_credentials: a 1-hour token for the app user on the gateway path, no refresh token', async () => {
    const { sandbox, d, token } = setup();
    const t = await token({ grant_type: 'client_credentials', client_id: DEFAULT_SERVICE_ACCOUNT.clientId, client_secret: DEFAULT_SERVICE_ACCOUNT.clientSecret, audience: 'api.atlassian.com' });
    assert.equal(t.status, 200);
    assert.equal(t.body['expires_in'], 3600);
    assert.equal(t.body['refresh_token'], undefined);
    const at = t.body['access_token'] as string;
    const me = await sandbox.fetch(`${d.sites[0]!.gatewayBaseUrl}/rest/api/user/current`, { headers: { authorization: `Bearer ${at}` } });
    assert.equal(((await me.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.bot);
    assert.equal((await sandbox.fetch(`${d.sites[0]!.gatewayBaseUrl}/api/v2/pages/98308`, { headers: { authorization: `Bearer ${at}` } })).status, 404);
    assert.equal((await token({ grant_type: 'client_credentials', client_id: DEFAULT_SERVICE_ACCOUNT.clientId, client_secret: 'wrong-secret' })).status, 401);
    assert.equal((await token({ grant_type: 'client_credentials', client_id: DEFAULT_SERVICE_ACCOUNT.clientId, client_secret: DEFAULT_SERVICE_ACCOUNT.clientSecret, scope: 'manage:confluence-configuration' })).status, 403);
    assert.equal(sandbox.control.counters.total('client_credentials_grant', { app: DEFAULT_SERVICE_ACCOUNT.clientId }), 1);
  });
  test('a deactivated user can no longer refresh; an unknown refresh token is 403', async () => {
    const { sandbox, codeFor, exchange, refresh } = setup();
    const rt = (await exchange(codeFor(ALL))).body['refresh_token'] as string;
    sandbox.control.updateUser(DEFAULT_ACCOUNTS.bob, { accountStatus: 'inactive' });
    assert.equal((await refresh(rt)).status, 403);
    assert.equal((await refresh('made-up')).status, 403);
  });
});
