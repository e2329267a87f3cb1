import assert from 'node:assert/strict';
import { test } from 'node:test';
import { roundOrder } from '../../bench/measure.js';

// The benchmarks' rounds must not favour a way by what ran just before it (carry-over: the previous
// round's garbage is collected during the next). Over one full cycle of rows, every ordered pair of
// different ways must be adjacent equally often.
test('roundOrder: every round is a permutation and each way follows every other equally often', () => {
  for (let n = 1; n <= 8; n++) {
    const rows = n % 2 === 0 ? n : 2 * n;
    const adjacent = new Map<string, number>();
    for (let r = 0; r < rows; r++) {
      const order = roundOrder(n, r);
      assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), `n=${n} round ${r}: ${order.join(',')}`);
      for (let j = 1; j < n; j++) adjacent.set(`${order[j - 1]}>${order[j]}`, (adjacent.get(`${order[j - 1]}>${order[j]}`) ?? 0) + 1);
    }
    assert.equal(adjacent.size, n * (n - 1), `n=${n}: every ordered pair occurs`);
    assert.equal(new Set(adjacent.values()).size <= 1, true, `n=${n}: pairs occur equally often, got ${[...adjacent.values()].join(',')}`);
    assert.deepEqual(roundOrder(n, rows), roundOrder(n, 0), `n=${n}: the design repeats after ${rows} rounds`);
  }
});
