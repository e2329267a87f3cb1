import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ForgeInvocation } from '../atlassian/verify-forge-invocation-token.js';
import { GatewayError, isGatewayError } from '../errors.js';
import { createLogger } from '../logger.js';
import type { Tenant } from '../store/tenants-repo.js';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../store/test-support/open-test-store.js';
import { createForgeInstallations, type ForgeInstallations } from '../tenants/forge-installation.js';
import { createForgeRateLimiter } from './forge-rate-limiter.js';
import { createForgeTokenBroker, type ForgeTokenBrokerDeps, type ForgeTokenBrokerOptions } from './forge-token-broker.js';

/**
 * The Forge token broker on its own, in milliseconds: real installations in a SQLite file (recorded the way a
 * verified invocation records them), the real per-app limiter, and Forge's GraphQL endpoint as a scripted
 * fetch. test/integration/forge-token-broker.test.ts runs the same broker against the sandbox over HTTP.
 * Each call takes the next answer of the script; past the script it answers HTTP 400, so a loop that
 * runs too long ends in a wrong error instead of hanging.
 */

const CLOUD = 'd0d52620-3203-4cfa-8db5-f2587155f0dd';
const OTHER_CLOUD = '5b4f1a2e-0c7d-4e55-9a1b-3c2d1e0f9a8b';
const APP = 'ari:cloud:ecosystem::app/7f3c2a1b-1111-4c4c-8d8d-0123456789ab';
const SYSTEM_TOKEN = 'forge-system-token-of-acme-0123456789';
const HOUR = 3_600_000;

type Answer = () => Response;
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const token = (name: string, ttl = 3600) => json({ data: { offlineUserAuthToken: { success: true, errors: null, authToken: { token: name, ttl } } } });
const refusal = (message: string) => json({ data: { offlineUserAuthToken: { success: false, errors: [{ message }], authToken: null } } });
const WRONG_FORM = refusal('The provided contextIds are not valid for this installation');
const busy = (headers: Record<string, string> = {}) => json({ errors: [] }, 503, headers);

function scriptedGraphql(script: Answer[]) {
  const requests: Array<{ authorization: string; contextIds: string[]; userId: string }> = [];
  const fetch = (async (_input: string | URL | Request, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as { variables: { input: { contextIds: string[]; userId: string } } };
    requests.push({ authorization: (init?.headers as Record<string, string>)['authorization'] ?? '', ...body.variables.input });
    return (script[requests.length - 1] ?? json({ message: 'unexpected call' }, 400))();
  }) as typeof globalThis.fetch;
  return { fetch, requests };
}

const form = (contextId: string | undefined) => (contextId?.includes(':workspace/') ? 'workspace' : contextId?.includes('::site/') ? 'site' : contextId);

function invocation(installation: string, cloudId: string): ForgeInvocation {
  return {
    appId: APP,
    appVersion: '1.0.0',
    installationId: `ari:cloud:ecosystem::installation/${installation}`,
    apiBaseUrl: `https://api.atlassian.com/ex/confluence/${cloudId}`,
    cloudId,
    environment: { type: 'PRODUCTION', id: 'env-1' },
    module: { type: 'scheduledTrigger', key: 'hourly' },
    principal: null,
    context: null,
    jti: `jti-${installation}`,
    expiresAt: 0,
  };
}

