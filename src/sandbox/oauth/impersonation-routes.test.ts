import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../clock.js';
import { createSandbox } from '../create-sandbox.js';
import { createInstallKeys } from '../connect/create-install-keys.js';

const keys = createInstallKeys();
import { createTestConnectApp } from '../testing/create-test-connect-app.js';
import { signAssertion } from '../testing/sign-assertion.js';
import { DEFAULT_ACCOUNTS } from '../seed/default-seed.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

async function setup(scopes?: string[]) {
  const testApp = createTestConnectApp({ baseUrl: 'https://app.example.test', ...(scopes ? { scopes } : {}) });
  const sandbox = createSandbox({ clock: createManualClock(Date.UTC(2026, 5, 1)), fetch: testApp.fetchRouter(), installKeys: keys });
  const r = await sandbox.control.installApp('acme', testApp.descriptorUrl);
  assert.ok(r.ok);
  const info = sandbox.control.installInfo('acme', r.install.appKey)!;
  const discovery = sandbox.control.discovery();
  const assertion = (accountId: string, overrides: Record<string, unknown> = {}) =>
    signAssertion({
      oauthClientId: info.oauthClientId ?? 'none',
      accountId,
      baseUrl: info.baseUrl,
      authServer: discovery.endpoints.authServer,
      sharedSecret: info.sharedSecret,
      nowSeconds: Math.floor(sandbox.clock.now() / 1000),
      overrides,
    });
  const grant = async (form: Record<string, string>) => {
    const res = await sandbox.fetch(discovery.endpoints.impersonationToken, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { sandbox, testApp, info, discovery, assertion, grant };
}

describe('user impersonation server (JWT-bearer grant)', () => {
  test('a good assertion yields a 900 s Bearer token; the API then acts as that user', async () => {
    const { sandbox, info, assertion, grant } = await setup();
    const r = await grant({ grant_type: GRANT, assertion: assertion(DEFAULT_ACCOUNTS.bob) });
    assert.equal(r.status, 200);
    assert.equal(r.body['expires_in'], 900);
    assert.equal(r.body['token_type'], 'Bearer');
    const token = r.body['access_token'] as string;
    const res = await sandbox.fetch(`${info.baseUrl}/api/v2/pages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'As Bob', body: { representation: 'storage', value: '' } }),
    });
    assert.equal(res.status, 200);
    const page = (await res.json()) as { authorId: string; version: { authorId: string } };
    assert.equal(page.authorId, DEFAULT_ACCOUNTS.bob);
    assert.equal(page.version.authorId, DEFAULT_ACCOUNTS.bob);
    // Bob's permissions apply: the restricted page stays hidden.
    assert.equal((await sandbox.fetch(`${info.baseUrl}/api/v2/pages/98308`, { headers: { authorization: `Bearer ${token}` } })).status, 404);
    // The token is refused on the 3LO gateway path and on another site.
    const acme = sandbox.control.discovery().sites[0]!;
    assert.equal((await sandbox.fetch(`${acme.gatewayBaseUrl}/api/v2/pages`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    assert.equal((await sandbox.fetch(`${sandbox.origin}/s/globex/wiki/api/v2/pages`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    // Impersonation bearer is not an approved Connect app call: /user/email is 400.
    assert.equal((await sandbox.fetch(`${info.baseUrl}/rest/api/user/email?accountId=${DEFAULT_ACCOUNTS.bob}`, { headers: { authorization: `Bearer ${token}` } })).status, 400);
    assert.equal(sandbox.control.counters.total('impersonation_grant', { app: info.key, user: DEFAULT_ACCOUNTS.bob }), 1);
    sandbox.clock.advance(900_000);
    assert.equal((await sandbox.fetch(`${info.baseUrl}/api/v2/pages/98305`, { headers: { authorization: `Bearer ${token}` } })).status, 401, 'expired after 900 s');
  });
  test('a comment made with an impersonation token comes from that user, with a comment_created webhook', async () => {
    const { sandbox, testApp, info, grant } = await setup();
    (testApp.descriptor['modules'] as { webhooks: { event: string; url: string }[] }).webhooks.push({ event: 'comment_created', url: '/webhooks/comment-created' });
    assert.ok((await sandbox.control.installApp('acme', testApp.descriptorUrl)).ok, 're-install with the new webhook');
    const fresh = sandbox.control.installInfo('acme', info.key)!;
    const token = (
      await grant({
        grant_type: GRANT,
        assertion: signAssertion({ oauthClientId: fresh.oauthClientId!, accountId: DEFAULT_ACCOUNTS.bob, baseUrl: fresh.baseUrl, authServer: sandbox.origin, sharedSecret: fresh.sharedSecret, nowSeconds: Math.floor(sandbox.clock.now() / 1000) }),
      })
    ).body['access_token'] as string;
    const post = (pageId: string) =>
      sandbox.fetch(`${fresh.baseUrl}/api/v2/footer-comments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ pageId, body: { representation: 'storage', value: '<p>Looks good</p>' } }),
      });
    const res = await post('98306');
    assert.equal(res.status, 200);
    const comment = (await res.json()) as { id: string; pageId: string; version: { authorId: string } };
    assert.equal(comment.version.authorId, DEFAULT_ACCOUNTS.bob);
    assert.equal((await post('98308')).status, 404, 'no comments on a page bob cannot see');
    const list = (await (await sandbox.fetch(`${fresh.baseUrl}/api/v2/pages/98306/footer-comments?body-format=storage`, { headers: { authorization: `Bearer ${token}` } })).json()) as { results: { id: string; body: { storage: { value: string } } }[] };
    assert.deepEqual(list.results.map((r) => [r.id, r.body.storage.value]), [[comment.id, '<p>Looks good</p>']]);
    await sandbox.control.flushWebhooks();
    const hook = testApp.received.find((r) => r.path === '/webhooks/comment-created')!;
    const body = hook.body as { comment: { id: string; creatorAccountId: string; parent: { id: string } }; userAccountId: string };
    assert.equal(body.comment.id, comment.id);
    assert.equal(body.comment.parent.id, '98306');
    assert.equal(body.userAccountId, DEFAULT_ACCOUNTS.bob);
  });
  test('optional upper-case scope narrows the token; lower-case or ungranted scopes are invalid_scope', async () => {
    const { sandbox, info, assertion, grant } = await setup();
    const r = await grant({ grant_type: GRANT, assertion: assertion(DEFAULT_ACCOUNTS.bob), scope: 'READ' });
    assert.equal(r.status, 200);
    const token = r.body['access_token'] as string;
    assert.equal((await sandbox.fetch(`${info.baseUrl}/api/v2/pages/98305`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const write = await sandbox.fetch(`${info.baseUrl}/api/v2/pages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'nope', body: { representation: 'storage', value: '' } }),
    });
    assert.equal(write.status, 403);
    assert.equal((await grant({ grant_type: GRANT, assertion: assertion(DEFAULT_ACCOUNTS.bob), scope: 'read write' })).body['error'], 'invalid_scope');
    assert.equal((await grant({ grant_type: GRANT, assertion: assertion(DEFAULT_ACCOUNTS.bob), scope: 'ADMIN' })).body['error'], 'invalid_scope');
  });
  const now = Math.floor(Date.UTC(2026, 5, 1) / 1000);
  const cases: [string, (s: Awaited<ReturnType<typeof setup>>) => Record<string, string>, string, RegExp][] = [
    ['missing grant_type', () => ({}), 'invalid_request', /grant_type/],
    ['wrong grant_type', (s) => ({ grant_type: 'client_credentials', assertion: s.assertion(DEFAULT_ACCOUNTS.bob) }), 'unsupported_grant_type', /jwt-bearer/],
    ['missing assertion', () => ({ grant_type: GRANT }), 'invalid_request', /assertion/],
    ['garbage assertion', () => ({ grant_type: GRANT, assertion: 'not-a-jwt' }), 'invalid_grant', /not a JWT/],
    ['unknown oauthClientId', (s) => ({ grant_type: GRANT, assertion: s.assertion(DEFAULT_ACCOUNTS.bob, { iss: 'urn:atlassian:connect:clientid:nobody' }) }), 'invalid_grant', /oauthClientId/],
    ['iss without the urn prefix', (s) => ({ grant_type: GRANT, assertion: s.assertion(DEFAULT_ACCOUNTS.bob, { iss: s.info.oauthClientId }) }), 'invalid_grant', /iss/],
    ['wrong signature', (s) => ({ grant_type: GRANT, assertion: signAssertion({ oauthClientId: s.info.oauthClientId!, accountId: DEFAULT_ACCOUNTS.bob, baseUrl: s.info.baseUrl, authServer: s.discovery.endpoints.authServer, sharedSecret: 'wrong', nowSeconds: now }) }), 'invalid_grant', /signature/],
    ['wrong audience', (s) => ({ grant_type: GRANT, assertion: s.assertion(DEFAULT_ACCOUNTS.bob, { aud: 'https://oauth-2-authorization-server.services.atlassian.com' }) }), 'invalid_grant', /aud/],
    ['wrong tnt (no /wiki)', (s) => ({ grant_type: GRANT, assertion: s.assertion(DEFAULT_ACCOUNTS.bob, { tnt: s.info.baseUrl.replace(/\/wiki$/, '') }) }), 'invalid_grant', /tnt/],
    ['exp - iat > 60', (s) => ({ grant_type: GRANT, assertion: s.assertion(DEFAULT_ACCOUNTS.bob, { exp: now + 61 }) }), 'invalid_grant', /60 seconds/],
    ['expired assertion', (s) => ({ grant_type: GRANT, assertion: s.assertion(DEFAULT_ACCOUNTS.bob, { iat: now - 120, exp: now - 60 }) }), 'invalid_grant', /expired/],
    ['userkey subject', (s) => ({ grant_type: GRANT, assertion: s.assertion(DEFAULT_ACCOUNTS.bob, { sub: 'urn:atlassian:connect:userkey:bob' }) }), 'invalid_grant', /sub/],
    ['unknown user', (s) => ({ grant_type: GRANT, assertion: s.assertion('712020:nobody') }), 'invalid_grant', /does not exist/],
    ['user not on this site', (s) => ({ grant_type: GRANT, assertion: s.assertion(DEFAULT_ACCOUNTS.frank) }), 'invalid_grant', /does not exist/],
    ['inactive user', (s) => ({ grant_type: GRANT, assertion: s.assertion(DEFAULT_ACCOUNTS.erin) }), 'invalid_grant', /not active/],
  ];
  for (const [name, form, error, description] of cases) {
    test(`400 ${error}: ${name}`, async () => {
      const s = await setup();
      const r = await s.grant(form(s));
      assert.equal(r.status, 400);
      assert.equal(r.body['error'], error);
      assert.match(String(r.body['error_description']), description);
    });
  }
  test('an app without ACT_AS_USER has no oauthClientId; one that loses the scope is refused', async () => {
    const s = await setup(['READ']);
    assert.equal(s.info.oauthClientId, null);
    const full = await setup();
    full.sandbox.state.installs.get('acme/com.example.sandbox-test-app')!.scopes = ['READ'];
    const r = await full.grant({ grant_type: GRANT, assertion: full.assertion(DEFAULT_ACCOUNTS.bob) });
    assert.equal(r.body['error'], 'invalid_grant');
    assert.match(String(r.body['error_description']), /ACT_AS_USER/);
  });
  test('a disabled or uninstalled app gets no tokens, and its tokens stop working', async () => {
    const s = await setup();
    const ok = await s.grant({ grant_type: GRANT, assertion: s.assertion(DEFAULT_ACCOUNTS.bob) });
    const token = ok.body['access_token'] as string;
    await s.sandbox.control.disableApp('acme', s.info.key);
    assert.equal((await s.grant({ grant_type: GRANT, assertion: s.assertion(DEFAULT_ACCOUNTS.bob) })).body['error'], 'invalid_grant');
    assert.equal((await s.sandbox.fetch(`${s.info.baseUrl}/api/v2/pages/98305`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    await s.sandbox.control.uninstallApp('acme', s.info.key);
    assert.equal((await s.grant({ grant_type: GRANT, assertion: s.assertion(DEFAULT_ACCOUNTS.bob) })).status, 400);
  });
});
