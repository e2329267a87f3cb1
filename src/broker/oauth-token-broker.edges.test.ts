import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FetchLike } from '../atlassian/send-request.js';
import { GatewayError, isGatewayError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { DEFAULT_ACCOUNTS, DEFAULT_OAUTH_CLIENT } from '../sandbox/index.js';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../store/test-support/open-test-store.js';
import { createOAuthTokenBroker, oauthScopeKey, type OAuthRefreshInfo } from './oauth-token-broker.js';
import { GRANT_SCOPES, openOAuthWorld, oauthWorldPerTest, type OAuthWorld } from './test-support/oauth-world.js';

/**
 * The 3LO broker's refusals, hooks and background job at their edges: what each error says, that a hook
 * that throws never breaks the call it reports on, and how the idle job counts and logs. SQLite and the
 * in-process sandbox (oauth-token-broker.test.ts runs the main paths on both stores).
 */

const ALICE = DEFAULT_ACCOUNTS.alice;
const BOB = DEFAULT_ACCOUNTS.bob;
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const CLIENT = DEFAULT_OAUTH_CLIENT.clientId;

async function failure(p: Promise<unknown>): Promise<GatewayError> {
  const e = await p.then(
    () => assert.fail('expected an error'),
    (x: unknown) => x,
  );
  assert.ok(e instanceof GatewayError, String(e));
  return e;
}

/** The JSON log lines of a world, parsed. */
const logLines = (w: OAuthWorld) => w.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
const messages = (w: OAuthWorld) => logLines(w).map((l) => [l['level'], l['msg']]);

/** A fetch in front of the sandbox's that answers refresh-token grants itself while `answer` returns one. */
const refreshAnswers = (answer: () => Response | undefined) => (inner: FetchLike): FetchLike => async (url, init) => {
  if (String(init?.body).includes('"refresh_token"')) {
    const r = answer();
    if (r) return r;
  }
  return inner(url, init);
};

describe('OAuth token broker: refusals, hooks and the idle job', () => {
  let shared: TestStore;
  let w: OAuthWorld;
  oauthWorldPerTest(testBackends()[0]!, (s, world) => {
    shared = s;
    w = world;
  });

  test('each refusal of a request says what is wrong, before anything is read or sent', { timeout: 30_000 }, async () => {
    const broker = w.broker();
    for (const call of [
      () => broker.tokenFor({ accountId: 'not an id' }),
      () => broker.invalidate({ accountId: 'not an id' }),
      () => broker.revoke({ accountId: 'not an id' }),
    ]) {
      const e = await failure(call());
      assert.deepEqual([e.code, e.message, e.details], ['VALIDATION_FAILED', 'accountId must be an Atlassian account ID (letters, digits, ":", "_", "-").', { field: 'accountId' }]);
    }
    for (const scope of ['has space', '', 'x'.repeat(201), 'caf\u00e9']) {
      const e = await failure(broker.tokenFor({ accountId: ALICE, scopes: [scope] }));
      assert.deepEqual([e.code, e.message, e.details], ['VALIDATION_FAILED', 'Each scope must be 1-200 printable characters without spaces.', { field: 'scopes' }], JSON.stringify(scope));
    }
    const missing = await failure(broker.tokenFor({ accountId: ALICE, scopes: ['x'.repeat(200)] }));
    assert.deepEqual([missing.code, missing.message, missing.details], ['REAUTH_REQUIRED', `No OAuth grant is stored for account ${ALICE}; the user must connect (consent) again.`, { accountId: ALICE, reason: 'grant_missing' }]);
    assert.equal(w.sandbox.control.counters.total('refresh_grant'), 0);
  });

  test('a scope outside the grant: the error lists what is missing and what was granted', { timeout: 30_000 }, async () => {
    const broker = w.broker();
    await w.connect(broker, ALICE, ['read:page:confluence', 'offline_access']);
    // Spaces around a scope name are not part of it.
    assert.equal((await broker.tokenFor({ accountId: ALICE, scopes: [' read:page:confluence '] })).route, 'oauth');
    const e = await failure(broker.tokenFor({ accountId: ALICE, scopes: ['write:page:confluence', 'read:page:confluence', 'delete:page:confluence'] }));
    assert.equal(e.code, 'SCOPE_NOT_ALLOWED');
    assert.equal(e.message, `Account ${ALICE} did not grant delete:page:confluence, write:page:confluence; ask the user to consent again with those scopes.`);
    assert.deepEqual(e.details, { accountId: ALICE, missing: ['delete:page:confluence', 'write:page:confluence'], granted: ['offline_access', 'read:page:confluence'] });
  });

  test('storeGrant: no refresh token is refused by name; the granted scopes win over the asked ones; the hook hears it', { timeout: 30_000 }, async () => {
    const stored: unknown[] = [];
    const broker = w.broker({ deps: { onGrantStored: (i) => void stored.push(i) } });
    const tokens = await w.exchange(ALICE, GRANT_SCOPES);
    const noRefresh = await failure(broker.storeGrant({ accountId: ALICE, scopes: GRANT_SCOPES, tokens: { ...tokens, refreshToken: undefined } }));
    assert.deepEqual([noRefresh.code, noRefresh.message, noRefresh.details], [
      'VALIDATION_FAILED',
      'The token response has no refresh token: request the offline_access scope so the link survives the first hour.',
      { field: 'tokens.refreshToken' },
    ]);
    await assert.rejects(broker.storeGrant({ accountId: 'not an id', scopes: GRANT_SCOPES, tokens }), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED'));
    assert.deepEqual(stored, []);
    const granted = await broker.storeGrant({ accountId: ALICE, scopes: ['asked:only'], tokens: { ...tokens, scopes: ['write:page:confluence', 'offline_access'] } });
    assert.deepEqual(granted.scopes, ['offline_access', 'write:page:confluence']);
    assert.deepEqual(stored, [{ clientId: CLIENT, accountId: ALICE }]);
    // Without the granted list the asked scopes are the grant's.
    const bob = await broker.storeGrant({ accountId: BOB, scopes: ['read:page:confluence', 'offline_access'], tokens: { ...(await w.exchange(BOB, GRANT_SCOPES)), scopes: undefined } });
    assert.deepEqual(bob.scopes, ['offline_access', 'read:page:confluence']);
  });

  test('a grant of no named scopes: its tokens name none, and a request without scopes is served', { timeout: 30_000 }, async () => {
    const broker = w.broker();
    const granted = await broker.storeGrant({ accountId: ALICE, scopes: [], tokens: { ...(await w.exchange(ALICE, GRANT_SCOPES)), scopes: undefined } });
    assert.deepEqual(granted.scopes, []);
    assert.deepEqual((await broker.tokenFor({ accountId: ALICE, scopes: [] })).scopes, []);
    // From the store in another broker too.
    assert.deepEqual((await w.broker().tokenFor({ accountId: ALICE })).scopes, []);
  });

  test('hooks that throw are logged and change nothing: onGrantStored, onRefresh', { timeout: 30_000 }, async () => {
    const broker = w.broker({
      deps: {
        onGrantStored: () => {
          throw new Error('metrics down');
        },
        onRefresh: () => {
          throw new Error('metrics down');
        },
      },
    });
    const granted = await w.connect(broker, ALICE);
    assert.equal((await broker.tokenFor({ accountId: ALICE })).accessToken, granted.accessToken);
    w.sandbox.clock.advance(2 * HOUR);
    const fresh = await broker.tokenFor({ accountId: ALICE });
    assert.notEqual(fresh.accessToken, granted.accessToken);
    assert.equal(broker.stats.refreshes, 1);
    assert.deepEqual(messages(w), [
      ['warn', 'onGrantStored hook failed'],
      ['warn', 'onRefresh hook failed'],
    ]);
    assert.deepEqual(logLines(w).map((l) => (l['err'] as { message?: string } | undefined)?.message), ['metrics down', 'metrics down']);
  });

  test('invalid_grant with an onInvalidGrant hook that throws: logged, and the caller still gets REAUTH_REQUIRED with the reason', { timeout: 30_000 }, async () => {
    const seen: OAuthRefreshInfo[] = [];
    const broker = w.broker({
      deps: {
        onRefresh: (i) => void seen.push(i),
        onInvalidGrant: () => {
          throw new Error('link store down');
        },
      },
    });
    await w.connect(broker, ALICE);
    // Past the 90-day inactivity expiry, Atlassian refuses the refresh token.
    w.sandbox.clock.advance(91 * DAY);
    const e = await failure(broker.tokenFor({ accountId: ALICE }));
    assert.equal(e.code, 'REAUTH_REQUIRED');
    assert.equal(e.message, `Atlassian no longer accepts the refresh token of account ${ALICE}; the user must connect (consent) again.`);
    assert.deepEqual(e.details, { accountId: ALICE, reason: 'refresh_token_invalid' });
    assert.ok(isGatewayError(e.cause, 'INVALID_GRANT'));
    assert.deepEqual(seen, [{ clientId: CLIENT, accountId: ALICE, trigger: 'demand', outcome: 'error', code: 'INVALID_GRANT', attempts: 1 }]);
    assert.deepEqual({ invalidGrants: broker.stats.invalidGrants, refreshFailures: broker.stats.refreshFailures }, { invalidGrants: 1, refreshFailures: 1 });
    const lines = logLines(w);
    assert.deepEqual(lines.map((l) => [l['level'], l['msg']]), [
      ['warn', 'OAuth refresh token refused (invalid_grant); tokens deleted, re-consent required'],
      ['error', 'onInvalidGrant hook failed'],
    ]);
    assert.deepEqual([lines[0]?.['accountId'], lines[0]?.['clientId'], lines[0]?.['reason']], [ALICE, CLIENT, 'refresh_token_invalid']);
    assert.deepEqual([lines[1]?.['accountId'], (lines[1]?.['err'] as { message?: string } | undefined)?.message], [ALICE, 'link store down'], 'the hook failure says for whom and why');
  });

  test('Atlassian down for good: the error says for whom and after how many tries; the hook hears the code and the tries', { timeout: 30_000 }, async () => {
    const world = await openOAuthWorld(testBackends()[0]!, { shared, fetch: refreshAnswers(() => Response.json({ error: 'server_error' }, { status: 503 })) });
    try {
      const seen: OAuthRefreshInfo[] = [];
      const broker = world.broker({ deps: { onRefresh: (i) => void seen.push(i) } });
      await world.connect(broker, ALICE);
      world.sandbox.clock.advance(2 * HOUR);
      const e = await failure(broker.tokenFor({ accountId: ALICE }));
      assert.equal(e.code, 'ATLASSIAN_UNAVAILABLE');
      assert.equal(e.message, `Atlassian's token service did not answer a refresh for account ${ALICE} after 3 attempt(s).`);
      assert.deepEqual(e.details, { accountId: ALICE, attempts: 3, reason: 'server_error' });
      assert.ok(isGatewayError(e.cause, 'ATLASSIAN_UNAVAILABLE'));
      assert.deepEqual(seen, [{ clientId: CLIENT, accountId: ALICE, trigger: 'demand', outcome: 'error', code: 'ATLASSIAN_UNAVAILABLE', attempts: 3 }]);
      assert.deepEqual(world.sleeps, [100, 200], 'full jitter on the default 200 ms base');
      const retries = logLines(world).filter((l) => l['msg'] === 'OAuth refresh failed; retrying');
      assert.deepEqual(retries.map((l) => [l['level'], l['attempt'], l['waitMs'], l['accountId'], l['clientId']]), [
        ['warn', 1, 100, ALICE, CLIENT],
        ['warn', 2, 200, ALICE, CLIENT],
      ]);
    } finally {
      await world.close();
    }
  });

  test('timeouts every time end as ATLASSIAN_TIMEOUT; a refusal that is not worth retrying is tried once and passed on', { timeout: 30_000 }, async () => {
    let mode: 'timeout' | 'refused' = 'timeout';
    const world = await openOAuthWorld(testBackends()[0]!, {
      shared,
      fetch: refreshAnswers(() => {
        if (mode === 'refused') return Response.json({ error: 'unauthorized_client' }, { status: 401 });
        throw new DOMException('The operation timed out.', 'TimeoutError');
      }),
    });
    try {
      const seen: OAuthRefreshInfo[] = [];
      const broker = world.broker({ deps: { onRefresh: (i) => void seen.push(i) }, options: { maxAttempts: 2, retryBaseMs: 10, retryMaxMs: 15 } });
      await world.connect(broker, ALICE);
      world.sandbox.clock.advance(2 * HOUR);
      const timeout = await failure(broker.tokenFor({ accountId: ALICE }));
      assert.deepEqual([timeout.code, timeout.details], ['ATLASSIAN_TIMEOUT', { accountId: ALICE, attempts: 2, reason: 'timeout' }]);
      assert.deepEqual(world.sleeps, [5]);
      mode = 'refused';
      const refused = await failure(broker.tokenFor({ accountId: ALICE }));
      assert.deepEqual([refused.code, refused.details?.['status'], refused.details?.['reason']], ['ATLASSIAN_ERROR', 401, 'unauthorized']);
      assert.deepEqual(world.sleeps, [5], 'not retried');
      assert.deepEqual(seen.map((i) => [i.outcome, i.code, i.attempts]), [['error', 'ATLASSIAN_TIMEOUT', 2], ['error', 'ATLASSIAN_ERROR', 1]]);
      assert.equal(broker.stats.refreshFailures, 2);
    } finally {
      await world.close();
    }
  });

  test('a Retry-After is honoured up to retryMaxMs; retryBaseMs sets the backoff', { timeout: 30_000 }, async () => {
    let answers = [
      () => new Response('{}', { status: 429, headers: { 'retry-after': '2' } }),
      () => Response.json({ error: 'server_error' }, { status: 500 }),
      () => Response.json({ error: 'server_error' }, { status: 500 }),
    ];
    const world = await openOAuthWorld(testBackends()[0]!, { shared, fetch: refreshAnswers(() => answers.shift()?.()) });
    try {
      const broker = world.broker({ options: { maxAttempts: 4, retryBaseMs: 1000, retryMaxMs: 1500 } });
      await world.connect(broker, ALICE);
      world.sandbox.clock.advance(2 * HOUR);
      await broker.tokenFor({ accountId: ALICE });
      // 2 s asked for, cut to 1.5 s; then 0.5 x min(1500, 2000) and 0.5 x min(1500, 4000).
      assert.deepEqual(world.sleeps, [1500, 750, 750]);
      answers = [];
    } finally {
      await world.close();
    }
  });

  test('invalidate in the broker that cached the token: another token keeps the cache, the reported one or none drops it; lookups are counted', { timeout: 30_000 }, async () => {
    const lookups: boolean[] = [];
    const broker = w.broker({ deps: { onLookup: (hit) => void lookups.push(hit) } });
    const granted = await w.connect(broker, ALICE);
    await broker.invalidate({ accountId: ALICE }, 'another-token');
    assert.equal((await broker.tokenFor({ accountId: ALICE })).accessToken, granted.accessToken);
    assert.deepEqual([broker.stats.hits, broker.stats.storeHits, broker.stats.misses, lookups], [1, 0, 0, [true]], 'still a cache hit');
    await broker.invalidate({ accountId: ALICE }, granted.accessToken);
    const fresh = await broker.tokenFor({ accountId: ALICE });
    assert.notEqual(fresh.accessToken, granted.accessToken);
    assert.deepEqual([broker.stats.hits, broker.stats.misses, broker.stats.refreshes, lookups], [1, 1, 1, [true, false]]);
    await broker.invalidate({ accountId: ALICE });
    const third = await broker.tokenFor({ accountId: ALICE });
    assert.notEqual(third.accessToken, fresh.accessToken, 'without a token the cached one goes too');
    assert.deepEqual([broker.stats.misses, broker.stats.refreshes, lookups], [2, 2, [true, false, false]]);
  });

  test('a stored refresh token whose access token row is gone (deleted by hand): the next call refreshes', { timeout: 30_000 }, async () => {
    await w.connect(w.broker(), ALICE);
    await w.t.store.db.deleteFrom('tokens').where('kind', '=', 'access').execute();
    const broker = w.broker();
    assert.equal(await w.probe((await broker.tokenFor({ accountId: ALICE })).accessToken), 200);
    assert.equal(broker.stats.refreshes, 1);
  });

  test('invalidate without a grant does nothing; with a grant it marks only the reported token dead in the store', { timeout: 30_000 }, async () => {
    const broker = w.broker();
    await broker.invalidate({ accountId: ALICE }, 'whatever');
    const granted = await w.connect(broker, ALICE);
    const key = { route: 'oauth' as const, appKey: CLIENT, tenantKey: '', accountId: ALICE, kind: 'access' as const, scopeKey: oauthScopeKey(GRANT_SCOPES) };
    await broker.invalidate({ accountId: ALICE }, 'another-token');
    assert.equal((await w.tokens.get(key))?.expiresAt, granted.expiresAt);
    await broker.invalidate({ accountId: ALICE });
    assert.equal((await w.tokens.get(key))?.expiresAt, 0, 'without a token: the stored one goes');
  });

  test('refreshIdle: a bad idleForMs is refused; limit bounds a run; failures are counted and logged; a run with work is logged', { timeout: 30_000 }, async () => {
    let down = false;
    const world = await openOAuthWorld(testBackends()[0]!, { shared, fetch: refreshAnswers(() => (down ? Response.json({ error: 'server_error' }, { status: 503 }) : undefined)) });
    try {
      const seen: OAuthRefreshInfo[] = [];
      const broker = world.broker({ options: { maxAttempts: 1 }, deps: { onRefresh: (i) => void seen.push(i) } });
      for (const idleForMs of [-1, Number.NaN]) {
        await assert.rejects(broker.refreshIdle({ idleForMs }), { name: 'RangeError', message: `refreshIdle: idleForMs must be >= 0, got ${idleForMs}` });
      }
      await world.connect(broker, ALICE);
      world.sandbox.clock.advance(1); // Alice's grant is the older one: the run takes it first
      await world.connect(broker, BOB);
      world.sandbox.clock.advance(40 * DAY);
      assert.deepEqual(await broker.refreshIdle({ idleForMs: 30 * DAY, limit: 1 }), { checked: 1, refreshed: 1, skipped: 0, reauthRequired: 0, failed: 0 });
      down = true;
      assert.deepEqual(await broker.refreshIdle({ idleForMs: 30 * DAY }), { checked: 1, refreshed: 0, skipped: 0, reauthRequired: 0, failed: 1 });
      assert.deepEqual(await broker.refreshIdle({ idleForMs: 90 * DAY }), { checked: 0, refreshed: 0, skipped: 0, reauthRequired: 0, failed: 0 });
      const lines = logLines(world);
      assert.deepEqual(lines.map((l) => [l['level'], l['msg']]), [
        ['info', 'idle OAuth refresh run'],
        ['warn', 'idle OAuth refresh failed; it is tried again on the next run'],
        ['info', 'idle OAuth refresh run'],
      ]);
      assert.deepEqual([lines[0]?.['clientId'], lines[0]?.['refreshed'], lines[1]?.['accountId'], lines[2]?.['failed']], [CLIENT, 1, BOB, 1]);
      assert.deepEqual(seen, [
        { clientId: CLIENT, accountId: ALICE, trigger: 'idle', outcome: 'ok', attempts: 1 },
        { clientId: CLIENT, accountId: BOB, trigger: 'idle', outcome: 'error', code: 'ATLASSIAN_UNAVAILABLE', attempts: 1 },
      ]);
      // The account refreshed in the background is served from the cache afterwards.
      down = false;
      const before = world.sandbox.control.counters.total('refresh_grant');
      await broker.tokenFor({ accountId: ALICE });
      assert.equal(broker.stats.hits, 1);
      assert.equal(world.sandbox.control.counters.total('refresh_grant'), before);
    } finally {
      await world.close();
    }
  });

  test('refreshIdle skips a grant refreshed since the run listed it', { timeout: 30_000 }, async () => {
    const a = w.broker();
    const b = w.broker();
    await w.connect(a, ALICE);
    await w.connect(a, BOB);
    w.sandbox.clock.advance(40 * DAY);
    // While the run refreshes the first grant it listed, b refreshes the other one on demand (under that
    // account's own lease): when the run gets to it, it is no longer idle.
    let hooked = false;
    const run = w.broker({
      deps: {
        repos: {
          tokens: {
            ...w.tokens,
            get: async (k) => {
              if (!hooked && k.kind === 'refresh') {
                hooked = true;
                await b.tokenFor({ accountId: k.accountId === ALICE ? BOB : ALICE });
              }
              return w.tokens.get(k);
            },
          },
        },
      },
    });
    assert.deepEqual(await run.refreshIdle({ idleForMs: 30 * DAY }), { checked: 2, refreshed: 1, skipped: 1, reauthRequired: 0, failed: 0 });
    assert.equal(w.sandbox.control.counters.total('refresh_grant'), 2);
  });

  /** Broker A refreshes Alice's expired token and stops inside the lease (before its commit) until released. */
  async function holderInsideTheLease(options: { refreshTimeoutMs?: number } = {}) {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inside = false;
    const a = w.broker({
      options,
      deps: {
        beforeCommit: async () => {
          inside = true;
          await gate;
        },
      },
    });
    await w.connect(a, ALICE);
    w.sandbox.clock.advance(2 * HOUR);
    const pending = a.tokenFor({ accountId: ALICE });
    for (let i = 0; i < 500 && !inside; i++) await new Promise((r) => setImmediate(r));
    assert.ok(inside, 'A holds the lease');
    return { pending, release };
  }

  test('lockWaitMs and lockSleep: a second broker polls with the injected pause, then gives up by name', { timeout: 30_000 }, async () => {
    const holder = await holderInsideTheLease();
    const polls: number[] = [];
    const b = w.broker({ options: { lockWaitMs: 20, maxAttempts: 1, lockSleep: async (ms) => void polls.push(ms) } });
    const e = await failure(b.tokenFor({ accountId: ALICE }));
    assert.deepEqual([e.code, e.message, e.details], ['STORE_UNAVAILABLE', 'Another process held the token refresh lock for more than 20 ms.', { reason: 'lock_timeout', retryable: true }]);
    assert.deepEqual(polls, [5, 10, 5]);
    holder.release();
    await holder.pending;
  });

  test('the lease lasts refreshTimeoutMs + 5 s on the injected clock: then a holder that hangs no longer keeps others out', { timeout: 30_000 }, async () => {
    const holder = await holderInsideTheLease({ refreshTimeoutMs: 1_000 });
    const b = w.broker({ options: { lockWaitMs: 0, maxAttempts: 1 } });
    w.sandbox.clock.advance(5_999);
    assert.equal((await failure(b.tokenFor({ accountId: ALICE }))).details?.['reason'], 'lock_timeout');
    w.sandbox.clock.advance(1);
    const fromB = await b.tokenFor({ accountId: ALICE });
    assert.equal(await w.probe(fromB.accessToken), 200);
    // A's commit then finds the grant changed under it, tries again and takes B's token.
    holder.release();
    assert.equal((await holder.pending).accessToken, fromB.accessToken);
  });

  test('without injected ones, a retry waits on a real timer with Math.random\'s backoff', { timeout: 30_000 }, async (tc) => {
    let busy = 1;
    const world = await openOAuthWorld(testBackends()[0]!, { shared, fetch: refreshAnswers(() => (busy-- > 0 ? Response.json({ error: 'server_error' }, { status: 503 }) : undefined)) });
    try {
      const broker = world.broker({ deps: { sleep: undefined, random: undefined } });
      await world.connect(broker, ALICE);
      world.sandbox.clock.advance(2 * HOUR);
      tc.mock.timers.enable({ apis: ['setTimeout'] });
      let settled = false;
      const pending = broker.tokenFor({ accountId: ALICE }).finally(() => (settled = true));
      const turns = async (n: number, done: () => boolean = () => false) => {
        for (let i = 0; i < n && !done(); i++) await new Promise<void>((r) => setImmediate(r));
      };
      await turns(500, () => busy < 0 || logLines(world).some((l) => l['msg'] === 'OAuth refresh failed; retrying'));
      await turns(20);
      assert.deepEqual([settled, world.sandbox.control.counters.total('refresh_grant')], [false, 0], 'waiting for the backoff timer');
      tc.mock.timers.tick(200); // the first backoff is under 200 ms
      await turns(500, () => settled);
      assert.equal(settled, true);
      assert.equal(await world.probe((await pending).accessToken), 200);
    } finally {
      await world.close();
    }
  });

  test('a grant replaced during a refresh (same version, another row) wins over the refresh that read the old one', { timeout: 30_000 }, async () => {
    const key = (kind: 'access' | 'refresh') => ({ route: 'oauth' as const, appKey: CLIENT, tenantKey: '', accountId: ALICE, kind, scopeKey: oauthScopeKey(GRANT_SCOPES) });
    let replaced = false;
    const broker = w.broker({
      deps: {
        // A revoke and a new consent land outside this refresh's lease (another instance whose lease ran out).
        beforeCommit: async () => {
          if (replaced) return;
          replaced = true;
          await w.tokens.deleteForAccount('oauth', CLIENT, ALICE);
          await w.tokens.put(key('refresh'), { token: 'new-consent-refresh', previousToken: null, expiresAt: null });
          await w.tokens.put(key('access'), { token: 'new-consent-access', expiresAt: w.sandbox.clock.now() + HOUR });
        },
      },
    });
    await w.connect(broker, ALICE);
    assert.equal((await w.tokens.get(key('refresh')))?.version, 1);
    w.sandbox.clock.advance(2 * HOUR);
    assert.equal((await broker.tokenFor({ accountId: ALICE })).accessToken, 'new-consent-access');
    const refresh = await w.tokens.get(key('refresh'));
    assert.deepEqual([refresh?.token, refresh?.version], ['new-consent-refresh', 1], 'the new consent\'s refresh token is kept');
    assert.deepEqual(w.sleeps, [100], 'one retry after the conflict');
    assert.equal(broker.stats.reusedAfterLock, 1);
  });

  test('a refresh answer that hands back the same refresh token is no rotation: the earlier previous token stays', { timeout: 30_000 }, async () => {
    const key = { route: 'oauth' as const, appKey: CLIENT, tenantKey: '', accountId: ALICE, kind: 'refresh' as const, scopeKey: oauthScopeKey(GRANT_SCOPES) };
    let echo = false;
    const world = await openOAuthWorld(testBackends()[0]!, {
      shared,
      fetch: (inner): FetchLike => async (url, init) => {
        const res = await inner(url, init);
        const sent = JSON.parse(String(init?.body)) as { refresh_token?: string };
        if (!echo || sent.refresh_token === undefined || !res.ok) return res;
        return Response.json({ ...((await res.json()) as Record<string, unknown>), refresh_token: sent.refresh_token });
      },
    });
    try {
      const broker = world.broker();
      await world.connect(broker, ALICE);
      world.sandbox.clock.advance(2 * HOUR);
      await broker.tokenFor({ accountId: ALICE }); // a real rotation: the first token becomes the previous one
      const rotated = await world.tokens.get(key);
      assert.ok(rotated?.previousToken);
      echo = true;
      world.sandbox.clock.advance(2 * HOUR);
      const token = await broker.tokenFor({ accountId: ALICE });
      const after = await world.tokens.get(key);
      assert.deepEqual([after?.token, after?.previousToken, after?.version], [rotated.token, rotated.previousToken, rotated.version + 1]);
      assert.equal((await world.tokens.get({ ...key, kind: 'access' }))?.token, token.accessToken);
    } finally {
      await world.close();
    }
  });

  test('a token obtained by a refresh, or read from the store, is cached: the next call is a cache hit', { timeout: 30_000 }, async () => {
    const broker = w.broker();
    await w.connect(broker, ALICE);
    const sibling = w.broker();
    await sibling.tokenFor({ accountId: ALICE }); // from the store
    await sibling.tokenFor({ accountId: ALICE });
    assert.deepEqual({ storeHits: sibling.stats.storeHits, hits: sibling.stats.hits }, { storeHits: 1, hits: 1 });
    w.sandbox.clock.advance(2 * HOUR);
    const fresh = await broker.tokenFor({ accountId: ALICE }); // refreshed
    assert.equal((await broker.tokenFor({ accountId: ALICE })).accessToken, fresh.accessToken);
    assert.deepEqual({ refreshes: broker.stats.refreshes, hits: broker.stats.hits, storeHits: broker.stats.storeHits }, { refreshes: 1, hits: 1, storeHits: 0 });
  });

  test('hooks: none given is not a failure; a throwing hook is logged with its error; beforeCommit hears the account; a crash is INTERNAL', { timeout: 30_000 }, async () => {
    // No hooks at all: a refresh and an invalid_grant log no hook failure.
    const plain = w.broker();
    await w.connect(plain, ALICE);
    w.sandbox.clock.advance(2 * HOUR);
    await plain.tokenFor({ accountId: ALICE });
    w.sandbox.clock.advance(91 * DAY);
    await failure(plain.tokenFor({ accountId: ALICE }));
    assert.ok(!w.logs.some((l) => l.includes('hook failed')), 'no hook, no hook failure');
    // A hook that throws: the log line carries its error.
    const seen: Array<{ accountId: string }> = [];
    const refreshInfo: OAuthRefreshInfo[] = [];
    let crash = true;
    const hooked = w.broker({
      deps: {
        onRefresh: (i) => {
          refreshInfo.push(i);
          throw new Error('metrics down');
        },
        beforeCommit: (info) => {
          seen.push(info);
          if (crash) throw new Error('simulated crash before commit');
        },
      },
    });
    await w.connect(hooked, BOB);
    w.sandbox.clock.advance(2 * HOUR);
    await assert.rejects(hooked.tokenFor({ accountId: BOB }), /simulated crash/);
    crash = false;
    await hooked.tokenFor({ accountId: BOB });
    assert.deepEqual(seen, [{ accountId: BOB }, { accountId: BOB }]);
    assert.deepEqual(refreshInfo.map((i) => [i.outcome, i.code]), [['error', 'INTERNAL'], ['ok', undefined]]);
    const failed = logLines(w).filter((l) => l['msg'] === 'onRefresh hook failed');
    assert.equal((failed[0]?.['err'] as { message?: string } | undefined)?.message, 'metrics down');
  });

  test('a grant replaced during the only try: CONFLICT, saying whose tokens changed', { timeout: 30_000 }, async () => {
    const key = (kind: 'access' | 'refresh') => ({ route: 'oauth' as const, appKey: CLIENT, tenantKey: '', accountId: ALICE, kind, scopeKey: oauthScopeKey(GRANT_SCOPES) });
    const broker = w.broker({
      options: { maxAttempts: 1 },
      deps: {
        beforeCommit: async () => {
          await w.tokens.deleteForAccount('oauth', CLIENT, ALICE);
          await w.tokens.put(key('refresh'), { token: 'new-consent-refresh', previousToken: null, expiresAt: null });
        },
      },
    });
    await w.connect(broker, ALICE);
    w.sandbox.clock.advance(2 * HOUR);
    const e = await failure(broker.tokenFor({ accountId: ALICE }));
    assert.deepEqual([e.code, e.message, e.details], ['CONFLICT', `The stored OAuth tokens of account ${ALICE} changed during a refresh.`, { accountId: ALICE, reason: 'concurrent_update', retryable: true }]);
  });

  test('startIdleRefresher without onResult: the runs go on and log no failure', { timeout: 30_000 }, async () => {
    const broker = w.broker();
    await w.connect(broker, ALICE);
    w.sandbox.clock.advance(40 * DAY);
    const refresher = broker.startIdleRefresher({ intervalMs: 1, firstRunAfterMs: 0, idleForMs: 30 * DAY });
    const ran = () => messages(w).filter(([, msg]) => msg === 'idle OAuth refresh run').length;
    for (let i = 0; i < 5000 && ran() < 1; i++) await new Promise((r) => setTimeout(r, 2));
    await refresher.stop();
    assert.equal(w.sandbox.control.counters.total('refresh_grant'), 1);
    assert.deepEqual(messages(w).filter(([level]) => level === 'warn' || level === 'error'), []);
    assert.equal(ran(), 1);
  });

  test('startIdleRefresher: an interval under 1 ms is refused by name; a failed run is logged and the next one still comes', { timeout: 30_000 }, async () => {
    const broker = w.broker();
    for (const intervalMs of [0, Number.NaN]) {
      assert.throws(() => broker.startIdleRefresher({ intervalMs, idleForMs: DAY }), { name: 'RangeError', message: `startIdleRefresher: intervalMs must be >= 1, got ${intervalMs}` });
    }
    assert.throws(() => broker.startIdleRefresher({ intervalMs: 1, firstRunAfterMs: Number.NaN, idleForMs: DAY }), { name: 'RangeError', message: 'startIdleRefresher: firstRunAfterMs must be >= 0, got NaN' });
    let runs = 0;
    const refresher = broker.startIdleRefresher({
      intervalMs: 1,
      idleForMs: DAY,
      onResult: () => {
        runs++;
        throw new Error('report sink down');
      },
    });
    for (let i = 0; i < 5000 && runs < 2; i++) await new Promise((r) => setTimeout(r, 2));
    await refresher.stop();
    assert.ok(runs >= 2, 'the job went on after a failed run');
    assert.deepEqual(messages(w).slice(0, 2), [
      ['error', 'idle OAuth refresh run failed'],
      ['error', 'idle OAuth refresh run failed'],
    ]);
    const first = logLines(w)[0];
    assert.deepEqual([first?.['clientId'], (first?.['err'] as { message?: string } | undefined)?.message], [CLIENT, 'report sink down']);
  });

  test('startIdleRefresher: stop() before the first run cancels it; stop() during a run waits for it, and nothing runs after', { timeout: 30_000 }, async () => {
    const broker = w.broker();
    await w.connect(broker, ALICE);
    w.sandbox.clock.advance(40 * DAY);
    const results: number[] = [];
    const early = broker.startIdleRefresher({ intervalMs: 1, firstRunAfterMs: 1, idleForMs: 30 * DAY, onResult: (r) => void results.push(r.refreshed) });
    await early.stop();
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 2));
    assert.deepEqual([results, w.sandbox.control.counters.total('refresh_grant')], [[], 0], 'stopped before its timer fired');
    // A run held inside its refresh (at the read of the refresh token) when stop() is called.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inside = false;
    const held = w.broker({ deps: { repos: { tokens: { ...w.tokens, get: async (k) => {
      if (k.kind === 'refresh' && !inside) {
        inside = true;
        await gate;
      }
      return w.tokens.get(k);
    } } } } });
    const refresher = held.startIdleRefresher({ intervalMs: 1, firstRunAfterMs: 0, idleForMs: 30 * DAY, onResult: (r) => void results.push(r.refreshed) });
    for (let i = 0; i < 5000 && !inside; i++) await new Promise((r) => setTimeout(r, 2));
    assert.ok(inside, 'a run is in progress');
    let stopped = false;
    const stopping = refresher.stop().then(() => (stopped = true));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false, 'stop() waits for the run in progress');
    release();
    await stopping;
    assert.deepEqual(results, [1]);
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 2));
    assert.deepEqual(results, [1], 'no run after stop()');
  });

  test('refreshIdle with idleForMs 0 takes every grant; an account id of 128 characters (letters, digits, ":", "_", "-") is one, 129 is not', { timeout: 30_000 }, async () => {
    const broker = w.broker();
    const longest = `${'a1:_-'.repeat(25)}Zz9`;
    assert.equal(longest.length, 128);
    await w.connect(broker, ALICE);
    assert.deepEqual(await broker.refreshIdle({ idleForMs: 0 }), { checked: 1, refreshed: 1, skipped: 0, reauthRequired: 0, failed: 0 });
    const granted = await broker.storeGrant({ accountId: longest, scopes: GRANT_SCOPES, tokens: await w.exchange(BOB, GRANT_SCOPES) });
    assert.equal((await broker.tokenFor({ accountId: longest })).accessToken, granted.accessToken);
    const e = await failure(broker.tokenFor({ accountId: `${longest}x` }));
    assert.deepEqual([e.code, e.details], ['VALIDATION_FAILED', { field: 'accountId' }]);
    for (const bad of ['', 'a.b', 'a/b', 'a b', 'é']) assert.equal((await failure(broker.revoke({ accountId: bad }))).code, 'VALIDATION_FAILED', JSON.stringify(bad));
  });

  test('the token handed out: the access token, Bearer, its expiry, route oauth and the grant\'s scopes; the same after a refresh', { timeout: 30_000 }, async () => {
    const broker = w.broker();
    const tokens = await w.exchange(ALICE, GRANT_SCOPES);
    const granted = await broker.storeGrant({ accountId: ALICE, scopes: GRANT_SCOPES, tokens });
    assert.deepEqual(granted, { accessToken: tokens.accessToken, tokenType: 'Bearer', expiresAt: tokens.expiresAt, route: 'oauth', scopes: [...GRANT_SCOPES].sort() });
    assert.deepEqual(await w.broker().tokenFor({ accountId: ALICE }), granted, 'read from the store by another broker');
    w.sandbox.clock.advance(2 * HOUR);
    const fresh = await broker.tokenFor({ accountId: ALICE });
    assert.deepEqual({ ...fresh, accessToken: 'x', expiresAt: 0 }, { ...granted, accessToken: 'x', expiresAt: 0 });
    assert.ok(fresh.expiresAt > w.sandbox.clock.now());
  });
});

