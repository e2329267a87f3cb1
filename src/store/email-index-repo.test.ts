import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createEmailHasher, normalizeEmail } from './email-hasher.js';
import { purgeTenant } from './purge-tenant.js';
import { postgresRequired, testBackends } from './test-support/backends.js';
import { openTestStore, testKeyring, type TestStore } from './test-support/open-test-store.js';
import { isGatewayError } from '../errors.js';

const backends = testBackends();

test('PostgreSQL is part of the email index run when CI requires it', () => {
  if (postgresRequired()) assert.ok(backends.some((b) => b.name === 'postgres'));
});

describe('email hasher', () => {
  test('keyed, per site, case-insensitive; another key or site gives another hash; unknown key ids are refused', () => {
    const ring = testKeyring(['k2', 'k1']);
    const h = createEmailHasher(ring);
    const a = h.hash('site-1', 'Alice@Example.com ');
    assert.equal(a, h.hash('site-1', 'alice@example.com'), 'case and surrounding spaces do not matter');
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, h.hash('site-2', 'alice@example.com'), 'the site is part of the hash');
    assert.notEqual(a, h.hash('site-1', 'alice@example.com', 'k1'), 'each master key gives its own hash');
    assert.equal(h.activeKeyId, 'k2');
    assert.deepEqual([...h.keyIds].sort(), ['k1', 'k2']);
    // The same keyring (a restart, another instance) gives the same hashes; another keyring does not.
    assert.equal(createEmailHasher(ring).hash('site-1', 'alice@example.com'), a);
    assert.notEqual(createEmailHasher(testKeyring(['k2'])).hash('site-1', 'alice@example.com'), a);
    assert.throws(() => h.hash('site-1', 'a@b.c', 'k9'), (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING'));
    assert.equal(normalizeEmail('  Bob@X.ORG '), 'bob@x.org');
  });
});

for (const backend of backends) {
  describe(`email index repo: ${backend.name}`, () => {
    let t: TestStore;
    before(async () => {
      t = await openTestStore(backend);
    });
    after(async () => {
      await t.close();
    });

    test('record, find by hash, pending from events, pass bookkeeping, stats and per-key counts', async () => {
      const repo = t.repos.emailIndex;
      const site = 'cloud-ei';
      await repo.record(site, [
        { accountId: 'acc-1', emailHash: 'h1', keyId: 'k1' },
        { accountId: 'acc-2', emailHash: null, keyId: null },
      ]);
      assert.deepEqual(await repo.find(site, ['h1', 'nope']), [{ accountId: 'acc-1', emailHash: 'h1', keyId: 'k1' }]);
      assert.deepEqual(await repo.find('other-site', ['h1']), [], 'another site never answers');
      assert.deepEqual(await repo.find(site, []), []);
      assert.deepEqual(await repo.keyIds(site), ['k1']);

      // An event names a new account and a known one: only the new one waits (the known one is fresh).
      t.clock.advance(1000);
      assert.equal(await repo.markPending(site, ['acc-3', 'acc-1', 'acc-3'], t.clock.now() - 3_600_000), 1);
      assert.deepEqual(await repo.pending(site, 10), ['acc-3']);
      // Named again after its answer went stale: it waits again.
      t.clock.advance(2 * 3_600_000);
      assert.equal(await repo.markPending(site, ['acc-1'], t.clock.now() - 3_600_000), 1);
      assert.deepEqual((await repo.pending(site, 10)).sort(), ['acc-1', 'acc-3']);
      assert.deepEqual(await repo.stats(site), { accounts: 3, withEmail: 1, pending: 2 });

      // A re-hash under another key replaces the row.
      await repo.record(site, [{ accountId: 'acc-1', emailHash: 'h1b', keyId: 'k2' }, { accountId: 'acc-3', emailHash: 'h3', keyId: 'k2' }]);
      assert.deepEqual(await repo.pending(site, 10), []);
      assert.deepEqual(await repo.keyIds(site), ['k2']);
      assert.deepEqual(await repo.countByKey(), [{ keyId: 'k2', count: 2 }]);

      // A pass that started now and listed only acc-3: the others leave.
      t.clock.advance(1000);
      const passStart = t.clock.now();
      await repo.record(site, [{ accountId: 'acc-3', emailHash: 'h3', keyId: 'k2' }]);
      assert.equal(await repo.deleteUnseenSince(site, passStart), 2);
      assert.deepEqual(await repo.stats(site), { accounts: 1, withEmail: 1, pending: 0 });

      assert.equal(await repo.site(site), undefined);
      const saved = await repo.saveSite(site, { nextStart: 100, passStartedAt: passStart });
      assert.deepEqual(saved, { cloudId: site, nextStart: 100, passStartedAt: passStart, lastPassAt: null, lastRunAt: null, lastError: null });
      await repo.saveSite(site, { lastError: 'FORGE_TOKEN_UNAVAILABLE', lastRunAt: 5 });
      assert.deepEqual(await repo.site(site), { ...saved, lastError: 'FORGE_TOKEN_UNAVAILABLE', lastRunAt: 5 });

      assert.equal(await repo.deleteForKey('k2'), 1);
      assert.deepEqual(await repo.countByKey(), []);
    });

    test('the purge of the last installation of a site removes its index; another site keeps its own', async () => {
      const tenant = await t.repos.tenants.upsert({ route: 'forge', appKey: 'ari:cloud:ecosystem::app/x', tenantKey: 'ari:cloud:ecosystem::installation/1', cloudId: 'cloud-purge', baseUrl: 'https://p.example/wiki', payload: {} });
      await t.repos.emailIndex.record('cloud-purge', [{ accountId: 'acc-p', emailHash: 'hp', keyId: 'k1' }]);
      await t.repos.emailIndex.saveSite('cloud-purge', { nextStart: 0 });
      await t.repos.emailIndex.record('cloud-keep', [{ accountId: 'acc-k', emailHash: 'hk', keyId: 'k1' }]);
      const counts = await purgeTenant(t.store, tenant, t.clock.now());
      assert.equal(counts.emailIndex, 1);
      assert.equal(await t.repos.emailIndex.site('cloud-purge'), undefined);
      assert.equal((await t.repos.emailIndex.stats('cloud-keep')).accounts, 1);
    });
  });
}
