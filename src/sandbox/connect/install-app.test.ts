import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { importSPKI, jwtVerify, decodeProtectedHeader } from 'jose';
import { createManualClock } from '../../clock.js';
import { createSandbox } from '../create-sandbox.js';
import { clientKeyFor } from './client-key-for.js';
import { createInstallKeys } from './create-install-keys.js';

const keys = createInstallKeys();
import { createTestConnectApp } from '../testing/create-test-connect-app.js';
import { computeQsh } from '../jwt/canonical-request.js';
import { decodeJwt, signHmacJwt, verifyHmacSignature } from '../jwt/hs256.js';
import { verifyConnectJwt } from '../jwt/verify-connect-jwt.js';
import { DEFAULT_ACCOUNTS } from '../seed/default-seed.js';

function setup(options: { scopes?: string[]; baseUrl?: string } = {}) {
  const testApp = createTestConnectApp({ baseUrl: options.baseUrl ?? 'https://app.example.test/base', ...(options.scopes ? { scopes: options.scopes } : {}) });
  const sandbox = createSandbox({ clock: createManualClock(Date.UTC(2026, 5, 1)), fetch: testApp.fetchRouter(), installKeys: keys });
  const install = async () => {
    const res = await sandbox.fetch(`${sandbox.origin}/_sandbox/sites/acme/apps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ descriptorUrl: testApp.descriptorUrl }),
    });
    return { res, body: (await res.json()) as Record<string, string> };
  };
  return { sandbox, testApp, install };
}

describe('Connect install (signed-install RS256)', () => {
  test('POST installed carries an RS256 JWT with kid, verifiable with the served PEM; the control API answers what the app got', async () => {
    const { sandbox, testApp, install } = setup();
    const { res, body } = await install();
    assert.equal(res.status, 201);
    const installed = testApp.received.find((r) => r.path === '/installed')!;
    assert.ok(installed, 'installed callback was sent');
    const payload = installed.body as Record<string, string>;
    assert.equal(payload['eventType'], 'installed');
    assert.equal(payload['baseUrl'], `${sandbox.origin}/s/acme/wiki`);
    assert.equal(payload['productType'], 'confluence');
    assert.equal(body['clientKey'], payload['clientKey']);
    assert.equal(body['sharedSecret'], payload['sharedSecret']);
    assert.equal(body['oauthClientId'], payload['oauthClientId']);
    assert.equal(body['baseUrl'], payload['baseUrl']);
    const token = installed.authorization!.replace(/^JWT /, '');
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'RS256');
    assert.ok(header.kid);
    const pemRes = await sandbox.fetch(`${sandbox.origin}/connect-install-keys/${header.kid}`);
    assert.equal(pemRes.status, 200);
    const key = await importSPKI(await pemRes.text(), 'RS256');
    const { payload: claims } = await jwtVerify(token, key, { currentDate: new Date(sandbox.clock.now()) });
    assert.equal(claims.iss, payload['clientKey']);
    assert.deepEqual(claims.aud, ['https://app.example.test/base']);
    assert.equal(claims['qsh'], computeQsh({ method: 'POST', url: '/installed' }));
    assert.equal(claims['qsh'], '4a2e1de8ca74e6cafe8862d332fa3ac7a8e51e692bc6d798ea4dfedc14948bf4');
    assert.equal(claims.sub, DEFAULT_ACCOUNTS.alice);
    const enabled = testApp.received.find((r) => r.path === '/enabled')!;
    assert.ok(enabled, 'enabled callback follows');
    assert.equal((await sandbox.fetch(`${sandbox.origin}/connect-install-keys/unknown-kid`)).status, 404);
  });
  test('an app answering 500 on installed leaves no install and gets a clear error', async () => {
    const { sandbox, testApp, install } = setup();
    testApp.setInstalledStatus(500);
    const { res, body } = await install();
    assert.equal(res.status, 502);
    assert.equal((body as unknown as { error: { code: string; details: { status: number } } }).error.code, 'INSTALL_REFUSED');
    assert.equal((body as unknown as { error: { details: { status: number } } }).error.details.status, 500);
    assert.equal(sandbox.control.installInfo('acme', 'com.example.sandbox-test-app'), null);
    assert.equal(sandbox.control.discovery().users.filter((u) => u.accountType === 'app').length, 1, 'no app user left behind (only the seeded bot)');
  });
  test('an invalid descriptor is refused with the bad field named', async () => {
    const testApp = createTestConnectApp({ baseUrl: 'https://bad.example.test', descriptor: { key: 'x', baseUrl: 'not a url', scopes: ['READ'] } });
    const sandbox = createSandbox({ fetch: testApp.fetchRouter(), installKeys: keys });
    const r = await sandbox.control.installApp('acme', testApp.descriptorUrl);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.code === 'DESCRIPTOR_INVALID' && r.message.includes('baseUrl'));
    const missing = await sandbox.control.installApp('acme', 'https://bad.example.test/missing.json');
    assert.ok(!missing.ok && missing.code === 'DESCRIPTOR_FETCH_FAILED');
  });
  test('legacy mode: first install unsigned, re-install HS256-signed with the old secret, which stays', async () => {
    const { sandbox, testApp } = setup();
    const first = await sandbox.control.installApp('acme', testApp.descriptorUrl, { mode: 'legacy' });
    assert.ok(first.ok);
    const firstCall = testApp.received.find((r) => r.path === '/installed')!;
    assert.equal(firstCall.authorization, null);
    const secret = first.ok ? first.install.sharedSecret : '';
    const again = await sandbox.control.installApp('acme', testApp.descriptorUrl, { mode: 'legacy' });
    assert.ok(again.ok);
    const second = testApp.received.filter((r) => r.path === '/installed')[1]!;
    const decoded = decodeJwt(second.authorization!.replace(/^JWT /, ''))!;
    assert.equal(decoded.header['alg'], 'HS256');
    assert.ok(verifyHmacSignature(decoded, secret));
    assert.equal(again.ok && again.install.sharedSecret, secret);
    assert.equal(again.ok && again.install.clientKey, first.ok && first.install.clientKey);
  });
  test('signed re-install keeps the clientKey and sends a new secret', async () => {
    const { sandbox, testApp } = setup();
    const a = await sandbox.control.installApp('acme', testApp.descriptorUrl);
    const b = await sandbox.control.installApp('acme', testApp.descriptorUrl);
    assert.ok(a.ok && b.ok);
    assert.equal(a.install.clientKey, b.install.clientKey);
    assert.notEqual(a.install.sharedSecret, b.install.sharedSecret);
  });
  test('the clientKey is stable per app and site across sandbox restarts (issue 15: it was random per start)', async () => {
    // Two sandboxes with no shared state stand for one sandbox before and after a restart.
    const before = setup();
    const after = setup();
    const a = await before.sandbox.control.installApp('acme', before.testApp.descriptorUrl);
    const b = await after.sandbox.control.installApp('acme', after.testApp.descriptorUrl);
    const otherSite = await after.sandbox.control.installApp('globex', after.testApp.descriptorUrl);
    assert.ok(a.ok && b.ok && otherSite.ok);
    assert.equal(a.install.clientKey, b.install.clientKey);
    assert.notEqual(a.install.sharedSecret, b.install.sharedSecret);
    assert.notEqual(otherSite.install.clientKey, a.install.clientKey);
    assert.match(a.install.clientKey, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(clientKeyFor('a1c0e000-0000-4000-8000-000000000001', 'com.example.other'), a.install.clientKey);
  });
  test('no ACT_AS_USER scope: no oauthClientId in the payload', async () => {
    const { sandbox, testApp } = setup({ scopes: ['READ'] });
    const r = await sandbox.control.installApp('acme', testApp.descriptorUrl);
    assert.ok(r.ok);
    assert.equal(r.install.oauthClientId, null);
    assert.ok(!('oauthClientId' in (testApp.received.find((x) => x.path === '/installed')!.body as object)));
  });
});

describe('Connect JWT at the API, lifecycle and webhooks', () => {
  async function installed() {
    const s = setup();
    const r = await s.sandbox.control.installApp('acme', s.testApp.descriptorUrl);
    assert.ok(r.ok);
    const info = s.sandbox.control.installInfo('acme', 'com.example.sandbox-test-app')!;
    const now = () => Math.floor(s.sandbox.clock.now() / 1000);
    const jwtFor = (method: string, pathAndQuery: string, extra: Record<string, unknown> = {}) =>
      signHmacJwt({ iss: info.key, iat: now(), exp: now() + 180, qsh: computeQsh({ method, url: pathAndQuery }), aud: [info.clientKey], ...extra }, info.sharedSecret);
    const call = (method: string, pathAndQuery: string, token: string, body?: unknown) =>
      s.sandbox.fetch(`${info.baseUrl}${pathAndQuery}`, {
        method,
        headers: { authorization: `JWT ${token}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    return { ...s, info, jwtFor, call };
  }
  test('app JWT with qsh over the path after /wiki works and acts as the app user', async () => {
    const { info, jwtFor, call } = await installed();
    const res = await call('GET', '/rest/api/content/98305?expand=version', jwtFor('GET', '/rest/api/content/98305?expand=version'));
    assert.equal(res.status, 200);
    const me = await call('GET', '/rest/api/user/current', jwtFor('GET', '/rest/api/user/current'));
    const body = (await me.json()) as { accountId: string; accountType: string };
    assert.equal(body.accountId, info.appUserAccountId);
    assert.equal(body.accountType, 'app');
  });
  test('app JWT: wrong qsh, expired, context-qsh, wrong secret and query-string jwt are 401', async () => {
    const { sandbox, info, jwtFor, call } = await installed();
    assert.equal((await call('GET', '/rest/api/content/98305', jwtFor('GET', '/rest/api/content/98306'))).status, 401);
    assert.equal((await call('GET', '/rest/api/content/98305', jwtFor('GET', '/wiki/rest/api/content/98305'))).status, 401, 'qsh must not include /wiki');
    assert.equal((await call('GET', '/rest/api/content/98305', jwtFor('GET', '/rest/api/content/98305', { qsh: 'context-qsh' }))).status, 401);
    const t = jwtFor('GET', '/rest/api/content/98305');
    sandbox.clock.advance(180_000 + 30_000);
    assert.equal((await call('GET', '/rest/api/content/98305', t)).status, 401);
    const wrong = signHmacJwt({ iss: info.key, iat: 0, exp: 9e9, qsh: computeQsh({ method: 'GET', url: '/rest/api/content/98305' }) }, 'other-secret');
    assert.equal((await call('GET', '/rest/api/content/98305', wrong)).status, 401);
    const q = await sandbox.fetch(`${info.baseUrl}/rest/api/content/98305?jwt=${t}`);
    assert.equal(q.status, 401);
  });
  test('app JWT cannot read restricted pages the app user is not allowed to see (404)', async () => {
    const { jwtFor, call } = await installed();
    assert.equal((await call('GET', '/api/v2/pages/98308', jwtFor('GET', '/api/v2/pages/98308'))).status, 404);
  });
  test('/user/email works for an app approved for email and returns hidden emails; bulk omits unknown ids', async () => {
    const { jwtFor, call } = await installed();
    const path = `/rest/api/user/email?accountId=${encodeURIComponent(DEFAULT_ACCOUNTS.bob)}`;
    const res = await call('GET', path, jwtFor('GET', path));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { accountId: DEFAULT_ACCOUNTS.bob, email: 'bob@acme.example' });
    const bulk = `/rest/api/user/email/bulk?accountId=${encodeURIComponent(DEFAULT_ACCOUNTS.bob)}&accountId=nope&accountId=${encodeURIComponent(DEFAULT_ACCOUNTS.dave)}`;
    const b = (await (await call('GET', bulk, jwtFor('GET', bulk))).json()) as { accountId: string }[];
    assert.deepEqual(b.map((x) => x.accountId), [DEFAULT_ACCOUNTS.bob, DEFAULT_ACCOUNTS.dave]);
  });
  test('an app without ACCESS_EMAIL_ADDRESSES gets 400 from /user/email; without WRITE it gets 403 on create', async () => {
    const s = setup({ scopes: ['READ'] });
    const r = await s.sandbox.control.installApp('acme', s.testApp.descriptorUrl);
    assert.ok(r.ok);
    const i = r.install;
    const now = Math.floor(s.sandbox.clock.now() / 1000);
    const path = `/rest/api/user/email?accountId=${encodeURIComponent(DEFAULT_ACCOUNTS.bob)}`;
    const t = signHmacJwt({ iss: i.appKey, iat: now, exp: now + 60, qsh: computeQsh({ method: 'GET', url: path }) }, i.sharedSecret);
    assert.equal((await s.sandbox.fetch(`${s.sandbox.origin}/s/acme/wiki${path}`, { headers: { authorization: `JWT ${t}` } })).status, 400);
    const t2 = signHmacJwt({ iss: i.appKey, iat: now, exp: now + 60, qsh: computeQsh({ method: 'POST', url: '/api/v2/pages' }) }, i.sharedSecret);
    const created = await s.sandbox.fetch(`${s.sandbox.origin}/s/acme/wiki/api/v2/pages`, {
      method: 'POST',
      headers: { authorization: `JWT ${t2}`, 'content-type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'x', body: { representation: 'storage', value: '' } }),
    });
    assert.equal(created.status, 403);
  });
  test('page events are delivered as HS256 webhooks with lic=none in the qsh and the captured body shape', async () => {
    const { sandbox, testApp, info, jwtFor, call } = await installed();
    const res = await call('POST', '/api/v2/pages', jwtFor('POST', '/api/v2/pages'), { spaceId: '65537', title: 'From app', body: { representation: 'storage', value: '<p/>' } });
    assert.equal(res.status, 200);
    await sandbox.control.flushWebhooks();
    const hook = testApp.received.find((r) => r.path === '/webhooks/page-created')!;
    assert.ok(hook, 'webhook delivered');
    assert.ok(hook.url.endsWith('/base/webhooks/page-created?lic=none'));
    const result = verifyConnectJwt({
      token: hook.authorization!.replace(/^JWT /, ''),
      secretFor: ({ iss }) => (iss === info.clientKey ? info.sharedSecret : null),
      method: 'POST',
      url: hook.url,
      contextPath: '/base',
      nowSeconds: Math.floor(sandbox.clock.now() / 1000),
    });
    assert.ok(result.ok, result.ok ? '' : result.reason);
    assert.equal(result.expectedQsh, computeQsh({ method: 'POST', url: '/webhooks/page-created?lic=none' }));
    assert.equal(result.claims['sub'], info.appUserAccountId);
    assert.equal((result.claims['exp'] as number) - (result.claims['iat'] as number), 900);
    const body = hook.body as { page: { id: string; title: string; spaceKey: string; version: number }; userAccountId: string; accountType: string };
    assert.equal(body.page.title, 'From app');
    assert.equal(body.page.spaceKey, 'ENG');
    assert.equal(body.userAccountId, info.appUserAccountId);
    assert.equal(body.accountType, 'customer');
    assert.ok(!('webhookEvent' in body));
    assert.equal(sandbox.control.counters.total('webhook', { app: info.key }), 1);
  });
  test('INACCESSIBLE operations refuse Connect apps (403): /rest/api/user/bulk', async () => {
    const { jwtFor, call } = await installed();
    const path = `/rest/api/user/bulk?accountId=${encodeURIComponent(DEFAULT_ACCOUNTS.bob)}`;
    assert.equal((await call('GET', path, jwtFor('GET', path))).status, 403);
  });
  test('page_trashed webhooks fire for apps that declare them', async () => {
    const s = setup();
    (s.testApp.descriptor['modules'] as { webhooks: { event: string; url: string }[] }).webhooks.push({ event: 'page_trashed', url: '/webhooks/page-trashed' });
    (s.testApp.descriptor['scopes'] as string[]).push('DELETE');
    const r = await s.sandbox.control.installApp('acme', s.testApp.descriptorUrl);
    assert.ok(r.ok);
    const now = Math.floor(s.sandbox.clock.now() / 1000);
    const t = signHmacJwt({ iss: r.install.appKey, iat: now, exp: now + 60, qsh: computeQsh({ method: 'DELETE', url: '/api/v2/pages/98307' }) }, r.install.sharedSecret);
    assert.equal((await s.sandbox.fetch(`${s.sandbox.origin}/s/acme/wiki/api/v2/pages/98307`, { method: 'DELETE', headers: { authorization: `JWT ${t}` } })).status, 204);
    await s.sandbox.control.flushWebhooks();
    const hook = s.testApp.received.find((x) => x.path === '/webhooks/page-trashed');
    assert.equal((hook?.body as { page: { id: string } } | undefined)?.page.id, '98307');
  });
  test('disable stops JWT calls and webhooks; enable restores; uninstall sends RS256 uninstalled without sharedSecret', async () => {
    const { sandbox, testApp, info, jwtFor, call } = await installed();
    const dis = await sandbox.fetch(`${sandbox.origin}/_sandbox/sites/acme/apps/${info.key}/disable`, { method: 'POST' });
    assert.equal(dis.status, 200);
    assert.ok(testApp.received.some((r) => r.path === '/disabled'));
    assert.equal((await call('GET', '/rest/api/user/current', jwtFor('GET', '/rest/api/user/current'))).status, 401);
    await sandbox.fetch(`${sandbox.origin}/_sandbox/sites/acme/apps/${info.key}/enable`, { method: 'POST' });
    assert.equal((await call('GET', '/rest/api/user/current', jwtFor('GET', '/rest/api/user/current'))).status, 200);
    const un = await sandbox.fetch(`${sandbox.origin}/_sandbox/sites/acme/apps/${info.key}`, { method: 'DELETE' });
    assert.equal(un.status, 200);
    const uninstalled = testApp.received.find((r) => r.path === '/uninstalled')!;
    assert.equal(decodeProtectedHeader(uninstalled.authorization!.replace(/^JWT /, '')).alg, 'RS256');
    assert.ok(!('sharedSecret' in (uninstalled.body as object)));
    assert.equal((uninstalled.body as { eventType: string }).eventType, 'uninstalled');
    assert.equal((await call('GET', '/rest/api/user/current', jwtFor('GET', '/rest/api/user/current'))).status, 401);
  });
});
