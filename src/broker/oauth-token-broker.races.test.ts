import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { FetchLike } from '../atlassian/send-request.js';
import { GatewayError } from '../errors.js';
import { DEFAULT_ACCOUNTS, DEFAULT_OAUTH_CLIENT } from '../sandbox/index.js';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../store/test-support/open-test-store.js';
import type { TokenKey, TokensRepo } from '../store/tokens-repo.js';
import { oauthScopeKey, type OAuthInvalidGrantInfo, type OAuthRefreshInfo } from './oauth-token-broker.js';
import { GRANT_SCOPES, openOAuthWorld, oauthWorldPerTest, type OAuthWorld } from './test-support/oauth-world.js';

/**
 * The 3LO broker when another writer lands between two of its steps: a revoke, a new consent, or another
 * instance's refresh, each made real (on the same SQLite file) at the exact moment a read of the broker's
 * returns. What the caller gets, what stays stored and what stays cached must be what that writer left.
 */

const ALICE = DEFAULT_ACCOUNTS.alice;
const HOUR = 3600_000;
const CLIENT = DEFAULT_OAUTH_CLIENT.clientId;
const key = (kind: 'access' | 'refresh'): TokenKey => ({ route: 'oauth', appKey: CLIENT, tenantKey: '', accountId: ALICE, kind, scopeKey: oauthScopeKey(GRANT_SCOPES) });

async function failure(p: Promise<unknown>): Promise<GatewayError> {
  const e = await p.then(
    () => assert.fail('expected an error'),
    (x: unknown) => x,
  );
  assert.ok(e instanceof GatewayError, String(e));
  return e;
}

/** The world's tokens repo, with `before` run ahead of the n-th `get` of a kind (1-based), once. */
function interceptGet(tokens: TokensRepo, kind: 'access' | 'refresh', nth: number, before: () => Promise<void>): TokensRepo {
  let seen = 0;
  return {
    ...tokens,
    get: async (k) => {
      if (k.kind === kind && ++seen === nth) await before();
      return tokens.get(k);
    },
  };
}

/** A fetch that answers refresh-token grants with `answer` (after running it) while it returns a response. */
const onRefreshGrant = (answer: () => Promise<Response | undefined>) => (inner: FetchLike): FetchLike => async (url, init) => {
  if (String(init?.body).includes('"refresh_token"')) {
    const r = await answer();
    if (r) return r;
  }
  return inner(url, init);
};

