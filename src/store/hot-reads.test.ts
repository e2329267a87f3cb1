import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { withHotReads } from './hot-reads.js';
import { createRepositories, type Repositories } from './repositories.js';
import { testBackends } from './test-support/backends.js';
import { openTestStore, type TestStore } from './test-support/open-test-store.js';

const CLOUD = '11111111-2222-3333-4444-555555555555';

for (const backend of testBackends()) {
  describe(`hot reads (${backend.name})`, () => {
    let t: TestStore;
    /** A second gateway process on the same database: its writes do not reach this process's memory. */
    let elsewhere: Repositories;
    let now = 0;
    let hot: Repositories;

    before(async () => {
      t = await openTestStore(backend);
      elsewhere = createRepositories({ store: t.store, box: t.box, clock: t.clock });
      hot = withHotReads(t.repos, { ttlMs: 1000, now: () => now });
    }, { timeout: 120_000 });
    after(() => t.close(), { timeout: 120_000 });

    test('a key revoked through this process is refused on the very next request', { timeout: 180_000 }, async () => {
      const { secret } = await t.repos.apiKeys.create({ name: 'same-process' });
      assert.ok(await hot.apiKeys.verify(secret));
      assert.ok(await t.repos.apiKeys.revoke('same-process'));
      assert.equal(await hot.apiKeys.verify(secret), undefined);
    });

    test('a key revoked by another process is remembered at most the TTL, then refused', { timeout: 180_000 }, async () => {
      const { secret } = await t.repos.apiKeys.create({ name: 'other-process' });
      assert.ok(await hot.apiKeys.verify(secret));
      assert.ok(await elsewhere.apiKeys.revoke('other-process'));
      now += 999;
      assert.ok(await hot.apiKeys.verify(secret), 'within the TTL the remembered key still answers (the documented bound)');
      now += 2;
      assert.equal(await hot.apiKeys.verify(secret), undefined);
    });

    test('unknown keys are not remembered: a key created elsewhere works at once', { timeout: 180_000 }, async () => {
      const repos = createRepositories({ store: t.store, box: t.box, clock: t.clock });
      const { apiKey, secret } = await elsewhere.apiKeys.create({ name: 'made-elsewhere' });
      // The first look-up happens just before the other process's insert lands.
      let calls = 0;
      const real = repos.apiKeys.verify;
      repos.apiKeys.verify = async (s) => (++calls === 1 ? undefined : real(s));
      const fresh = withHotReads(repos, { ttlMs: 1000, now: () => now });
      assert.equal(await fresh.apiKeys.verify(secret), undefined);
      assert.equal((await fresh.apiKeys.verify(secret))?.id, apiKey.id);
      assert.equal((await fresh.apiKeys.verify(secret))?.id, apiKey.id);
      assert.equal(calls, 2, 'the known key is then remembered');
    });

    test('a policy change through this process applies to the next read; from elsewhere, after the TTL', { timeout: 180_000 }, async () => {
      assert.equal((await hot.policies.get(CLOUD)).acting, 'linked_only');
      await t.repos.policies.set(CLOUD, { acting: 'admin_mapped' }, 'test');
      assert.equal((await hot.policies.get(CLOUD)).acting, 'admin_mapped');
      await elsewhere.policies.set(CLOUD, { acting: 'any_user' }, 'test');
      assert.equal((await hot.policies.get(CLOUD)).acting, 'admin_mapped');
      now += 1001;
      assert.equal((await hot.policies.get(CLOUD)).acting, 'any_user');
    });

    test('tenant installs and status changes through this process are seen at once', { timeout: 180_000 }, async () => {
      assert.deepEqual(await hot.tenants.findByCloudId(CLOUD), []);
      const tenant = await t.repos.tenants.upsert({ route: 'connect', appKey: 'app', tenantKey: 'client-1', baseUrl: 'https://acme.atlassian.net/wiki', cloudId: CLOUD, sharedSecret: 's' });
      assert.deepEqual((await hot.tenants.findByCloudId(CLOUD)).map((x) => x.status), ['active']);
      assert.equal((await hot.tenants.list()).length, 1);
      await t.repos.tenants.setStatus(tenant.id, 'uninstalled');
      assert.deepEqual((await hot.tenants.findByCloudId(CLOUD)).map((x) => x.status), ['uninstalled']);
      assert.deepEqual((await hot.tenants.findByBaseUrl('https://acme.atlassian.net/wiki')).map((x) => x.status), ['uninstalled']);
    });

    test('a link revoked through this process is gone on the very next read; by another process, after the TTL', { timeout: 180_000 }, async () => {
      const link = await t.repos.links.create({ cloudId: CLOUD, accountId: 'acc-hot', externalUserId: 'u-hot', route: 'connect', status: 'linked', evidence: {}, scopes: [] });
      assert.equal((await hot.links.liveForUser(CLOUD, 'u-hot'))?.id, link.id);
      assert.equal((await hot.links.liveForAccount(CLOUD, 'acc-hot'))?.id, link.id);
      assert.ok(await t.repos.links.setStatus(link.id, 'revoked'));
      assert.equal(await hot.links.liveForUser(CLOUD, 'u-hot'), undefined, 'same process: at once');
      assert.equal(await hot.links.liveForAccount(CLOUD, 'acc-hot'), undefined);

      const other = await t.repos.links.create({ cloudId: CLOUD, accountId: 'acc-hot-2', externalUserId: 'u-hot-2', route: 'connect', status: 'linked', evidence: {}, scopes: [] });
      assert.equal((await hot.links.liveForUser(CLOUD, 'u-hot-2'))?.id, other.id);
      assert.ok(await elsewhere.links.setStatus(other.id, 'revoked'));
      now += 999;
      assert.equal((await hot.links.liveForUser(CLOUD, 'u-hot-2'))?.id, other.id, 'within the TTL the remembered link still answers (the documented bound)');
      now += 2;
      assert.equal(await hot.links.liveForUser(CLOUD, 'u-hot-2'), undefined);
    });

    test('a user with no live link is not remembered: a link made elsewhere is found at once', { timeout: 180_000 }, async () => {
      assert.equal(await hot.links.liveForUser(CLOUD, 'u-late'), undefined);
      const made = await elsewhere.links.create({ cloudId: CLOUD, accountId: 'acc-late', externalUserId: 'u-late', route: 'connect', status: 'linked', evidence: {}, scopes: [] });
      assert.equal((await hot.links.liveForUser(CLOUD, 'u-late'))?.id, made.id);
    });

    test('needs tracked repositories', { timeout: 180_000 }, () => {
      assert.throws(() => withHotReads({ ...t.repos }), /tracked/);
    });
  });
}