describe('forge token broker: exchanges, context forms, retries and the cache', () => {
  let t: TestStore;
  let installations: ForgeInstallations;
  let acme: Tenant;
  let beta: Tenant;

  before(async () => {
    t = await openTestStore(testBackends()[0]!);
    installations = createForgeInstallations({ repos: t.repos, clock: t.clock });
    acme = await installations.seen(invocation('acme-1', CLOUD), { token: SYSTEM_TOKEN, expiresAt: t.clock.now() + 4 * HOUR });
    beta = await installations.seen(invocation('beta-1', OTHER_CLOUD), { token: 'forge-system-token-of-beta', expiresAt: t.clock.now() + 4 * HOUR });
  }, { timeout: 120_000 });
  after(() => t.close(), { timeout: 120_000 });

  function brokerWith(script: Answer[], options: Partial<ForgeTokenBrokerOptions> = {}, deps: Partial<ForgeTokenBrokerDeps> = {}) {
    const graphql = scriptedGraphql(script);
    const waits: number[] = [];
    const grants: unknown[] = [];
    const rejected: string[] = [];
    const lines: Array<Record<string, unknown>> = [];
    const broker = createForgeTokenBroker(
      {
        installations,
        graphqlUrl: 'https://api.atlassian.com/graphql',
        fetch: graphql.fetch,
        clock: t.clock,
        logger: createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } }),
        limiter: createForgeRateLimiter({ perMinute: 1000, maxWaitMs: 0, clock: t.clock }),
        sleep: async (ms) => {
          waits.push(ms);
          t.clock.advance(ms);
        },
        random: () => 0.5,
        onGrant: (info) => grants.push(info),
        onSystemTokenRejected: (x) => void rejected.push(x.id),
        ...deps,
      },
      { refreshSkewMs: 60_000, cacheMaxEntries: 100, ...options },
    );
    return { broker, graphql, waits, grants, rejected, lines };
  }

  async function failure(p: Promise<unknown>): Promise<GatewayError> {
    const e = await p.then(
      () => assert.fail('expected an error, got a token'),
      (x: unknown) => x,
    );
    assert.ok(e instanceof GatewayError, String(e));
    return e;
  }

  test('an exchange: the system token for one user, the workspace form by default; the token is for the installation\'s API base', { timeout: 30_000 }, async () => {
    const { broker, graphql, grants } = brokerWith([token('user-token-1')]);
    const start = t.clock.now();
    const out = await broker.tokenFor({ tenant: acme, accountId: 'acc-1', scopes: ['write:page:confluence', 'read:page:confluence', 'read:page:confluence'] });
    assert.deepEqual(out, {
      accessToken: 'user-token-1',
      tokenType: 'Bearer',
      expiresAt: start + HOUR,
      apiBaseUrl: `https://api.atlassian.com/ex/confluence/${CLOUD}/wiki`,
      route: 'forge',
      scopes: ['read:page:confluence', 'write:page:confluence'],
    });
    assert.deepEqual(graphql.requests, [{ authorization: `Bearer ${SYSTEM_TOKEN}`, contextIds: [`ari:cloud:confluence:${CLOUD}:workspace/${CLOUD}`], userId: 'acc-1' }]);
    assert.deepEqual(grants, [{ tenant: acme, accountId: 'acc-1', outcome: 'ok' }]);
    assert.deepEqual(broker.stats, { grants: 1, grantFailures: 0, hits: 0, misses: 1 });
  });

  test('the cache: a hit until refreshSkewMs before expiry; the scope set (in any order) is part of the key', { timeout: 30_000 }, async () => {
    const { broker, graphql } = brokerWith([token('t-1'), token('t-2'), token('t-3')]);
    const req = { tenant: acme, accountId: 'acc-1', scopes: ['b', 'a'] };
    await broker.tokenFor(req);
    assert.equal((await broker.tokenFor({ ...req, scopes: ['a', 'b', 'a'] })).accessToken, 't-1');
    assert.equal((await broker.tokenFor({ ...req, scopes: ['a'] })).accessToken, 't-2');
    t.clock.advance(HOUR - 60_000 - 1);
    assert.equal((await broker.tokenFor(req)).accessToken, 't-1', 'still fresh 60 s + 1 ms before expiry');
    t.clock.advance(1);
    assert.equal((await broker.tokenFor(req)).accessToken, 't-3', 'replaced once inside the skew');
    assert.equal(graphql.requests.length, 3);
    assert.deepEqual({ hits: broker.stats.hits, misses: broker.stats.misses }, { hits: 2, misses: 3 });
  });

  test('concurrent cold calls share one exchange', { timeout: 30_000 }, async () => {
    const { broker, graphql } = brokerWith([token('t-1')]);
    const all = await Promise.all(Array.from({ length: 10 }, () => broker.tokenFor({ tenant: acme, accountId: 'acc-1' })));
    assert.deepEqual(new Set(all.map((x) => x.accessToken)), new Set(['t-1']));
    assert.equal(graphql.requests.length, 1);
    // No scopes and an empty list are the same request: one key, a token that names no scopes.
    const none = await broker.tokenFor({ tenant: acme, accountId: 'acc-1', scopes: [] });
    assert.deepEqual([none.accessToken, none.scopes, all[0]?.scopes], ['t-1', [], []]);
  });

  test('"wrong contextIds": the other form is tried once and remembered for that installation only', { timeout: 30_000 }, async () => {
    const { broker, graphql, lines } = brokerWith([WRONG_FORM, token('t-1'), token('t-2'), token('t-3')]);
    await broker.tokenFor({ tenant: acme, accountId: 'acc-1' });
    await broker.tokenFor({ tenant: acme, accountId: 'acc-2' });
    await broker.tokenFor({ tenant: beta, accountId: 'acc-1' });
    assert.deepEqual(graphql.requests.map((r) => [r.userId, form(r.contextIds[0])]), [['acc-1', 'workspace'], ['acc-1', 'site'], ['acc-2', 'site'], ['acc-1', 'workspace']]);
    assert.deepEqual(
      lines.map((l) => [l['level'], l['msg'], l['installationId'], l['form']]),
      [['info', 'Forge accepted the other context ARI form; it is used from now on', acme.tenantKey, 'site']],
    );
    assert.equal(broker.stats.grants, 3);
  });

  test('contextIdForm "site" goes first, and "wrong contextIds" then falls back to the workspace form', { timeout: 30_000 }, async () => {
    const { broker, graphql } = brokerWith([WRONG_FORM, token('t-1'), token('t-2')], { contextIdForm: 'site' });
    await broker.tokenFor({ tenant: acme, accountId: 'acc-1' });
    await broker.tokenFor({ tenant: acme, accountId: 'acc-2' });
    assert.deepEqual(graphql.requests.map((r) => form(r.contextIds[0])), ['site', 'workspace', 'workspace']);
  });

  test('a refusal for another reason is not tried with the other form, nor again', { timeout: 30_000 }, async () => {
    const { broker, graphql, grants, waits } = brokerWith([refusal('The user is inactive'), token('t-1')]);
    const e = await failure(broker.tokenFor({ tenant: acme, accountId: 'acc-1' }));
    assert.deepEqual([e.code, e.details?.['reason']], ['IMPERSONATION_REFUSED', 'user_inactive']);
    assert.deepEqual([graphql.requests.length, waits], [1, []]);
    assert.deepEqual(grants, [{ tenant: acme, accountId: 'acc-1', outcome: 'error', code: 'IMPERSONATION_REFUSED' }]);
    assert.deepEqual({ grants: broker.stats.grants, grantFailures: broker.stats.grantFailures }, { grants: 0, grantFailures: 1 });
  });

  test('both forms refused as "wrong contextIds": the second refusal reaches the caller, nothing is remembered', { timeout: 30_000 }, async () => {
    const { broker, graphql } = brokerWith([WRONG_FORM, WRONG_FORM, WRONG_FORM, token('t-1')]);
    const e = await failure(broker.tokenFor({ tenant: acme, accountId: 'acc-1' }));
    assert.deepEqual([e.code, e.details?.['reason']], ['IMPERSONATION_REFUSED', 'context_mismatch']);
    await broker.tokenFor({ tenant: acme, accountId: 'acc-1' });
    assert.deepEqual(graphql.requests.map((r) => form(r.contextIds[0])), ['workspace', 'site', 'workspace', 'site']);
  });

  test('Forge busy: tried again after a backoff or the Retry-After, three tries by default, then the last error', { timeout: 30_000 }, async () => {
    const ok = brokerWith([busy(), busy({ 'retry-after': '2' }), token('t-3')]);
    assert.equal((await ok.broker.tokenFor({ tenant: acme, accountId: 'acc-1' })).accessToken, 't-3');
    // Full jitter on a 200 ms base (random 0.5), then the server's 2 s.
    assert.deepEqual(ok.waits, [100, 2000]);
    const down = brokerWith([busy(), busy(), busy(), token('t-4')]);
    const e = await failure(down.broker.tokenFor({ tenant: acme, accountId: 'acc-1' }));
    assert.deepEqual([e.code, e.details?.['reason'], e.details?.['status']], ['ATLASSIAN_UNAVAILABLE', 'server_error', 503]);
    assert.equal(down.graphql.requests.length, 3);
    assert.deepEqual(down.grants, [{ tenant: acme, accountId: 'acc-1', outcome: 'error', code: 'ATLASSIAN_UNAVAILABLE' }]);
    const once = brokerWith([busy(), token('t-2')], { maxAttempts: 1 });
    await failure(once.broker.tokenFor({ tenant: acme, accountId: 'acc-1' }));
    assert.equal(once.graphql.requests.length, 1);
  });

  test('Forge refuses the system token itself (HTTP 401): the installation is reported and the error says why', { timeout: 30_000 }, async () => {
    const { broker, graphql, rejected, grants } = brokerWith([json({ message: 'Unauthorized' }, 401), token('t-2')]);
    const e = await failure(broker.tokenFor({ tenant: acme, accountId: 'acc-1' }));
    assert.equal(e.code, 'FORGE_TOKEN_UNAVAILABLE');
    assert.equal(e.message, `Forge no longer accepts the app system token of the installation on ${acme.baseUrl}: the app may have been uninstalled. A new invocation (the hourly trigger) brings a new token if it is still installed.`);
    assert.deepEqual(e.details, { installationId: acme.tenantKey, retryable: false });
    assert.ok(isGatewayError(e.cause, 'ATLASSIAN_ERROR'));
    assert.deepEqual([rejected, graphql.requests.length], [[acme.id], 1]);
    assert.deepEqual(grants, [{ tenant: acme, accountId: 'acc-1', outcome: 'error', code: 'ATLASSIAN_ERROR' }]);
    // Another refusal by Atlassian (403) is passed on as it is, and reports nothing.
    const forbidden = brokerWith([json({ message: 'Forbidden' }, 403)]);
    const f = await failure(forbidden.broker.tokenFor({ tenant: acme, accountId: 'acc-1' }));
    assert.deepEqual([f.code, f.details?.['reason'], forbidden.rejected], ['ATLASSIAN_ERROR', 'forbidden', []]);
  });

  test('over the per-app budget (shared by every installation of the app): RATE_LIMITED at once, never retried, nothing sent', { timeout: 30_000 }, async () => {
    const limiter = createForgeRateLimiter({ perMinute: 1, maxWaitMs: 0, clock: t.clock });
    const { broker, graphql, waits, grants } = brokerWith([token('t-1'), token('t-2')], {}, { limiter });
    await broker.tokenFor({ tenant: acme, accountId: 'acc-1' });
    const e = await failure(broker.tokenFor({ tenant: beta, accountId: 'acc-2' }));
    assert.deepEqual([e.code, e.details?.['retryable']], ['RATE_LIMITED', true]);
    assert.deepEqual([graphql.requests.length, waits], [1, []]);
    assert.deepEqual(grants.slice(1), [{ tenant: beta, accountId: 'acc-2', outcome: 'error', code: 'RATE_LIMITED' }]);
  });

  test('no live system token: a clear error before anything is sent', { timeout: 30_000 }, async () => {
    const gone = await installations.seen(invocation('gone-1', 'c0ffee00-0000-4000-8000-000000000001'), null);
    const { broker, graphql } = brokerWith([token('t-1')]);
    const e = await failure(broker.tokenFor({ tenant: gone, accountId: 'acc-1' }));
    assert.equal(e.code, 'FORGE_TOKEN_UNAVAILABLE');
    assert.match(e.message, /^No live app system token is stored for the Forge installation on /);
    assert.equal(graphql.requests.length, 0);
  });

  test('a failure that is not a GatewayError is not retried and is reported as INTERNAL', { timeout: 30_000 }, async () => {
    const { broker, graphql, grants } = brokerWith([token('t-1')], { grantTimeoutMs: -1 });
    await assert.rejects(broker.tokenFor({ tenant: acme, accountId: 'acc-1' }), (e: unknown) => !isGatewayError(e) && e instanceof Error);
    assert.equal(graphql.requests.length, 0);
    assert.deepEqual(grants, [{ tenant: acme, accountId: 'acc-1', outcome: 'error', code: 'INTERNAL' }]);
  });

  test('grantTimeoutMs bounds each exchange: a GraphQL endpoint that never answers is a timeout', { timeout: 30_000 }, async () => {
    const hanging = (async (_input: string | URL | Request, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        const signal = init?.signal;
        if (!signal) return reject(new Error('the exchange was sent without a timeout signal'));
        signal.addEventListener('abort', () => reject(signal.reason as Error));
      })) as typeof globalThis.fetch;
    const { broker } = brokerWith([], { grantTimeoutMs: 5, maxAttempts: 1 }, { fetch: hanging });
    const e = await failure(broker.tokenFor({ tenant: acme, accountId: 'acc-1' }));
    assert.deepEqual([e.code, e.details?.['reason']], ['ATLASSIAN_TIMEOUT', 'timeout']);
  });

  test('refused before any exchange: a malformed account id, a tenant of another route, an installation not active', { timeout: 30_000 }, async () => {
    const { broker, graphql } = brokerWith([token('t-1')]);
    const bad = await failure(broker.tokenFor({ tenant: acme, accountId: 'acc 1' }));
    assert.deepEqual([bad.code, bad.message, bad.details], ['VALIDATION_FAILED', 'accountId must be an Atlassian account ID.', { field: 'accountId' }]);
    const route = await failure(broker.tokenFor({ tenant: { ...acme, route: 'connect' }, accountId: 'acc-1' }));
    assert.deepEqual([route.code, route.message], ['BAD_REQUEST', `Tenant ${acme.id} is not a Forge installation.`]);
    const off = await failure(broker.tokenFor({ tenant: { ...acme, status: 'disabled' }, accountId: 'acc-1' }));
    assert.deepEqual([off.code, off.message, off.details], ['TENANT_UNINSTALLED', `The Forge installation on ${acme.baseUrl} is disabled.`, { status: 'disabled' }]);
    assert.equal(graphql.requests.length, 0);
  });

  test('invalidate drops only the token that failed; purges drop a tenant\'s or an account\'s tokens and say how many', { timeout: 30_000 }, async () => {
    const { broker, graphql } = brokerWith([token('t-1'), token('t-2'), token('t-3'), token('t-4'), token('t-5'), token('t-6')]);
    const req = { tenant: acme, accountId: 'acc-1' };
    await broker.tokenFor(req); // t-1
    broker.invalidate(req, 'some-other-token');
    assert.equal((await broker.tokenFor(req)).accessToken, 't-1', 'another token: nothing dropped');
    broker.invalidate(req, 't-1');
    assert.equal((await broker.tokenFor(req)).accessToken, 't-2');
    broker.invalidate(req);
    assert.equal((await broker.tokenFor(req)).accessToken, 't-3', 'without a token: whatever is cached goes');
    await broker.tokenFor({ tenant: acme, accountId: 'acc-2' }); // t-4
    await broker.tokenFor({ tenant: beta, accountId: 'acc-1' }); // t-5
    assert.equal(broker.purgeAccount('acc-1'), 2);
    assert.equal(broker.purgeTenant(acme), 1);
    assert.equal(broker.purgeTenant(acme), 0);
    assert.equal((await broker.tokenFor(req)).accessToken, 't-6');
    assert.equal(graphql.requests.length, 6);
  });

  test('an exchange in flight while its tenant is purged answers its caller but is not cached', { timeout: 30_000 }, async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const graphql = scriptedGraphql([token('t-1'), token('t-2')]);
    const held = (async (input: string | URL | Request, init?: RequestInit) => {
      await gate;
      return graphql.fetch(input, init);
    }) as typeof globalThis.fetch;
    const { broker } = brokerWith([], {}, { fetch: held });
    const inFlight = broker.tokenFor({ tenant: acme, accountId: 'acc-1' });
    for (let i = 0; i < 50; i++) await new Promise<void>((r) => setImmediate(r));
    broker.purgeTenant(acme);
    release();
    assert.equal((await inFlight).accessToken, 't-1');
    assert.equal((await broker.tokenFor({ tenant: acme, accountId: 'acc-1' })).accessToken, 't-2');
    // A purge of another tenant does not stop the next one from being cached.
    broker.purgeTenant(beta);
    assert.equal((await broker.tokenFor({ tenant: acme, accountId: 'acc-1' })).accessToken, 't-2');
  });

  test('an exchange in flight while its account is purged (its link was revoked) answers its caller but is not cached', { timeout: 30_000 }, async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const graphql = scriptedGraphql([token('t-1'), token('t-2'), token('t-3')]);
    let holding = true;
    const held = (async (input: string | URL | Request, init?: RequestInit) => {
      if (holding) await gate;
      return graphql.fetch(input, init);
    }) as typeof globalThis.fetch;
    const { broker } = brokerWith([], {}, { fetch: held });
    const inFlight = broker.tokenFor({ tenant: acme, accountId: 'acc-1' });
    for (let i = 0; i < 50; i++) await new Promise<void>((r) => setImmediate(r));
    broker.purgeAccount('acc-1');
    holding = false;
    release();
    assert.equal((await inFlight).accessToken, 't-1');
    assert.equal((await broker.tokenFor({ tenant: acme, accountId: 'acc-1' })).accessToken, 't-2', 'exchanged again, not the token of the revoked link');
    // A purge of another account does not stop the next one from being cached.
    broker.purgeAccount('acc-2');
    assert.equal((await broker.tokenFor({ tenant: acme, accountId: 'acc-1' })).accessToken, 't-2');
  });

  test('without the optional hooks: a grant, a refusal and a refused system token each reach the caller as usual', { timeout: 30_000 }, async () => {
    const { broker, lines } = brokerWith([token('t-1'), refusal('The user is inactive'), json({ message: 'Unauthorized' }, 401)], {}, { onGrant: undefined, onSystemTokenRejected: undefined });
    assert.equal((await broker.tokenFor({ tenant: acme, accountId: 'acc-1' })).accessToken, 't-1');
    assert.equal((await failure(broker.tokenFor({ tenant: acme, accountId: 'acc-2' }))).code, 'IMPERSONATION_REFUSED');
    assert.equal((await failure(broker.tokenFor({ tenant: acme, accountId: 'acc-3' }))).code, 'FORGE_TOKEN_UNAVAILABLE');
    assert.deepEqual(lines, [], 'no hook, no hook failure');
  });

  test('hooks that throw are logged and change nothing: the grant stands, a refusal stays the refusal', { timeout: 30_000 }, async () => {
    const down = () => {
      throw new Error('metrics down');
    };
    const { broker, graphql, lines } = brokerWith([token('user-token-1'), refusal('The user is inactive'), json({ message: 'Unauthorized' }, 401)], {}, { onGrant: down, onSystemTokenRejected: down });
    assert.equal((await broker.tokenFor({ tenant: acme, accountId: 'acc-1' })).accessToken, 'user-token-1');
    // Cached like any other grant: the second call makes no new exchange.
    assert.equal((await broker.tokenFor({ tenant: acme, accountId: 'acc-1' })).accessToken, 'user-token-1');
    assert.deepEqual([graphql.requests.length, broker.stats.grants, broker.stats.grantFailures], [1, 1, 0]);
    assert.deepEqual([(await failure(broker.tokenFor({ tenant: acme, accountId: 'acc-2' }))).code, graphql.requests.length], ['IMPERSONATION_REFUSED', 2]);
    assert.equal((await failure(broker.tokenFor({ tenant: acme, accountId: 'acc-3' }))).code, 'FORGE_TOKEN_UNAVAILABLE');
    assert.deepEqual([broker.stats.grants, broker.stats.grantFailures], [1, 2]);
    assert.deepEqual(lines.map((l) => [l['level'], l['msg'], (l['err'] as { message?: string } | undefined)?.message]), [
      ['warn', 'onGrant hook failed', 'metrics down'],
      ['warn', 'onGrant hook failed', 'metrics down'],
      ['warn', 'onGrant hook failed', 'metrics down'],
      ['warn', 'onSystemTokenRejected hook failed', 'metrics down'],
    ]);
    // Neither the user's token nor the system token reaches the log.
    for (const secret of ['user-token-1', SYSTEM_TOKEN]) assert.ok(!JSON.stringify(lines).includes(secret), secret);
  });

  test('the cache key keeps scope names apart: a + b is not the scope "ab"', { timeout: 30_000 }, async () => {
    const { broker } = brokerWith([token('t-1'), token('t-2')]);
    assert.equal((await broker.tokenFor({ tenant: acme, accountId: 'acc-1', scopes: ['a', 'b'] })).accessToken, 't-1');
    assert.equal((await broker.tokenFor({ tenant: acme, accountId: 'acc-1', scopes: ['ab'] })).accessToken, 't-2');
  });

  test('without injected ones, a retry waits on a real timer with Math.random\'s backoff', { timeout: 30_000 }, async (tc) => {
    tc.mock.timers.enable({ apis: ['setTimeout'] });
    const { broker, graphql } = brokerWith([busy(), token('t-2')], {}, { sleep: undefined, random: undefined });
    let settled = false;
    const pending = broker.tokenFor({ tenant: acme, accountId: 'acc-1' }).finally(() => (settled = true));
    const turns = async (n: number, done: () => boolean = () => false) => {
      for (let i = 0; i < n && !done(); i++) await new Promise<void>((r) => setImmediate(r));
    };
    await turns(200, () => graphql.requests.length === 1);
    await turns(20);
    assert.deepEqual([graphql.requests.length, settled], [1, false], 'waiting for the backoff timer');
    // The backoff of a first retry is under 200 ms.
    tc.mock.timers.tick(200);
    await turns(200, () => settled);
    assert.deepEqual([graphql.requests.length, settled], [2, true]);
    assert.equal((await pending).accessToken, 't-2');
  });
});
