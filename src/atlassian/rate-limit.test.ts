import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../clock.js';
import { parseRetryAfter, type HeadersLike } from './parse-retry-after.js';
import { retryDelay, type RetryDelayInput } from './retry-delay.js';
import { shouldRetry, type RetryReason, type ShouldRetryInput } from './should-retry.js';

const NOW = Date.UTC(2026, 2, 2, 10, 0, 0);

describe('parseRetryAfter', () => {
  const cases: Array<[string, HeadersLike, number | undefined]> = [
    ['no headers', new Headers(), undefined],
    ['delta seconds', new Headers({ 'Retry-After': '120' }), 120_000],
    ['delta seconds with spaces', { 'retry-after': ' 5 ' }, 5_000],
    ['zero', { 'Retry-After': '0' }, 0],
    ['fractional seconds (tolerated)', { 'retry-after': '1.5' }, 1_500],
    ['HTTP date in the future', { 'retry-after': 'Mon, 02 Mar 2026 10:00:30 GMT' }, 30_000],
    ['HTTP date in the past → 0', { 'retry-after': 'Mon, 02 Mar 2026 09:59:00 GMT' }, 0],
    ['huge value stays finite', { 'retry-after': '9223372036854775807' }, Number.MAX_SAFE_INTEGER],
    ['garbage Retry-After, no reset', { 'retry-after': 'soon' }, undefined],
    ['X-RateLimit-Reset ISO minute precision', { 'X-RateLimit-Reset': '2026-03-02T10:02Z' }, 120_000],
    ['X-RateLimit-Reset with seconds', new Headers({ 'x-ratelimit-reset': '2026-03-02T10:00:10.000Z' }), 10_000],
    ['X-RateLimit-Reset not ISO is ignored', { 'x-ratelimit-reset': '1772445600' }, undefined],
    ['Retry-After wins over X-RateLimit-Reset', { 'retry-after': '3', 'x-ratelimit-reset': '2026-03-02T11:00Z' }, 3_000],
    ['garbage Retry-After falls back to reset', { 'retry-after': 'later', 'x-ratelimit-reset': '2026-03-02T10:01Z' }, 60_000],
  ];
  for (const [name, headers, expected] of cases) {
    test(name, () => assert.equal(parseRetryAfter(headers, createManualClock(NOW)), expected));
  }
});

describe('retryDelay', () => {
  const base = { baseMs: 500, maxMs: 30_000 };
  const cases: Array<[string, Omit<RetryDelayInput, 'baseMs' | 'maxMs'> & Partial<RetryDelayInput>, number]> = [
    ['attempt 1, random 0.5 → half of base', { attempt: 1, random: () => 0.5 }, 250],
    ['attempt 2, random 0.5 → half of 2·base', { attempt: 2, random: () => 0.5 }, 500],
    ['attempt 4, random 0.999', { attempt: 4, random: () => 0.999 }, 3996],
    ['attempt 20 is capped by maxMs', { attempt: 20, random: () => 0.5 }, 15_000],
    ['attempt 2000 does not overflow', { attempt: 2000, random: () => 0.5 }, 15_000],
    ['full jitter can be 0', { attempt: 3, random: () => 0 }, 0],
    ['Retry-After honoured exactly', { attempt: 1, retryAfterMs: 7_000, random: () => 0 }, 7_000],
    ['Retry-After above maxMs is clamped', { attempt: 1, retryAfterMs: 9.2e21, random: () => 0.5 }, 30_000],
    ['Retry-After 0', { attempt: 3, retryAfterMs: 0, random: () => 0.9 }, 0],
    ['negative Retry-After → 0', { attempt: 1, retryAfterMs: -5, random: () => 0.9 }, 0],
    ['random out of range is clamped', { attempt: 1, random: () => 7 }, 500],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => assert.equal(retryDelay({ ...base, ...input }), expected));
  }

  test('full jitter spreads over [0, ceiling)', () => {
    const samples = [0, 0.25, 0.5, 0.75, 0.9999].map((r) => retryDelay({ ...base, attempt: 3, random: () => r }));
    assert.deepEqual(samples, [0, 500, 1000, 1500, 1999]);
  });

  const bad: Array<[string, Partial<RetryDelayInput>]> = [
    ['attempt 0', { attempt: 0 }],
    ['negative base', { baseMs: -1 }],
    ['max below base', { maxMs: 100 }],
  ];
  for (const [name, overrides] of bad) {
    test(`refuses ${name}`, () => assert.throws(() => retryDelay({ ...base, attempt: 1, random: () => 0, ...overrides }), RangeError));
  }
});

