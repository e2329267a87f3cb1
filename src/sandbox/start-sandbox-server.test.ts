import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandboxServer } from './start-sandbox-server.js';
import { runSandboxCommand } from './run-sandbox-command.js';
import { startTestConnectAppServer } from './testing/start-test-connect-app-server.js';
import { signAssertion } from './testing/sign-assertion.js';
import { verifyConnectJwt } from './jwt/verify-connect-jwt.js';
import { DEFAULT_ACCOUNTS, DEFAULT_OAUTH_CLIENT } from './seed/default-seed.js';

describe('over real HTTP (127.0.0.1:0)', () => {
  test('install a real app server, impersonate a user, create a page, receive the webhook; 3LO; faults', { timeout: 180_000 }, async (t) => {
    const sb = await startSandboxServer();
    const app = await startTestConnectAppServer({ basePath: '/connect' });
    t.after(async () => {
      await app.close();
      await sb.close();
    });
    assert.match(sb.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const d = (await (await fetch(`${sb.url}/_sandbox/discovery`)).json()) as { url: string; sites: { key: string; baseUrl: string; cloudId: string; gatewayBaseUrl: string }[]; endpoints: Record<string, string> };
    assert.equal(d.url, sb.url);
    assert.equal(d.sites[0]!.baseUrl, `${sb.url}/s/acme/wiki`);
    assert.deepEqual(await (await fetch(`${sb.url}/s/acme/_edge/tenant_info`)).json(), { cloudId: d.sites[0]!.cloudId });

    const installRes = await fetch(`${sb.url}/_sandbox/sites/acme/apps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ descriptorUrl: app.testApp.descriptorUrl }) });
    assert.equal(installRes.status, 201);
    const info = (await installRes.json()) as { clientKey: string; sharedSecret: string; oauthClientId: string; baseUrl: string };
    assert.equal(info.baseUrl, d.sites[0]!.baseUrl);
    assert.ok(app.testApp.received.some((r) => r.path === '/installed' && r.authorization?.startsWith('JWT ')));

    const now = Math.floor(sb.sandbox.clock.now() / 1000);
    const assertion = signAssertion({ oauthClientId: info.oauthClientId, accountId: DEFAULT_ACCOUNTS.carol, baseUrl: info.baseUrl, authServer: d.endpoints['authServer']!, sharedSecret: info.sharedSecret, nowSeconds: now });
    const grant = await fetch(d.endpoints['impersonationToken']!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }) });
    assert.equal(grant.status, 200);
    const { access_token } = (await grant.json()) as { access_token: string };
    const created = await fetch(`${info.baseUrl}/api/v2/pages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ spaceId: '65538', title: 'HR note by Carol', body: { representation: 'storage', value: '<p/>' } }),
    });
    assert.equal(created.status, 200);
    assert.equal(((await created.json()) as { authorId: string }).authorId, DEFAULT_ACCOUNTS.carol);
    await sb.sandbox.control.flushWebhooks();
    const hook = app.testApp.received.find((r) => r.path === '/webhooks/page-created')!;
    assert.ok(hook, 'webhook arrived over HTTP');
    const v = verifyConnectJwt({ token: hook.authorization!.slice(4), secretFor: () => info.sharedSecret, method: 'POST', url: hook.url, contextPath: '/connect', nowSeconds: now });
    assert.ok(v.ok);
    assert.equal(v.claims['sub'], DEFAULT_ACCOUNTS.carol);

    const code = await fetch(`${sb.url}/_sandbox/oauth/codes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clientId: DEFAULT_OAUTH_CLIENT.clientId, accountId: DEFAULT_ACCOUNTS.alice, redirectUri: 'http://127.0.0.1:9/callback', scopes: ['read:page:confluence'] }) });
    const tok = await fetch(d.endpoints['token']!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', client_id: DEFAULT_OAUTH_CLIENT.clientId, client_secret: DEFAULT_OAUTH_CLIENT.clientSecret, code: ((await code.json()) as { code: string }).code, redirect_uri: 'http://127.0.0.1:9/callback' }) });
    const at = ((await tok.json()) as { access_token: string }).access_token;
    assert.equal((await fetch(`${d.sites[0]!.gatewayBaseUrl}/api/v2/pages/98308`, { headers: { authorization: `Bearer ${at}` } })).status, 200, 'alice sees the restricted page');

    await fetch(`${sb.url}/_sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'drop', match: { pathPrefix: '/ex/' }, times: 1 }) });
    await assert.rejects(fetch(`${d.sites[0]!.gatewayBaseUrl}/api/v2/pages/98305`, { headers: { authorization: `Bearer ${at}` } }));
    assert.equal((await fetch(`${d.sites[0]!.gatewayBaseUrl}/api/v2/pages/98305`, { headers: { authorization: `Bearer ${at}` } })).status, 200);
  });

  test('runSandboxCommand prints one ready JSON line and honours --seed FILE', { timeout: 180_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-seed-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const seedPath = join(dir, 'seed.json');
    writeFileSync(seedPath, JSON.stringify({ sites: [{ key: 'solo' }], users: [{ accountId: 'u-1', displayName: 'Solo User', email: 'solo@example.test' }] }));
    const lines: string[] = [];
    const server = await runSandboxCommand({ port: 0, seedPath, write: (l) => lines.push(l) });
    t.after(() => server.close());
    assert.equal(lines.length, 1);
    const ready = JSON.parse(lines[0]!) as { url: string; sites: { key: string }[] };
    assert.equal(ready.url, server.url);
    assert.deepEqual(ready.sites.map((s) => s.key), ['solo']);
    const d = (await (await fetch(`${ready.url}/_sandbox/discovery`)).json()) as { users: { accountId: string }[] };
    assert.deepEqual(d.users.map((u) => u.accountId), ['u-1']);
  });

  test('a port already in use is an error; createSandbox refuses an origin with a path', { timeout: 180_000 }, async (t) => {
    const first = await startSandboxServer();
    t.after(() => first.close());
    const port = Number(new URL(first.url).port);
    await assert.rejects(startSandboxServer({ port }), /EADDRINUSE/);
    const { createSandbox } = await import('./create-sandbox.js');
    assert.throws(() => createSandbox({ origin: 'http://x.test/base' }), /origin/);
  });

  test('a bad seed file fails with the file and field named', { timeout: 180_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-seed-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const seedPath = join(dir, 'bad.json');
    writeFileSync(seedPath, JSON.stringify({ sites: [{ key: 'ok' }], users: [{ accountId: 'x', displayName: 'X', email: 'not-an-email' }] }));
    await assert.rejects(runSandboxCommand({ port: 0, seedPath, write: () => undefined }), (e: Error) => e.message.includes(seedPath) && e.message.includes('users[0].email'));
  });
});
