import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { isGatewayError } from '../errors.js';
import { createStore } from './create-store.js';
import { migrationsFor } from './migrations/index.js';
import { postgresRequired, testBackends } from './test-support/backends.js';
import { openTestStore, type TestStore } from './test-support/open-test-store.js';

const backends = testBackends();

test('PostgreSQL is part of the run when CI requires it', { timeout: 180_000 }, () => {
  if (postgresRequired()) assert.ok(backends.some((b) => b.name === 'postgres'), 'REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set');
  assert.ok(backends.some((b) => b.name === 'sqlite'));
});

test('migration names are unique and sorted in apply order', { timeout: 180_000 }, () => {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const names = Object.keys(migrationsFor(dialect));
    assert.deepEqual(names, [...names].sort());
    assert.deepEqual(names, Object.keys(migrationsFor('sqlite')), 'both dialects share one migration set');
  }
});

for (const backend of backends) {
  describe(`store contract: ${backend.name}`, () => {
    describe('migrations', () => {
      test('a new database gets every migration, a second run applies nothing', { timeout: 180_000 }, async () => {
        const place = await backend.create();
        const store = createStore(place.config);
        try {
          const before = await store.migrationStatus();
          assert.deepEqual(before.applied, []);
          assert.deepEqual(before.unknown, []);
          assert.ok(before.pending.length >= 1);
          const first = await store.migrate();
          assert.deepEqual(first.applied, Object.keys(migrationsFor(backend.name)));
          const second = await store.migrate();
          assert.deepEqual(second.applied, []);
          assert.deepEqual(second.current, first.current);
          for (const table of ['tenants', 'oauth_apps', 'links', 'link_sessions', 'known_accounts', 'tokens', 'audit_events', 'events', 'api_keys', 'policies'] as const) {
            const row = await store.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
            assert.equal(Number(row.n), 0, `${table} exists and is empty`);
          }
        } finally {
          await store.close();
          await place.cleanup();
        }
      });

      test('a database migrated by a newer version is refused, not downgraded', { timeout: 180_000 }, async () => {
        const place = await backend.create();
        const store = createStore(place.config);
        try {
          await store.migrate();
          await sql`insert into kysely_migration (name, timestamp) values ('9999-from-the-future', '2030-01-01T00:00:00.000Z')`.execute(store.db);
          await assert.rejects(store.migrate(), (e: unknown) => isGatewayError(e, 'MIGRATION_FAILED'));
          const status = await store.migrationStatus();
          assert.deepEqual(status.unknown, ['9999-from-the-future'], 'status names the migration this version does not know');
        } finally {
          await store.close();
          await place.cleanup();
        }
      });
    });

    describe('repositories', () => {
      let t: TestStore;
      before(async () => {
        t = await openTestStore(backend);
      }, { timeout: 120_000 });
      after(async () => {
        await t.close();
      }, { timeout: 120_000 });

      test('tenants: install, lookups, reinstall replaces the secret, status changes', { timeout: 180_000 }, async () => {
        const first = await t.repos.tenants.upsert({
          route: 'connect',
          appKey: 'app',
          tenantKey: 'client-1',
          baseUrl: 'https://one.example/wiki',
          oauthClientId: 'oc-1',
          sharedSecret: 'first-secret',
        });
        assert.equal(first.status, 'active');
        assert.equal(first.hasSharedSecret, true);
        assert.equal(typeof first.installedAt, 'number', 'BIGINT times come back as numbers');
        assert.equal(await t.repos.tenants.sharedSecret(first.id), 'first-secret');
        assert.equal((await t.repos.tenants.findByOauthClientId('oc-1'))?.id, first.id);

        t.clock.advance(1000);
        await t.repos.tenants.setStatus(first.id, 'uninstalled', { purgeAfter: t.clock.now() + 10 });
        const gone = await t.repos.tenants.get(first.id);
        assert.equal(gone?.status, 'uninstalled');
        assert.equal(gone?.uninstalledAt, t.clock.now());

        const again = await t.repos.tenants.upsert({ route: 'connect', appKey: 'app', tenantKey: 'client-1', baseUrl: 'https://one.example/wiki', sharedSecret: 'second-secret' });
        assert.equal(again.id, first.id, 'a reinstall keeps the tenant');
        assert.equal(again.status, 'active');
        assert.equal(again.purgeAfter, null);
        assert.equal(await t.repos.tenants.sharedSecret(first.id), 'second-secret');
        await t.repos.tenants.setCloudId(first.id, 'cloud-1');
        assert.deepEqual((await t.repos.tenants.findByCloudId('cloud-1')).map((x) => x.id), [first.id]);
        assert.equal(await t.repos.tenants.find('connect', 'other-app', 'client-1'), undefined, 'the app is part of the identity');
      });

      test('tenants: supersede moves the links to the successor and drops the old record and its tokens only', { timeout: 180_000 }, async () => {
        const old = await t.repos.tenants.upsert({ route: 'connect', appKey: 'sup-app', tenantKey: 'ck-old', baseUrl: 'https://sup.example/wiki', cloudId: 'cloud-sup', sharedSecret: 's-old' });
        t.clock.advance(1000);
        const successor = await t.repos.tenants.upsert({ route: 'connect', appKey: 'sup-app', tenantKey: 'ck-new', baseUrl: 'https://sup.example/wiki', cloudId: 'cloud-sup', sharedSecret: 's-new' });
        const link = await t.repos.links.create({ externalUserId: 'sup-u1', cloudId: 'cloud-sup', accountId: 'sup-acc-1', route: 'connect', scopes: ['READ'], status: 'linked', evidence: {}, tenantId: old.id });
        const token = (tenantKey: string) => ({ route: 'connect' as const, appKey: 'sup-app', tenantKey, accountId: 'sup-acc-1', kind: 'access' as const, scopeKey: 'read' });
        await t.repos.tokens.put(token('ck-old'), { token: 'at-old', expiresAt: null });
        await t.repos.tokens.put(token('ck-new'), { token: 'at-new', expiresAt: null });

        assert.deepEqual(await t.repos.tenants.supersede(old, successor.id), { links: 1, tokens: 1 });
        assert.equal(await t.repos.tenants.get(old.id), undefined);
        assert.equal((await t.repos.links.get(link.id))?.tenantId, successor.id);
        assert.equal((await t.repos.links.get(link.id))?.status, 'linked');
        assert.equal(await t.repos.tokens.get(token('ck-old')), undefined);
        assert.equal((await t.repos.tokens.get(token('ck-new')))?.token, 'at-new');
        assert.equal(await t.repos.tenants.sharedSecret(successor.id), 's-new');
        // Leave no live link behind: later tests in this store count them.
        await t.store.db.deleteFrom('links').where('id', '=', link.id).execute();
      });

      test('tokens: every tenant dimension is part of the key, and writes can compare-and-set', { timeout: 180_000 }, async () => {
        const key = { route: 'oauth' as const, appKey: 'cid', tenantKey: '', accountId: 'acc-1', kind: 'refresh' as const, scopeKey: 'read' };
        assert.equal(await t.repos.tokens.put(key, { token: 'rt-1', expiresAt: null }), true);
        const stored = await t.repos.tokens.get(key);
        assert.equal(stored?.token, 'rt-1');
        assert.equal(stored?.version, 1);
        assert.equal(await t.repos.tokens.get({ ...key, appKey: 'other' }), undefined);
        assert.equal(await t.repos.tokens.get({ ...key, scopeKey: 'read write' }), undefined);

        assert.equal(await t.repos.tokens.put(key, { token: 'rt-2', previousToken: 'rt-1', expiresAt: 5 }, { expectVersion: 1 }), true);
        assert.equal(await t.repos.tokens.put(key, { token: 'rt-3', expiresAt: 5 }, { expectVersion: 1 }), false, 'a stale writer loses');
        const now = await t.repos.tokens.get(key);
        assert.equal(now?.token, 'rt-2');
        assert.equal(now?.previousToken, 'rt-1');
        assert.equal(now?.version, 2);
        assert.equal(await t.repos.tokens.deleteForAccount('oauth', 'cid', 'acc-1'), 1);
        assert.equal(await t.repos.tokens.get(key), undefined);
      });

      test('api keys: shown once, stored as a hash, limited to sites, revocable', { timeout: 180_000 }, async () => {
        const { apiKey, secret } = await t.repos.apiKeys.create({ name: 'backend', sites: ['site-a'] });
        assert.match(secret, /^obk_[A-Za-z0-9_-]{43}$/);
        const row = await t.store.db.selectFrom('api_keys').selectAll().where('id', '=', apiKey.id).executeTakeFirstOrThrow();
        assert.notEqual(row.key_hash, secret);
        assert.ok(!JSON.stringify(row).includes(secret.slice(12)), 'no part of the key beyond its prefix is stored');
        assert.deepEqual((await t.repos.apiKeys.verify(secret))?.sites, ['site-a']);
        assert.equal(await t.repos.apiKeys.verify(`${secret}x`), undefined);
        assert.equal(await t.repos.apiKeys.verify('Bearer nonsense'), undefined);
        assert.equal(await t.repos.apiKeys.revoke('backend'), true);
        assert.equal(await t.repos.apiKeys.verify(secret), undefined);
        assert.equal(await t.repos.apiKeys.revoke('backend'), false);
        await assert.rejects(t.repos.apiKeys.create({ name: '' }), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED'));
      });

      test('audit log: append-only, newest first, filterable', { timeout: 180_000 }, async () => {
        const a = await t.repos.audit.append({ action: 'link.created', actorType: 'user', accountId: 'acc-9', externalUserId: 'u-9', cloudId: 'c' });
        t.clock.advance(1);
        const b = await t.repos.audit.append({ action: 'token.minted', actorType: 'system', accountId: 'acc-9', route: 'connect', data: { scopes: ['READ'] } });
        assert.ok(b > a);
        const all = await t.repos.audit.query({ accountId: 'acc-9' });
        assert.deepEqual(all.map((e) => e.action), ['token.minted', 'link.created']);
        assert.deepEqual(all[0]?.data, { scopes: ['READ'] });
        assert.deepEqual((await t.repos.audit.query({ externalUserId: 'u-9' })).map((e) => e.id), [a]);
        assert.deepEqual((await t.repos.audit.query({ accountId: 'acc-9', before: b })).map((e) => e.id), [a]);
      });

      test('known accounts: sightings merge, names are kept when a later sighting has none', { timeout: 180_000 }, async () => {
        await t.repos.knownAccounts.record({ cloudId: 'c1', accountId: 'a1', source: 'webhook:page_created', displayName: 'Alice_Liddell%' });
        t.clock.advance(10);
        await t.repos.knownAccounts.record({ cloudId: 'c1', accountId: 'a1', source: 'iframe' });
        const a = await t.repos.knownAccounts.get('c1', 'a1');
        assert.equal(a?.displayName, 'Alice_Liddell%');
        assert.equal(a?.seenCount, 2);
        assert.equal(a?.source, 'iframe');
        assert.equal(a && a.lastSeenAt - a.firstSeenAt, 10);
        await t.repos.knownAccounts.record({ cloudId: 'c1', accountId: 'a2', source: 'iframe', displayName: 'AliceXLiddell' });
        assert.deepEqual((await t.repos.knownAccounts.list('c1', { search: 'alice_' })).map((x) => x.accountId), ['a1'], '_ is matched literally');
        assert.deepEqual((await t.repos.knownAccounts.list('c1', { search: 'ice' })).map((x) => x.accountId).sort(), ['a1', 'a2']);
      });

      test('links: one live link per account and per external user on a site, enforced by the database', { timeout: 180_000 }, async () => {
        const base = { cloud_id: 'c1', tenant_id: null, route: 'connect' as const, scopes: 'READ', evidence: '{}', status_reason: null, created_at: 1, updated_at: 1, verified_at: null, revoked_at: null };
        await t.store.db.insertInto('links').values({ ...base, id: 'l1', external_user_id: 'u1', account_id: 'a1', status: 'linked' }).execute();
        await assert.rejects(
          t.store.db.insertInto('links').values({ ...base, id: 'l2', external_user_id: 'u2', account_id: 'a1', status: 'pending_confirmation' }).execute(),
          'a second claim of a linked account is refused',
        );
        await assert.rejects(t.store.db.insertInto('links').values({ ...base, id: 'l3', external_user_id: 'u1', account_id: 'a2', status: 'linked' }).execute());
        await t.store.db.updateTable('links').set({ status: 'revoked' }).where('id', '=', 'l1').execute();
        await t.store.db.insertInto('links').values({ ...base, id: 'l4', external_user_id: 'u2', account_id: 'a1', status: 'linked' }).execute();
        await t.store.db.insertInto('links').values({ ...base, id: 'l5', external_user_id: 'u1', account_id: 'a1', cloud_id: 'c2', status: 'linked' }).execute();
        const live = await t.store.db.selectFrom('links').select('id').where('status', '=', 'linked').orderBy('id').execute();
        assert.deepEqual(live.map((r) => r.id), ['l4', 'l5']);
      });

      test('oauth apps: client secret sealed, readable back', { timeout: 180_000 }, async () => {
        const app = await t.repos.oauthApps.upsert({ clientId: 'cid-1', clientSecret: 'cs-1', redirectUri: 'http://x/cb', scopes: ['read:me', 'offline_access'], source: 'sandbox' });
        assert.equal(app.clientSecret, 'cs-1');
        const row = await t.store.db.selectFrom('oauth_apps').select('client_secret').where('client_id', '=', 'cid-1').executeTakeFirstOrThrow();
        assert.match(row.client_secret, /^ob1\.k1\./);
        const updated = await t.repos.oauthApps.upsert({ clientId: 'cid-1', clientSecret: 'cs-2', redirectUri: 'http://x/cb', scopes: ['read:me'], source: 'sandbox' });
        assert.equal(updated.id, app.id);
        assert.equal((await t.repos.oauthApps.findByClientId('cid-1'))?.clientSecret, 'cs-2');
      });

      test('link sessions: expired ones are purged, live ones stay', { timeout: 180_000 }, async () => {
        const base = { external_user_id: 'u', cloud_id: null, route: 'connect' as const, return_url: null, status: 'pending' as const, require_confirmation: 1, completion_code_hash: null, oauth_state_hash: null, link_id: null, email_hint: null, api_key_id: null, created_at: 1, used_at: null, completed_at: null, pending_account_id: null, pending_data: null };
        await t.repos.linkSessions.insert({ ...base, id: 'old', token_hash: 'h-old', expires_at: 1_000 });
        await t.repos.linkSessions.insert({ ...base, id: 'new', token_hash: 'h-new', expires_at: 5_000 });
        assert.equal(await t.repos.linkSessions.deleteExpired(2_000), 1);
        assert.equal(await t.repos.linkSessions.get('old'), undefined);
        assert.ok(await t.repos.linkSessions.get('new'));
      });

      test('admin sessions: only the hash is stored; absolute end and idle timeout both end a session', { timeout: 180_000 }, async () => {
        const { session, token } = await t.repos.adminSessions.create({ maxAgeMs: 3_600_000, clientIp: '127.0.0.1' });
        const raw = await t.store.db.selectFrom('admin_sessions').selectAll().where('id', '=', session.id).executeTakeFirstOrThrow();
        assert.notEqual(raw.token_hash, token);
        assert.ok(!JSON.stringify(raw).includes(token), 'the cookie value is nowhere in the row');
        assert.equal((await t.repos.adminSessions.verify(token, { idleMs: 600_000 }))?.id, session.id);
        assert.equal(await t.repos.adminSessions.verify(`${token}x`, { idleMs: 600_000 }), undefined);
        assert.equal(await t.repos.adminSessions.verify('not-a-token', { idleMs: 600_000 }), undefined);

        t.clock.advance(300_000);
        assert.ok(await t.repos.adminSessions.verify(token, { idleMs: 600_000 }), 'activity within the idle window keeps it');
        t.clock.advance(600_000);
        assert.equal(await t.repos.adminSessions.verify(token, { idleMs: 600_000 }), undefined, 'idle for the whole window: ended');
        assert.equal(await t.store.db.selectFrom('admin_sessions').select('id').where('id', '=', session.id).executeTakeFirst(), undefined, 'and deleted');

        const busy = await t.repos.adminSessions.create({ maxAgeMs: 3_600_000, clientIp: null });
        for (let i = 0; i < 6; i++) {
          t.clock.advance(540_000);
          assert.ok(await t.repos.adminSessions.verify(busy.token, { idleMs: 600_000 }), `still live after ${i + 1} busy steps`);
        }
        t.clock.advance(540_000);
        assert.equal(await t.repos.adminSessions.verify(busy.token, { idleMs: 600_000 }), undefined, 'past the absolute end, however busy');

        const bound = await t.repos.adminSessions.create({ maxAgeMs: 3_600_000, clientIp: null, binding: 'b1' });
        assert.equal(await t.repos.adminSessions.verify(bound.token, { idleMs: 600_000, binding: 'b2' }), undefined, 'another binding matches nothing');
        assert.equal(await t.repos.adminSessions.verify(bound.token, { idleMs: 600_000 }), undefined);
        assert.ok(await t.repos.adminSessions.verify(bound.token, { idleMs: 600_000, binding: 'b1' }));
        assert.equal(await t.repos.adminSessions.delete(bound.token, 'b1'), true);

        const out = await t.repos.adminSessions.create({ maxAgeMs: 3_600_000, clientIp: null });
        assert.equal(await t.repos.adminSessions.delete(out.token), true);
        assert.equal(await t.repos.adminSessions.delete(out.token), false);
        assert.equal(await t.repos.adminSessions.verify(out.token, { idleMs: 600_000 }), undefined);

        const stale = await t.repos.adminSessions.create({ maxAgeMs: 3_600_000, clientIp: null });
        const fresh = await t.repos.adminSessions.create({ maxAgeMs: 3_600_000, clientIp: null });
        t.clock.advance(700_000);
        await t.repos.adminSessions.verify(fresh.token, { idleMs: 10_000_000 });
        assert.equal(await t.repos.adminSessions.deleteExpired(t.clock.now() - 600_000), 1);
        assert.equal(await t.repos.adminSessions.verify(stale.token, { idleMs: 10_000_000 }), undefined);
        assert.ok(await t.repos.adminSessions.verify(fresh.token, { idleMs: 10_000_000 }));
      });

      test('token mints: per-minute buckets add up across writers and routes', { timeout: 180_000 }, async () => {
        const minute = Math.floor(t.clock.now() / 60_000) * 60_000;
        await Promise.all([t.repos.tokenMints.record('connect'), t.repos.tokenMints.record('connect'), t.repos.tokenMints.record('oauth')]);
        await t.repos.tokenMints.record('connect', minute + 59_999);
        await t.repos.tokenMints.record('connect', minute + 60_000);
        await t.repos.tokenMints.record('connect', minute - 3_600_000);
        assert.deepEqual(await t.repos.tokenMints.since(minute), [
          { minute, route: 'connect', count: 3 },
          { minute, route: 'oauth', count: 1 },
          { minute: minute + 60_000, route: 'connect', count: 1 },
        ]);
        assert.equal(await t.repos.tokenMints.deleteBefore(minute), 1);
        assert.equal((await t.repos.tokenMints.since(0)).length, 3);
      });

      test('admin console queries: link search by user or accounts, paging, session and audit filters, email look-up', { timeout: 180_000 }, async () => {
        const cloudId = 'cloud-console';
        const mk = (n: number, route: 'connect' | 'oauth') => t.repos.links.create({ externalUserId: `cu-${n}`, cloudId, accountId: `acc-${n}`, route, scopes: [], status: 'linked', evidence: {} });
        for (let i = 0; i < 5; i++) {
          await mk(i, i % 2 === 0 ? 'connect' : 'oauth');
          t.clock.advance(1);
        }
        const ids = (q: Parameters<typeof t.repos.links.list>[0]) => t.repos.links.list({ cloudId, ...q }).then((ls) => ls.map((l) => l.externalUserId));
        assert.deepEqual(await ids({ who: { externalUserId: 'cu-1', accountIds: ['acc-3'] } }), ['cu-3', 'cu-1']);
        assert.deepEqual(await ids({ who: {} }), [], 'an empty search matches nothing, not everything');
        assert.deepEqual(await ids({ limit: 2, offset: 2 }), ['cu-2', 'cu-1']);
        assert.deepEqual(await ids({ route: 'oauth' }), ['cu-3', 'cu-1']);

        await t.repos.knownAccounts.record({ cloudId, accountId: 'acc-3', source: 'test', email: 'Three@Example.com' });
        await t.repos.knownAccounts.record({ cloudId: 'other', accountId: 'acc-9', source: 'test', email: 'three@example.com' });
        assert.deepEqual((await t.repos.knownAccounts.findByEmail('THREE@example.com ')).map((a) => a.accountId).sort(), ['acc-3', 'acc-9']);

        const base = { cloud_id: null, route: 'connect' as const, return_url: null, require_confirmation: 1, completion_code_hash: null, oauth_state_hash: null, link_id: null, email_hint: null, api_key_id: null, created_at: 1, used_at: null, completed_at: null, pending_account_id: null, pending_data: null, expires_at: 9e12 };
        await t.repos.linkSessions.insert({ ...base, id: 'ls-a', token_hash: 'h-ls-a', external_user_id: 'cs', status: 'pending' });
        await t.repos.linkSessions.insert({ ...base, id: 'ls-b', token_hash: 'h-ls-b', external_user_id: 'cs', status: 'denied', route: 'oauth' });
        assert.deepEqual((await t.repos.linkSessions.list({ externalUserId: 'cs', status: 'denied' })).map((x) => x.id), ['ls-b']);
        assert.deepEqual((await t.repos.linkSessions.list({ externalUserId: 'cs', route: 'connect' })).map((x) => x.id), ['ls-a']);

        const start = t.clock.now();
        await t.repos.audit.append({ action: 'console.test', actorType: 'admin', actorId: 'console:a' });
        t.clock.advance(1000);
        await t.repos.audit.append({ action: 'console.test', actorType: 'admin', actorId: 'console:b' });
        assert.equal(await t.repos.audit.count({ action: 'console.test' }), 2);
        assert.equal(await t.repos.audit.count({ action: 'console.test', actorId: 'console:a' }), 1);
        assert.equal(await t.repos.audit.count({ action: 'console.test', since: start + 1 }), 1);
        assert.deepEqual((await t.repos.audit.query({ action: 'console.test', until: start + 1 })).map((e) => e.actorId), ['console:a']);

        assert.equal(await t.repos.tokens.count('oauth', 'refresh'), 0);
      });

      test('ping answers while the store is up', { timeout: 180_000 }, async () => {
        await t.store.ping();
      });
    });
  });
}