describe('shouldRetry', () => {
  const base: ShouldRetryInput = { method: 'GET', status: 500, attempt: 1, maxAttempts: 4, retryNonIdempotent: false };
  const table: Array<[Partial<ShouldRetryInput>, boolean, RetryReason]> = [
    [{ status: 200 }, false, 'not_an_error'],
    [{ status: 304 }, false, 'not_an_error'],
    [{ status: 400 }, false, 'not_retryable_status'],
    [{ status: 401 }, false, 'not_retryable_status'],
    [{ status: 404 }, false, 'not_retryable_status'],
    [{ status: 500 }, false, 'not_retryable_status'],
    [{ status: 501 }, false, 'not_retryable_status'],
    [{ status: 429 }, true, 'rate_limited'],
    [{ status: 429, method: 'POST' }, true, 'rate_limited'],
    [{ status: 502 }, true, 'server_unavailable'],
    [{ status: 503, method: 'put' }, true, 'server_unavailable'],
    [{ status: 504, method: 'DELETE' }, true, 'server_unavailable'],
    [{ status: 503, method: 'HEAD' }, true, 'server_unavailable'],
    [{ status: 503, method: 'OPTIONS' }, true, 'server_unavailable'],
    [{ status: 503, method: 'POST' }, false, 'not_idempotent'],
    [{ status: 502, method: 'PATCH' }, false, 'not_idempotent'],
    [{ status: 503, method: 'POST', retryNonIdempotent: true }, true, 'server_unavailable'],
    [{ status: 'network_error' }, true, 'network_error'],
    [{ status: 'network_error', method: 'POST' }, false, 'not_idempotent'],
    [{ status: 'network_error', method: 'POST', retryNonIdempotent: true }, true, 'network_error'],
    [{ status: 'timeout', method: 'PUT' }, true, 'timeout'],
    [{ status: 'timeout', method: 'PATCH' }, false, 'not_idempotent'],
    [{ status: 429, attempt: 4 }, false, 'attempts_exhausted'],
    [{ status: 503, attempt: 3 }, true, 'server_unavailable'],
    [{ status: 503, attempt: 5 }, false, 'attempts_exhausted'],
    [{ status: 429, maxAttempts: 1 }, false, 'attempts_exhausted'],
    [{ status: 429, retryAfterMs: 60_000, maxRetryAfterMs: 30_000 }, false, 'retry_after_too_long'],
    [{ status: 429, retryAfterMs: 30_000, maxRetryAfterMs: 30_000 }, true, 'rate_limited'],
    [{ status: 429, retryAfterMs: 60_000 }, true, 'rate_limited'],
  ];
  for (const [overrides, retry, reason] of table) {
    test(`${JSON.stringify(overrides)} → ${retry ? 'retry' : 'stop'} (${reason})`, () => {
      assert.deepEqual(shouldRetry({ ...base, ...overrides }), { retry, reason });
    });
  }

  test('refuses a bad maxAttempts or attempt', () => {
    assert.throws(() => shouldRetry({ ...base, maxAttempts: 0 }), RangeError);
    assert.throws(() => shouldRetry({ ...base, attempt: 0 }), RangeError);
  });
});
