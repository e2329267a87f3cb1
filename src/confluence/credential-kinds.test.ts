import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../clock.js';
import { queryStringHash, splitRawUrl } from '../atlassian/canonical-request.js';
import { signConnectJwt } from '../atlassian/sign-connect-jwt.js';
import { createSandbox, DEFAULT_ACCOUNTS } from '../sandbox/index.js';
import { createTestConnectApp } from '../sandbox/testing/create-test-connect-app.js';
import { signAssertion } from '../sandbox/testing/sign-assertion.js';
import { createActAsClient, type CredentialRequest, type CredentialSource } from './create-act-as-client.js';
import { paginate } from './paginate.js';
import { createPage, getCurrentUser } from './pages.js';

/**
 * The one credential callback fits every kind of principal: a cached bearer (2LOi impersonation) that
 * only cares about `forceFresh`, and a Connect `asApp()` JWT signed per request over method + apiPath.
 */

async function installedApp() {
  const clock = createManualClock(Date.UTC(2026, 5, 1));
  const testApp = createTestConnectApp({ baseUrl: 'https://app.example.test' });
  const sb = createSandbox({ clock, fetch: testApp.fetchRouter() });
  const r = await sb.control.installApp('acme', testApp.descriptorUrl);
  assert.ok(r.ok);
  const info = sb.control.installInfo('acme', r.install.appKey)!;
  return { sb, info, clock };
}

describe('2LOi impersonation bearer through the act-as client', () => {
  test('acts as Bob; an expired cached token → one 401 → forceFresh → a new grant → success', async () => {
    const { sb, info } = await installedApp();
    const d = sb.control.discovery();
    let cached: string | null = null;
    const requests: CredentialRequest[] = [];
    const bearerFor =
      (accountId: string): CredentialSource =>
      async (req) => {
        requests.push(req);
        if (cached === null || req.forceFresh) {
          const res = await sb.fetch(d.endpoints.impersonationToken, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
            body: new URLSearchParams({
              grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
              assertion: signAssertion({
                oauthClientId: info.oauthClientId ?? 'none',
                accountId,
                baseUrl: info.baseUrl,
                authServer: d.endpoints.authServer,
                sharedSecret: info.sharedSecret,
                nowSeconds: Math.floor(sb.clock.now() / 1000),
              }),
            }),
          });
          assert.equal(res.status, 200);
          cached = ((await res.json()) as { access_token: string }).access_token;
        }
        return { authorization: `Bearer ${cached}` };
      };
    const client = createActAsClient({ fetch: sb.fetch, clock: sb.clock, sleep: async () => undefined }, { apiBaseUrl: info.baseUrl, credential: bearerFor(DEFAULT_ACCOUNTS.bob) });

    const page = await createPage(client, { spaceId: '65537', title: 'Bob via 2LOi', body: '<p>b</p>' });
    assert.equal(page.authorId, DEFAULT_ACCOUNTS.bob);
    assert.equal(sb.control.counters.total('impersonation_grant', { app: info.key, user: DEFAULT_ACCOUNTS.bob }), 1);

    sb.clock.advance(901_000); // the cached token has expired; the cache does not know yet
    const me = await getCurrentUser(client);
    assert.equal(me.accountId, DEFAULT_ACCOUNTS.bob);
    assert.equal(sb.control.counters.total('impersonation_grant', { app: info.key, user: DEFAULT_ACCOUNTS.bob }), 2);
    assert.deepEqual(requests.map((r) => r.forceFresh), [false, false, true]);
  });
});

describe('Connect asApp() JWT signed per request', () => {
  test('each request (and each next page) gets its own qsh over method + apiPath; the app user is the author', async () => {
    const { sb, info, clock } = await installedApp();
    const signed: string[] = [];
    const asApp: CredentialSource = async ({ method, apiPath }) => {
      const { pathname, query } = splitRawUrl(apiPath);
      signed.push(`${method} ${apiPath}`);
      const qsh = queryStringHash({ method, pathname, query });
      return { authorization: `JWT ${signConnectJwt({ iss: info.key, qsh, aud: [info.clientKey] }, info.sharedSecret, clock)}` };
    };
    const client = createActAsClient({ fetch: sb.fetch, clock, sleep: async () => undefined }, { apiBaseUrl: info.baseUrl, credential: asApp });

    const page = await createPage(client, { spaceId: '65537', title: 'Written by the app', body: '<p>app</p>' });
    assert.equal(page.authorId, info.appUserAccountId);
    assert.deepEqual(signed, ['POST /api/v2/pages']);
    for (let i = 0; i < 3; i++) await createPage(client, { spaceId: '65537', title: `App page ${i}`, body: '' });
    signed.length = 0;

    const items: { id: string }[] = [];
    for await (const p of paginate<{ id: string }>(client, '/rest/api/content?spaceKey=ENG&limit=2')) items.push(p);
    assert.ok(items.length >= 4);
    assert.equal(signed.length, Math.ceil(items.length / 2));
    assert.equal(signed[0], 'GET /rest/api/content?spaceKey=ENG&limit=2');
    assert.match(signed[1]!, /^GET \/rest\/api\/content\?.*start=2/);
  });

  test('a JWT signed over the wrong path is refused (the qsh really is checked), and the refresh re-signs', async () => {
    const { sb, info, clock } = await installedApp();
    const seen: boolean[] = [];
    const client = createActAsClient(
      { fetch: sb.fetch, clock, sleep: async () => undefined },
      {
        apiBaseUrl: info.baseUrl,
        credential: async ({ method, apiPath, forceFresh }) => {
          seen.push(forceFresh);
          // Wrong on the first try (signed over another path), right on the forced refresh.
          const { pathname, query } = splitRawUrl(forceFresh ? apiPath : '/rest/api/space');
          return { authorization: `JWT ${signConnectJwt({ iss: info.key, qsh: queryStringHash({ method, pathname, query }) }, info.sharedSecret, clock)}` };
        },
      },
    );
    const res = await client.fetch('/api/v2/pages/98305');
    assert.equal(res.status, 200);
    assert.deepEqual(seen, [false, true]);
  });
});
