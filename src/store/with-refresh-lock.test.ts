import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isGatewayError } from '../errors.js';
import { createStore, type Store } from './create-store.js';
import { testBackends } from './test-support/backends.js';
import { openTestStore, type TestStore } from './test-support/open-test-store.js';
import { leaseKey, refreshLockWaiting, withRefreshLock } from './with-refresh-lock.js';
import { writeTransaction } from './write-transaction.js';

const KEY = { route: 'oauth' as const, appKey: 'cid', tenantKey: '', accountId: 'acc-1', kind: 'refresh' as const, scopeKey: 'read' };

function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

/** Lets the event loop turn `n` times on real timers: chances for a wrong ordering to show, not a time bound. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 2));
}

test('leaseKey: a stable SHA-256 hex per key, never the key itself', { timeout: 180_000 }, () => {
  assert.equal(leaseKey('a'), leaseKey('a'));
  assert.notEqual(leaseKey('a'), leaseKey('b'));
  assert.match(leaseKey('oauth\u0000cid\u0000\u0000acc-1'), /^[0-9a-f]{64}$/);
});

for (const backend of testBackends()) {
  describe(`withRefreshLock (lease): ${backend.name}`, () => {
    let t: TestStore;
    /** A second store on the same database, as another process would have; on PostgreSQL with a pool of one. */
    let other: Store;
    before(async () => {
      t = await openTestStore(backend);
      other = createStore(t.config.kind === 'postgres' ? { ...t.config, poolSize: 1 } : t.config);
    }, { timeout: 120_000 });
    after(async () => {
      await other.close();
      await t.close();
    }, { timeout: 120_000 });

    const leases = () => t.store.db.selectFrom('refresh_leases').selectAll().execute();

    test('runs work, returns its result, and lets go of the lease afterwards', { timeout: 180_000 }, async () => {
      const out = await withRefreshLock(t.store, 'k-run', async () => {
        assert.equal((await leases()).length, 1, 'the lease row exists while work runs');
        return 'done';
      });
      assert.equal(out, 'done');
      assert.deepEqual(await leases(), []);
    });

    test('a throw propagates and still lets go of the lease', { timeout: 180_000 }, async () => {
      await assert.rejects(
        withRefreshLock(t.store, 'k-throw', async () => {
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual(await leases(), []);
      assert.equal(await withRefreshLock(other, 'k-throw', async () => 'again', { waitMs: 0 }), 'again');
    });

    test('while work waits (as on a slow token endpoint), the holder store reads and writes at once: no connection is held', { timeout: 10_000 }, async () => {
      const release = gate();
      const held = gate();
      const order: string[] = [];
      const holder = (backend.name === 'postgres' ? other : t.store) as Store;
      const first = withRefreshLock(holder, 'k-free', async () => {
        held.open();
        await release.wait;
        order.push('work:end');
      });
      await held.wait;
      // On PostgreSQL `other` has a pool of one connection: the old design held it for the whole of work.
      await holder.db.selectFrom('tokens').select('id').execute();
      await writeTransaction(holder, async (tx) => {
        await tx.insertInto('token_mints').values({ minute: 0, route: 'oauth', count: 1 }).execute();
      });
      order.push('other-work:done');
      release.open();
      await first;
      assert.deepEqual(order, ['other-work:done', 'work:end']);
    });

    test('another holder of the same key waits until the first lets go, then runs', { timeout: 10_000 }, async () => {
      const held = gate();
      const release = gate();
      const order: string[] = [];
      const first = withRefreshLock(t.store, 'k-wait', async () => {
        order.push('first:start');
        held.open();
        await release.wait;
        order.push('first:end');
      });
      await held.wait;
      const second = withRefreshLock(other, 'k-wait', async () => {
        order.push('second:start');
      });
      const sameProcess = withRefreshLock(t.store, 'k-wait', async () => {
        order.push('third:start');
      });
      await turns(20);
      assert.deepEqual(order, ['first:start']);
      release.open();
      await Promise.all([first, second, sameProcess]);
      assert.deepEqual(order.slice(0, 2), ['first:start', 'first:end']);
      assert.deepEqual([...order.slice(2)].sort(), ['second:start', 'third:start']);
    });

    test('different keys do not wait for each other', { timeout: 10_000 }, async () => {
      const release = gate();
      const held = gate();
      const first = withRefreshLock(t.store, 'k-a', async () => {
        held.open();
        await release.wait;
      });
      await held.wait;
      assert.equal(await withRefreshLock(other, 'k-b', async () => 'b', { waitMs: 0 }), 'b');
      release.open();
      await first;
    });

    test('waiting longer than waitMs fails with STORE_UNAVAILABLE lock_timeout, and nothing runs', { timeout: 10_000 }, async () => {
      const held = gate();
      const release = gate();
      const first = withRefreshLock(t.store, 'k-timeout', async () => {
        held.open();
        await release.wait;
      });
      await held.wait;
      let ran = false;
      try {
        await withRefreshLock(other, 'k-timeout', async () => {
          ran = true;
        }, { waitMs: 30, pollMs: 5 });
        assert.fail('expected a lock timeout');
      } catch (e) {
        assert.ok(isGatewayError(e, 'STORE_UNAVAILABLE'), String(e));
        assert.equal(e.details?.['reason'], 'lock_timeout');
        assert.equal(e.details?.['retryable'], true);
      } finally {
        release.open();
        await first;
      }
      assert.equal(ran, false);
      assert.equal(await withRefreshLock(other, 'k-timeout', async () => 1), 1);
    });

    test('the wait adds up to waitMs exactly: the pauses asked for sum to it, then lock_timeout', { timeout: 10_000 }, async () => {
      const held = gate();
      const release = gate();
      const first = withRefreshLock(t.store, 'k-bounded', async () => {
        held.open();
        await release.wait;
      });
      await held.wait;
      const pauses: number[] = [];
      try {
        await assert.rejects(
          withRefreshLock(other, 'k-bounded', async () => 1, { waitMs: 250, pollMs: 5, sleep: async (ms) => void pauses.push(ms) }),
          (e: unknown) => isGatewayError(e, 'STORE_UNAVAILABLE') && e.details?.['reason'] === 'lock_timeout',
        );
      } finally {
        release.open();
        await first;
      }
      // Doubling from 5 ms up to 100 ms, the last pause cut to what is left: 5+10+20+40+80+95.
      assert.deepEqual(pauses, [5, 10, 20, 40, 80, 95]);
      assert.equal(pauses.reduce((a, b) => a + b, 0), 250);
    });

    test('a holder that died (its row left behind) blocks others only until its deadline, on the injected clock', { timeout: 10_000 }, async () => {
      const clock = t.clock;
      await t.store.db.insertInto('refresh_leases').values({ lock_key: leaseKey('k-dead'), owner: 'dead-process', expires_at: clock.now() + 10_000 }).execute();
      let ranAt: number | undefined;
      // Each pause advances the manual clock by its length: the waiter gets in once the deadline is reached.
      const result = await withRefreshLock(
        other,
        'k-dead',
        async () => {
          ranAt = clock.now();
          return (await other.db.selectFrom('refresh_leases').select('owner').where('lock_key', '=', leaseKey('k-dead')).executeTakeFirst())?.owner;
        },
        { clock, waitMs: 60_000, sleep: async (ms) => clock.advance(ms) },
      );
      assert.notEqual(result, 'dead-process', 'the expired lease was taken over by the new holder');
      assert.ok(ranAt !== undefined && ranAt >= Date.UTC(2026, 10, 1) + 10_000, 'not before the dead holder\'s deadline');
      assert.deepEqual(await leases(), []);
    });

    test('a holder that overran its lease cannot release the lease of the one that took it over', { timeout: 10_000 }, async () => {
      const clock = t.clock;
      const firstIn = gate();
      const firstGo = gate();
      const first = withRefreshLock(t.store, 'k-overrun', async () => {
        firstIn.open();
        await firstGo.wait;
      }, { clock, leaseMs: 1000 });
      await firstIn.wait;
      clock.advance(1001);
      const secondIn = gate();
      const secondGo = gate();
      const second = withRefreshLock(other, 'k-overrun', async () => {
        secondIn.open();
        await secondGo.wait;
      }, { clock, leaseMs: 1000 });
      await secondIn.wait;
      firstGo.open();
      await first;
      assert.equal((await leases()).length, 1, "the first holder's release left the second's lease alone");
      secondGo.open();
      await second;
      assert.deepEqual(await leases(), []);
    });

    test('leaseMs must be a finite number >= 1: anything else is a RangeError before any row is written or work runs', { timeout: 180_000 }, async () => {
      let ran = 0;
      for (const leaseMs of [0, 0.5, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assert.rejects(withRefreshLock(t.store, 'k-bad-lease', async () => void ran++, { leaseMs }), (e: unknown) => e instanceof RangeError && /leaseMs must be >= 1/.test(e.message), String(leaseMs));
      }
      assert.equal(ran, 0);
      assert.deepEqual(await leases(), []);
      assert.equal(await withRefreshLock(t.store, 'k-bad-lease', async () => 'ok', { leaseMs: 1 }), 'ok', 'one millisecond is allowed');
    });

    test('by default a waiter gives up after 15 s of pauses, starting at 5 ms; waitMs 0 gives up at once; the error names the wait', { timeout: 10_000 }, async () => {
      const held = gate();
      const release = gate();
      const first = withRefreshLock(t.store, 'k-defaults', async () => {
        held.open();
        await release.wait;
      });
      await held.wait;
      const pauses: number[] = [];
      const zeroPauses: number[] = [];
      const tinyPauses: number[] = [];
      try {
        await assert.rejects(withRefreshLock(other, 'k-defaults', async () => 1, { sleep: async (ms) => void pauses.push(ms) }), (e: unknown) => isGatewayError(e, 'STORE_UNAVAILABLE') && /15000 ms/.test(e.message));
        await assert.rejects(withRefreshLock(other, 'k-defaults', async () => 1, { waitMs: 0, sleep: async (ms) => void zeroPauses.push(ms) }), (e: unknown) => isGatewayError(e, 'STORE_UNAVAILABLE') && e.details?.['reason'] === 'lock_timeout');
        // A poll interval below 1 ms is taken as 1 ms (no busy loop on the database).
        await assert.rejects(withRefreshLock(other, 'k-defaults', async () => 1, { waitMs: 3, pollMs: 0, sleep: async (ms) => void tinyPauses.push(ms) }), (e: unknown) => isGatewayError(e, 'STORE_UNAVAILABLE'));
      } finally {
        release.open();
        await first;
      }
      assert.deepEqual(pauses.slice(0, 6), [5, 10, 20, 40, 80, 100]);
      assert.equal(pauses.reduce((a, b) => a + b, 0), 15_000);
      assert.deepEqual(zeroPauses, []);
      assert.deepEqual(tinyPauses, [1, 2]);
    });

    test('a lease whose deadline is now is over: it is taken at once', { timeout: 10_000 }, async () => {
      const clock = t.clock;
      await t.store.db.insertInto('refresh_leases').values({ lock_key: leaseKey('k-deadline'), owner: 'gone', expires_at: clock.now() }).execute();
      assert.equal(await withRefreshLock(other, 'k-deadline', async () => 'in', { clock, waitMs: 0 }), 'in');
    });

    test('taking over an expired lease gives it a fresh deadline: the next waiter still waits', { timeout: 10_000 }, async () => {
      const clock = t.clock;
      await t.store.db.insertInto('refresh_leases').values({ lock_key: leaseKey('k-takeover'), owner: 'dead-process', expires_at: clock.now() - 1 }).execute();
      const held = gate();
      const release = gate();
      const taker = withRefreshLock(t.store, 'k-takeover', async () => {
        held.open();
        await release.wait;
      }, { clock, leaseMs: 1000 });
      await held.wait;
      try {
        await assert.rejects(withRefreshLock(other, 'k-takeover', async () => 1, { clock, waitMs: 0 }), (e: unknown) => isGatewayError(e, 'STORE_UNAVAILABLE'));
        clock.advance(999);
        await assert.rejects(withRefreshLock(other, 'k-takeover', async () => 1, { clock, waitMs: 0 }), (e: unknown) => isGatewayError(e, 'STORE_UNAVAILABLE'), 'still held 999 ms later');
      } finally {
        release.open();
        await taker;
      }
      assert.deepEqual(await leases(), []);
    });

    test('a waiter in the same process is woken when the holder lets go, not at its next poll, even while another waiter polls', { timeout: 10_000 }, async () => {
      const held = gate();
      const release = gate();
      const order: string[] = [];
      const never = () => new Promise<void>(() => {});
      const first = withRefreshLock(t.store, 'k-wake', async () => {
        held.open();
        await release.wait;
        order.push('first');
      });
      await held.wait;
      // This waiter only ever sleeps forever: the release is the one thing that can let it in.
      const sleeper = withRefreshLock(t.store, 'k-wake', async () => void order.push('sleeper'), { sleep: never });
      // This one polls (and so comes and goes from the waiting list) meanwhile.
      let polls = 0;
      const poller = withRefreshLock(t.store, 'k-wake', async () => void order.push('poller'), {
        waitMs: 60_000,
        sleep: async () => {
          polls++;
          await turns(1);
        },
      });
      while (polls < 5) await turns(1);
      release.open();
      await Promise.all([first, sleeper, poller]);
      assert.deepEqual([order[0], [...order.slice(1)].sort()], ['first', ['poller', 'sleeper']]);
    });

    test('a waiter woken but beaten to the lease keeps waiting while its budget lasts, and the time it was asleep counts', { timeout: 10_000 }, async () => {
      const never = () => new Promise<void>(() => {});
      /** A holder that, as it ends, hands the lease to an "intruder" (as an expired-lease takeover would). */
      const handOver = (key: string, beforeEnd: () => Promise<void>) => {
        const held = gate();
        const release = gate();
        const done = withRefreshLock(t.store, key, async () => {
          held.open();
          await release.wait;
          await beforeEnd();
          await t.store.db.updateTable('refresh_leases').set({ owner: 'intruder', expires_at: Date.now() + 3_600_000 }).where('lock_key', '=', leaseKey(key)).execute();
        });
        return { held: held.wait, release: release.open, done };
      };
      // Budget left (60 s, one 60 s pause): the woken waiter tries, loses, and waits again (its sleep asked a second time).
      const a = handOver('k-beaten', async () => {});
      await a.held;
      let sleeps = 0;
      let settled = false;
      const waiter = withRefreshLock(t.store, 'k-beaten', async () => 'in', { waitMs: 60_000, pollMs: 60_000, sleep: () => (sleeps++, never()) }).finally(() => (settled = true));
      // Its first sleep means it tried, lost to the holder, and is now listening for the release.
      while (sleeps < 1) await turns(1);
      a.release();
      await a.done;
      while (sleeps < 2 && !settled) await turns(1);
      assert.equal(settled, false, 'still waiting: the wake-up did not use up its budget');
      await t.store.db.deleteFrom('refresh_leases').where('lock_key', '=', leaseKey('k-beaten')).execute();
      await withRefreshLock(t.store, 'k-beaten', async () => undefined); // its release wakes the waiter again
      assert.equal(await waiter, 'in');
      // Budget spent while asleep (20 ms, the holder kept it at least 60 ms): the woken waiter that loses gives up.
      const b = handOver('k-beaten-late', () => turns(30));
      await b.held;
      let lateSleeps = 0;
      const late = withRefreshLock(t.store, 'k-beaten-late', async () => 'in', { waitMs: 20, pollMs: 20, sleep: () => (lateSleeps++, never()) });
      while (lateSleeps < 1) await turns(1);
      b.release();
      await b.done;
      await assert.rejects(late, (e: unknown) => isGatewayError(e, 'STORE_UNAVAILABLE') && e.details?.['reason'] === 'lock_timeout');
      await t.store.db.deleteFrom('refresh_leases').where('lock_key', '=', leaseKey('k-beaten-late')).execute();
    });

    test('the time a woken waiter slept is counted on the injected monotonic clock, whatever the process uptime', { timeout: 10_000 }, async () => {
      const never = () => new Promise<void>(() => {});
      // About six days of uptime: a count that mixed up the start and the end of the sleep would be far over any budget.
      let mono = 500_000_000;
      const monotonicNow = () => mono;
      /** A holder that hands the lease to an "intruder" as it ends: the woken waiter tries and loses. */
      const holdThenHandOver = (key: string) => {
        const held = gate();
        const release = gate();
        const done = withRefreshLock(t.store, key, async () => {
          held.open();
          await release.wait;
          await t.store.db.updateTable('refresh_leases').set({ owner: 'intruder', expires_at: Date.now() + 3_600_000 }).where('lock_key', '=', leaseKey(key)).execute();
        });
        return { held: held.wait, release: release.open, done };
      };
      const a = holdThenHandOver('k-mono');
      await a.held;
      const asked: number[] = [];
      const waiter = withRefreshLock(t.store, 'k-mono', async () => 'in', { waitMs: 60_000, pollMs: 60_000, monotonicNow, sleep: (ms) => (asked.push(ms), never()) });
      while (asked.length < 1) await turns(1);
      mono += 59_950.4; // asleep 59,950.4 ms when the release wakes it
      a.release();
      await a.done;
      while (asked.length < 2) await turns(1);
      // 60,000 ms asked, 59,950 counted (rounded): the next pause is what is left of the budget.
      assert.deepEqual(asked, [60_000, 50]);
      await t.store.db.deleteFrom('refresh_leases').where('lock_key', '=', leaseKey('k-mono')).execute();
      await withRefreshLock(t.store, 'k-mono', async () => undefined); // its release wakes the waiter again
      assert.equal(await waiter, 'in');
      // Asleep for the whole budget: the woken waiter that loses gives up at once, asking for no other pause.
      const b = holdThenHandOver('k-mono-spent');
      await b.held;
      const spentAsked: number[] = [];
      const spent = withRefreshLock(t.store, 'k-mono-spent', async () => 'in', { waitMs: 60_000, pollMs: 60_000, monotonicNow, sleep: (ms) => (spentAsked.push(ms), never()) });
      while (spentAsked.length < 1) await turns(1);
      mono += 60_000;
      b.release();
      await b.done;
      await assert.rejects(spent, (e: unknown) => isGatewayError(e, 'STORE_UNAVAILABLE') && e.details?.['reason'] === 'lock_timeout');
      assert.deepEqual(spentAsked, [60_000]);
      await t.store.db.deleteFrom('refresh_leases').where('lock_key', '=', leaseKey('k-mono-spent')).execute();
    });

    test('a waiter that is done, let in or given up, leaves the in-process waiting list: it does not grow with every wait', { timeout: 10_000 }, async () => {
      const never = () => new Promise<void>(() => {});
      const unused = createStore(t.config.kind === 'postgres' ? { ...t.config, poolSize: 1 } : t.config);
      try {
        assert.deepEqual(refreshLockWaiting(unused), { keys: 0, waiters: 0 }, 'a store nothing ever waited on');
      } finally {
        await unused.close();
      }
      const held = gate();
      const release = gate();
      const first = withRefreshLock(t.store, 'k-list', async () => {
        held.open();
        await release.wait;
      });
      await held.wait;
      let sleeping = 0;
      const sleepers = [1, 2].map(() => withRefreshLock(t.store, 'k-list', async () => 'in', { sleep: () => (sleeping++, never()) }));
      while (sleeping < 2) await turns(1);
      assert.deepEqual(refreshLockWaiting(t.store), { keys: 1, waiters: 2 });
      // A waiter whose pauses end on their timer, many times over, then gives up: it leaves no entry behind.
      let polls = 0;
      await assert.rejects(
        withRefreshLock(t.store, 'k-list', async () => 'in', { waitMs: 40, pollMs: 1, sleep: async () => void polls++ }),
        (e: unknown) => isGatewayError(e, 'STORE_UNAVAILABLE') && e.details?.['reason'] === 'lock_timeout',
      );
      assert.ok(polls > 3, `it polled (${polls} pauses)`);
      assert.deepEqual(refreshLockWaiting(t.store), { keys: 1, waiters: 2 }, 'only the two still asleep');
      // A waiter on another key is listed under its own key.
      const otherHeld = gate();
      const otherRelease = gate();
      const otherHolder = withRefreshLock(t.store, 'k-list-2', async () => {
        otherHeld.open();
        await otherRelease.wait;
      });
      await otherHeld.wait;
      let otherSleeping = 0;
      const otherWaiter = withRefreshLock(t.store, 'k-list-2', async () => 'in', { sleep: () => (otherSleeping++, never()) });
      while (otherSleeping < 1) await turns(1);
      assert.deepEqual(refreshLockWaiting(t.store), { keys: 2, waiters: 3 });
      otherRelease.open();
      await otherHolder;
      assert.equal(await otherWaiter, 'in');
      assert.deepEqual(refreshLockWaiting(t.store), { keys: 1, waiters: 2 });
      release.open();
      await first;
      assert.deepEqual(await Promise.all(sleepers), ['in', 'in']);
      assert.deepEqual(refreshLockWaiting(t.store), { keys: 0, waiters: 0 }, 'woken and let in: nothing left listed');
    });

    test('writeTransaction: a throw rolls every write back; the result of a commit is returned', { timeout: 180_000 }, async () => {
      const repos = t.repos;
      assert.equal(
        await writeTransaction(t.store, async (tx) => {
          await repos.tokens.inTransaction(tx).put(KEY, { token: 'rt-1', expiresAt: null });
          return 'ok';
        }),
        'ok',
      );
      await assert.rejects(
        writeTransaction(t.store, async (tx) => {
          assert.equal(await repos.tokens.inTransaction(tx).put(KEY, { token: 'rt-2', expiresAt: null }, { expectVersion: 1 }), true);
          throw new Error('boom');
        }),
        /boom/,
      );
      const stored = await repos.tokens.get(KEY);
      assert.equal(stored?.token, 'rt-1');
      assert.equal(stored?.version, 1);
    });
  });
}
