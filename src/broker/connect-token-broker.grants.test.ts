import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { productionEndpoints, type AtlassianEndpoints } from '../atlassian/endpoints.js';
import { GatewayError, isGatewayError } from '../errors.js';
import { createLogger } from '../logger.js';
import type { Tenant } from '../store/tenants-repo.js';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../store/test-support/open-test-store.js';
import { createConnectTokenBroker, type ConnectTokenBrokerDeps, type ConnectTokenBrokerOptions } from './connect-token-broker.js';

/**
 * The broker's grant against a token endpoint that misbehaves: which failures are tried again, how long it
 * waits between tries, what the caller, the metrics hooks and the log see when it gives up. The endpoint
 * is a scripted fetch: each call takes the next answer; past the script it answers 400, so a retry loop
 * that runs too long ends in a wrong error instead of hanging.
 */

const SECRET = 'shared-secret-of-acme-0123456789';
type Answer = () => Response;

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const ok = (n: number, extra: Record<string, unknown> = {}) => json(200, { access_token: `at-${n}`, expires_in: 900, token_type: 'bearer', ...extra });
const unavailable = (headers: Record<string, string> = {}) => json(503, { error: 'temporarily_unavailable' }, headers);
const timedOut: Answer = () => {
  throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
};

function scriptedEndpoint(script: Answer[]) {
  const bodies: string[] = [];
  const fetch = (async (_input: string | URL | Request, init?: RequestInit) => {
    bodies.push(String(init?.body));
    const answer = script[bodies.length - 1] ?? json(400, { error: 'unexpected_call' });
    return answer();
  }) as typeof globalThis.fetch;
  return { fetch, bodies, get calls() { return bodies.length; } };
}

/** The real logger (with its redaction), writing JSON lines into an array. */
function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const logger = createLogger({ level: 'warn', destination: { write: (s: string) => (raw.push(s), lines.push(JSON.parse(s) as Record<string, unknown>)) } });
  return { logger, lines, raw };
}

