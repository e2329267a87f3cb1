import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { GatewayError, isGatewayError, type ErrorCode } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { FetchLike } from '../atlassian/send-request.js';
import { DEFAULT_ACCOUNTS, DEFAULT_OAUTH_CLIENT } from '../sandbox/index.js';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../store/test-support/open-test-store.js';
import { createOAuthTokenBroker, oauthScopeKey, type OAuthInvalidGrantInfo, type OAuthRefreshInfo } from './oauth-token-broker.js';
import { families, GRANT_SCOPES, openOAuthWorld, type OAuthWorld } from './test-support/oauth-world.js';

const ALICE = DEFAULT_ACCOUNTS.alice;
const BOB = DEFAULT_ACCOUNTS.bob;
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const SCOPE_KEY = oauthScopeKey(GRANT_SCOPES);
const key = (accountId: string, kind: 'access' | 'refresh') => ({ route: 'oauth' as const, appKey: DEFAULT_OAUTH_CLIENT.clientId, tenantKey: '', accountId, kind, scopeKey: SCOPE_KEY });

async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isGatewayError(e), `expected GatewayError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

const refreshes = (w: OAuthWorld) => w.sandbox.control.counters.total('refresh_grant', { app: DEFAULT_OAUTH_CLIENT.clientId });

/** Every secret a broker handled in this world, to check errors and logs against. */
async function secretsOf(w: OAuthWorld, accountIds: string[]): Promise<string[]> {
  const out: string[] = [DEFAULT_OAUTH_CLIENT.clientSecret];
  for (const a of accountIds) {
    for (const kind of ['access', 'refresh'] as const) {
      const row = await w.tokens.get(key(a, kind));
      if (row) out.push(row.token, ...(row.previousToken ? [row.previousToken] : []));
    }
  }
  return out;
}

function assertNoSecrets(where: string, text: string, secrets: string[]): void {
  for (const s of secrets) assert.ok(!text.includes(s), `${where} contains a token or secret`);
}

for (const backend of testBackends()) {
  // Every test waits on the refresh lock and on the sandbox: a hang fails the suite by name.
  describe(`OAuth token broker through the sandbox: ${backend.name}`, { timeout: 120_000 }, () => {
    // One database per backend (migrating a fresh PostgreSQL schema per test is slow); each test gets a
    // fresh sandbox and an empty tokens table.
    let shared: TestStore;
    let w: OAuthWorld;
    before(async () => {
      shared = await openTestStore(backend);
    }, { timeout: 120_000 });
    after(async () => {
      await shared.close();
    }, { timeout: 120_000 });
    beforeEach(async () => {
      w = await openOAuthWorld(backend, { shared });
    }, { timeout: 120_000 });
    afterEach(async () => {
      await w.close();
    }, { timeout: 120_000 });

    test('storeGrant keeps both tokens sealed; tokenFor answers from the cache, then from the store in another broker', async () => {
      const lookups: boolean[] = [];
      const broker = w.broker({ deps: { onLookup: (hit) => lookups.push(hit) } });
      const granted = await w.connect(broker, ALICE);
      assert.deepEqual(granted.scopes, [...GRANT_SCOPES].sort());
      const refresh = await w.tokens.get(key(ALICE, 'refresh'));
      const access = await w.tokens.get(key(ALICE, 'access'));
      assert.ok(refresh && access);
      assert.equal(access.token, granted.accessToken);
      assert.equal(access.expiresAt, granted.expiresAt);
      const raw = await w.t.store.db.selectFrom('tokens').select(['token']).where('account_id', '=', ALICE).execute();
      for (const r of raw) assert.match(r.token, /^ob1\./, 'stored sealed');

      const first = await broker.tokenFor({ accountId: ALICE });
      assert.equal(first.accessToken, granted.accessToken);
      assert.equal(first.route, 'oauth');
      assert.equal(first.tokenType, 'Bearer');
      assert.equal(broker.stats.hits, 1);
      assert.deepEqual(lookups, [true]);

      // A sibling process (a second broker with an empty cache) reuses the stored access token.
      const sibling = w.broker();
      const fromStore = await sibling.tokenFor({ accountId: ALICE, scopes: ['read:page:confluence'] });
      assert.equal(fromStore.accessToken, granted.accessToken);
      assert.equal(sibling.stats.storeHits, 1);
      assert.equal(refreshes(w), 0);
      assert.equal(await w.probe(fromStore.accessToken), 200);
    });

    test('expiry: one refresh, the rotated refresh token and the new access token are stored together', async () => {
      const seen: OAuthRefreshInfo[] = [];
      const broker = w.broker({ deps: { onRefresh: (i) => seen.push(i) } });
      const granted = await w.connect(broker, ALICE);
      const before = await w.tokens.get(key(ALICE, 'refresh'));
      // Inside the skew (60 s before expiry) the token is replaced.
      w.sandbox.clock.advance(HOUR - 30_000);
      const calls = await Promise.all(Array.from({ length: 50 }, () => broker.tokenFor({ accountId: ALICE })));
      assert.equal(refreshes(w), 1, 'single-flight: 50 concurrent callers, one refresh');
      const fresh = calls[0];
      assert.ok(fresh);
      assert.ok(calls.every((c) => c.accessToken === fresh.accessToken));
      assert.notEqual(fresh.accessToken, granted.accessToken);
      assert.equal(fresh.expiresAt, w.sandbox.clock.now() + HOUR);
      const after = await w.tokens.get(key(ALICE, 'refresh'));
      assert.ok(before && after);
      assert.notEqual(after.token, before.token, 'rotated');
      assert.equal(after.previousToken, before.token, 'the previous one is kept for the leeway');
      assert.equal(after.version, before.version + 1);
      assert.equal((await w.tokens.get(key(ALICE, 'access')))?.token, fresh.accessToken);
      assert.equal(await w.probe(fresh.accessToken), 200);
      assert.deepEqual(seen, [{ clientId: DEFAULT_OAUTH_CLIENT.clientId, accountId: ALICE, trigger: 'demand', outcome: 'ok', attempts: 1 }]);

      // The next expiry uses the rotated token: the chain keeps working.
      w.sandbox.clock.advance(2 * HOUR);
      const third = await broker.tokenFor({ accountId: ALICE });
      assert.equal(refreshes(w), 2);
      assert.equal(await w.probe(third.accessToken), 200);
      assert.deepEqual(families(w.sandbox), { total: 1, revoked: 0 });
    });

    test('a sibling that refreshed first: the stored access token is used, no second refresh', async () => {
      const a = w.broker();
      const b = w.broker();
      await w.connect(a, ALICE);
      await b.tokenFor({ accountId: ALICE }); // b caches the first access token
      w.sandbox.clock.advance(2 * HOUR);
      const fromA = await a.tokenFor({ accountId: ALICE });
      const fromB = await b.tokenFor({ accountId: ALICE });
      assert.equal(fromB.accessToken, fromA.accessToken);
      assert.equal(refreshes(w), 1);
      assert.equal(b.stats.storeHits, 2);
    });

    test('a 401 reported while a lookup is in flight: the reporter never gets the refused token back from it', async () => {
      const a = w.broker();
      await w.connect(a, ALICE);
      const refused = (await a.tokenFor({ accountId: ALICE })).accessToken;
      // A second process with an empty cache: its lookup reads the stored access token, held at a gate.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let holding = false;
      const tokens = { ...w.tokens, get: async (k: Parameters<typeof w.tokens.get>[0]) => {
        const row = await w.tokens.get(k);
        if (k.kind === 'access' && !holding) {
          holding = true;
          await gate;
        }
        return row;
      } };
      const b = w.broker({ deps: { repos: { tokens } } });
      const early = b.tokenFor({ accountId: ALICE }); // read the token before anyone reported it
      for (let i = 0; i < 500 && !holding; i++) await new Promise((r) => setTimeout(r, 1));
      assert.ok(holding);
      // Confluence answered 401 to that token (Atlassian revoked it before its exp); then the caller asks again.
      await b.invalidate({ accountId: ALICE }, refused);
      const again = b.tokenFor({ accountId: ALICE }); // joins the lookup still in flight
      release();
      const fresh = await again;
      assert.notEqual(fresh.accessToken, refused, 'the caller that reported the 401 gets a new token');
      assert.equal((await early).accessToken, fresh.accessToken, 'once reported, nobody is handed the refused token');
      assert.equal(await w.probe(fresh.accessToken), 200);
      assert.equal(refreshes(w), 1);
      assert.notEqual((await b.tokenFor({ accountId: ALICE })).accessToken, refused, 'and the refused token was not cached');
    });

    test('two brokers that both saw the expired token: the second re-reads after the lock and refreshes nothing', async () => {
      // Count reads of the stored access token: one by each broker before the lease, then one by each
      // holder inside it. Hold the token endpoint's answer until both brokers have made their first read
      // (3 reads: both before the lease, the holder's inside it), so both really saw the expired token.
      let accessReads = 0;
      const tokens = { ...w.tokens, get: async (k: Parameters<typeof w.tokens.get>[0]) => {
        const row = await w.tokens.get(k);
        if (k.kind === 'access') accessReads++;
        return row;
      } };
      const fetch: FetchLike = async (url, init) => {
        for (let i = 0; i < 500 && accessReads < 3; i++) await new Promise((r) => setTimeout(r, 1));
        return w.sandbox.fetch(url, init);
      };
      const a = w.broker({ deps: { repos: { tokens }, fetch } });
      const b = w.broker({ deps: { repos: { tokens }, fetch } });
      await w.connect(a, ALICE);
      w.sandbox.clock.advance(2 * HOUR);
      const [ta, tb] = await Promise.all([a.tokenFor({ accountId: ALICE }), b.tokenFor({ accountId: ALICE })]);
      assert.equal(accessReads, 4, 'each broker read once before the lease and once inside it');
      assert.equal(ta.accessToken, tb.accessToken);
      assert.equal(refreshes(w), 1);
      assert.equal(a.stats.reusedAfterLock + b.stats.reusedAfterLock, 1);
      assert.equal(a.stats.refreshes + b.stats.refreshes, 1);
    });

    test('a crash before commit keeps the old refresh token; reusing it inside the leeway works', async () => {
      let crash = true;
      const broker = w.broker({
        deps: {
          beforeCommit: () => {
            if (crash) throw new Error('simulated crash before commit');
          },
        },
      });
      await w.connect(broker, ALICE);
      const stored = await w.tokens.get(key(ALICE, 'refresh'));
      w.sandbox.clock.advance(2 * HOUR);
      await assert.rejects(broker.tokenFor({ accountId: ALICE }), /simulated crash/);
      assert.equal(refreshes(w), 1, 'Atlassian rotated the token');
      const kept = await w.tokens.get(key(ALICE, 'refresh'));
      assert.equal(kept?.token, stored?.token, 'rolled back: the old refresh token is still stored');
      assert.equal(kept?.version, stored?.version);

      crash = false;
      w.sandbox.clock.advance(5 * 60_000); // inside the 10-minute leeway
      const token = await broker.tokenFor({ accountId: ALICE });
      assert.equal(await w.probe(token.accessToken), 200);
      assert.deepEqual(families(w.sandbox), { total: 1, revoked: 0 });
      w.sandbox.clock.advance(2 * HOUR);
      assert.equal(await w.probe((await broker.tokenFor({ accountId: ALICE })).accessToken), 200, 'the chain goes on');
    });

    test('reuse after the leeway: invalid_grant → tokens deleted, onInvalidGrant, REAUTH_REQUIRED, never retried', async () => {
      let crash = true;
      const invalid: OAuthInvalidGrantInfo[] = [];
      const broker = w.broker({
        deps: {
          beforeCommit: () => {
            if (crash) throw new Error('simulated crash before commit');
          },
          onInvalidGrant: (i) => void invalid.push(i),
        },
      });
      await w.connect(broker, ALICE);
      await w.connect(broker, BOB);
      w.sandbox.clock.advance(2 * HOUR);
      await assert.rejects(broker.tokenFor({ accountId: ALICE }), /simulated crash/);
      crash = false;
      w.sandbox.clock.advance(11 * 60_000); // past the leeway: the stored token is a reused one now
      const secrets = await secretsOf(w, [ALICE, BOB]);
      const err = await rejectsWith(broker.tokenFor({ accountId: ALICE }), 'REAUTH_REQUIRED');
      assert.equal(err.details?.['reason'], 'refresh_token_invalid');
      assert.equal(err.details?.['accountId'], ALICE);
      assert.deepEqual(invalid, [{ clientId: DEFAULT_OAUTH_CLIENT.clientId, accountId: ALICE, reason: 'refresh_token_invalid' }]);
      assert.equal(w.sleeps.length, 0, 'not retried');
      assert.equal(await w.tokens.get(key(ALICE, 'refresh')), undefined);
      assert.equal(await w.tokens.get(key(ALICE, 'access')), undefined);
      assert.ok(await w.tokens.get(key(BOB, 'refresh')), 'other accounts are untouched');
      assert.equal(families(w.sandbox).revoked, 1, 'the sandbox revoked the family');
      assertNoSecrets('error message', err.message, secrets);
      assertNoSecrets('JSON error', JSON.stringify(err), secrets);

      const before = w.sandbox.control.counters.total('refresh_grant');
      const again = await rejectsWith(broker.tokenFor({ accountId: ALICE }), 'REAUTH_REQUIRED');
      assert.equal(again.details?.['reason'], 'grant_missing');
      assert.equal(w.sandbox.control.counters.total('refresh_grant'), before, 'no call to Atlassian without a grant');
      assert.equal(invalid.length, 1);
      assertNoSecrets('logs', w.logs.join('\n'), secrets);
    });

    test('5xx and timeouts are retried with backoff and jitter; the rotated token is then stored once', async () => {
      let failures = 2;
      const world = await openOAuthWorld(backend, {
        shared,
        fetch: (inner): FetchLike => async (url, init) => {
          if (String(init?.body).includes('"refresh_token"') && failures-- > 0) {
            if (failures === 1) return new Response('{"error":"server_error"}', { status: 503 });
            throw new DOMException('The operation timed out.', 'TimeoutError');
          }
          return inner(url, init);
        },
      });
      try {
        const broker = world.broker({ options: { maxAttempts: 3, retryBaseMs: 100 } });
        await world.connect(broker, ALICE);
        world.sandbox.clock.advance(2 * HOUR);
        const token = await broker.tokenFor({ accountId: ALICE });
        assert.equal(await world.probe(token.accessToken), 200);
        assert.deepEqual(world.sleeps, [50, 100], 'full jitter with random() = 0.5: 0.5·100, 0.5·200');
        assert.equal(refreshes(world), 1);
      } finally {
        await world.close();
      }
    });

    test('429 with Retry-After: the server\'s pause is honoured (clamped to retryMaxMs)', async () => {
      let limited = 2;
      const world = await openOAuthWorld(backend, {
        shared,
        fetch: (inner): FetchLike => async (url, init) =>
          String(init?.body).includes('"refresh_token"') && limited-- > 0
            ? new Response('{"error":"rate_limited"}', { status: 429, headers: { 'retry-after': limited === 1 ? '3' : '600' } })
            : inner(url, init),
      });
      try {
        const broker = world.broker({ options: { retryMaxMs: 30_000 } });
        await world.connect(broker, ALICE);
        world.sandbox.clock.advance(2 * HOUR);
        await broker.tokenFor({ accountId: ALICE });
        assert.deepEqual(world.sleeps, [3000, 30_000]);
        assert.equal(refreshes(world), 1);
      } finally {
        await world.close();
      }
    });

    test('a refresh answer without refresh_token keeps the stored one (no rotation)', async () => {
      const world = await openOAuthWorld(backend, {
        shared,
        fetch: (inner): FetchLike => async (url, init) => {
          const res = await inner(url, init);
          if (!String(init?.body).includes('"refresh_token"') || !res.ok) return res;
          const { refresh_token: _dropped, ...rest } = (await res.json()) as Record<string, unknown>;
          return Response.json(rest);
        },
      });
      try {
        const broker = world.broker();
        await world.connect(broker, ALICE);
        const before = await world.tokens.get(key(ALICE, 'refresh'));
        world.sandbox.clock.advance(2 * HOUR);
        const token = await broker.tokenFor({ accountId: ALICE });
        assert.equal(await world.probe(token.accessToken), 200);
        const after = await world.tokens.get(key(ALICE, 'refresh'));
        assert.equal(after?.token, before?.token);
        assert.equal(after?.previousToken, null);
        assert.equal((await world.tokens.get(key(ALICE, 'access')))?.token, token.accessToken);
      } finally {
        await world.close();
      }
    });

    test('Atlassian down for good → ATLASSIAN_UNAVAILABLE after maxAttempts; tokens untouched, no leak', async () => {
      const world = await openOAuthWorld(backend, {
        shared,
        fetch: (inner): FetchLike => async (url, init) =>
          String(init?.body).includes('"refresh_token"') ? Response.json({ error: 'temporarily_unavailable' }, { status: 502 }) : inner(url, init),
      });
      try {
        const broker = world.broker({ options: { maxAttempts: 4 } });
        await world.connect(broker, ALICE);
        const stored = await world.tokens.get(key(ALICE, 'refresh'));
        const secrets = await secretsOf(world, [ALICE]);
        world.sandbox.clock.advance(2 * HOUR);
        const err = await rejectsWith(broker.tokenFor({ accountId: ALICE }), 'ATLASSIAN_UNAVAILABLE');
        assert.equal(err.details?.['attempts'], 4);
        assert.equal(world.sleeps.length, 3);
        const after = await world.tokens.get(key(ALICE, 'refresh'));
        assert.equal(after?.token, stored?.token);
        assert.equal(after?.version, stored?.version);
        assertNoSecrets('error message', err.message, secrets);
        assertNoSecrets('JSON error', JSON.stringify(err), secrets);
        assertNoSecrets('logs', world.logs.join('\n'), secrets);
        assert.ok(world.logs.some((l) => l.includes('retrying')), 'the retries were logged');
      } finally {
        await world.close();
      }
    });

    if (backend.name === 'postgres') {
      test('postgres: a revoke that lands during a refresh wins; the refresh rolls back and reports grant_missing', async () => {
        const broker = w.broker({
          deps: {
            // Another connection deletes the grant while the refresh holds the lock (revoke does not take it).
            beforeCommit: async () => void (await w.tokens.deleteForAccount('oauth', DEFAULT_OAUTH_CLIENT.clientId, ALICE)),
          },
        });
        await w.connect(broker, ALICE);
        w.sandbox.clock.advance(2 * HOUR);
        const err = await rejectsWith(broker.tokenFor({ accountId: ALICE }), 'REAUTH_REQUIRED');
        assert.equal(err.details?.['reason'], 'grant_missing');
        assert.equal(w.sleeps.length, 1, 'one retry after the conflict, which found no grant');
        assert.equal(await w.tokens.get(key(ALICE, 'refresh')), undefined, 'nothing was written back');
      });
    }

    test('scopes: a subset is served, a scope outside the grant is refused with SCOPE_NOT_ALLOWED', async () => {
      const broker = w.broker();
      await w.connect(broker, ALICE, ['read:page:confluence', 'offline_access']);
      assert.deepEqual((await broker.tokenFor({ accountId: ALICE, scopes: ['read:page:confluence'] })).scopes, ['offline_access', 'read:page:confluence']);
      const err = await rejectsWith(broker.tokenFor({ accountId: ALICE, scopes: ['write:page:confluence', 'read:page:confluence'] }), 'SCOPE_NOT_ALLOWED');
      assert.deepEqual(err.details?.['missing'], ['write:page:confluence']);
      await rejectsWith(broker.tokenFor({ accountId: ALICE, scopes: ['has space'] }), 'VALIDATION_FAILED');
      await rejectsWith(broker.tokenFor({ accountId: 'not an id' }), 'VALIDATION_FAILED');
    });

    test('a new consent replaces the earlier grant of the account', async () => {
      const broker = w.broker();
      await w.connect(broker, ALICE, ['read:page:confluence', 'offline_access']);
      const second = await w.connect(broker, ALICE, GRANT_SCOPES);
      const rows = await w.t.store.db.selectFrom('tokens').select(['kind', 'scope_key']).where('account_id', '=', ALICE).orderBy('kind').execute();
      assert.deepEqual(rows, [
        { kind: 'access', scope_key: SCOPE_KEY },
        { kind: 'refresh', scope_key: SCOPE_KEY },
      ]);
      assert.equal((await broker.tokenFor({ accountId: ALICE, scopes: ['write:page:confluence'] })).accessToken, second.accessToken);
    });

    test('the client id is part of every key: another 3LO app sees no grant', async () => {
      await w.connect(w.broker(), ALICE);
      const other = w.broker({ options: { clientId: 'another-client' } });
      assert.equal((await rejectsWith(other.tokenFor({ accountId: ALICE }), 'REAUTH_REQUIRED')).details?.['reason'], 'grant_missing');
      assert.equal(await other.revoke({ accountId: ALICE }), 0);
      assert.ok(await w.tokens.get(key(ALICE, 'refresh')));
    });

    test('revoke deletes the stored tokens and the cache entry at once', async () => {
      const broker = w.broker();
      await w.connect(broker, ALICE);
      await broker.tokenFor({ accountId: ALICE });
      assert.equal(broker.cacheSize, 1);
      assert.equal(await broker.revoke({ accountId: ALICE }), 2);
      assert.equal(broker.cacheSize, 0);
      assert.equal((await rejectsWith(broker.tokenFor({ accountId: ALICE }), 'REAUTH_REQUIRED')).details?.['reason'], 'grant_missing');
    });

    test('invalidate: a 401-ed access token is dropped from cache and store; the next call refreshes', async () => {
      const broker = w.broker();
      const granted = await w.connect(broker, ALICE);
      await broker.invalidate({ accountId: ALICE }, 'some-other-token');
      assert.equal((await broker.tokenFor({ accountId: ALICE })).accessToken, granted.accessToken, 'a different token is not dropped');
      await broker.invalidate({ accountId: ALICE }, granted.accessToken);
      const next = await w.broker().tokenFor({ accountId: ALICE });
      assert.notEqual(next.accessToken, granted.accessToken);
      assert.equal(refreshes(w), 1);
    });

    test('storeGrant without a refresh token is refused (offline_access missing)', async () => {
      const broker = w.broker();
      const tokens = await w.exchange(ALICE, ['read:page:confluence']);
      assert.equal(tokens.refreshToken, undefined);
      await rejectsWith(broker.storeGrant({ accountId: ALICE, scopes: ['read:page:confluence'], tokens }), 'VALIDATION_FAILED');
    });

    test('refreshIdle keeps quiet grants alive past the 90-day inactivity expiry; a busy one is left alone', async () => {
      const invalid: OAuthInvalidGrantInfo[] = [];
      const broker = w.broker({ deps: { onInvalidGrant: (i) => void invalid.push(i) } });
      await w.connect(broker, ALICE);
      await w.connect(broker, BOB);
      w.sandbox.clock.advance(10 * DAY);
      await broker.tokenFor({ accountId: ALICE }); // Alice is active: refreshed on day 10
      w.sandbox.clock.advance(15 * DAY); // day 25: Bob untouched for 25 days, Alice for 15
      assert.deepEqual(await broker.refreshIdle({ idleForMs: 20 * DAY }), { checked: 1, refreshed: 1, skipped: 0, reauthRequired: 0, failed: 0 });
      assert.equal(refreshes(w), 2);
      assert.deepEqual(await broker.refreshIdle({ idleForMs: 20 * DAY }), { checked: 0, refreshed: 0, skipped: 0, reauthRequired: 0, failed: 0 }, 'nothing twice');

      // Day 105: Bob's last refresh was on day 25 (80 days ago), Alice's on day 10 (95 days ago).
      w.sandbox.clock.advance(80 * DAY);
      assert.equal(await w.probe((await broker.tokenFor({ accountId: BOB })).accessToken), 200);
      await rejectsWith(broker.tokenFor({ accountId: ALICE }), 'REAUTH_REQUIRED');
      assert.deepEqual(invalid.map((i) => i.accountId), [ALICE]);
    });

    test('refreshIdle in two brokers at once refreshes each grant once', async () => {
      const a = w.broker();
      const b = w.broker();
      await w.connect(a, ALICE);
      await w.connect(a, BOB);
      w.sandbox.clock.advance(40 * DAY);
      const [ra, rb] = await Promise.all([a.refreshIdle({ idleForMs: 30 * DAY }), b.refreshIdle({ idleForMs: 30 * DAY })]);
      assert.equal(ra.refreshed + rb.refreshed, 2);
      assert.equal(ra.refreshed + rb.refreshed + ra.skipped + rb.skipped, ra.checked + rb.checked);
      assert.equal(refreshes(w), 2);
      assert.deepEqual(families(w.sandbox), { total: 2, revoked: 0 });
    });

    test('refreshIdle: a grant Atlassian refuses counts as reauthRequired and is deleted', async () => {
      const invalid: OAuthInvalidGrantInfo[] = [];
      const broker = w.broker({ deps: { onInvalidGrant: (i) => void invalid.push(i) } });
      await w.connect(broker, ALICE);
      await w.connect(broker, BOB);
      w.sandbox.clock.advance(91 * DAY);
      assert.deepEqual(await broker.refreshIdle({ idleForMs: 30 * DAY }), { checked: 2, refreshed: 0, skipped: 0, reauthRequired: 2, failed: 0 });
      assert.deepEqual(invalid.map((i) => i.reason), ['refresh_token_invalid', 'refresh_token_invalid']);
      const left = await w.t.store.db.selectFrom('tokens').select('id').execute();
      assert.equal(left.length, 0);
    });

    test('startIdleRefresher runs the job on a timer until stopped', async () => {
      const broker = w.broker();
      await w.connect(broker, ALICE);
      w.sandbox.clock.advance(40 * DAY);
      const results: number[] = [];
      const refresher = broker.startIdleRefresher({ intervalMs: 1, idleForMs: 30 * DAY, onResult: (r) => results.push(r.refreshed) });
      for (let i = 0; i < 5000 && results.length < 2; i++) await new Promise((r) => setTimeout(r, 2));
      await refresher.stop();
      assert.deepEqual(results.slice(0, 2), [1, 0]);
      const runs = results.length;
      for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 2));
      assert.equal(results.length, runs, 'no run after stop()');
      assert.equal(refreshes(w), 1);
    });

    test('startIdleRefresher makes its first run after firstRunAfterMs, not after a whole interval', async () => {
      const broker = w.broker();
      await w.connect(broker, ALICE);
      w.sandbox.clock.advance(40 * DAY);
      const results: number[] = [];
      // An interval no test would outlive: only the first-run delay can trigger the job.
      const refresher = broker.startIdleRefresher({ intervalMs: 3600_000, firstRunAfterMs: 0, idleForMs: 30 * DAY, onResult: (r) => results.push(r.refreshed) });
      for (let i = 0; i < 5000 && results.length < 1; i++) await new Promise((r) => setTimeout(r, 2));
      await refresher.stop();
      assert.deepEqual(results, [1]);
      assert.throws(() => broker.startIdleRefresher({ intervalMs: 1, firstRunAfterMs: -1, idleForMs: DAY }), /firstRunAfterMs must be >= 0/);
    });
  });
}

describe('createOAuthTokenBroker options', () => {
  const deps = {
    store: {} as never,
    repos: {} as never,
    endpoints: { tokenUrl: 'https://auth.atlassian.com/oauth/token' },
    fetch: (async () => new Response()) as FetchLike,
    clock: { now: () => 0 },
    logger: silentLogger(),
  };
  const good = { clientId: 'c', clientSecret: 's', refreshSkewMs: 0, cacheMaxEntries: 1 };
  const bad: Array<[string, Partial<typeof good> & { maxAttempts?: number }]> = [
    ['empty client id', { clientId: ' ' }],
    ['empty secret', { clientSecret: '' }],
    ['negative skew', { refreshSkewMs: -1 }],
    ['zero cache', { cacheMaxEntries: 0 }],
    ['zero attempts', { maxAttempts: 0 }],
  ];
  for (const [name, o] of bad) {
    test(`refuses ${name} with CONFIG_INVALID`, { timeout: 180_000 }, () => {
      assert.throws(() => createOAuthTokenBroker(deps, { ...good, ...o }), (e: unknown) => isGatewayError(e, 'CONFIG_INVALID'));
    });
  }
  test('oauthScopeKey sorts, trims and de-duplicates', { timeout: 180_000 }, () => {
    assert.equal(oauthScopeKey([' b', 'a', 'b', '']), 'a b');
  });
});
