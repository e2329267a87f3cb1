import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cliProcess } from '../support/cli-process.js';
import { sql } from 'kysely';
import type { Gateway } from '../../src/gateway.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { testBackends } from '../../src/store/test-support/backends.js';
import { createSharedDbWorld, linkByOAuth, type SharedDbWorld } from '../support/shared-db-world.js';

/*
 * Every instance keeps the acting decision's reads (API key, installs, policy, live link) in memory. These
 * tests freeze the memory's clock (hotReadsNow), so its 1 s TTL never runs out on its own: a change made on
 * one instance can only reach the other through the change watcher (PostgreSQL LISTEN/NOTIFY, SQLite's
 * data_version). Each waits for the outcome with a deadline in real time and asserts on the outcome only.
 * SQLite serves one gateway process; there the "other instance" is a second gateway on the same file (its
 * own connection, exactly as the CLI beside a gateway).
 */


async function eventually(what: string, check: () => Promise<boolean>, deadlineMs = 15_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const cli = cliProcess;

/** Both gateways serving on loopback; calls go over real HTTP. */
async function serving(w: SharedDbWorld): Promise<{ g: Gateway; url: string }[]> {
  return Promise.all(w.gateways.map(async (g) => ({ g, url: (await g.listen()).url })));
}

async function call(base: string, secret: string, path: string, method = 'GET'): Promise<{ status: number; code: string | undefined }> {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${secret}` } });
  const text = await res.text();
  return { status: res.status, code: res.ok ? undefined : ((JSON.parse(text) as { error?: { code?: string } }).error?.code ?? text) };
}

const act = (user: string) => `/v1/act/${user}/acme/api/v2/pages?limit=1`;

for (const backend of testBackends()) {
  describe(`changes reach every instance: at once where made, within the bound elsewhere: ${backend.name}`, () => {
    test('a revoked link: refused at once by the instance that revoked it, and by the other once its watcher hears of it (TTL frozen)', { timeout: 60_000 }, async () => {
      const w = await createSharedDbWorld(backend, { instances: 2, gatewayClock: 'sandbox', hotReadsNow: () => 0, env: { ONBEHALF_PORT: '0' } });
      try {
        const [a, b] = await serving(w);
        assert.ok(a && b);
        await linkByOAuth(w, 'u-rev', DEFAULT_ACCOUNTS.carol);
        const { secret } = await a.g.repos.apiKeys.create({ name: 'app', sites: null });
        assert.equal((await call(a.url, secret, act('u-rev'))).status, 200);
        assert.equal((await call(b.url, secret, act('u-rev'))).status, 200);

        // Revoked through the second instance's API.
        const link = (await b.g.repos.links.list({ externalUserId: 'u-rev' }))[0];
        assert.ok(link);
        assert.equal((await call(b.url, secret, `/v1/links/${link.id}`, 'DELETE')).status, 200);
        assert.equal((await call(b.url, secret, act('u-rev'))).code, 'USER_NOT_LINKED', 'the revoking instance refuses the very next call');
        await eventually('the other instance refuses too', async () => (await call(a.url, secret, act('u-rev'))).code === 'USER_NOT_LINKED');
        await assert.rejects(a.g.tokenFor({ site: 'acme', externalUserId: 'u-rev' }), /not linked|USER_NOT_LINKED/i);
      } finally {
        await w.close();
      }
    });

    test('a changed policy, a disabled install and a revoked API key on one instance stop the other acting (TTL frozen)', { timeout: 60_000 }, async () => {
      const w = await createSharedDbWorld(backend, { instances: 2, gatewayClock: 'sandbox', hotReadsNow: () => 0, env: { ONBEHALF_PORT: '0' } });
      try {
        const [a, b] = await serving(w);
        assert.ok(a && b);
        const cloudId = w.sandbox.control.discovery().sites.find((s) => s.key === 'acme')?.cloudId ?? '';
        const connect = (await a.g.repos.tenants.findByCloudId(cloudId)).find((t) => t.route === 'connect');
        assert.ok(connect);
        // An admin-mapped user acts by Connect impersonation: usable only under the admin_mapped policy
        // and only while the Connect install is enabled.
        await a.g.repos.links.create({ cloudId, accountId: DEFAULT_ACCOUNTS.dave, externalUserId: 'u-mapped', route: 'admin', status: 'linked', evidence: { kind: 'admin_mapping' }, scopes: [], tenantId: connect.id });
        await a.g.repos.policies.set(cloudId, { acting: 'admin_mapped' }, 'test');
        const { secret } = await a.g.repos.apiKeys.create({ name: 'app', sites: null });
        assert.equal((await call(b.url, secret, act('u-mapped'))).status, 200);

        await a.g.repos.policies.set(cloudId, { acting: 'linked_only' }, 'test');
        assert.equal((await call(a.url, secret, act('u-mapped'))).code, 'POLICY_REFUSED', 'at once where changed');
        await eventually('the other instance applies the policy', async () => (await call(b.url, secret, act('u-mapped'))).code === 'POLICY_REFUSED');
        await a.g.repos.policies.set(cloudId, { acting: 'admin_mapped' }, 'test');
        await eventually('and the policy back', async () => (await call(b.url, secret, act('u-mapped'))).status === 200);

        // The site disables the app: Atlassian's lifecycle callback reaches the first instance only.
        const disabled = await w.sandbox.control.disableApp('acme', 'com.example.onbehalf');
        assert.ok(disabled.ok);
        await w.sandbox.control.flushWebhooks();
        assert.equal((await a.g.repos.tenants.get(connect.id))?.status, 'disabled');
        await eventually('the other instance sees the install disabled', async () => (await call(b.url, secret, act('u-mapped'))).code === 'TENANT_UNINSTALLED');

        assert.equal((await call(b.url, secret, '/v1/links')).status, 200);
        assert.ok(await a.g.repos.apiKeys.revoke('app'));
        await eventually('the other instance refuses the revoked key', async () => (await call(b.url, secret, '/v1/links')).code === 'UNAUTHENTICATED');
      } finally {
        await w.close();
      }
    });

    test('a key revoked by the CLI beside the running gateway is refused within the bound (TTL frozen)', { timeout: 60_000 }, async () => {
      const w = await createSharedDbWorld(backend, { instances: 1, gatewayClock: 'sandbox', hotReadsNow: () => 0, env: { ONBEHALF_PORT: '0' } });
      try {
        const [g] = await serving(w);
        assert.ok(g);
        const { secret } = await g.g.repos.apiKeys.create({ name: 'cli-revoked', sites: null });
        assert.equal((await call(g.url, secret, '/v1/links')).status, 200);
        const out = await cli(['apikeys', 'revoke', 'cli-revoked'], w.env);
        assert.equal(out.code, 0, out.stderr);
        await eventually('the gateway refuses the key the CLI revoked', async () => (await call(g.url, secret, '/v1/links')).code === 'UNAUTHENTICATED');
      } finally {
        await w.close();
      }
    });
  });
}

for (const backend of testBackends().filter((b) => b.name === 'postgres')) {
  describe('the change listener loses its connection: postgres', () => {
    test('killed by pg_terminate_backend: the 1 s TTL holds meanwhile, then it reconnects and notifications apply again', { timeout: 60_000 }, async () => {
      let now = 0;
      // The listeners reconnect only when the test lets them, so the outage lasts as long as it needs.
      let reconnect = (): void => undefined;
      const allowed = new Promise<void>((resolve) => (reconnect = resolve));
      const w = await createSharedDbWorld(backend, { instances: 2, gatewayClock: 'sandbox', hotReadsNow: () => now, changeWatch: { sleep: () => allowed }, env: { ONBEHALF_PORT: '0' } });
      try {
        const [a, b] = await serving(w);
        assert.ok(a && b);
        await Promise.all([a.g.changeWatcher.ready, b.g.changeWatcher.ready]);
        await linkByOAuth(w, 'u-1', DEFAULT_ACCOUNTS.carol);
        await linkByOAuth(w, 'u-2', DEFAULT_ACCOUNTS.dave);
        const { secret } = await a.g.repos.apiKeys.create({ name: 'app', sites: null });
        for (const u of ['u-1', 'u-2']) assert.equal((await call(b.url, secret, act(u))).status, 200);

        // Two statements: in one, PostgreSQL may call pg_terminate_backend before the filter on other rows too.
        const listeners = await sql<{ pid: number }>`select pid from pg_stat_activity where application_name = 'onbehalf-changes' and datname = current_database()`.execute(a.g.store.db);
        assert.equal(listeners.rows.length, 2, 'one listener connection per instance');
        for (const { pid } of listeners.rows) assert.equal((await sql<{ ok: boolean }>`select pg_terminate_backend(${pid}) as ok`.execute(a.g.store.db)).rows[0]?.ok, true);
        await eventually('the listener notices', async () => b.g.changeWatcher.state === 'down');

        const [l1] = await a.g.repos.links.list({ externalUserId: 'u-1' });
        assert.ok(l1);
        assert.equal((await call(a.url, secret, `/v1/links/${l1.id}`, 'DELETE')).status, 200);
        assert.equal((await call(a.url, secret, act('u-1'))).code, 'USER_NOT_LINKED', 'at once where revoked, listener or not');
        now += 1001;
        assert.equal((await call(b.url, secret, act('u-1'))).code, 'USER_NOT_LINKED', 'past the TTL the other instance refuses, with no notification');
        assert.equal(b.g.changeWatcher.state, 'down', 'the listener was still down: the TTL did it');

        reconnect();
        await eventually('the listener reconnects', async () => b.g.changeWatcher.state === 'listening');
        assert.equal((await call(b.url, secret, act('u-2'))).status, 200);
        const [l2] = await a.g.repos.links.list({ externalUserId: 'u-2' });
        assert.ok(l2);
        assert.equal((await call(a.url, secret, `/v1/links/${l2.id}`, 'DELETE')).status, 200);
        await eventually('notifications apply again (TTL frozen)', async () => (await call(b.url, secret, act('u-2'))).code === 'USER_NOT_LINKED');
      } finally {
        await w.close();
      }
    });
  });
}
