import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { startForgeWorld } from '../testing/forge-test-kit.js';
import { EXAMPLE_APP_ID } from './example-manifest.js';
import { DEFAULT_ACCOUNTS } from '../seed/default-seed.js';

const HOUR = 3600_000;
type Body = { payload: Record<string, unknown> & { retryContext?: { retryData: null; retryCount: number; retryReason: string } } };
type Delivery = { label: string; outcome: string; attempts: { status: number | null; failure: string | null }[] };

describe('Forge events and triggers over real HTTP: retries, timeouts, schedules, product events', { timeout: 180_000 }, () => {
  test('a failing remote is retried 60 s apart (sandbox clock) with retryContext, then given up after 4 retries', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    let calls = 0;
    w.remote.respond((r) => (r.path === '/forge/lifecycle' ? { status: ++calls === 1 ? 401 : 500, body: { message: 'no' } } : {}));
    const info = await w.install();
    const lifecycle = () => w.remote.received.filter((r) => r.path === '/forge/lifecycle');
    assert.equal(lifecycle().length, 1);
    await w.post('/_sandbox/clock/advance', { ms: 50_000 });
    await w.post('/_sandbox/forge/flush');
    assert.equal(lifecycle().length, 1, 'not before 60 s');
    for (let i = 1; i <= 5; i++) {
      await w.post('/_sandbox/clock/advance', { ms: 60_000 });
      await w.post('/_sandbox/forge/flush');
    }
    const got = lifecycle();
    assert.equal(got.length, 5, 'first attempt plus 4 retries');
    assert.deepEqual(got.map((r) => (r.body as Body).payload.retryContext?.retryCount ?? 0), [0, 1, 2, 3, 4]);
    assert.equal((got[1]!.body as Body).payload.retryContext!.retryReason, 'INVALID_FORGE_INVOCATION_TOKEN');
    assert.equal((got[2]!.body as Body).payload.retryContext!.retryReason, 'INVALID_REMOTE_INVOCATION_ERROR');
    assert.equal((got[1]!.body as Body).payload.retryContext!.retryData, null);
    const [rec] = (await (await fetch(`${w.sb.url}/_sandbox/forge/deliveries?label=avi:forge:installed:app`)).json()) as Delivery[];
    assert.equal(rec!.outcome, 'failed');
    assert.deepEqual(rec!.attempts.map((a) => a.failure), ['INVALID_FORGE_INVOCATION_TOKEN', ...Array(4).fill('INVALID_REMOTE_INVOCATION_ERROR')]);
    const counters = (await (await fetch(`${w.sb.url}/_sandbox/counters?kind=forge_event&app=${encodeURIComponent(info.appId)}`)).json()) as { totals: Record<string, number> };
    assert.equal(counters.totals['forge_event'], 5);
  });

  test('a slow remote times out (TIMEOUT_ERROR) and a 3xx counts as a failure, not a redirect to follow', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    await fetch(`${w.sb.url}/_sandbox/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ forgeEventTimeoutMs: 1500 }) });
    let n = 0;
    w.remote.respond((r) => (r.path !== '/forge/lifecycle' ? {} : ++n === 1 ? { delayMs: 4000 } : n === 2 ? { status: 302, headers: { location: 'http://127.0.0.1:9/elsewhere' } } : {}));
    await w.install();
    await w.post('/_sandbox/clock/advance', { ms: 60_000 });
    await w.post('/_sandbox/forge/flush');
    await w.post('/_sandbox/clock/advance', { ms: 60_000 });
    await w.post('/_sandbox/forge/flush');
    const [rec] = (await (await fetch(`${w.sb.url}/_sandbox/forge/deliveries?label=avi:forge:installed:app`)).json()) as Delivery[];
    assert.deepEqual(rec!.attempts.map((a) => a.failure), ['TIMEOUT_ERROR', 'INVALID_REMOTE_INVOCATION_ERROR', null]);
    assert.equal(rec!.outcome, 'delivered');
    assert.equal(w.remote.received.filter((r) => r.path === '/elsewhere').length, 0);
    const third = w.remote.received.filter((r) => r.path === '/forge/lifecycle')[2]!;
    assert.deepEqual((third.body as Body).payload.retryContext, { retryData: null, retryCount: 2, retryReason: 'INVALID_REMOTE_INVOCATION_ERROR' });
  });

  test('the hourly trigger fires on the sandbox clock with a system token of at least 2 h; run-now fires it at once', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const info = await w.install();
    const ticks = () => w.remote.received.filter((r) => r.path === '/forge/tick');
    // A minute of margin: the sandbox clock also moves with real time, which a loaded machine stretches.
    await w.post('/_sandbox/clock/advance', { ms: HOUR - 60_000 });
    await w.post('/_sandbox/forge/flush');
    assert.equal(ticks().length, 0);
    await w.post('/_sandbox/clock/advance', { ms: 60_000 });
    await w.post('/_sandbox/forge/flush');
    assert.equal(ticks().length, 1);
    // By the third run the install's token (4 h) would have 1 h left, so that trigger must carry a fresh
    // one: a direct trigger's system token always has at least 2 h left (§10.2).
    const installToken = w.remote.received.find((r) => r.path === '/forge/lifecycle')!.headers['x-forge-oauth-system'];
    await w.post('/_sandbox/clock/advance', { ms: 2 * HOUR });
    await w.post('/_sandbox/forge/flush');
    assert.equal(ticks().length, 2, 'one run per due time, however far the clock jumped');
    const tick = ticks().at(-1)!;
    assert.notEqual(tick.headers['x-forge-oauth-system'], installToken);
    const left = decodeJwt(tick.headers['x-forge-oauth-system']!).exp! * 1000 - w.sb.sandbox.clock.now();
    assert.ok(left >= 2 * HOUR && left <= 4 * HOUR, `the trigger's system token has ${left} ms left`);
    const fit = await w.verifyFit(tick.headers['authorization'], EXAMPLE_APP_ID);
    assert.deepEqual((fit['app'] as { module: unknown }).module, { type: 'core:endpoint', key: 'gateway-tick' });
    assert.equal(tick.headers['x-forge-oauth-user'], undefined);
    const before = ticks().length;
    const run = await w.post(`/_sandbox/sites/acme/forge-apps/${encodeURIComponent(info.appId)}/scheduled-triggers/token-keepalive/run`);
    assert.equal(((await run.json()) as Delivery).outcome, 'delivered');
    assert.equal(ticks().length, before + 1);
    assert.equal((await w.post(`/_sandbox/sites/acme/forge-apps/${encodeURIComponent(info.appId)}/scheduled-triggers/nope/run`)).status, 404);
  });

  test('product events reach subscribed triggers with the acting user; unsubscribed events do not', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const info = await w.install({ events: ['avi:confluence:created:page', 'avi:confluence:created:comment'] });
    const basic = `Basic ${Buffer.from('alice@acme.example:alice-api-token').toString('base64')}`;
    const site = w.sb.sandbox.control.discovery().sites.find((s) => s.key === 'acme')!;
    const created = await fetch(`${site.baseUrl}/api/v2/pages`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/json' }, body: JSON.stringify({ spaceId: '65537', title: 'Forge event page', body: { representation: 'storage', value: '<p>x</p>' } }) });
    assert.equal(created.status, 200, await created.clone().text());
    const page = (await created.json()) as { id: string };
    const ev = await w.remote.waitFor((r) => r.path === '/forge/events');
    const body = ev.body as { payload: { eventType: string; atlassianId: string; content: { id: string; type: string; title: string; space: { key: string } } } };
    assert.equal(body.payload.eventType, 'avi:confluence:created:page');
    assert.equal(body.payload.atlassianId, DEFAULT_ACCOUNTS.alice);
    assert.deepEqual([body.payload.content.id, body.payload.content.type, body.payload.content.title], [page.id, 'page', 'Forge event page']);
    const fit = await w.verifyFit(ev.headers['authorization'], EXAMPLE_APP_ID);
    assert.equal((fit['app'] as { installationId: string }).installationId, info.installationId);
    assert.ok(ev.headers['x-forge-oauth-system']);
    // An update is not subscribed: nothing arrives for it.
    const got = await fetch(`${site.baseUrl}/api/v2/pages/${page.id}`, { headers: { authorization: basic } });
    const current = (await got.json()) as { version: { number: number } };
    const upd = await fetch(`${site.baseUrl}/api/v2/pages/${page.id}`, { method: 'PUT', headers: { authorization: basic, 'content-type': 'application/json' }, body: JSON.stringify({ id: page.id, status: 'current', title: 'Forge event page 2', body: { representation: 'storage', value: '<p>y</p>' }, version: { number: current.version.number + 1 } }) });
    assert.equal(upd.status, 200, await upd.clone().text());
    await w.post('/_sandbox/forge/flush');
    assert.equal(w.remote.received.filter((r) => (r.body as Body | undefined)?.payload?.['eventType'] === 'avi:confluence:updated:page').length, 0);
  });
});