describe('createOAuthTokenBroker: each setting refused by name', () => {
  const deps = {
    store: {} as never,
    repos: {} as never,
    endpoints: { tokenUrl: 'https://auth.atlassian.com/oauth/token' },
    fetch: (async () => new Response()) as FetchLike,
    clock: { now: () => 0 },
    logger: silentLogger(),
  };
  const good = { clientId: 'c', clientSecret: 's', refreshSkewMs: 0, cacheMaxEntries: 1 };
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ clientId: ' ' }, 'clientId is empty; set it to the 3LO app client id from the developer console.'],
    [{ clientId: undefined }, 'clientId is empty; set it to the 3LO app client id from the developer console.'],
    [{ clientSecret: '' }, 'clientSecret is empty; set it to the 3LO app secret from the developer console.'],
    [{ clientSecret: undefined }, 'clientSecret is empty; set it to the 3LO app secret from the developer console.'],
    [{ refreshSkewMs: -1 }, 'refreshSkewMs must be a number >= 0, got -1.'],
    [{ refreshSkewMs: Number.NaN }, 'refreshSkewMs must be a number >= 0, got NaN.'],
    [{ cacheMaxEntries: 0 }, 'cacheMaxEntries must be a positive integer, got 0.'],
    [{ cacheMaxEntries: 1.5 }, 'cacheMaxEntries must be a positive integer, got 1.5.'],
    [{ maxAttempts: 0 }, 'maxAttempts must be an integer >= 1, got 0.'],
    [{ maxAttempts: 2.5 }, 'maxAttempts must be an integer >= 1, got 2.5.'],
    [{ retryBaseMs: -1 }, 'retryBaseMs must be a number >= 0, got -1.'],
    [{ retryMaxMs: Number.POSITIVE_INFINITY }, 'retryMaxMs must be a number >= 0, got Infinity.'],
    [{ refreshTimeoutMs: -5 }, 'refreshTimeoutMs must be a number >= 0, got -5.'],
    [{ lockWaitMs: Number.NaN }, 'lockWaitMs must be a number >= 0, got NaN.'],
  ];
  for (const [o, message] of cases) {
    test(`refuses ${JSON.stringify(o, (_k, v: unknown) => (v === undefined ? 'undefined' : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}`, { timeout: 10_000 }, () => {
      assert.throws(() => createOAuthTokenBroker(deps, { ...good, ...o } as typeof good), (e: unknown) => isGatewayError(e, 'CONFIG_INVALID') && e.message === `createOAuthTokenBroker: ${message}`);
    });
  }
  test('the smallest good values are accepted', { timeout: 10_000 }, () => {
    assert.ok(createOAuthTokenBroker(deps, { ...good, maxAttempts: 1, retryBaseMs: 0, retryMaxMs: 0, refreshTimeoutMs: 0, lockWaitMs: 0 }));
  });
});
