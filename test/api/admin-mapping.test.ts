import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { createApiWorld, GATEWAY_ORIGIN, type ApiWorld } from './support/api-world.js';

describe('admin mapping over the HTTP API', () => {
  let w: ApiWorld;
  let key: string;
  before(async () => {
    w = await createApiWorld();
    key = await w.apiKey();
  }, { timeout: 120_000 });
  after(async () => {
    await w.close();
  }, { timeout: 120_000 });
  const call = (method: string, path: string, body?: unknown, k = key) =>
    w.gateway.app.request(`${GATEWAY_ORIGIN}${path}`, { method, headers: { Authorization: `Bearer ${k}`, 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });

  test('search a site’s users as the app; hidden emails stay hidden', { timeout: 180_000 }, async () => {
    const res = await call('GET', '/v1/admin/site-users?site=acme&q=Bob');
    assert.equal(res.status, 200, await res.clone().text());
    const { users } = (await res.json()) as { users: { accountId: string; email: string | null; linkedTo: string | null }[] };
    const bob = users.find((u) => u.accountId === DEFAULT_ACCOUNTS.bob);
    assert.ok(bob);
    assert.equal(bob.email, null);
    assert.equal((await call('GET', '/v1/admin/site-users?site=acme&q=B')).status, 400);
  });

  test('map accounts in bulk: existing accounts are mapped as route admin, the rest fail with the reason, conflicts are refused', { timeout: 180_000 }, async () => {
    const res = await call('POST', '/v1/admin/mappings', {
      site: 'acme',
      mappings: [
        { externalUserId: 'crm-carol', accountId: DEFAULT_ACCOUNTS.carol },
        { externalUserId: 'crm-ghost', accountId: '557058:no-such-account' },
        { externalUserId: 'crm-carol-again', accountId: DEFAULT_ACCOUNTS.carol },
      ],
    });
    assert.equal(res.status, 200, await res.clone().text());
    const out = (await res.json()) as { mapped: number; failed: number; errors: string[] };
    assert.equal(out.mapped, 1);
    assert.equal(out.failed, 2);
    assert.match(out.errors.join('\n'), /#2: There is no user/);
    assert.match(out.errors.join('\n'), /#3: .*already linked/);
    const links = await w.gateway.repos.links.list({ externalUserId: 'crm-carol' });
    assert.equal(links[0]?.route, 'admin');
    // Recorded as made through an API key (named by its id), not as a console or Atlassian admin.
    assert.equal(links[0]?.evidence['adminKind'], 'api_key');
    assert.match(String(links[0]?.evidence['adminId']), /.+/);
    assert.equal((await call('POST', '/v1/admin/mappings', { site: 'acme', mappings: [] })).status, 400);
    assert.equal((await call('POST', '/v1/admin/mappings', { site: 'nowhere', mappings: [{ externalUserId: 'x', accountId: DEFAULT_ACCOUNTS.dave }] })).status, 404);
  });

  test('a key limited to another site cannot search or map here', { timeout: 180_000 }, async () => {
    const limited = await w.apiKey(['globex']);
    assert.equal((await call('GET', '/v1/admin/site-users?site=acme&q=Bob', undefined, limited)).status, 403);
    assert.equal((await call('POST', '/v1/admin/mappings', { site: 'acme', mappings: [{ externalUserId: 'x', accountId: DEFAULT_ACCOUNTS.dave }] }, limited)).status, 403);
  });
});
