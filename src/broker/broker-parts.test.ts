import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLruCache } from './lru-cache.js';
import { shouldRefresh } from './should-refresh.js';
import { createSingleFlight } from './single-flight.js';

test('single-flight: 1,000 concurrent callers for one key run the work once', async () => {
  const sf = createSingleFlight<string>();
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calls = Array.from({ length: 1000 }, () =>
    sf.run('tenant|acc|READ', async () => {
      runs++;
      await gate;
      return 'token';
    }),
  );
  assert.equal(sf.inFlight, 1);
  release();
  const results = await Promise.all(calls);
  assert.equal(runs, 1);
  assert.ok(results.every((r) => r === 'token'));
  assert.equal(sf.inFlight, 0);
});

test('single-flight: different keys run separately; failures are shared but not remembered', async () => {
  const sf = createSingleFlight<number>();
  let runs = 0;
  const [a, b] = await Promise.all([sf.run('a', async () => ++runs), sf.run('b', async () => ++runs)]);
  assert.deepEqual([a, b].sort(), [1, 2]);
  const failing = () => sf.run('x', async () => Promise.reject(new Error('grant failed')));
  const results = await Promise.allSettled([failing(), failing()]);
  assert.ok(results.every((r) => r.status === 'rejected'));
  assert.equal(await sf.run('x', async () => 42), 42, 'the next call after a failure runs again');
});

test('lru: bounded, evicts the coldest, a hit warms an entry', () => {
  const c = createLruCache<number>({ maxEntries: 3 });
  c.set('a', 1);
  c.set('b', 2);
  c.set('c', 3);
  assert.equal(c.get('a'), 1);
  c.set('d', 4);
  assert.equal(c.size, 3);
  assert.equal(c.get('b'), undefined, 'b was coldest');
  assert.equal(c.get('a'), 1);
  c.set('c', 30);
  assert.equal(c.get('c'), 30);
  assert.equal(c.deleteWhere((k) => k === 'a' || k === 'd'), 2);
  assert.equal(c.size, 1);
  assert.throws(() => createLruCache({ maxEntries: 0 }), RangeError);
});

test('shouldRefresh as a table', () => {
  const now = 1_000_000;
  const skew = 60_000;
  const table: [{ expiresAt: number } | undefined, boolean, string][] = [
    [undefined, true, 'missing'],
    [{ expiresAt: now - 1 }, true, 'expired'],
    [{ expiresAt: now }, true, 'expired'],
    [{ expiresAt: now + skew }, true, 'expiring_soon'],
    [{ expiresAt: now + skew + 1 }, false, 'fresh'],
  ];
  for (const [token, refresh, reason] of table) assert.deepEqual(shouldRefresh(token, now, skew), { refresh, reason }, JSON.stringify(token));
});

test('lru: a cache of one works, a bad size is refused by name, and setting a key again warms it', () => {
  const one = createLruCache<number>({ maxEntries: 1 });
  one.set('a', 1);
  one.set('b', 2);
  assert.deepEqual([one.get('a'), one.get('b'), one.size], [undefined, 2, 1]);
  for (const maxEntries of [0, 1.5]) assert.throws(() => createLruCache({ maxEntries }), { name: 'RangeError', message: `maxEntries must be a positive integer, got ${maxEntries}` });
  const c = createLruCache<number>({ maxEntries: 2 });
  c.set('a', 1);
  c.set('b', 2);
  c.set('a', 3); // 'a' is now the most recent: 'b' goes first
  c.set('c', 4);
  assert.deepEqual([c.get('a'), c.get('b'), c.get('c')], [3, undefined, 4]);
});
