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
