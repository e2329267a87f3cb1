import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testBackends } from './test-support/backends.js';
import { openTestStore, type TestStore } from './test-support/open-test-store.js';

for (const backend of testBackends()) {
  describe(`webhook replays: ${backend.name}`, () => {
    let t: TestStore;
    before(async () => {
      t = await openTestStore(backend);
    }, { timeout: 120_000 });
    after(async () => {
      await t.close();
    }, { timeout: 120_000 });

    test('first sight is true, a replay before expiry false; after expiry the key is taken over; purge drops expired keys', { timeout: 180_000 }, async () => {
      const r = t.repos.webhookReplays;
      const until = t.clock.now() + 60_000;
      assert.equal(await r.firstSeen('k1', until), true);
      assert.equal(await r.firstSeen('k1', until), false);
      assert.equal(await r.firstSeen('k2', until), true);
      t.clock.advance(60_000);
      assert.equal(await r.firstSeen('k1', t.clock.now() + 60_000), true, 'an expired key no longer blocks');
      assert.equal(await r.deleteExpired(), 1, 'k2 expired; k1 was renewed');
      assert.equal(await r.firstSeen('k1', t.clock.now() + 60_000), false);
    });

    test('concurrent first sights of one key: exactly one wins', { timeout: 180_000 }, async () => {
      const until = t.clock.now() + 60_000;
      const results = await Promise.all(Array.from({ length: 20 }, () => t.repos.webhookReplays.firstSeen('same', until)));
      assert.equal(results.filter(Boolean).length, 1);
    });
  });
}
