import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActivityLog, type ActivityEntry } from './activity-log.js';

const entry = (n: number, over: Partial<ActivityEntry> = {}): ActivityEntry => ({
  at: n,
  requestId: `r${n}`,
  caller: 'k',
  externalUserId: 'u',
  site: 'acme',
  accountId: 'a',
  route: 'connect',
  method: 'GET',
  path: '/api/v2/spaces',
  upstreamStatus: 200,
  status: 200,
  error: null,
  latencyMs: 1,
  ...over,
});

test('the ring keeps the newest `capacity` entries, newest first, and counts every one recorded', () => {
  const log = createActivityLog({ capacity: 3 });
  assert.deepEqual(log.list(), []);
  for (let i = 1; i <= 5; i++) log.record(entry(i));
  assert.deepEqual(log.list().map((e) => e.at), [5, 4, 3]);
  assert.equal(log.total, 5);
  assert.deepEqual(log.list({ limit: 2 }).map((e) => e.at), [5, 4]);
});

test('filters: user, site, caller and outcome (status class, or refused by the gateway)', () => {
  const log = createActivityLog({ capacity: 10 });
  log.record(entry(1, { externalUserId: 'alice' }));
  log.record(entry(2, { site: 'globex', upstreamStatus: 404, status: 404 }));
  log.record(entry(3, { caller: 'admin console', upstreamStatus: 503, status: 503 }));
  log.record(entry(4, { upstreamStatus: null, status: 404, error: 'USER_NOT_LINKED', accountId: null, route: null }));
  assert.deepEqual(log.list({ externalUserId: 'alice' }).map((e) => e.at), [1]);
  assert.deepEqual(log.list({ site: 'globex' }).map((e) => e.at), [2]);
  assert.deepEqual(log.list({ caller: 'admin console' }).map((e) => e.at), [3]);
  assert.deepEqual(log.list({ outcome: '2xx' }).map((e) => e.at), [1]);
  assert.deepEqual(log.list({ outcome: '4xx' }).map((e) => e.at), [2], 'a refusal by the gateway is not a 4xx from Confluence');
  assert.deepEqual(log.list({ outcome: 'refused' }).map((e) => e.at), [4]);
});

test('a capacity outside 1..100000 is refused at creation', () => {
  for (const capacity of [0, -1, 1.5, 100_001]) assert.throws(() => createActivityLog({ capacity }), RangeError);
});
