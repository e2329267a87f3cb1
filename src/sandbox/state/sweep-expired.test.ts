import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sweepExpired } from './sweep-expired.js';

test('sweepExpired drops expired entries only past the threshold', () => {
  const m = new Map([
    ['a', { expiresAt: 5 }],
    ['b', { expiresAt: 20 }],
    ['c', { expiresAt: 10 }],
  ]);
  sweepExpired(m, 15, 3);
  assert.equal(m.size, 3, 'at the threshold nothing happens');
  sweepExpired(m, 15, 2);
  assert.deepEqual([...m.keys()], ['b']);
});
