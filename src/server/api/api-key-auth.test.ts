import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { createManualClock } from '../../clock.js';
import { isGatewayError } from '../../errors.js';
import type { ApiKey } from '../../store/api-keys-repo.js';
import { apiKeyAuth, createApiKeyCheck, isApiKeyRefusal, createRateLimiter, DEFAULT_API_RATE_LIMIT, type ApiKeyVariables, type RateDecision, type RateLimitOptions } from './api-key-auth.js';

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

test('the default limit is the documented 1000/s with a burst of 2000', () => {
  assert.deepEqual(DEFAULT_API_RATE_LIMIT, { perSecond: 1000, burst: 2000 });
});

/** The middleware in a bare app: the only valid key is `obk_good`; errors come back as code, message and WWW-Authenticate. */
function guarded(rateLimit?: RateLimitOptions) {
  const key: ApiKey = { id: 'key-1', name: 'k', prefix: 'obk_go', sites: null, createdAt: 0, lastUsedAt: null, revokedAt: null };
  const verified: string[] = [];
  const apiKeys = {
    async verify(secret: string) {
      verified.push(secret);
      return secret === 'obk_good' ? key : undefined;
    },
  };
  const app = new Hono<{ Variables: ApiKeyVariables }>();
  app.use('*', apiKeyAuth({ apiKeys, clock: createManualClock() }, rateLimit ? { rateLimit } : {}));
  app.get('/', (c) => c.json({ keyId: c.get('apiKey').id }));
  app.onError((e, c) => c.json({ code: isGatewayError(e) ? e.code : 'INTERNAL', message: e.message, details: isGatewayError(e) ? (e.details ?? null) : null }, 401));
  const call = async (authorization?: string) => {
    const res = await app.request('/', authorization === undefined ? {} : { headers: { authorization } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, www: res.headers.get('www-authenticate'), retryAfter: res.headers.get('retry-after') };
  };
  return { call, verified };
}

test('a valid key passes, and the handler sees which key it was', async () => {
  const { call } = guarded();
  for (const header of ['Bearer obk_good', 'bearer obk_good', 'BEARER  obk_good', 'Bearer obk_good  ']) {
    const r = await call(header);
    assert.equal(r.status, 200, header);
    assert.deepEqual(r.body, { keyId: 'key-1' }, header);
  }
});

test('no Authorization header: UNAUTHENTICATED with a Bearer challenge and how to get a key', async () => {
  const { call, verified } = guarded();
  const r = await call();
  assert.equal(r.body['code'], 'UNAUTHENTICATED');
  assert.match(String(r.body['message']), /onbehalf apikeys create/);
  assert.equal(r.www, 'Bearer realm="onbehalf"');
  assert.deepEqual(verified, []);
});

test('a malformed or unknown key: UNAUTHENTICATED invalid_token, and a malformed one is never looked up', async () => {
  const { call, verified } = guarded();
  for (const header of ['obk_good', 'Basic obk_good', 'xBearer obk_good', 'Bearer', 'Bearer ', 'Bearer obk_good extra', 'Bearer obk_g\u00e9od', `Bearer ${'a'.repeat(513)}`, 'Bearer obk_bad']) {
    const r = await call(header);
    assert.equal(r.body['code'], 'UNAUTHENTICATED', header);
    assert.equal(r.www, 'Bearer realm="onbehalf", error="invalid_token"', header);
    assert.match(String(r.body['message']), /not valid/, header);
  }
  assert.deepEqual(verified, ['obk_bad'], 'only the well-formed key reached the store');
  await call(`Bearer ${'a'.repeat(512)}`);
  assert.equal(verified.at(-1), 'a'.repeat(512), '512 characters is still a well-formed key');
});

test('over the limit: RATE_LIMITED with Retry-After, per key', async () => {
  const { call } = guarded({ perSecond: 1, burst: 1 });
  assert.equal((await call('Bearer obk_good')).status, 200);
  const r = await call('Bearer obk_good');
  assert.equal(r.body['code'], 'RATE_LIMITED');
  assert.equal(r.retryAfter, '1');
  assert.deepEqual(r.body['details'], { retryAfterSeconds: 1 });
  assert.match(String(r.body['message']), /retry after 1 s/);
});

test('the middleware over a check made once: both ways in (the app and the proxy listener) spend from the same buckets', async () => {
  const key: ApiKey = { id: 'key-1', name: 'k', prefix: 'obk_go', sites: null, createdAt: 0, lastUsedAt: null, revokedAt: null };
  const check = createApiKeyCheck({ apiKeys: { verify: async (s: string) => (s === 'obk_good' ? key : undefined) }, clock: createManualClock() }, { rateLimit: { perSecond: 1, burst: 2 } });
  const app = new Hono<{ Variables: ApiKeyVariables }>();
  app.use('*', apiKeyAuth({ check }));
  app.get('/', (c) => c.json({ keyId: c.get('apiKey').id }));
  app.onError((e, c) => c.json({ code: isGatewayError(e) ? e.code : 'INTERNAL' }, 401));
  const viaApp = async () => (await (await app.request('/', { headers: { authorization: 'Bearer obk_good' } })).json()) as Record<string, unknown>;
  assert.deepEqual(await viaApp(), { keyId: 'key-1' });
  const direct = await check('Bearer obk_good');
  assert.ok(!isApiKeyRefusal(direct), 'the second call of the burst, made outside the app');
  assert.deepEqual(await viaApp(), { code: 'RATE_LIMITED' }, 'the third, back in the app, finds the bucket empty');
  const refused = await check('Bearer obk_good');
  assert.ok(isApiKeyRefusal(refused) && refused.error.code === 'RATE_LIMITED' && refused.headers['Retry-After'] === '1');
});
