import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { testBackends } from './test-support/backends.js';
import { openTestStore } from './test-support/open-test-store.js';

// A pooled connection the server ends (restart, failover, an admin's terminate) must not crash the process:
// unheard, the pool's 'error' event is an uncaught exception (seen as a flaky CI failure when a test
// database was dropped). Seen to fail, with exactly that crash, without the pool's error handler.
for (const backend of testBackends().filter((b) => b.name === 'postgres')) {
  test('postgres: idle connections the server terminates are replaced; the process keeps running', { timeout: 30_000 }, async () => {
    const t = await openTestStore(backend);
    try {
      await t.store.db.selectFrom('tenants').select('id').execute();
      const cfg = t.config as { url: string };
      const admin = new pg.Client({ connectionString: cfg.url });
      await admin.connect();
      try {
        const killed = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
        assert.ok((killed.rowCount ?? 0) >= 1, 'the store had a pooled connection to end');
      } finally {
        await admin.end();
      }
      // Let the terminated connection's error event fire before the next query.
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(await t.store.db.selectFrom('tenants').select('id').execute(), []);
    } finally {
      await t.close();
    }
  });
}
