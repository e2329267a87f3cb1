import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../clock.js';
import { createSandbox } from '../create-sandbox.js';
import { rateLimitResetHeader } from './rate-limit-headers.js';

const basic = (email: string, token: string) => `Basic ${Buffer.from(`${email}:${token}`).toString('base64')}`;
const ALICE = basic('alice@acme.example', 'alice-api-token');
const BOB = basic('bob@acme.example', 'bob-api-token-0');

function setup() {
  const sandbox = createSandbox({ clock: createManualClock(Date.UTC(2026, 5, 1, 12, 0, 0)) });
  const addFault = async (rule: unknown) => {
    const res = await sandbox.fetch(`${sandbox.origin}/_sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule) });
    assert.equal(res.status, 201);
    return (await res.json()) as { id: string };
  };
  const get = (path: string, auth = ALICE, site = 'acme') => sandbox.fetch(`${sandbox.origin}/s/${site}/wiki${path}`, { headers: { authorization: auth } });
  return { sandbox, addFault, get };
}

describe('rate limits and faults', () => {
  test('per-token rate limit: 429 with Retry-After, X-RateLimit-*, RateLimit-Reason; NearLimit on success; window resets on the clock', async () => {
    const { sandbox, addFault, get } = setup();
    await addFault({ kind: 'rate_limit', match: { pathPrefix: '/s/acme/wiki/' }, limit: 5, windowMs: 60_000, per: 'token', reason: 'confluence-quota-tenant-based' });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await get('/api/v2/pages/98305');
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    assert.equal(last!.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(last!.headers.get('x-ratelimit-nearlimit'), 'true');
    const limited = await get('/api/v2/pages/98305');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '60');
    assert.equal(limited.headers.get('x-ratelimit-limit'), '5');
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(limited.headers.get('x-ratelimit-reset'), '2026-06-01T12:01Z');
    assert.equal(limited.headers.get('ratelimit-reason'), 'confluence-quota-tenant-based');
    assert.equal((await get('/api/v2/pages/98305', BOB)).status, 200, 'another token has its own bucket');
    const faults = sandbox.control.counters.calls().filter((x) => x.kind === 'fault');
    assert.deepEqual(faults.map((x) => [x.path, x.status]), [['/s/acme/wiki/api/v2/pages/98305', 429]], 'the 429 is in the call log');
    sandbox.clock.advance(60_000);
    assert.equal((await get('/api/v2/pages/98305')).status, 200, 'new window');
  });
  test('per-site rate limit counts every token on the site, not other sites', async () => {
    const { sandbox, addFault, get } = setup();
    await addFault({ kind: 'rate_limit', match: {}, limit: 1, windowMs: 10_000, per: 'site' });
    assert.equal((await get('/api/v2/pages/98305', ALICE)).status, 200);
    assert.equal((await get('/api/v2/pages/98305', BOB)).status, 429);
    sandbox.control.updateUser('712020:00000000-0000-4000-8000-000000000006', { apiToken: 'frank-api-token' });
    assert.equal((await get('/api/v2/pages/98311', basic('frank@globex.example', 'frank-api-token'), 'globex')).status, 200);
  });
  test('per-route rate limit and a one-shot 503; removing a fault via the control API', async () => {
    const { sandbox, addFault, get } = setup();
    const rl = await addFault({ kind: 'rate_limit', match: {}, limit: 1, windowMs: 10_000, per: 'route' });
    assert.equal((await get('/api/v2/pages/98305')).status, 200);
    assert.equal((await get('/api/v2/pages/98306')).status, 200, 'another route');
    assert.equal((await get('/api/v2/pages/98305')).status, 429);
    assert.equal((await sandbox.fetch(`${sandbox.origin}/_sandbox/faults/${rl.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await get('/api/v2/pages/98305')).status, 200);
    await addFault({ kind: 'error', match: { pathPrefix: '/oauth2/token' }, status: 503, retryAfterSeconds: 2, times: 1 });
    const failed = await sandbox.fetch(`${sandbox.origin}/oauth2/token`, { method: 'POST' });
    assert.equal(failed.status, 503);
    assert.equal(failed.headers.get('retry-after'), '2');
    const after = await sandbox.fetch(`${sandbox.origin}/oauth2/token`, { method: 'POST' });
    assert.equal(after.status, 400, 'the fault was used up');
  });
  test('dropped connection rejects the in-process fetch; latency still answers', async () => {
    const { addFault, get, sandbox } = setup();
    await addFault({ kind: 'drop', match: { method: 'GET' }, times: 1 });
    await assert.rejects(get('/api/v2/pages/98305'), /fetch failed/);
    await addFault({ kind: 'drop', match: {}, times: 1 });
    await assert.rejects(async () => sandbox.app.fetch(new Request(`${sandbox.origin}/s/acme/wiki/api/v2/pages/98305`)), (e: Error) => e instanceof TypeError && e.message === 'fetch failed', 'app.fetch rejects too');
    await addFault({ kind: 'latency', match: {}, latencyMs: 5, times: 1 });
    assert.equal((await get('/api/v2/pages/98305')).status, 200);
    assert.deepEqual(sandbox.control.faults.list(), []);
  });
  test('latency holds requests until its rule is removed: removing it releases them at once', { timeout: 10_000 }, async () => {
    const { addFault, get, sandbox } = setup();
    // A minute (the most a rule allows): only the removal below can end the wait within the test's timeout.
    const { id } = await addFault({ kind: 'latency', match: { pathPrefix: '/s/acme/' }, latencyMs: 60_000, times: 1 });
    let answered = false;
    const held = get('/api/v2/pages/98305').then((r) => {
      answered = true;
      return r.status;
    });
    for (let i = 0; i < 1000 && sandbox.control.faults.held(id) === 0; i++) await new Promise((r) => setTimeout(r, 1));
    assert.equal(sandbox.control.faults.held(id), 1);
    assert.equal(sandbox.control.faults.held(), 1);
    assert.equal(answered, false);
    assert.equal((await get('/api/v2/pages/98305', BOB, 'acme')).status, 200, 'the one-shot rule was used up: others pass');
    const removed = await sandbox.fetch(`${sandbox.origin}/_sandbox/faults/${id}`, { method: 'DELETE' });
    assert.equal(removed.status, 204, 'a used-up rule that still holds requests can be removed');
    assert.equal(await held, 200);
    assert.equal(sandbox.control.faults.held(), 0);
  });
  test('a bad fault definition is rejected with the field named', async () => {
    const { sandbox } = setup();
    const res = await sandbox.fetch(`${sandbox.origin}/_sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'rate_limit', limit: 1, per: 'token' }) });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /windowMs/);
  });
  test('X-RateLimit-Reset format', () => {
    assert.equal(rateLimitResetHeader(Date.UTC(2026, 0, 1, 23, 59, 30), 45), '2026-01-02T00:00Z');
  });
});
