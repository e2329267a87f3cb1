import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { exampleForgeManifest, EXAMPLE_APP_ID } from '../../src/sandbox/forge/example-manifest.js';
import { testBackends } from '../../src/store/test-support/backends.js';
import { GatewayError } from '../../src/errors.js';
import { GATEWAY_ORIGIN, createSharedDbWorld } from '../support/shared-db-world.js';

/**
 * Atlassian allows an app 1,000 offline-token exchanges a minute (§10.10), whatever number of gateway
 * instances asks. Two gateways on one PostgreSQL database spend one budget: the 1,001st exchange in the
 * minute is refused by the gateway (RATE_LIMITED, with when to retry) and never reaches the sandbox; one
 * asked when the oldest exchange is about to leave the minute queues and then goes through.
 */
const postgres = testBackends().find((b) => b.name === 'postgres');

describe('the Forge offline-token budget shared by two instances on PostgreSQL', { timeout: 240_000, skip: postgres ? false : 'needs TEST_DATABASE_URL' }, () => {
  test('1,000 exchanges over two gateways, the 1,001st refused and never sent, a queued one sent once the minute allows', async () => {
    const w = await createSharedDbWorld(postgres!, { instances: 2, gatewayClock: 'sandbox', env: { ONBEHALF_FORGE_APP_ID: EXAMPLE_APP_ID } });
    try {
      const [g0, g1] = w.gateways;
      assert.ok(g0 && g1);
      const installed = await w.sandbox.forge.install('acme', { manifest: exampleForgeManifest({ baseUrl: GATEWAY_ORIGIN }) });
      assert.ok(installed.ok, JSON.stringify(installed));
      await g0.background.drain();
      const cloudId = w.sandbox.control.discovery().sites.find((s) => s.key === 'acme')!.cloudId;
      await g0.repos.policies.set(cloudId, { acting: 'any_user' }, null);
      const grants = () => w.sandbox.control.counters.total('offline_token_grant');
      // Each scope set is its own cache entry, so every call below is one exchange.
      const ask = (i: number) => (i % 2 === 0 ? g0 : g1).tokenFor({ site: 'acme', accountId: DEFAULT_ACCOUNTS.alice, scopes: [`budget:${i}`] });

      for (let batch = 0; batch < 1000; batch += 50) {
        const tokens = await Promise.all(Array.from({ length: 50 }, (_, k) => ask(batch + k)));
        assert.ok(tokens.every((t) => t.route === 'forge'));
      }
      assert.equal(grants(), 1000);

      // The minute is spent: each instance refuses at once (the oldest exchange leaves in 60 s, past the 2 s queue).
      for (const i of [1000, 1001]) {
        await assert.rejects(ask(i), (e: unknown) => {
          assert.ok(e instanceof GatewayError && e.code === 'RATE_LIMITED', String(e));
          assert.equal(e.details?.['reason'], 'forge_offline_token_budget');
          assert.equal(e.details?.['shared'], true);
          assert.ok(Number(e.details?.['retryAfterMs']) > 59_000, JSON.stringify(e.details));
          return true;
        });
      }
      // Over HTTP the same refusal is a 429 with Retry-After.
      const { secret } = await g1.repos.apiKeys.create({ name: 'budget', sites: null });
      const res = await g1.app.fetch(new Request(`${GATEWAY_ORIGIN}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ accountId: DEFAULT_ACCOUNTS.bob, site: 'acme' }) }));
      assert.equal(res.status, 429);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');
      assert.equal(res.headers.get('retry-after'), '61', 'the oldest exchange leaves the minute in 60.001 s');
      assert.equal(grants(), 1000, 'the 1,001st exchange never reached Forge');
      assert.equal(w.sandbox.control.counters.total('offline_token_refused'), 0);

      // 0.5 s before the minute ends a caller queues; when time moves on, its exchange goes through.
      w.sandbox.control.advanceClock(59_500);
      let settled = false;
      const queued = ask(1002).finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(settled, false, 'waiting for the budget');
      assert.equal(grants(), 1000);
      w.sandbox.control.advanceClock(1_000);
      assert.equal((await queued).route, 'forge');
      assert.equal(grants(), 1001);
    } finally {
      await w.close();
    }
  });
});
