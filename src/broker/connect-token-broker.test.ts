import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { productionEndpoints } from '../atlassian/endpoints.js';
import { isGatewayError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { Tenant } from '../store/tenants-repo.js';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../store/test-support/open-test-store.js';
import { createConnectTokenBroker, type ConnectTokenBroker } from './connect-token-broker.js';

/**
 * The broker's cache rules on their own: what a purge or an invalidation does to grants in flight and to
 * clients that keep the token they were given. The token endpoint is a scripted fetch whose answers a test
 * can hold back, so "a grant in flight" is a state the test controls, not a race it hopes for.
 */
function scriptedTokenEndpoint() {
  let issued = 0;
  let hold: Promise<void> | null = null;
  const calls: string[] = [];
  const fetch = (async (input: string | URL | Request) => {
    calls.push(String(input instanceof Request ? input.url : input));
    const n = ++issued;
    if (hold) await hold;
    return new Response(JSON.stringify({ access_token: `at-${n}`, expires_in: 900, token_type: 'bearer' }), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;
  return {
    fetch,
    calls,
    /** Holds every answer until the returned function is called. */
    holdAnswers(): () => void {
      let release!: () => void;
      hold = new Promise<void>((r) => (release = r));
      return () => {
        hold = null;
        release();
      };
    },
  };
}

/** Lets pending promise callbacks run (the grant reaches the held fetch). */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('connect token broker: purges and invalidation', { timeout: 30_000 }, () => {
  let t: TestStore;
  let tenant: Tenant;
  let other: Tenant;
  let endpoint: ReturnType<typeof scriptedTokenEndpoint>;
  let broker: ConnectTokenBroker;

  before(async () => {
    t = await openTestStore(testBackends()[0]!);
    tenant = await t.repos.tenants.upsert({ route: 'connect', appKey: 'app', tenantKey: 'client-1', baseUrl: 'https://acme.atlassian.net/wiki', sharedSecret: 'shared-secret-1', oauthClientId: 'oc-1' });
    other = await t.repos.tenants.upsert({ route: 'connect', appKey: 'app', tenantKey: 'client-2', baseUrl: 'https://beta.atlassian.net/wiki', sharedSecret: 'shared-secret-2', oauthClientId: 'oc-2' });
  }, { timeout: 120_000 });
  after(() => t.close(), { timeout: 120_000 });

  const fresh = () => {
    endpoint = scriptedTokenEndpoint();
    broker = createConnectTokenBroker({ repos: t.repos, endpoints: productionEndpoints, fetch: endpoint.fetch, clock: t.clock, logger: silentLogger() }, { refreshSkewMs: 60_000, cacheMaxEntries: 100 });
  };

  test('a grant in flight while its tenant is purged answers its caller but does not refill the cache', async () => {
    fresh();
    const release = endpoint.holdAnswers();
    const inFlight = broker.tokenFor({ tenant, accountId: 'acc-1' });
    await settle();
    assert.equal(endpoint.calls.length, 1, 'the grant is on its way');
    broker.purgeTenant(tenant);
    release();
    assert.equal((await inFlight).accessToken, 'at-1');
    assert.equal(broker.cacheSize, 0, 'the purged tenant has nothing cached');
    assert.equal((await broker.tokenFor({ tenant, accountId: 'acc-1' })).accessToken, 'at-2', 'the next call grants again');
    assert.equal(broker.stats.grants, 2);
  });

  test("a grant in flight while its account is purged answers its caller but does not refill the cache", async () => {
    fresh();
    const release = endpoint.holdAnswers();
    const inFlight = broker.tokenFor({ tenant, accountId: 'acc-1' });
    await settle();
    assert.equal(endpoint.calls.length, 1, 'the grant is on its way');
    broker.purgeAccount('acc-1');
    release();
    assert.equal((await inFlight).accessToken, 'at-1');
    assert.equal(broker.cacheSize, 0, 'the purged account has nothing cached');
    assert.equal((await broker.tokenFor({ tenant, accountId: 'acc-1' })).accessToken, 'at-2', 'the next call grants again');
  });

  test("a purge of another account does not stop a grant from being cached", async () => {
    fresh();
    const release = endpoint.holdAnswers();
    const inFlight = broker.tokenFor({ tenant, accountId: 'acc-1' });
    await settle();
    broker.purgeAccount('acc-2');
    release();
    await inFlight;
    assert.equal(broker.cacheSize, 1);
    assert.equal((await broker.tokenFor({ tenant, accountId: 'acc-1' })).accessToken, 'at-1', 'answered from the cache');
  });

  test("a purge of another tenant does not stop a grant from being cached", async () => {
    fresh();
    const release = endpoint.holdAnswers();
    const inFlight = broker.tokenFor({ tenant, accountId: 'acc-1' });
    await settle();
    broker.purgeTenant(other);
    release();
    await inFlight;
    assert.equal(broker.cacheSize, 1);
    assert.equal((await broker.tokenFor({ tenant, accountId: 'acc-1' })).accessToken, 'at-1', 'answered from the cache');
    assert.equal(endpoint.calls.length, 1);
  });

  test('every drop of cached tokens moves the version, so clients holding a token stop reusing it', async () => {
    fresh();
    const req = { tenant, accountId: 'acc-1' };
    const token = await broker.tokenFor(req);
    let v = broker.version;
    broker.invalidate(req, token.accessToken);
    assert.ok(broker.version > v, 'invalidate');
    assert.equal(broker.cacheSize, 0);
    v = broker.version;
    broker.invalidate(req);
    assert.ok(broker.version > v, 'invalidate of a token no longer cached still moves it (a client may hold it)');
    await broker.tokenFor(req);
    v = broker.version;
    assert.equal(broker.purgeAccount('acc-1'), 1);
    assert.ok(broker.version > v, 'purgeAccount');
    await broker.tokenFor(req);
    v = broker.version;
    assert.equal(broker.purgeTenant(tenant), 1);
    assert.ok(broker.version > v, 'purgeTenant');
    v = broker.version;
    await broker.tokenFor(req);
    await broker.tokenFor(req);
    assert.equal(broker.version, v, 'minting and cache hits do not move it');
  });

  test('invalidate drops only the token that failed, not a fresher one put in its place', async () => {
    fresh();
    const req = { tenant, accountId: 'acc-1' };
    const stale = await broker.tokenFor(req);
    broker.invalidate(req, stale.accessToken);
    const fresher = await broker.tokenFor(req);
    broker.invalidate(req, stale.accessToken);
    assert.equal((await broker.tokenFor(req)).accessToken, fresher.accessToken);
    assert.equal(endpoint.calls.length, 2);
  });

  test('purges are scoped: an account on every site, a tenant with all its accounts, nothing else', async () => {
    fresh();
    await broker.tokenFor({ tenant, accountId: 'acc-1' });
    await broker.tokenFor({ tenant, accountId: 'acc-2' });
    await broker.tokenFor({ tenant: other, accountId: 'acc-1' });
    await broker.tokenFor({ tenant: other, accountId: 'acc-3' });
    assert.equal(broker.purgeAccount('acc-1'), 2);
    assert.equal(broker.cacheSize, 2);
    assert.equal(broker.purgeTenant(other), 1);
    assert.equal(broker.cacheSize, 1);
    assert.equal((await broker.tokenFor({ tenant, accountId: 'acc-2' })).accessToken, 'at-2', 'the untouched token is still cached');
  });

  test('concurrent cold calls for one key share one grant', async () => {
    fresh();
    const release = endpoint.holdAnswers();
    const all = Array.from({ length: 20 }, () => broker.tokenFor({ tenant, accountId: 'acc-1' }));
    await settle();
    release();
    const tokens = await Promise.all(all);
    assert.deepEqual(new Set(tokens.map((x) => x.accessToken)), new Set(['at-1']));
    assert.equal(endpoint.calls.length, 1);
    assert.deepEqual({ grants: broker.stats.grants, misses: broker.stats.misses, hits: broker.stats.hits }, { grants: 1, misses: 20, hits: 0 });
  });

  test('a purge leaves the next grant cacheable again (for the tenant and for the account)', async () => {
    fresh();
    const req = { tenant, accountId: 'acc-1' };
    await broker.tokenFor(req);
    broker.purgeTenant(tenant);
    const again = await broker.tokenFor(req);
    assert.equal((await broker.tokenFor(req)).accessToken, again.accessToken, 'cached after a tenant purge');
    broker.purgeAccount('acc-1');
    const third = await broker.tokenFor(req);
    assert.equal((await broker.tokenFor(req)).accessToken, third.accessToken, 'cached after an account purge');
    assert.equal(endpoint.calls.length, 3);
    assert.deepEqual({ hits: broker.stats.hits, misses: broker.stats.misses }, { hits: 2, misses: 3 });
  });

  test('what a grant hands out: a Bearer token for the site, on the connect route, with its scopes', async () => {
    fresh();
    const token = await broker.tokenFor({ tenant, accountId: 'acc-1', scopes: ['WRITE', 'READ'] });
    assert.deepEqual({ ...token, expiresAt: undefined, scopes: [...token.scopes].sort() }, { accessToken: 'at-1', tokenType: 'Bearer', expiresAt: undefined, apiBaseUrl: tenant.baseUrl, route: 'connect', scopes: ['READ', 'WRITE'] });
  });

  test('the cache key: scopes in any order are one key; another oauthClientId (a reinstall) is another', async () => {
    fresh();
    await broker.tokenFor({ tenant, accountId: 'acc-1', scopes: ['WRITE', 'READ'] });
    await broker.tokenFor({ tenant, accountId: 'acc-1', scopes: ['READ', 'WRITE'] });
    assert.equal(endpoint.calls.length, 1);
    await broker.tokenFor({ tenant: { ...tenant, oauthClientId: 'oc-new' }, accountId: 'acc-1', scopes: ['READ', 'WRITE'] });
    assert.equal(endpoint.calls.length, 2);
  });

  test('invalidate without a token drops whatever is cached for the key', async () => {
    fresh();
    const req = { tenant, accountId: 'acc-1' };
    await broker.tokenFor(req);
    broker.invalidate(req);
    assert.equal(broker.cacheSize, 0);
  });

  test('refused before any grant: a malformed account id, a tenant of another route, not active, or without oauthClientId', async () => {
    fresh();
    for (const accountId of ['acc 1', 'acc-1!', '!acc-1', '', 'a'.repeat(129)]) {
      await assert.rejects(broker.tokenFor({ tenant, accountId }), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED'), JSON.stringify(accountId));
    }
    await assert.rejects(broker.tokenFor({ tenant, accountId: 'acc 1' }), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED') && e.message === 'accountId must be an Atlassian account ID (letters, digits, ":", "_", "-").' && e.details?.['field'] === 'accountId');
    await assert.rejects(broker.tokenFor({ tenant: { ...tenant, route: 'oauth' }, accountId: 'acc-1' }), (e: unknown) => isGatewayError(e, 'BAD_REQUEST') && e.message === `Tenant ${tenant.id} is not a Connect installation.`);
    await assert.rejects(
      broker.tokenFor({ tenant: { ...tenant, status: 'disabled' }, accountId: 'acc-1' }),
      (e: unknown) => isGatewayError(e, 'TENANT_UNINSTALLED') && e.message === `The app is disabled on ${tenant.baseUrl}; it cannot act for its users until it is installed and enabled again.` && JSON.stringify(e.details) === JSON.stringify({ status: 'disabled', site: tenant.baseUrl }),
    );
    await assert.rejects(
      broker.tokenFor({ tenant: { ...tenant, oauthClientId: null }, accountId: 'acc-1' }),
      (e: unknown) => isGatewayError(e, 'POLICY_REFUSED') && e.message === `The install on ${tenant.baseUrl} has no oauthClientId: the app must declare the ACT_AS_USER scope and be reinstalled.` && e.details?.['site'] === tenant.baseUrl,
    );
    assert.equal(endpoint.calls.length, 0);
  });

  test('a cached token within refreshSkewMs of its expiry is not handed out: a fresh one is granted', async () => {
    fresh();
    const req = { tenant, accountId: 'acc-1' };
    await broker.tokenFor(req);
    // Tokens live 900 s and are refreshed 60 s before: 840 s on, the cached one is due.
    t.clock.advance(840_000);
    assert.equal((await broker.tokenFor(req)).accessToken, 'at-2');
    assert.equal(endpoint.calls.length, 2);
  });

  test('different scope sets are different tokens', async () => {
    fresh();
    assert.equal((await broker.tokenFor({ tenant, accountId: 'acc-1', scopes: ['READ'] })).accessToken, 'at-1');
    assert.equal((await broker.tokenFor({ tenant, accountId: 'acc-1', scopes: ['READ', 'WRITE'] })).accessToken, 'at-2');
    assert.equal((await broker.tokenFor({ tenant, accountId: 'acc-1', scopes: ['WRITE'] })).accessToken, 'at-3');
  });
});
