import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createManualClock, type Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import { createForgeRateLimiter, forgeBudgetRefusal } from './forge-rate-limiter.js';

test('forge rate limiter: a sliding minute per app; over budget waits for the oldest grant to leave, or refuses', { timeout: 10_000 }, async () => {
  const clock = createManualClock(0);
  const waited: number[] = [];
  const sleep = async (ms: number) => {
    waited.push(ms);
    clock.advance(ms);
  };
  const queueing = createForgeRateLimiter({ perMinute: 2, maxWaitMs: 60_000, clock, sleep });
  await queueing.acquire('app-a');
  clock.advance(10_000);
  await queueing.acquire('app-a');
  await queueing.acquire('app-b'); // another app has its own budget
  assert.deepEqual(waited, []);
  await queueing.acquire('app-a'); // the third in a minute waits until the first leaves the window
  assert.deepEqual(waited, [50_001]);
  const shedding = createForgeRateLimiter({ perMinute: 1, maxWaitMs: 1_000, clock, sleep });
  await shedding.acquire('app-a');
  await assert.rejects(shedding.acquire('app-a'), (e: unknown) => e instanceof GatewayError && e.code === 'RATE_LIMITED' && e.details?.['retryAfterMs'] === 60_001);
  assert.throws(() => createForgeRateLimiter({ perMinute: 0, maxWaitMs: 0, clock }), /positive integer/);
});

test('forge rate limiter: the window and the wait limit at their edges; the refusal says what and when', { timeout: 10_000 }, async () => {
  const clock = createManualClock(0);
  const waited: number[] = [];
  const sleep = async (ms: number) => {
    waited.push(ms);
    clock.advance(ms);
  };
  const limiter = createForgeRateLimiter({ perMinute: 1, maxWaitMs: 60_001, clock, sleep });
  await limiter.acquire('app-a');
  clock.advance(60_000);
  await limiter.acquire('app-a'); // a grant exactly a minute old has left the window
  assert.deepEqual(waited, []);
  await limiter.acquire('app-a'); // a wait of exactly maxWaitMs is still waited
  assert.deepEqual(waited, [60_001]);
  const strict = createForgeRateLimiter({ perMinute: 3, maxWaitMs: 0, clock, sleep });
  for (let i = 0; i < 3; i++) await strict.acquire('app-b');
  await assert.rejects(strict.acquire('app-b'), (e: unknown) => {
    assert.ok(e instanceof GatewayError && e.code === 'RATE_LIMITED');
    assert.equal(e.message, "The Forge app has used this instance's 3 offline-token exchanges of this minute (Atlassian allows 1,000 a minute per app); retry in 61 s.");
    assert.deepEqual(e.details, { reason: 'forge_offline_token_budget', retryAfterMs: 60_001, retryable: true, shared: false });
    return true;
  });
});

test('the refusal of the budget shared by every instance says so, and rounds the wait up to whole seconds', () => {
  const shared = forgeBudgetRefusal(1000, 1001, true);
  assert.equal(shared.code, 'RATE_LIMITED');
  assert.equal(shared.message, 'The Forge app has used its 1000 offline-token exchanges of this minute (Atlassian allows 1,000 a minute per app); retry in 2 s.');
  assert.deepEqual(shared.details, { reason: 'forge_offline_token_budget', retryAfterMs: 1001, retryable: true, shared: true });
  assert.match(forgeBudgetRefusal(5, 1000, false).message, /this instance's 5 offline-token exchanges .*; retry in 1 s\.$/);
});

test('forge rate limiter: without an injected sleep, a caller over the budget waits on a real timer', { timeout: 10_000 }, async (tc) => {
  tc.mock.timers.enable({ apis: ['setTimeout'] });
  const manual = createManualClock(0);
  // A limiter that stopped waiting would spin on the clock: after 100 reads it is told so.
  let reads = 0;
  const clock: Clock = {
    now: () => {
      if (++reads > 100) throw new Error('the limiter reads the clock in a loop instead of waiting');
      return manual.now();
    },
  };
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
  };
  const limiter = createForgeRateLimiter({ perMinute: 1, maxWaitMs: 60_001, clock });
  await limiter.acquire('app-a');
  let outcome: 'waiting' | 'admitted' | unknown = 'waiting';
  const second = limiter.acquire('app-a').then(
    () => (outcome = 'admitted'),
    (e: unknown) => (outcome = e),
  );
  await turns(20);
  assert.equal(outcome, 'waiting');
  manual.advance(60_001);
  tc.mock.timers.tick(60_000);
  await turns(20);
  assert.equal(outcome, 'waiting', 'its timer has 1 ms to go');
  tc.mock.timers.tick(1);
  await turns(20);
  assert.equal(outcome, 'admitted');
  await second;
});