describe('connect token broker: grant retries and failures', () => {
  let t: TestStore;
  let tenant: Tenant;

  before(async () => {
    t = await openTestStore(testBackends()[0]!);
    tenant = await t.repos.tenants.upsert({ route: 'connect', appKey: 'app', tenantKey: 'client-1', baseUrl: 'https://acme.atlassian.net/wiki', sharedSecret: SECRET, oauthClientId: 'oc-1' });
  }, { timeout: 120_000 });
  after(() => t.close(), { timeout: 120_000 });

  /** A broker whose waits are recorded and move the clock instead of passing. */
  function brokerWith(script: Answer[], options: Partial<ConnectTokenBrokerOptions> = {}, deps: Partial<ConnectTokenBrokerDeps> = {}) {
    const endpoint = scriptedEndpoint(script);
    const waits: number[] = [];
    const grants: unknown[] = [];
    const log = recordingLogger();
    const broker = createConnectTokenBroker(
      {
        repos: t.repos,
        endpoints: productionEndpoints,
        fetch: endpoint.fetch,
        clock: t.clock,
        logger: log.logger,
        sleep: async (ms) => {
          waits.push(ms);
          t.clock.advance(ms);
        },
        random: () => 0.5,
        onGrant: (info) => grants.push(info),
        ...deps,
      },
      { refreshSkewMs: 60_000, cacheMaxEntries: 10, ...options },
    );
    return { broker, endpoint, waits, grants, log };
  }

  async function failure(p: Promise<unknown>): Promise<unknown> {
    try {
      await p;
    } catch (e) {
      return e;
    }
    return assert.fail('expected the grant to fail');
  }

  test('a 503, then a 429 with Retry-After, then a token: three tries, a backoff then the wait asked for, each logged', { timeout: 30_000 }, async () => {
    const { broker, endpoint, waits, grants, log } = brokerWith([unavailable(), json(429, {}, { 'retry-after': '3' }), ok(3)]);
    const start = t.clock.now();
    const token = await broker.tokenFor({ tenant, accountId: 'acc-1', scopes: ['read'] });
    assert.equal(token.accessToken, 'at-3');
    assert.equal(endpoint.calls, 3);
    // Full jitter on a 200 ms base (random 0.5), then the server's 3 s.
    assert.deepEqual(waits, [100, 3000]);
    assert.deepEqual({ grants: broker.stats.grants, grantFailures: broker.stats.grantFailures }, { grants: 1, grantFailures: 0 });
    assert.deepEqual(grants, [{ tenant, accountId: 'acc-1', scopes: ['READ'], outcome: 'ok' }]);
    assert.deepEqual(
      log.lines.map((l) => [l['level'], l['msg'], l['attempt'], l['waitMs'], l['site'], (l['err'] as { code?: string } | undefined)?.code]),
      [
        ['warn', 'JWT-bearer grant failed; retrying', 1, 100, tenant.baseUrl, 'ATLASSIAN_UNAVAILABLE'],
        ['warn', 'JWT-bearer grant failed; retrying', 2, 3000, tenant.baseUrl, 'ATLASSIAN_UNAVAILABLE'],
      ],
    );
    // A fresh assertion per try (each lives 60 s at most: the third is issued after the 3 s wait), and
    // neither an assertion nor the shared secret reaches the log.
    const assertions = endpoint.bodies.map((b) => String(new URLSearchParams(b).get('assertion')));
    const issuedAt = assertions.map((a) => (JSON.parse(Buffer.from(a.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iat: number }).iat);
    assert.deepEqual(issuedAt, [start, start + 100, start + 3100].map((ms) => Math.floor(ms / 1000)));
    for (const secret of [SECRET, ...assertions]) assert.ok(!log.raw.join('').includes(String(secret)));
  });

  test('a retryable failure every time: three tries by default, then the caller learns how many were made', { timeout: 30_000 }, async () => {
    // No onGrant hook here: the failure path must not need one.
    const { broker, endpoint, waits, log } = brokerWith([unavailable(), unavailable(), unavailable()], {}, { onGrant: undefined });
    const e = await failure(broker.tokenFor({ tenant, accountId: 'acc-1' }));
    assert.ok(e instanceof GatewayError);
    assert.deepEqual([e.code, e.message, e.details], ['ATLASSIAN_UNAVAILABLE', "Atlassian's token service did not answer after 3 attempt(s).", { attempts: 3, site: tenant.baseUrl }]);
    assert.ok(isGatewayError(e.cause, 'ATLASSIAN_UNAVAILABLE') && e.cause.details?.['status'] === 503, 'the last failure is the cause');
    assert.equal(endpoint.calls, 3);
    assert.deepEqual(waits, [100, 200]);
    assert.deepEqual({ grants: broker.stats.grants, grantFailures: broker.stats.grantFailures, cached: broker.cacheSize }, { grants: 0, grantFailures: 1, cached: 0 });
    assert.deepEqual(log.lines.map((l) => l['msg']), ['JWT-bearer grant failed; retrying', 'JWT-bearer grant failed; retrying'], 'no hook, no hook failure');
    // Nor on success.
    const quiet = brokerWith([ok(1)], {}, { onGrant: undefined });
    assert.equal((await quiet.broker.tokenFor({ tenant, accountId: 'acc-1' })).accessToken, 'at-1');
    assert.deepEqual(quiet.log.lines, []);
  });

  test('maxAttempts, retryBaseMs and retryMaxMs are the broker\'s own settings', { timeout: 30_000 }, async () => {
    const five = brokerWith([unavailable(), unavailable(), unavailable(), unavailable(), ok(5)], { maxAttempts: 5, retryBaseMs: 10, retryMaxMs: 25 }, { random: () => 0.99 });
    assert.equal((await five.broker.tokenFor({ tenant, accountId: 'acc-1' })).accessToken, 'at-5');
    // Backoff ceilings 10, 20, then 40 and 80 capped at 25; 99 % of each, rounded down.
    assert.deepEqual(five.waits, [9, 19, 24, 24]);
    const one = brokerWith([unavailable(), ok(2)], { maxAttempts: 1 });
    const e = await failure(one.broker.tokenFor({ tenant, accountId: 'acc-1' }));
    assert.ok(isGatewayError(e, 'ATLASSIAN_UNAVAILABLE'));
    assert.equal(e.message, "Atlassian's token service did not answer after 1 attempt(s).");
    assert.deepEqual([one.endpoint.calls, one.waits], [1, []]);
    // A Retry-After longer than retryMaxMs is cut to it.
    const capped = brokerWith([unavailable({ 'retry-after': '60' }), ok(2)], { retryMaxMs: 5_000 });
    await capped.broker.tokenFor({ tenant, accountId: 'acc-1' });
    assert.deepEqual(capped.waits, [5_000]);
  });

  test('timeouts every time end as ATLASSIAN_TIMEOUT, reported to the grant hook', { timeout: 30_000 }, async () => {
    const { broker, endpoint, grants } = brokerWith([timedOut, timedOut, timedOut]);
    const e = await failure(broker.tokenFor({ tenant, accountId: 'acc-1' }));
    assert.ok(e instanceof GatewayError);
    assert.deepEqual([e.code, e.message, e.details], ['ATLASSIAN_TIMEOUT', "Atlassian's token service did not answer after 3 attempt(s).", { attempts: 3, site: tenant.baseUrl }]);
    assert.equal(endpoint.calls, 3);
    assert.deepEqual(grants, [{ tenant, accountId: 'acc-1', scopes: [], outcome: 'error', code: 'ATLASSIAN_TIMEOUT' }]);
  });

  test('a refusal that is not worth retrying is tried once and reaches the caller as it is', { timeout: 30_000 }, async () => {
    const { broker, endpoint, waits, grants, log } = brokerWith([json(400, { error: 'invalid_scope' }), ok(2)]);
    const e = await failure(broker.tokenFor({ tenant, accountId: 'acc-1' }));
    assert.ok(e instanceof GatewayError);
    assert.deepEqual([e.code, e.message, e.details], ['ATLASSIAN_ERROR', 'JWT-bearer token request: Atlassian refused the request (HTTP 400).', { status: 400, error: 'invalid_scope', reason: 'rejected', retryable: false }]);
    assert.deepEqual([endpoint.calls, waits, log.lines], [1, [], []]);
    assert.deepEqual(grants, [{ tenant, accountId: 'acc-1', scopes: [], outcome: 'error', code: 'ATLASSIAN_ERROR' }]);
    assert.equal(broker.stats.grantFailures, 1);
  });

  test('invalid_grant: the user cannot be acted for; the error names the account and the site, with Atlassian\'s reason', { timeout: 30_000 }, async () => {
    const { broker, endpoint, grants } = brokerWith([json(400, { error: 'invalid_grant', error_description: 'The user is not active' }), ok(2)]);
    const e = await failure(broker.tokenFor({ tenant, accountId: 'acc-1' }));
    assert.ok(e instanceof GatewayError);
    assert.equal(e.code, 'INVALID_GRANT');
    assert.equal(e.message, `Atlassian refused to issue a token for account acc-1 on ${tenant.baseUrl}: the user is unknown, inactive or cannot use the site.`);
    assert.deepEqual(e.details, { accountId: 'acc-1', site: tenant.baseUrl, status: 400, error: 'invalid_grant', description: 'The user is not active', reason: 'invalid_grant', retryable: false });
    assert.ok(isGatewayError(e.cause, 'INVALID_GRANT'));
    assert.equal(endpoint.calls, 1);
    assert.deepEqual(grants, [{ tenant, accountId: 'acc-1', scopes: [], outcome: 'error', code: 'INVALID_GRANT' }]);
  });

  test('a failure that is not a GatewayError (a broken setting) is not retried, and is reported as INTERNAL', { timeout: 30_000 }, async () => {
    const endpoints: AtlassianEndpoints = { ...productionEndpoints, impersonationAudience: '' };
    const { broker, endpoint, grants } = brokerWith([ok(1)], {}, { endpoints });
    const e = await failure(broker.tokenFor({ tenant, accountId: 'acc-1' }));
    assert.ok(e instanceof TypeError && !isGatewayError(e));
    assert.equal(e.message, 'createJwtBearerAssertion: authServerUrl is required');
    assert.equal(endpoint.calls, 0);
    assert.deepEqual(grants, [{ tenant, accountId: 'acc-1', scopes: [], outcome: 'error', code: 'INTERNAL' }]);
    assert.equal(broker.stats.grantFailures, 1);
  });

  test('an install whose shared secret is gone is refused before any call to Atlassian', { timeout: 30_000 }, async () => {
    const bare = await t.repos.tenants.upsert({ route: 'connect', appKey: 'app', tenantKey: 'client-bare', baseUrl: 'https://bare.atlassian.net/wiki', sharedSecret: null, oauthClientId: 'oc-bare' });
    const { broker, endpoint } = brokerWith([ok(1)]);
    const e = await failure(broker.tokenFor({ tenant: bare, accountId: 'acc-1' }));
    assert.ok(e instanceof GatewayError);
    assert.deepEqual([e.code, e.message], ['TENANT_UNINSTALLED', `No shared secret is stored for ${bare.baseUrl}; reinstall the app.`]);
    assert.equal(endpoint.calls, 0);
  });

  test('an onGrant hook that throws is logged and changes nothing: the grant stands, a failure stays the failure', { timeout: 30_000 }, async () => {
    const hookError = () => {
      throw new Error('metrics down');
    };
    const { broker, endpoint, log } = brokerWith([ok(1), json(400, { error: 'invalid_scope' })], {}, { onGrant: hookError });
    const token = await broker.tokenFor({ tenant, accountId: 'acc-1' });
    assert.equal(token.accessToken, 'at-1');
    // Cached like any other grant: the second call makes no new one.
    assert.equal((await broker.tokenFor({ tenant, accountId: 'acc-1' })).accessToken, 'at-1');
    assert.deepEqual({ calls: endpoint.calls, grants: broker.stats.grants, grantFailures: broker.stats.grantFailures, cached: broker.cacheSize }, { calls: 1, grants: 1, grantFailures: 0, cached: 1 });
    // On a failure the caller gets Atlassian's refusal, not the hook's error.
    const e = await failure(broker.tokenFor({ tenant, accountId: 'acc-2' }));
    assert.ok(isGatewayError(e, 'ATLASSIAN_ERROR'), String(e));
    assert.equal(e.details?.['error'], 'invalid_scope');
    assert.deepEqual({ calls: endpoint.calls, grants: broker.stats.grants, grantFailures: broker.stats.grantFailures }, { calls: 2, grants: 1, grantFailures: 1 });
    assert.deepEqual(log.lines.map((l) => [l['level'], l['msg'], (l['err'] as { message?: string } | undefined)?.message]), [
      ['warn', 'onGrant hook failed', 'metrics down'],
      ['warn', 'onGrant hook failed', 'metrics down'],
    ]);
    // Neither the token nor the shared secret reaches the log.
    for (const secret of [SECRET, 'at-1']) assert.ok(!log.raw.join('').includes(secret), secret);
  });

  test('the lookup hook hears a miss, then a hit', { timeout: 30_000 }, async () => {
    const lookups: boolean[] = [];
    const { broker } = brokerWith([ok(1)], {}, { onLookup: (hit) => lookups.push(hit) });
    await broker.tokenFor({ tenant, accountId: 'acc-1' });
    await broker.tokenFor({ tenant, accountId: 'acc-1' });
    assert.deepEqual(lookups, [false, true]);
  });

  test('the cache key keeps scope names apart: READ + WRITE is not the scope READWRITE', { timeout: 30_000 }, async () => {
    const { broker, endpoint } = brokerWith([ok(1), ok(2)]);
    assert.equal((await broker.tokenFor({ tenant, accountId: 'acc-1', scopes: ['READ', 'WRITE'] })).accessToken, 'at-1');
    assert.equal((await broker.tokenFor({ tenant, accountId: 'acc-1', scopes: ['READWRITE'] })).accessToken, 'at-2');
    assert.equal(new URLSearchParams(endpoint.bodies[1]).get('scope'), 'READWRITE');
  });
});

describe('connect token broker: the production sleep and random', () => {
  let t: TestStore;
  let tenant: Tenant;

  before(async () => {
    t = await openTestStore(testBackends()[0]!);
    tenant = await t.repos.tenants.upsert({ route: 'connect', appKey: 'app', tenantKey: 'client-1', baseUrl: 'https://acme.atlassian.net/wiki', sharedSecret: SECRET, oauthClientId: 'oc-1' });
  }, { timeout: 120_000 });
  after(() => t.close(), { timeout: 120_000 });

  const plainBroker = (script: Answer[], options: Partial<ConnectTokenBrokerOptions> = {}) => {
    const endpoint = scriptedEndpoint(script);
    const broker = createConnectTokenBroker(
      { repos: t.repos, endpoints: productionEndpoints, fetch: endpoint.fetch, clock: t.clock, logger: recordingLogger().logger },
      { refreshSkewMs: 60_000, cacheMaxEntries: 10, ...options },
    );
    return { broker, endpoint };
  };

  /** Lets promise callbacks and I/O callbacks run, up to `turns` event-loop turns or until `done()`. */
  async function turns(n: number, done: () => boolean = () => false): Promise<void> {
    for (let i = 0; i < n && !done(); i++) await new Promise<void>((r) => setImmediate(r));
  }

  test('without injected ones, a retry backs off with Math.random and a real timer', { timeout: 30_000 }, async () => {
    // A zero backoff ceiling: the real timer fires at once, and Math.random is still asked.
    const { broker, endpoint } = plainBroker([unavailable(), ok(2)], { retryBaseMs: 0, retryMaxMs: 0 });
    assert.equal((await broker.tokenFor({ tenant, accountId: 'acc-1' })).accessToken, 'at-2');
    assert.equal(endpoint.calls, 2);
  });

  test('the production sleep waits for its timer: no second try before the Retry-After has passed', { timeout: 30_000 }, async (tc) => {
    tc.mock.timers.enable({ apis: ['setTimeout'] });
    const { broker, endpoint } = plainBroker([unavailable({ 'retry-after': '1' }), ok(2)]);
    let settled = false;
    const pending = broker.tokenFor({ tenant, accountId: 'acc-2' }).finally(() => (settled = true));
    await turns(200, () => endpoint.calls === 1);
    assert.equal(endpoint.calls, 1, 'the first try was made');
    await turns(20);
    tc.mock.timers.tick(999);
    await turns(20);
    assert.deepEqual([endpoint.calls, settled], [1, false], 'still waiting 1 ms before the Retry-After');
    tc.mock.timers.tick(1);
    await turns(200, () => settled);
    assert.deepEqual([endpoint.calls, settled], [2, true], 'tried again once the timer fired');
    assert.equal((await pending).accessToken, 'at-2');
  });
});