function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const invalidGrant = () => Response.json({ error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' }, { status: 403 });

describe('OAuth token broker: another writer between two steps', () => {
  let shared: TestStore;
  let w: OAuthWorld;
  oauthWorldPerTest(testBackends()[0]!, (s, world) => {
    shared = s;
    w = world;
  });

  test('a revoke between the look-up and the lease: grant_missing, nothing sent, no refresh reported', { timeout: 30_000 }, async () => {
    const seen: OAuthRefreshInfo[] = [];
    const first = w.broker();
    await w.connect(first, ALICE);
    w.sandbox.clock.advance(2 * HOUR);
    // The look-up reads the expired access token; the link is revoked before the lease is taken.
    const broker = w.broker({ deps: { onRefresh: (i) => void seen.push(i), repos: { tokens: interceptGet(w.tokens, 'access', 1, async () => void (await first.revoke({ accountId: ALICE }))) } } });
    const e = await failure(broker.tokenFor({ accountId: ALICE }));
    assert.deepEqual([e.code, e.details], ['REAUTH_REQUIRED', { accountId: ALICE, reason: 'grant_missing' }]);
    assert.equal(w.sandbox.control.counters.total('refresh_grant'), 0);
    assert.deepEqual(seen, []);
    assert.deepEqual({ refreshes: broker.stats.refreshes, refreshFailures: broker.stats.refreshFailures, cached: broker.cacheSize }, { refreshes: 0, refreshFailures: 0, cached: 0 });
  });

  test('the refresh token gone between the two reads under the lease: grant_missing, nothing sent', { timeout: 30_000 }, async () => {
    const first = w.broker();
    await w.connect(first, ALICE);
    w.sandbox.clock.advance(2 * HOUR);
    // Under the lease the grant is found (its scope key), then revoked just before its refresh token is read.
    const broker = w.broker({ deps: { repos: { tokens: interceptGet(w.tokens, 'refresh', 1, async () => void (await first.revoke({ accountId: ALICE }))) } } });
    const e = await failure(broker.tokenFor({ accountId: ALICE }));
    assert.deepEqual([e.code, e.details], ['REAUTH_REQUIRED', { accountId: ALICE, reason: 'grant_missing' }]);
    assert.equal(w.sandbox.control.counters.total('refresh_grant'), 0);
    assert.equal(broker.stats.refreshFailures, 0);
  });

  test('invalid_grant for a refresh token a new consent has replaced meanwhile: the new grant is kept and used', { timeout: 30_000 }, async () => {
    const invalid: OAuthInvalidGrantInfo[] = [];
    let replaced = false;
    const world = await openOAuthWorld(testBackends()[0]!, {
      shared,
      fetch: onRefreshGrant(async () => {
        if (replaced) return undefined;
        replaced = true;
        // Outside this broker's lease (another instance whose lease ran out): a revoke and a new consent.
        await world.tokens.deleteForAccount('oauth', CLIENT, ALICE);
        await world.tokens.put(key('refresh'), { token: 'new-consent-refresh', previousToken: null, expiresAt: null });
        await world.tokens.put(key('access'), { token: 'new-consent-access', expiresAt: world.sandbox.clock.now() + HOUR });
        return invalidGrant();
      }),
    });
    try {
      const broker = world.broker({ deps: { onInvalidGrant: (i) => void invalid.push(i) } });
      await world.connect(broker, ALICE);
      world.sandbox.clock.advance(2 * HOUR);
      assert.equal((await broker.tokenFor({ accountId: ALICE })).accessToken, 'new-consent-access');
      assert.equal((await world.tokens.get(key('refresh')))?.token, 'new-consent-refresh', 'the refusal of the old token deleted nothing');
      assert.deepEqual(invalid, []);
      assert.deepEqual([broker.stats.invalidGrants, broker.stats.reusedAfterLock, world.sleeps], [0, 1, [100]]);
    } finally {
      await world.close();
    }
  });

  test('invalid_grant for a refresh token revoked meanwhile: grant_missing, not a crash', { timeout: 30_000 }, async () => {
    let revoked = false;
    const world = await openOAuthWorld(testBackends()[0]!, {
      shared,
      fetch: onRefreshGrant(async () => {
        if (revoked) return undefined;
        revoked = true;
        await world.tokens.deleteForAccount('oauth', CLIENT, ALICE);
        return invalidGrant();
      }),
    });
    try {
      const broker = world.broker();
      await world.connect(broker, ALICE);
      world.sandbox.clock.advance(2 * HOUR);
      const e = await failure(broker.tokenFor({ accountId: ALICE }));
      assert.deepEqual([e.code, e.details], ['REAUTH_REQUIRED', { accountId: ALICE, reason: 'grant_missing' }]);
      assert.deepEqual([broker.stats.invalidGrants, world.sleeps], [0, [100]], 'one retry after the conflict, which found no grant');
    } finally {
      await world.close();
    }
  });

  test('invalid_grant for a refresh token another instance has rotated meanwhile (same row, next version): its tokens are kept and used', { timeout: 30_000 }, async () => {
    let rotated = false;
    const world = await openOAuthWorld(testBackends()[0]!, {
      shared,
      fetch: onRefreshGrant(async () => {
        if (rotated) return undefined;
        rotated = true;
        const before = await world.tokens.get(key('refresh'));
        await world.tokens.put(key('refresh'), { token: 'rotated-by-b', previousToken: before?.token ?? null, expiresAt: null });
        await world.tokens.put(key('access'), { token: 'access-from-b', expiresAt: world.sandbox.clock.now() + HOUR });
        const after = await world.tokens.get(key('refresh'));
        assert.deepEqual([after?.id, after?.version], [before?.id, (before?.version ?? 0) + 1], 'the same row, one version on');
        return invalidGrant();
      }),
    });
    try {
      const broker = world.broker();
      await world.connect(broker, ALICE);
      world.sandbox.clock.advance(2 * HOUR);
      assert.equal((await broker.tokenFor({ accountId: ALICE })).accessToken, 'access-from-b');
      assert.equal((await world.tokens.get(key('refresh')))?.token, 'rotated-by-b');
      assert.equal(broker.stats.invalidGrants, 0);
    } finally {
      await world.close();
    }
  });

  test('a revoke between reading the stored token and caching it: the caller gets it, the cache does not keep it', { timeout: 30_000 }, async () => {
    const first = w.broker();
    const granted = await w.connect(first, ALICE);
    let broker!: ReturnType<OAuthWorld['broker']>;
    // The stored access token is read, then (before obtain returns) this broker's link is revoked.
    const tokens: TokensRepo = { ...w.tokens, get: async (k) => {
      const row = await w.tokens.get(k);
      if (k.kind === 'access' && broker.stats.storeHits === 0) await broker.revoke({ accountId: ALICE });
      return row;
    } };
    broker = w.broker({ deps: { repos: { tokens } } });
    assert.equal((await broker.tokenFor({ accountId: ALICE })).accessToken, granted.accessToken);
    assert.equal(broker.cacheSize, 0);
    const e = await failure(broker.tokenFor({ accountId: ALICE }));
    assert.deepEqual([e.code, e.details?.['reason']], ['REAUTH_REQUIRED', 'grant_missing']);
  });

  test('the new access token\'s write lost three times in a row: that try commits nothing and the next one stores it', { timeout: 30_000 }, async () => {
    const broker = w.broker({ deps: { sleep: async (ms) => {
      w.sleeps.push(ms);
      w.sandbox.clock.advance(ms);
    } } });
    const granted = await w.connect(broker, ALICE);
    w.sandbox.clock.advance(2 * HOUR);
    // Stands in for another write landing between the access put's own read and update, three times in the
    // first try's transaction: a trigger drops the next three updates of an access row stamped with this
    // moment (each then changes no row, as it would). The try's rollback restores the count; the next try
    // comes after its backoff, at a later moment.
    const db = w.t.store.db;
    const at = w.sandbox.clock.now();
    await sql`create table lost_access_writes (n integer not null)`.execute(db);
    await sql`insert into lost_access_writes (n) values (3)`.execute(db);
    await sql.raw(`create trigger lose_access_writes before update on tokens when old.kind = 'access' and new.updated_at = ${at} and (select n from lost_access_writes) > 0 begin update lost_access_writes set n = n - 1; select raise(ignore); end`).execute(db);
    try {
      const fresh = await broker.tokenFor({ accountId: ALICE });
      assert.notEqual(fresh.accessToken, granted.accessToken);
      assert.deepEqual(w.sleeps, [100], 'the first try gave up after three lost writes and was tried again');
      assert.equal(w.sandbox.control.counters.total('refresh_grant'), 2);
      assert.equal((await w.tokens.get(key('access')))?.token, fresh.accessToken);
      assert.equal(await w.probe(fresh.accessToken), 200);
    } finally {
      await sql`drop trigger lose_access_writes`.execute(db);
      await sql`drop table lost_access_writes`.execute(db);
    }
  });

  test('the rotated refresh token\'s write lost inside the commit: nothing of that try is committed, the next one stores both', { timeout: 30_000 }, async () => {
    const broker = w.broker({ deps: { sleep: async (ms) => {
      w.sleeps.push(ms);
      w.sandbox.clock.advance(ms);
    } } });
    const granted = await w.connect(broker, ALICE);
    w.sandbox.clock.advance(2 * HOUR);
    // Stands in for another write landing between the refresh row's check and its compare-and-set write
    // (PostgreSQL can interleave there; see the postgres test below): a trigger drops the first try's update
    // of the refresh row, which then changes no row.
    const db = w.t.store.db;
    const at = w.sandbox.clock.now();
    await sql.raw(`create trigger lose_refresh_write before update on tokens when old.kind = 'refresh' and new.updated_at = ${at} begin select raise(ignore); end`).execute(db);
    try {
      const fresh = await broker.tokenFor({ accountId: ALICE });
      assert.notEqual(fresh.accessToken, granted.accessToken);
      assert.deepEqual(w.sleeps, [100], 'the first try committed nothing and was tried again');
      const [refresh, access] = [await w.tokens.get(key('refresh')), await w.tokens.get(key('access'))];
      assert.equal(access?.token, fresh.accessToken);
      assert.deepEqual([refresh?.version, refresh?.updatedAt], [2, at + 100], 'the refresh token written once, by the second try');
    } finally {
      await sql`drop trigger lose_refresh_write`.execute(db);
    }
  });

  test('a revoke while a background refresh finishes: the refreshed token is not cached', { timeout: 30_000 }, async () => {
    let revoked: Promise<number> | undefined;
    const broker: ReturnType<OAuthWorld['broker']> = w.broker({
      // Told after the commit, before the job caches the token: the link is revoked right then.
      deps: { onRefresh: (i) => void (revoked ??= broker.revoke({ accountId: i.accountId })) },
    });
    await w.connect(broker, ALICE);
    w.sandbox.clock.advance(40 * 24 * HOUR);
    assert.deepEqual(await broker.refreshIdle({ idleForMs: 30 * 24 * HOUR }), { checked: 1, refreshed: 1, skipped: 0, reauthRequired: 0, failed: 0 });
    assert.equal(await revoked, 2);
    assert.equal(broker.cacheSize, 0);
    const e = await failure(broker.tokenFor({ accountId: ALICE }));
    assert.deepEqual([e.code, e.details?.['reason']], ['REAUTH_REQUIRED', 'grant_missing']);
  });

  test('a 401 report that reads the stored token just before another instance replaces it: the new token is left alone', { timeout: 30_000 }, async () => {
    const granted = await w.connect(w.broker(), ALICE);
    let replaced = false;
    const tokens: TokensRepo = { ...w.tokens, get: async (k) => {
      const row = await w.tokens.get(k);
      if (k.kind === 'access' && !replaced) {
        replaced = true;
        // Another instance refreshed (after its own 401) and stored a new access token meanwhile.
        await w.tokens.put(key('access'), { token: 'access-from-b', expiresAt: w.sandbox.clock.now() + HOUR });
      }
      return row;
    } };
    const broker = w.broker({ deps: { repos: { tokens } } });
    await broker.invalidate({ accountId: ALICE }, granted.accessToken);
    const stored = await w.tokens.get(key('access'));
    assert.deepEqual([stored?.token, stored?.expiresAt], ['access-from-b', w.sandbox.clock.now() + HOUR]);
    assert.equal((await broker.tokenFor({ accountId: ALICE })).accessToken, 'access-from-b');
    assert.equal(w.sandbox.control.counters.total('refresh_grant'), 0);
  });

  test('a look-up that read the old grant\'s token while a new consent waited for the lease: the new consent\'s token is what stays cached', { timeout: 30_000 }, async () => {
    // H holds Alice's lease: an idle refresh stopped before its commit.
    const holder = gate();
    let holding = false;
    const h = w.broker({ deps: { beforeCommit: async () => {
      holding = true;
      await holder.promise;
    } } });
    // A's look-up reads the stored (old) access token, then stops until released.
    const reader = gate();
    let reading = false;
    const tokens: TokensRepo = { ...w.tokens, get: async (k) => {
      const row = await w.tokens.get(k);
      if (k.kind === 'access' && !reading) {
        reading = true;
        await reader.promise;
      }
      return row;
    } };
    const a = w.broker({ deps: { repos: { tokens } } });
    const old = await w.connect(a, ALICE);
    const idle = h.refreshIdle({ idleForMs: 0 });
    for (let i = 0; i < 500 && !holding; i++) await new Promise((r) => setTimeout(r, 1));
    assert.ok(holding, 'H holds the lease');
    const consent = a.storeGrant({ accountId: ALICE, scopes: GRANT_SCOPES, tokens: await w.exchange(ALICE, GRANT_SCOPES) });
    const lookup = a.tokenFor({ accountId: ALICE });
    for (let i = 0; i < 500 && !reading; i++) await new Promise((r) => setTimeout(r, 1));
    assert.ok(reading, 'the look-up has read the old grant');
    holder.resolve();
    await idle;
    const granted = await consent;
    reader.resolve();
    assert.equal((await lookup).accessToken, old.accessToken, 'the look-up answers what it read');
    assert.equal((await a.tokenFor({ accountId: ALICE })).accessToken, granted.accessToken, 'but the cache keeps the new consent\'s token');
  });

  test('no grant stored: refused at once, without waiting for a lease another refresh of the account holds', { timeout: 30_000 }, async () => {
    const holder = gate();
    let holding = false;
    const h = w.broker({ deps: { beforeCommit: async () => {
      holding = true;
      await holder.promise;
    } } });
    await w.connect(h, ALICE);
    w.sandbox.clock.advance(2 * HOUR);
    const refreshing = h.tokenFor({ accountId: ALICE }).catch((e: unknown) => e);
    for (let i = 0; i < 500 && !holding; i++) await new Promise((r) => setTimeout(r, 1));
    assert.ok(holding, 'H holds the lease');
    // The link is revoked meanwhile (revoke takes no lease).
    await w.broker().revoke({ accountId: ALICE });
    const e = await failure(w.broker({ options: { lockWaitMs: 0, maxAttempts: 1 } }).tokenFor({ accountId: ALICE }));
    assert.deepEqual([e.code, e.details?.['reason']], ['REAUTH_REQUIRED', 'grant_missing']);
    holder.resolve();
    await refreshing;
  });

  test('a 401 reported while a look-up is in flight, then an invalidation without a token: the refused token is still never handed out', { timeout: 30_000 }, async () => {
    const a = w.broker();
    const refused = (await w.connect(a, ALICE)).accessToken;
    const held = gate();
    let holding = false;
    const tokens: TokensRepo = { ...w.tokens, get: async (k) => {
      const row = await w.tokens.get(k);
      if (k.kind === 'access' && !holding) {
        holding = true;
        await held.promise;
      }
      return row;
    } };
    const b = w.broker({ deps: { repos: { tokens } } });
    const early = b.tokenFor({ accountId: ALICE });
    for (let i = 0; i < 500 && !holding; i++) await new Promise((r) => setTimeout(r, 1));
    assert.ok(holding);
    await b.invalidate({ accountId: ALICE }, refused);
    await b.invalidate({ accountId: ALICE });
    held.resolve();
    const got = await early;
    assert.notEqual(got.accessToken, refused);
    assert.notEqual((await b.tokenFor({ accountId: ALICE })).accessToken, refused);
  });

  test('a 401 reported while a look-up is in flight and before the report reached the store: the refused token is neither handed out again nor cached', { timeout: 30_000 }, async () => {
    let down = false;
    const world = await openOAuthWorld(testBackends()[0]!, { shared, fetch: onRefreshGrant(async () => (down ? Response.json({ error: 'server_error' }, { status: 503 }) : undefined)) });
    try {
      const first = world.broker();
      const refused = (await world.connect(first, ALICE)).accessToken;
      // A second instance with an empty cache. Its first read of the stored access token (the look-up) is
      // held at one gate, its second (the report's own, before it marks the token dead) at another.
      const gates = [gate(), gate()];
      let reads = 0;
      const tokens: TokensRepo = { ...world.tokens, get: async (k) => {
        const row = await world.tokens.get(k);
        if (k.kind === 'access' && reads < 2) await gates[reads++]!.promise;
        return row;
      } };
      const b = world.broker({ deps: { repos: { tokens } }, options: { maxAttempts: 1 } });
      const early = b.tokenFor({ accountId: ALICE });
      for (let i = 0; i < 500 && reads < 1; i++) await new Promise((r) => setTimeout(r, 1));
      const report = b.invalidate({ accountId: ALICE }, refused);
      for (let i = 0; i < 500 && reads < 2; i++) await new Promise((r) => setTimeout(r, 1));
      assert.equal(reads, 2, 'both reads are held');
      // The look-up goes on while the store still calls the refused token fresh, and Atlassian is down.
      down = true;
      gates[0]!.resolve();
      const e = await failure(early);
      assert.equal(e.code, 'ATLASSIAN_UNAVAILABLE', 'the refused token is not handed out; a refresh was tried');
      gates[1]!.resolve();
      await report;
      down = false;
      const fresh = await b.tokenFor({ accountId: ALICE });
      assert.notEqual(fresh.accessToken, refused, 'nor was it cached');
      assert.equal(await world.probe(fresh.accessToken), 200);
    } finally {
      await world.close();
    }
  });
});

// PostgreSQL only: its transactions read committed and take no lock for a read, so another connection can
// commit between the commit transaction's check of the refresh token and its write (on SQLite the
// transaction holds the database's write lock from its start, and that write would wait for it).
for (const backend of testBackends().filter((b) => b.name === 'postgres')) {
  describe('OAuth token broker: another writer inside the commit transaction (postgres)', () => {
    let shared: TestStore;
    let w: OAuthWorld;
    before(async () => {
      shared = await openTestStore(backend);
    }, { timeout: 120_000 });
    after(() => shared.close(), { timeout: 120_000 });
    beforeEach(async () => {
      w = await openOAuthWorld(backend, { shared });
    }, { timeout: 120_000 });
    afterEach(() => w.close(), { timeout: 120_000 });

    test('the refresh token rotated by another instance between the check and the write: nothing is written, its tokens are used', { timeout: 60_000 }, async () => {
      let armed = false;
      const tokens: TokensRepo = {
        ...w.tokens,
        inTransaction: (tx) => {
          const inner = w.tokens.inTransaction(tx);
          return {
            ...inner,
            get: async (k) => {
              const row = await inner.get(k);
              if (armed && k.kind === 'refresh') {
                armed = false;
                // Another instance, on its own connection, commits its rotation right after this check read.
                await w.tokens.put(key('refresh'), { token: 'rotated-by-b', previousToken: row?.token ?? null, expiresAt: null });
                await w.tokens.put(key('access'), { token: 'access-from-b', expiresAt: w.sandbox.clock.now() + HOUR });
              }
              return row;
            },
          };
        },
      };
      const broker = w.broker({ deps: { repos: { tokens } } });
      await w.connect(broker, ALICE);
      w.sandbox.clock.advance(2 * HOUR);
      armed = true;
      assert.equal((await broker.tokenFor({ accountId: ALICE })).accessToken, 'access-from-b');
      assert.equal(armed, false, 'the other write landed inside the commit transaction');
      const [refresh, access] = [await w.tokens.get(key('refresh')), await w.tokens.get(key('access'))];
      assert.deepEqual([refresh?.token, access?.token], ['rotated-by-b', 'access-from-b']);
      assert.deepEqual([broker.stats.refreshes, broker.stats.reusedAfterLock, w.sleeps], [0, 1, [100]]);
    });
  });
}
