import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { testBackends } from '../../src/store/test-support/backends.js';
import type { ActAsClient } from '../../src/confluence/index.js';
import type { Gateway } from '../../src/gateway.js';
import { GATEWAY_ORIGIN, createSharedDbWorld, linkByOAuth } from '../support/shared-db-world.js';

const HOUR = 3600_000;
const USERS = [
  { user: 'u-alice', accountId: DEFAULT_ACCOUNTS.alice, site: 'acme' },
  { user: 'u-bob', accountId: DEFAULT_ACCOUNTS.bob, site: 'acme' },
  { user: 'u-carol', accountId: DEFAULT_ACCOUNTS.carol, site: 'acme' },
  { user: 'u-dave', accountId: DEFAULT_ACCOUNTS.dave, site: 'acme' },
  { user: 'u-frank', accountId: DEFAULT_ACCOUNTS.frank, site: 'globex' },
] as const;

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 5000 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(cond(), 'condition never held');
}

async function untilAsync(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail('condition never held');
}

for (const backend of testBackends()) {
  // SQLite serves one gateway process (docs/production.md): there the same 150 calls go to one instance.
  const instances = backend.name === 'postgres' ? 2 : 1;
  describe(`${instances} gateway instance(s), access tokens Atlassian refuses before their exp: ${backend.name}`, () => {
    test('150 concurrent calls over the instances: exactly one refresh per user, every caller gets the retried answer (no 401)', { timeout: 60_000 }, async () => {
      // The gateways keep their own clock: when the sandbox's moves on, Atlassian answers 401 to access
      // tokens the gateways still think fresh, so only the 401-driven path can notice.
      const w = await createSharedDbWorld(backend, { instances, gatewayClock: 'own' });
      try {
        for (const u of USERS) await linkByOAuth(w, u.user, u.accountId, u.site);
        const g0 = w.gateways[0];
        const g1 = w.gateways[instances - 1];
        assert.ok(g0 && g1);
        const { secret } = await g0.repos.apiKeys.create({ name: 'app', sites: null });
        type User = (typeof USERS)[number];
        // Half the calls through the proxy, half through a client the app keeps per user (embedded asUser).
        const viaProxy = async (g: Gateway, u: User) => {
          const res = await g.app.fetch(new Request(`${GATEWAY_ORIGIN}/v1/act/${u.user}/${u.site}/api/v2/pages?limit=1`, { headers: { authorization: `Bearer ${secret}` } }));
          await res.arrayBuffer();
          return res.status;
        };
        const kept = new Map<string, ActAsClient>();
        for (const [i, g] of [g0, g1].entries()) for (const u of USERS) kept.set(`${i}:${u.user}`, await g.asUser({ site: u.site, externalUserId: u.user }));
        const viaKept = async (i: number, u: User) => {
          const res = await kept.get(`${i}:${u.user}`)!.fetch('/api/v2/pages?limit=1');
          await res.arrayBuffer();
          return res.status;
        };
        const call = (i: number, u: User, n: number) => (n % 2 === 0 ? viaProxy(i === 0 ? g0 : g1, u) : viaKept(i, u));
        const accessVersions = async () => {
          const rows = await g0.store.db.selectFrom('tokens').select(['account_id', 'version']).where('route', '=', 'oauth').where('kind', '=', 'access').execute();
          return new Map(rows.map((r) => [r.account_id, Number(r.version)]));
        };
        // Both instances hold the consent's tokens in memory before Atlassian refuses them.
        for (const [n, u] of USERS.entries()) for (const i of [0, 1]) for (const m of [0, 1]) assert.equal(await call(i, u, n + m), 200);

        for (let round = 1; round <= 3; round++) {
          // Atlassian now refuses every access token the instances hold, which they still think fresh.
          w.sandbox.control.advanceClock(2 * HOUR);
          const grantsBefore = USERS.map((u) => w.sandbox.control.counters.total('refresh_grant', { user: u.accountId }));
          const versionsBefore = await accessVersions();
          // Token calls wait at Atlassian until released, so the second wave meets the 401 mid-refresh.
          const fault = w.sandbox.control.faults.add({ kind: 'latency', match: { pathPrefix: '/oauth/token', method: 'POST' }, latencyMs: 60_000 });
          // Wave 1: the first instance meets the 401 for every user; their refreshes start and are held.
          const wave1 = USERS.map((u, n) => call(0, u, n));
          await until(() => w.sandbox.control.faults.held(fault.id) === USERS.length);
          // Wave 2: 145 calls on the other instance, still holding the refused tokens, meet the 401 too and
          // report it (each marks the token dead in the store) while the refreshes are under way.
          const wave2 = Array.from({ length: 145 }, (_, n) => call(instances - 1, USERS[n % USERS.length]!, n));
          await untilAsync(async () => {
            const now = await accessVersions();
            return USERS.every((u) => (now.get(u.accountId) ?? 0) >= (versionsBefore.get(u.accountId) ?? 0) + (instances === 2 ? 2 : 1));
          });
          w.sandbox.control.faults.remove(fault.id);
          const results = await Promise.all([...wave1, ...wave2]);
          const statuses = new Map<number, number>();
          for (const status of results) statuses.set(status, (statuses.get(status) ?? 0) + 1);
          assert.deepEqual([...statuses], [[200, 150]], `round ${round}: every call answered 200`);
          const grants = USERS.map((u, n) => w.sandbox.control.counters.total('refresh_grant', { user: u.accountId }) - (grantsBefore[n] ?? 0));
          assert.deepEqual(grants, [1, 1, 1, 1, 1], `round ${round}: one refresh per user across the instances`);
        }
      } finally {
        await w.close();
      }
    });
  });
}
