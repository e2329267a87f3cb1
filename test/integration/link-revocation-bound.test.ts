import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { testBackends } from '../../src/store/test-support/backends.js';
import { GATEWAY_ORIGIN, createSharedDbWorld, linkByOAuth } from '../support/shared-db-world.js';

for (const backend of testBackends()) {
  // SQLite serves one gateway process; there the "other instance" is a second gateway object on the file.
  describe(`a revoked link stops acting: at once where revoked, within 1 s on another instance: ${backend.name}`, () => {
    test('the acting decision reads the link from memory, yet a revocation reaches every instance within the bound', { timeout: 30_000 }, async () => {
      // The hot reads' monotonic clock, stepped by the test (no waiting, no wall-clock assertion).
      let now = 0;
      const w = await createSharedDbWorld(backend, { instances: 2, gatewayClock: 'sandbox', hotReadsNow: () => now });
      try {
        const [g0, g1] = w.gateways;
        assert.ok(g0 && g1);
        await linkByOAuth(w, 'u-rev', DEFAULT_ACCOUNTS.carol);
        const { secret } = await g0.repos.apiKeys.create({ name: 'app', sites: null });
        const call = async (g: typeof g0, method = 'GET', path = '/v1/act/u-rev/acme/api/v2/pages?limit=1') => {
          const res = await g.app.fetch(new Request(`${GATEWAY_ORIGIN}${path}`, { method, headers: { authorization: `Bearer ${secret}` } }));
          const text = await res.text();
          return { status: res.status, code: res.ok ? undefined : ((JSON.parse(text) as { error?: { code?: string } }).error?.code ?? text) };
        };
        assert.equal((await call(g0)).status, 200);
        assert.equal((await call(g1)).status, 200);

        // Revoked through the second instance's API.
        const link = (await g1.repos.links.list({ externalUserId: 'u-rev' }))[0];
        assert.ok(link);
        assert.equal((await call(g1, 'DELETE', `/v1/links/${link.id}`)).status, 200);

        assert.equal((await call(g1)).code, 'USER_NOT_LINKED', 'the revoking instance refuses the very next call');
        now += 999;
        assert.equal((await call(g0)).status, 200, 'the other instance may still act for less than the bound');
        now += 2;
        assert.equal((await call(g0)).code, 'USER_NOT_LINKED', 'past 1 s the other instance refuses too');
        await assert.rejects(g0.tokenFor({ site: 'acme', externalUserId: 'u-rev' }), /not linked|USER_NOT_LINKED/i);
      } finally {
        await w.close();
      }
    });
  });
}
