import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createManualClock } from '../../clock.js';
import { isGatewayError } from '../../errors.js';
import { createRateLimiter, type RateDecision } from './api-key-auth.js';

/** Takes `n` tokens and returns the decisions. */
function takeN(limiter: ReturnType<typeof createRateLimiter>, key: string, n: number): RateDecision[] {
  return Array.from({ length: n }, () => limiter.take(key));
}

test('a new key may spend its burst at once, then the sustained rate applies', () => {
  const clock = createManualClock();
  const limiter = createRateLimiter(clock, { perSecond: 2, burst: 3 });
  assert.deepEqual(takeN(limiter, 'k', 3), [
    { ok: true, remaining: 2 },
    { ok: true, remaining: 1 },
    { ok: true, remaining: 0 },
  ]);
  assert.deepEqual(limiter.take('k'), { ok: false, retryAfterSeconds: 1 });
  clock.advance(500);
  assert.deepEqual(limiter.take('k'), { ok: true, remaining: 0 }, 'half a second earns one token at 2/s');
  assert.equal(limiter.take('k').ok, false);
});

test('after a long idle period a key has earned its burst, never more', () => {
  const clock = createManualClock();
  const limiter = createRateLimiter(clock, { perSecond: 10, burst: 5 });
  takeN(limiter, 'k', 5);
  clock.advance(24 * 3600_000);
  const after = takeN(limiter, 'k', 6);
  assert.deepEqual(
    after.map((d) => d.ok),
    [true, true, true, true, true, false],
    'a day idle refills the bucket to the burst, not to a day of tokens',
  );
  assert.deepEqual(after[0], { ok: true, remaining: 4 });
});

test('a bucket that was never emptied does not grow past the burst either', () => {
  const clock = createManualClock();
  const limiter = createRateLimiter(clock, { perSecond: 1, burst: 2 });
  limiter.take('k');
  clock.advance(3600_000);
  assert.deepEqual(takeN(limiter, 'k', 3).map((d) => d.ok), [true, true, false]);
});

test('keys have their own buckets', () => {
  const clock = createManualClock();
  const limiter = createRateLimiter(clock, { perSecond: 1, burst: 1 });
  assert.equal(limiter.take('a').ok, true);
  assert.equal(limiter.take('a').ok, false);
  assert.equal(limiter.take('b').ok, true);
});

test('Retry-After is the time until one whole token, rounded up, at least 1 s', () => {
  const clock = createManualClock();
  const slow = createRateLimiter(clock, { perSecond: 0.25, burst: 1 });
  slow.take('k');
  assert.deepEqual(slow.take('k'), { ok: false, retryAfterSeconds: 4 });
  clock.advance(1000);
  assert.deepEqual(slow.take('k'), { ok: false, retryAfterSeconds: 3 });
  clock.advance(3000);
  assert.equal(slow.take('k').ok, true);
  const fast = createRateLimiter(clock, { perSecond: 1000, burst: 1 });
  fast.take('k');
  assert.deepEqual(fast.take('k'), { ok: false, retryAfterSeconds: 1 });
});

test('a limit that could never admit a request is refused at start-up', () => {
  const clock = createManualClock();
  for (const bad of [
    { perSecond: 0, burst: 1 },
    { perSecond: -1, burst: 1 },
    { perSecond: Number.NaN, burst: 1 },
    { perSecond: 1, burst: 0.5 },
    { perSecond: 1, burst: Number.NaN },
  ]) {
    assert.throws(() => createRateLimiter(clock, bad), (e: unknown) => isGatewayError(e, 'CONFIG_INVALID'), JSON.stringify(bad));
  }
  assert.equal(createRateLimiter(clock, { perSecond: 0.001, burst: 1 }).take('k').ok, true);
});
