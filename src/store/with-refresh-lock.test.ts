import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { isGatewayError } from '../errors.js';
import { createStore, type Store } from './create-store.js';
import { createRepositories } from './repositories.js';
import { testBackends } from './test-support/backends.js';
import { openTestStore, type TestStore } from './test-support/open-test-store.js';
import { advisoryLockId, isSqliteBusy, withRefreshLock } from './with-refresh-lock.js';

const KEY = { route: 'oauth' as const, appKey: 'cid', tenantKey: '', accountId: 'acc-1', kind: 'refresh' as const, scopeKey: 'read' };

function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

/** Resolves once `cond` holds, polling the event loop (no wall-clock assertion: only an upper bound on tries). */
async function eventually(cond: () => boolean, tries = 5000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  assert.fail('condition never held');
}

test('advisoryLockId: a stable signed 64-bit decimal per key', () => {
  assert.equal(advisoryLockId('a'), advisoryLockId('a'));
  assert.notEqual(advisoryLockId('a'), advisoryLockId('b'));
  const n = BigInt(advisoryLockId('oauth\u0000cid\u0000\u0000acc\u0000read'));
  assert.ok(n >= -(2n ** 63n) && n < 2n ** 63n);
});

/** Longest a test here may wait for a lock before the holder is released so that the test fails instead of hanging. */
const WATCHDOG_MS = 10_000;

