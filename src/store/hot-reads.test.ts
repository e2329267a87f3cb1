import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createStore, type Store } from './create-store.js';
import { hotReadsSizes, withHotReads, type HotRepositories } from './hot-reads.js';
import { unclassifiedMethods } from './track-changes.js';
import { createRepositories, type Repositories } from './repositories.js';
import { testBackends } from './test-support/backends.js';
import { openTestStore, type TestStore } from './test-support/open-test-store.js';
import { watchChanges, type ChangeWatcher } from './watch-changes.js';

const CLOUD = '11111111-2222-3333-4444-555555555555';
const OTHER_CLOUD = '66666666-2222-3333-4444-555555555555';

/** Real-time polling with a deadline: for what arrives from another connection (a notification, a poll). */
async function eventually(what: string, check: () => Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Counts the database reads behind the hot reads of a fresh set of repositories on `store`. */
function counted(t: TestStore): { repos: Repositories; loads: Record<string, number> } {
  const repos = createRepositories({ store: t.store, box: t.box, clock: t.clock });
  const loads: Record<string, number> = {};
  const count = <O extends object>(o: O, name: string, method: keyof O & string) => {
    const real = o[method] as (...a: unknown[]) => unknown;
    (o as Record<string, unknown>)[method] = (...a: unknown[]) => {
      loads[`${name}.${method}`] = (loads[`${name}.${method}`] ?? 0) + 1;
      return real.apply(o, a);
    };
  };
  count(repos.links, 'links', 'liveForUser');
  count(repos.policies, 'policies', 'get');
  count(repos.apiKeys, 'apiKeys', 'verify');
  count(repos.tenants, 'tenants', 'findByCloudId');
  return { repos, loads };
}

const link = (accountId: string, externalUserId: string, cloudId = CLOUD) => ({ cloudId, accountId, externalUserId, route: 'connect' as const, status: 'linked' as const, evidence: {}, scopes: [] });

for (const backend of testBackends()) {
  describe(`hot reads (${backend.name})`, () => {
    let t: TestStore;
    /** A second connection to the same database: another gateway process, or the CLI. */
    let otherStore: Store;
    let elsewhere: Repositories;
    let now = 0;
    let hot: HotRepositories;

    before(async () => {
      t = await openTestStore(backend);
      otherStore = createStore(t.config);
      elsewhere = createRepositories({ store: otherStore, box: t.box, clock: t.clock });
      hot = withHotReads(t.repos, { ttlMs: 1000, now: () => now });
    });
    after(async () => {
      await otherStore.close();
      await t.close();
    });

    test('every method of the remembered repositories is a known read or a write that publishes its change', () => {
      assert.deepEqual(unclassifiedMethods(t.repos), []);
    });

    test('a key revoked through this process is refused on the very next request', { timeout: 180_000 }, async () => {
      const { secret } = await t.repos.apiKeys.create({ name: 'same-process' });
      assert.ok(await hot.apiKeys.verify(secret));
      assert.ok(await t.repos.apiKeys.revoke('same-process'));
      assert.equal(await hot.apiKeys.verify(secret), undefined);
    });

    test('with no change watcher, a key revoked by another process is remembered at most the TTL, then refused', { timeout: 180_000 }, async () => {
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
      assert.equal(await t.repos.tenants.setEnabled(tenant.id, true), false, 'an uninstalled tenant is not revived');
      await t.repos.tenants.upsert({ route: 'connect', appKey: 'app', tenantKey: 'client-1', baseUrl: 'https://acme.atlassian.net/wiki', cloudId: CLOUD, sharedSecret: 's' });
      assert.deepEqual((await hot.tenants.findByCloudId(CLOUD)).map((x) => x.status), ['active']);
      assert.equal(await t.repos.tenants.setEnabled(tenant.id, false), true);
      assert.deepEqual((await hot.tenants.findByBaseUrl('https://acme.atlassian.net/wiki')).map((x) => x.status), ['disabled']);
    });

    test('a link revoked through this process is gone on the very next read; by another process, after the TTL', { timeout: 180_000 }, async () => {
      const made = await t.repos.links.create(link('acc-hot', 'u-hot'));
      assert.equal((await hot.links.liveForUser(CLOUD, 'u-hot'))?.id, made.id);
      assert.equal((await hot.links.liveForAccount(CLOUD, 'acc-hot'))?.id, made.id);
      assert.ok(await t.repos.links.setStatus(made.id, 'revoked'));
      assert.equal(await hot.links.liveForUser(CLOUD, 'u-hot'), undefined, 'same process: at once');
      assert.equal(await hot.links.liveForAccount(CLOUD, 'acc-hot'), undefined);

      const other = await t.repos.links.create(link('acc-hot-2', 'u-hot-2'));
      assert.equal((await hot.links.liveForUser(CLOUD, 'u-hot-2'))?.id, other.id);
      assert.ok(await elsewhere.links.setStatus(other.id, 'revoked'));
      now += 999;
      assert.equal((await hot.links.liveForUser(CLOUD, 'u-hot-2'))?.id, other.id, 'within the TTL the remembered link still answers (the documented bound)');
      now += 2;
      assert.equal(await hot.links.liveForUser(CLOUD, 'u-hot-2'), undefined);
    });

    test('a user with no live link is not remembered: a link made elsewhere is found at once', { timeout: 180_000 }, async () => {
      assert.equal(await hot.links.liveForUser(CLOUD, 'u-late'), undefined);
      const made = await elsewhere.links.create(link('acc-late', 'u-late'));
      assert.equal((await hot.links.liveForUser(CLOUD, 'u-late'))?.id, made.id);
    });

    test('writes drop only the entries they change: other users, sites and keys stay in memory', { timeout: 180_000 }, async () => {
      const { repos, loads } = counted(t);
      const mine = withHotReads(repos, { ttlMs: 1000, now: () => now });
      const a = await repos.links.create(link('acc-p1', 'u-p1'));
      await repos.links.create(link('acc-p2', 'u-p2'));
      const k1 = await repos.apiKeys.create({ name: 'precise-1' });
      const k2 = await repos.apiKeys.create({ name: 'precise-2' });
      const read = async () => {
        await mine.links.liveForUser(CLOUD, 'u-p1');
        await mine.links.liveForUser(CLOUD, 'u-p2');
        await mine.policies.get(CLOUD);
        await mine.policies.get(OTHER_CLOUD);
        await mine.apiKeys.verify(k1.secret);
        await mine.apiKeys.verify(k2.secret);
      };
      // Database reads made by `read()` alone (a policy write reads the policy itself, too).
      const readsOf = async () => {
        const before = { ...loads };
        await read();
        return Object.fromEntries(Object.entries(loads).map(([k, n]) => [k, n - (before[k] ?? 0)]).filter(([, n]) => n !== 0));
      };
      assert.deepEqual(await readsOf(), { 'links.liveForUser': 2, 'policies.get': 2, 'apiKeys.verify': 2 });
      assert.deepEqual(await readsOf(), {}, 'the second round came from memory');

      assert.ok(await repos.links.setStatus(a.id, 'revoked'));
      await repos.policies.set(OTHER_CLOUD, { acting: 'admin_mapped' }, 'test');
      assert.ok(await repos.apiKeys.revoke('precise-1'));
      assert.deepEqual(await readsOf(), { 'links.liveForUser': 1, 'policies.get': 1, 'apiKeys.verify': 1 }, 'only the revoked link, the changed policy and the revoked key were read again');
      assert.equal(await mine.links.liveForUser(CLOUD, 'u-p1'), undefined);
      assert.equal(await mine.apiKeys.verify(k1.secret), undefined);
    });

    test('a purge drops the purged site\u2019s links, installs and policy from memory at once', { timeout: 180_000 }, async () => {
      const site = '77777777-2222-3333-4444-555555555555';
      const tenant = await t.repos.tenants.upsert({ route: 'connect', appKey: 'app', tenantKey: 'purged', baseUrl: 'https://purged.atlassian.net/wiki', cloudId: site, sharedSecret: 's' });
      await t.repos.links.create({ ...link('acc-purge', 'u-purge', site), tenantId: tenant.id });
      await t.repos.policies.set(site, { acting: 'any_user' }, 'test');
      assert.ok(await hot.links.liveForUser(site, 'u-purge'));
      assert.equal((await hot.policies.get(site)).acting, 'any_user');
      assert.equal((await hot.tenants.findByCloudId(site)).length, 1);
      await t.repos.tenants.setStatus(tenant.id, 'uninstalled');
      await t.repos.tenants.purge(tenant);
      assert.equal(await hot.links.liveForUser(site, 'u-purge'), undefined);
      assert.equal((await hot.policies.get(site)).acting, 'linked_only');
      assert.deepEqual(await hot.tenants.findByCloudId(site), []);
    });

    test('the link memory is bounded: past it the oldest entries go, and those users are read again', { timeout: 180_000 }, async () => {
      const { repos, loads } = counted(t);
      const small = withHotReads(repos, { ttlMs: 1000, now: () => now, maxLinks: 2 });
      for (const u of ['u-b1', 'u-b2', 'u-b3']) await repos.links.create(link(`acc-${u}`, u, OTHER_CLOUD));
      for (const u of ['u-b1', 'u-b2', 'u-b3']) assert.ok(await small.links.liveForUser(OTHER_CLOUD, u));
      assert.equal(hotReadsSizes(small)?.linksByUser, 2);
      const before = loads['links.liveForUser'] ?? 0;
      assert.ok(await small.links.liveForUser(OTHER_CLOUD, 'u-b3'));
      assert.equal(loads['links.liveForUser'], before, 'the newest is still in memory');
      assert.ok(await small.links.liveForUser(OTHER_CLOUD, 'u-b1'));
      assert.equal(loads['links.liveForUser'], before + 1, 'the oldest was dropped');
      assert.equal(hotReadsSizes(small)?.linksByUser, 2);
    });

    test('needs tracked repositories', () => {
      assert.throws(() => withHotReads({ ...t.repos }), /tracked/);
    });
  });

  describe(`hot reads with the change watcher (${backend.name})`, () => {
    let t: TestStore;
    let otherStore: Store;
    let elsewhere: Repositories;
    let watcher: ChangeWatcher;
    // Frozen unless a test moves it: the TTL never runs out, so only the watcher can drop an entry.
    let now = 0;

    before(async () => {
      t = await openTestStore(backend);
      otherStore = createStore(t.config);
      elsewhere = createRepositories({ store: otherStore, box: t.box, clock: t.clock });
      watcher = watchChanges(t.store, t.config, { now: () => now, pingIntervalMs: 20 });
      await watcher.ready;
    });
    after(async () => {
      await watcher.close();
      await otherStore.close();
      await t.close();
    });

    test('another process\u2019s writes reach memory through the watcher, with the TTL frozen', async () => {
      const hot = withHotReads(t.repos, { ttlMs: 1000, now: () => now });
      const l = await elsewhere.links.create(link('acc-w', 'u-w'));
      const { secret } = await elsewhere.apiKeys.create({ name: 'watched' });
      assert.equal((await hot.links.liveForUser(CLOUD, 'u-w'))?.id, l.id);
      assert.ok(await hot.apiKeys.verify(secret));
      assert.equal((await hot.policies.get(CLOUD)).acting, 'linked_only');
      assert.deepEqual(await hot.tenants.findByCloudId(CLOUD), []);

      assert.ok(await elsewhere.links.setStatus(l.id, 'revoked'));
      assert.ok(await elsewhere.apiKeys.revoke('watched'));
      await elsewhere.policies.set(CLOUD, { acting: 'any_user' }, 'test');
      await elsewhere.tenants.upsert({ route: 'connect', appKey: 'app', tenantKey: 'w', baseUrl: 'https://w.atlassian.net/wiki', cloudId: CLOUD, sharedSecret: 's' });
      await eventually('the revoked link is dropped', async () => (await hot.links.liveForUser(CLOUD, 'u-w')) === undefined);
      await eventually('the revoked key is dropped', async () => (await hot.apiKeys.verify(secret)) === undefined);
      await eventually('the new policy is read', async () => (await hot.policies.get(CLOUD)).acting === 'any_user');
      await eventually('the new install is read', async () => (await hot.tenants.findByCloudId(CLOUD)).length === 1);
    });

    test('while the watcher vouches, entries outlive the TTL without a database read', async () => {
      const { repos, loads } = counted(t);
      const hot = withHotReads(repos, { ttlMs: 1000, now: () => now });
      await elsewhere.links.create(link('acc-long', 'u-long'));
      // On SQLite the watcher learns that something changed (the insert above) and drops everything; let
      // it see the insert before the read this test counts on.
      now += 1;
      await eventually('the watcher confirms past the insert', async () => t.store.changes.confirmedAt >= now);
      assert.ok(await hot.links.liveForUser(CLOUD, 'u-long'));
      now += 30_000;
      await eventually('the watcher confirms at the new time', async () => t.store.changes.confirmedAt >= now);
      assert.ok(await hot.links.liveForUser(CLOUD, 'u-long'));
      assert.equal(loads['links.liveForUser'], 1, 'served from memory 30 s later');
      now += 31_000;
      await eventually('the watcher confirms at the new time', async () => t.store.changes.confirmedAt >= now);
      assert.ok(await hot.links.liveForUser(CLOUD, 'u-long'));
      assert.equal(loads['links.liveForUser'], 2, 'past the 60 s maximum age it is read again, in the background');
      await elsewhere.links.create(link('acc-long-2', 'u-long-2'));
      now += 1;
      await eventually('the watcher confirms past the insert', async () => t.store.changes.confirmedAt >= now);
      const l2 = await hot.links.liveForUser(CLOUD, 'u-long-2');
      assert.ok(l2);
      // A write that bypasses every notification: no publish, and on SQLite the hot reads' own connection
      // (data_version does not move), on PostgreSQL with triggers off (as a restore may run). Only the
      // background read past the maximum age can bring it.
      await t.store.db.transaction().execute(async (tx) => {
        if (t.store.dialect === 'postgres') await sql`set local session_replication_role = replica`.execute(tx);
        await tx.updateTable('links').set({ status: 'revoked' }).where('id', '=', l2.id).execute();
      });
      now += 61_000;
      await eventually('the watcher confirms at the new time', async () => t.store.changes.confirmedAt >= now);
      assert.ok(await hot.links.liveForUser(CLOUD, 'u-long-2'), 'served from memory while the background read runs');
      await eventually('the background read drops the link revoked behind the triggers\u2019 back', async () => (await hot.links.liveForUser(CLOUD, 'u-long-2')) === undefined);
    });
  });
}
