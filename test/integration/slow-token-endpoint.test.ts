import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cliProcess } from '../support/cli-process.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { testBackends } from '../../src/store/test-support/backends.js';
import { createConsoleAgent } from '../support/console-agent.js';
import { ADMIN_SECRET, GATEWAY_ORIGIN, createSharedDbWorld, linkByOAuth } from '../support/shared-db-world.js';

const HOUR = 3600_000;

const cli = cliProcess;

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 5000 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(cond(), 'condition never held');
}

for (const backend of testBackends()) {
  describe(`a slow Atlassian token endpoint stalls nothing else: ${backend.name}`, () => {
    test("while refreshes wait on the token endpoint, other users' calls, /v1/links, an admin write and a CLI write all complete", { timeout: 50_000 }, async () => {
      // On PostgreSQL a pool of two: the old lock held a pooled connection per waiting refresh, so three
      // slow refreshes left nothing for anyone else.
      const w = await createSharedDbWorld(backend, { instances: 1, gatewayClock: 'sandbox', env: { ONBEHALF_DATABASE_POOL_SIZE: '2' } });
      try {
        const [g] = w.gateways;
        assert.ok(g);
        const slowUsers = [
          ['u-slow-1', DEFAULT_ACCOUNTS.alice],
          ['u-slow-2', DEFAULT_ACCOUNTS.carol],
          ['u-slow-3', DEFAULT_ACCOUNTS.dave],
        ] as const;
        for (const [user, accountId] of slowUsers) await linkByOAuth(w, user, accountId);
        await linkByOAuth(w, 'u-fresh', DEFAULT_ACCOUNTS.bob);
        const { secret } = await g.repos.apiKeys.create({ name: 'app', sites: null });
        const api = async (path: string) => g.app.fetch(new Request(`${GATEWAY_ORIGIN}${path}`, { headers: { authorization: `Bearer ${secret}` } }));
        const act = (user: string) => api(`/v1/act/${user}/acme/api/v2/pages?limit=1`);

        // Every user's access token expires; u-fresh gets a new one at once, before the token endpoint slows.
        w.sandbox.control.advanceClock(2 * HOUR);
        assert.equal((await act('u-fresh')).status, 200);
        const refreshesBefore = w.sandbox.control.counters.total('refresh_grant');

        // The next three token calls are held by the sandbox until the test removes the fault (at most a minute).
        const fault = w.sandbox.control.faults.add({ kind: 'latency', match: { pathPrefix: '/oauth/token', method: 'POST' }, latencyMs: 60_000, times: slowUsers.length });
        let slowDone = 0;
        const slow = slowUsers.map(([user]) =>
          act(user).then((r) => {
            slowDone++;
            return r;
          }),
        );
        await until(() => w.sandbox.control.faults.held(fault.id) === slowUsers.length);

        const done: string[] = [];
        const other = await act('u-fresh');
        assert.equal(other.status, 200, await other.clone().text());
        done.push('other user act-as');
        const links = await api('/v1/links?externalUserId=u-fresh');
        assert.equal(links.status, 200);
        assert.equal(((await links.json()) as { links: unknown[] }).links.length, 1);
        done.push('/v1/links');
        const admin = createConsoleAgent((url, init) => g.app.fetch(new Request(url, init)), GATEWAY_ORIGIN);
        await admin.signIn(ADMIN_SECRET);
        const created = await admin.post('/admin/api-keys', { name: 'admin-during-refresh' });
        assert.equal(created.status, 200, created.html.slice(0, 300));
        done.push('admin write');
        const made = await cli(['apikeys', 'create', '--name', 'cli-during-refresh', '--json'], w.env);
        assert.equal(made.code, 0, made.stderr);
        assert.equal((JSON.parse(made.stdout) as { name: string }).name, 'cli-during-refresh');
        done.push('CLI write');

        // Ordering: all of it finished while every slow refresh was still held at the token endpoint.
        assert.equal(slowDone, 0);
        assert.equal(w.sandbox.control.faults.held(fault.id), slowUsers.length);
        assert.deepEqual(done, ['other user act-as', '/v1/links', 'admin write', 'CLI write']);

        w.sandbox.control.faults.remove(fault.id);
        for (const answered of await Promise.all(slow)) assert.equal(answered.status, 200, await answered.clone().text());
        assert.equal(w.sandbox.control.counters.total('refresh_grant'), refreshesBefore + slowUsers.length, 'one refresh per slow user');
        const names = (await g.repos.apiKeys.list({ includeRevoked: false })).map((k) => k.name).sort();
        assert.deepEqual(names, ['admin-during-refresh', 'app', 'cli-during-refresh']);
      } finally {
        await w.close();
      }
    });
  });
}
