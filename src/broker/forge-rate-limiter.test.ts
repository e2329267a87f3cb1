import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createManualClock } from '../clock.js';
import { GatewayError } from '../errors.js';
import { createForgeRateLimiter } from './forge-rate-limiter.js';

test('forge rate limiter: a sliding minute per app; over budget waits for the oldest grant to leave, or refuses', async () => {
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

test('forge rate limiter: the window and the wait limit at their edges; the refusal says what and when', async () => {
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