test('isSqliteBusy: the lock answers are waited for, anything else is not', () => {
  for (const code of ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_SNAPSHOT']) assert.equal(isSqliteBusy(Object.assign(new Error(code), { code })), true, code);
  for (const e of [Object.assign(new Error('x'), { code: 'SQLITE_ERROR' }), Object.assign(new Error('x'), { code: '' }), new Error('SQLITE_BUSY'), null, undefined, 'SQLITE_BUSY']) assert.equal(isSqliteBusy(e), false, String(e));
});

for (const backend of testBackends()) {
  // Every test here waits on a lock: a bug that makes a wait endless fails the test by name.
  describe(`withRefreshLock: ${backend.name}`, { timeout: 60_000 }, () => {
    let t: TestStore;
    /** A second store on the same database: another connection, as another process would have. */
    let other: Store;
    before(async () => {
      t = await openTestStore(backend);
      other = createStore(t.config);
    });
    after(async () => {
      await other.close();
      await t.close();
    });

    test('writes made through the executor commit together; the result is returned', async () => {
      const out = await withRefreshLock(t.store, 'k-commit', async (tx) => {
        const tokens = t.repos.tokens.inTransaction(tx);
        assert.equal(await tokens.put(KEY, { token: 'rt-1', expiresAt: null }), true);
        assert.equal(await tokens.put({ ...KEY, kind: 'access' }, { token: 'at-1', expiresAt: 10 }), true);
        return 'done';
      });
      assert.equal(out, 'done');
      assert.equal((await t.repos.tokens.get(KEY))?.token, 'rt-1');
      assert.equal((await t.repos.tokens.get({ ...KEY, kind: 'access' }))?.token, 'at-1');
    });

    test('a throw rolls every write back, and the lock is free again afterwards', async () => {
      await assert.rejects(
        withRefreshLock(t.store, 'k-commit', async (tx) => {
          const tokens = t.repos.tokens.inTransaction(tx);
          assert.equal(await tokens.put(KEY, { token: 'rt-2', previousToken: 'rt-1', expiresAt: null }, { expectVersion: 1 }), true);
          throw new Error('boom');
        }),
        /boom/,
      );
      const stored = await t.repos.tokens.get(KEY);
      assert.equal(stored?.token, 'rt-1');
      assert.equal(stored?.version, 1);
      assert.equal(await withRefreshLock(t.store, 'k-commit', async () => 'again'), 'again');
    });

    test('a failed commit is reported, never swallowed, and the lock is free again', async () => {
      // Work that ends the transaction itself makes the final COMMIT fail (SQLite: no transaction is
      // active; PostgreSQL: kysely's commit after a manual one only warns, so only SQLite can show this).
      if (backend.name === 'sqlite') {
        await assert.rejects(withRefreshLock(t.store, 'k-commit-fails', async (tx) => void (await sql`commit`.execute(tx))), /no transaction is active/);
      }
      assert.equal(await withRefreshLock(t.store, 'k-commit-fails', async () => 'free'), 'free');
    });

    test('whatever work throws comes back unchanged, even a thrown non-error', async () => {
      await assert.rejects(withRefreshLock(t.store, 'k-throw', async () => Promise.reject(null)), (e: unknown) => e === null);
      await assert.rejects(withRefreshLock(t.store, 'k-throw', async () => Promise.reject(Object.assign(new Error('busy?'), { code: 'SQLITE_BUSY' }))), /busy\?/);
    });

    test('compare-and-set inside the lock still refuses a stale version', async () => {
      const ok = await withRefreshLock(t.store, 'k-cas', async (tx) => t.repos.tokens.inTransaction(tx).put(KEY, { token: 'rt-x', expiresAt: null }, { expectVersion: 7 }));
      assert.equal(ok, false);
      assert.equal((await t.repos.tokens.get(KEY))?.token, 'rt-1');
    });

    test('another connection waits while the lock is held, then sees the committed write', async () => {
      const held = gate();
      const release = gate();
      const order: string[] = [];
      const first = withRefreshLock(t.store, 'k-wait', async (tx) => {
        order.push('first:start');
        held.open();
        await release.wait;
        await t.repos.tokens.inTransaction(tx).put(KEY, { token: 'rt-from-first', previousToken: 'rt-1', expiresAt: null }, { expectVersion: 1 });
        order.push('first:end');
      });
      await held.wait;
      const otherRepos = createRepositories({ store: other, box: t.box, clock: t.clock });
      const second = withRefreshLock(other, 'k-wait', async (tx) => {
        order.push('second:start');
        // The re-read after taking the lock sees what the first holder committed.
        return (await otherRepos.tokens.inTransaction(tx).get(KEY))?.token;
      });
      // Give the second one many chances to (wrongly) get in while the first still holds the lock.
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 2));
      assert.deepEqual(order, ['first:start']);
      release.open();
      await first;
      assert.equal(await second, 'rt-from-first');
      assert.deepEqual(order, ['first:start', 'first:end', 'second:start']);
    });

    test('waiting longer than waitMs fails with STORE_UNAVAILABLE lock_timeout, and nothing runs', async () => {
      const held = gate();
      const release = gate();
      const first = withRefreshLock(t.store, 'k-timeout', async () => {
        held.open();
        await release.wait;
      });
      await held.wait;
      let ran = false;
      // Should the wait not end by itself (no lock_timeout on PostgreSQL), the holder lets go after a while:
      // the waiting call then runs, and the test fails on that instead of hanging.
      const watchdog = setTimeout(() => release.open(), WATCHDOG_MS);
      // SQLite polls: its pauses, added up, are how long it waited (PostgreSQL waits in the server).
      const pauses: number[] = [];
      const sleep = (ms: number) => {
        pauses.push(ms);
        return new Promise<void>((r) => setTimeout(r, ms));
      };
      try {
        await withRefreshLock(other, 'k-timeout', async () => {
          ran = true;
        }, { waitMs: 32, pollMs: 5, sleep });
        assert.fail('expected a lock timeout');
      } catch (e) {
        assert.ok(isGatewayError(e, 'STORE_UNAVAILABLE'), String(e));
        assert.deepEqual(e.details, { reason: 'lock_timeout', retryable: true });
        assert.match(e.message, /more than 32 ms/);
      } finally {
        clearTimeout(watchdog);
        release.open();
        await first;
      }
      assert.equal(ran, false);
      if (backend.name === 'sqlite') {
        // pollMs at a time, the last pause only what is left of waitMs: 32 ms in all, not more.
        assert.deepEqual(pauses, [5, 5, 5, 5, 5, 5, 2]);
      }
      // The store that timed out is still usable.
      assert.equal(await withRefreshLock(other, 'k-timeout', async () => 1), 1);
    });

    if (backend.name === 'postgres') {
      test('postgres: the lock wait is bounded by waitMs inside the transaction (lock_timeout)', async () => {
        const setting = async (tx: Parameters<Parameters<typeof withRefreshLock>[2]>[0]) => (await sql<{ v: string }>`select current_setting('lock_timeout') as v`.execute(tx)).rows[0]?.v;
        assert.equal(await withRefreshLock(t.store, 'k-setting', setting, { waitMs: 30 }), '30ms');
        assert.equal(await withRefreshLock(t.store, 'k-setting', setting, { waitMs: 0.2 }), '1ms', 'never 0, which would mean no limit at all');
        assert.equal(await withRefreshLock(t.store, 'k-setting', setting), '15s', 'the default: 15 s');
        // SET LOCAL: the pooled connection goes back without a limit that would hit unrelated queries.
        const after = (await sql<{ v: string }>`select current_setting('lock_timeout') as v`.execute(t.store.db)).rows[0]?.v;
        assert.equal(after, '0');
      });

      test('postgres: different keys do not wait for each other', async () => {
        const release = gate();
        const held = gate();
        const first = withRefreshLock(t.store, 'k-a', async () => {
          held.open();
          await release.wait;
        });
        await held.wait;
        assert.equal(await withRefreshLock(other, 'k-b', async () => 'b', { waitMs: 2000 }), 'b');
        release.open();
        await first;
      });
    }

    if (backend.name === 'sqlite') {
      test('sqlite: busy_timeout is restored after the lock, so ordinary writes still wait for each other', async () => {
        await withRefreshLock(t.store, 'k', async () => undefined);
        const row = (await sql<{ timeout: number }>`pragma busy_timeout`.execute(t.store.db)).rows[0];
        assert.equal(Number(row?.timeout), 5000);
      });

      test('sqlite: an error other than busy is thrown at once, not waited out as if the lock were held', async () => {
        // An open transaction on the store's one connection makes BEGIN IMMEDIATE fail with SQLITE_ERROR.
        const own = createStore(t.config);
        try {
          await sql`begin`.execute(own.db);
          const pauses: number[] = [];
          await assert.rejects(
            withRefreshLock(own, 'k-error', async () => 'ran', { waitMs: 1000, pollMs: 10, sleep: async (ms) => void pauses.push(ms) }),
            (e: unknown) => !isGatewayError(e) && /within a transaction/.test(String(e)),
          );
          assert.deepEqual(pauses, [], 'no retry');
          await sql`rollback`.execute(own.db);
        } finally {
          await own.close();
        }
      });

      test('sqlite: waitMs 0 gives up at the first busy answer', async () => {
        const held = gate();
        const release = gate();
        const first = withRefreshLock(t.store, 'k', async () => {
          held.open();
          await release.wait;
        });
        await held.wait;
        const pauses: number[] = [];
        try {
          await assert.rejects(withRefreshLock(other, 'k', async () => 'ran', { waitMs: 0, sleep: async (ms) => void pauses.push(ms) }), (e: unknown) => isGatewayError(e, 'STORE_UNAVAILABLE'));
        } finally {
          release.open();
          await first;
        }
        assert.deepEqual(pauses, []);
      });

      test('sqlite: the waiting side keeps its event loop running (the wait is asynchronous)', async () => {
        const held = gate();
        const release = gate();
        const first = withRefreshLock(t.store, 'k', async () => {
          held.open();
          await release.wait;
        });
        await held.wait;
        let ticks = 0;
        const second = withRefreshLock(other, 'k', async () => ticks);
        await eventually(() => {
          ticks++;
          return ticks > 10;
        });
        release.open();
        await first;
        assert.ok((await second) > 10, 'timers ran while the second one waited for the lock');
      });
    }
  });
}
