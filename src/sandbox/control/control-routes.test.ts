import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../clock.js';
import { createSandbox } from '../create-sandbox.js';

function setup() {
  const sandbox = createSandbox({ clock: createManualClock(Date.UTC(2026, 5, 1)) });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await sandbox.fetch(`${sandbox.origin}/_sandbox${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
  };
  return { sandbox, call };
}

describe('control API', () => {
  test('create a site, a user on it, a space with permissions; the user can use it with Basic auth', async () => {
    const { sandbox, call } = setup();
    const site = await call('POST', '/sites', { key: 'initech', name: 'Initech' });
    assert.equal(site.status, 201);
    assert.match(String(site.body['cloudId']), /^[0-9a-f-]{36}$/);
    const user = await call('POST', '/users', { displayName: 'Peter Gibbons', email: 'peter@initech.example', emailVisible: false, sites: ['initech'], groups: ['confluence-users', 'site-admins'], apiToken: 'peter-token-1' });
    assert.equal(user.status, 201);
    const accountId = user.body['accountId'] as string;
    const space = await call('POST', '/sites/initech/spaces', { key: 'TPS', name: 'TPS Reports', permissions: { read: { users: [accountId], groups: [] }, write: { users: [accountId], groups: [] } } });
    assert.equal(space.status, 201);
    const d = sandbox.control.discovery();
    assert.ok(d.sites.some((s) => s.key === 'initech' && s.baseUrl === `${sandbox.origin}/s/initech/wiki`));
    assert.ok(d.users.some((u) => u.accountId === accountId && !u.emailVisible));
    const auth = `Basic ${Buffer.from('peter@initech.example:peter-token-1').toString('base64')}`;
    const pages = (await (await sandbox.fetch(`${sandbox.origin}/s/initech/wiki/api/v2/pages?space-id=${String(space.body['id'])}`, { headers: { authorization: auth } })).json()) as { results: { title: string }[] };
    assert.deepEqual(pages.results.map((p) => p.title), ['TPS Reports Home']);
    assert.equal((await sandbox.fetch(`${sandbox.origin}/s/acme/wiki/api/v2/pages`, { headers: { authorization: auth } })).status, 401, 'not a member of acme');
  });
  test('validation errors name the field; conflicts are 409; unknown install is 404', async () => {
    const { call } = setup();
    const bad = await call('POST', '/users', { displayName: 'X', email: 'nope' });
    assert.equal(bad.status, 400);
    assert.match(String((bad.body['error'] as { message: string }).message), /email/);
    assert.equal((await call('POST', '/sites', { key: 'acme' })).status, 409);
    assert.equal((await call('POST', '/users', { displayName: 'X', email: 'x@example.com', sites: ['nope'] })).status, 409);
    assert.equal((await call('GET', '/sites/acme/apps/none')).status, 404);
    assert.equal((await call('POST', '/sites/acme/apps', { descriptorUrl: 'not a url' })).status, 400);
    assert.equal((await call('POST', '/sites/nope/apps', { descriptorUrl: 'https://x.example/d.json' })).status, 404);
    const invalidJson = await fetchRaw(setup().sandbox, '/users', '{');
    assert.equal(invalidJson, 400);
  });
  test('OAuth clients: created ones can be used for codes; clock and settings', async () => {
    const { call } = setup();
    assert.equal((await call('POST', '/oauth-clients', { clientId: 'c2', clientSecret: 'secret-123', name: 'Two', redirectUris: ['https://app.example/cb'], scopes: ['read:me'] })).status, 201);
    const code = await call('POST', '/oauth/codes', { clientId: 'c2', accountId: '712020:00000000-0000-4000-8000-000000000001', redirectUri: 'https://app.example/cb', scopes: ['read:me'] });
    assert.equal(code.status, 201);
    assert.equal(typeof code.body['code'], 'string');
    const before = (await call('GET', '/clock')).body['now'] as number;
    const after = (await call('POST', '/clock/advance', { ms: 5000 })).body['now'] as number;
    assert.equal(after - before, 5000);
    const s = await call('PATCH', '/settings', { refreshTokenReuseLeewayMs: 1234 });
    assert.equal(s.body['refreshTokenReuseLeewayMs'], 1234);
    assert.equal((await call('PATCH', '/settings', { refreshTokenReuseLeewayMs: -1 })).status, 400);
  });
  test('registering an identical OAuth client again succeeds (issue 15: it was a 409 that stopped a second gateway); a different one is still refused', async () => {
    const { call } = setup();
    const client = { clientId: 'c3', clientSecret: 'secret-333', name: 'Three', redirectUris: ['https://app.example/cb'], scopes: ['read:me', 'offline_access'] };
    assert.equal((await call('POST', '/oauth-clients', client)).status, 201);
    const again = await call('POST', '/oauth-clients', { ...client, scopes: ['offline_access', 'read:me'] });
    assert.equal(again.status, 200);
    assert.equal(again.body['clientId'], 'c3');
    assert.equal((await call('POST', '/oauth-clients', { ...client, clientSecret: 'another-secret' })).status, 409);
    assert.equal((await call('POST', '/oauth-clients', { ...client, redirectUris: ['https://evil.example/cb'] })).status, 409);
  });
  test('/_sandbox/state names the site one way, `site`, on spaces, pages and installs (issue 15: spaces said siteKey)', async () => {
    const { call } = setup();
    const created = await call('POST', '/sites/acme/spaces', { key: 'NAMES', name: 'Names' });
    assert.equal(created.body['site'], 'acme');
    assert.ok(!('siteKey' in created.body));
    const state = (await call('GET', '/state')).body as Record<string, Record<string, unknown>[]>;
    const rows = [...(state['spaces'] ?? []), ...(state['pages'] ?? []), ...(state['installs'] ?? [])];
    assert.ok((state['spaces'] ?? []).length > 0 && (state['pages'] ?? []).length > 0);
    for (const row of rows) {
      assert.equal(typeof row['site'], 'string', JSON.stringify(row));
      assert.ok(!('siteKey' in row), JSON.stringify(row));
    }
  });
  test('POST /_sandbox/reset returns to the seed', async () => {
    const { sandbox, call } = setup();
    await call('POST', '/sites', { key: 'temp' });
    sandbox.control.updateUser('712020:00000000-0000-4000-8000-000000000002', { emailVisible: true });
    await call('POST', '/faults', { kind: 'error', match: {}, status: 500 });
    assert.equal((await call('POST', '/reset')).status, 204);
    const d = sandbox.control.discovery();
    assert.deepEqual(d.sites.map((s) => s.key), ['acme', 'globex']);
    assert.equal(d.users.find((u) => u.accountId.endsWith('0002'))!.emailVisible, false);
    assert.deepEqual(sandbox.control.faults.list(), []);
    const auth = `Basic ${Buffer.from('alice@acme.example:alice-api-token').toString('base64')}`;
    assert.equal((await sandbox.fetch(`${sandbox.origin}/s/acme/wiki/api/v2/pages/98305`, { headers: { authorization: auth } })).status, 200);
  });
  test('counters filter and reset; the call log records API calls', async () => {
    const { sandbox, call } = setup();
    const auth = `Basic ${Buffer.from('alice@acme.example:alice-api-token').toString('base64')}`;
    await sandbox.fetch(`${sandbox.origin}/s/acme/wiki/api/v2/pages/98305`, { headers: { authorization: auth } });
    const c = await call('GET', '/counters?kind=api_call');
    assert.deepEqual(c.body['totals'], { api_call: 1 });
    const calls = (await sandbox.fetch(`${sandbox.origin}/_sandbox/calls`).then((r) => r.json())) as { path: string; status: number }[];
    assert.deepEqual(calls.map((x) => [x.path, x.status]), [['/s/acme/wiki/api/v2/pages/98305', 200]]);
    assert.equal((await call('DELETE', '/counters')).status, 204);
    assert.deepEqual((await call('GET', '/counters')).body['totals'], {});
  });
});

async function fetchRaw(sandbox: ReturnType<typeof createSandbox>, path: string, body: string): Promise<number> {
  const res = await sandbox.fetch(`${sandbox.origin}/_sandbox${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return res.status;
}
