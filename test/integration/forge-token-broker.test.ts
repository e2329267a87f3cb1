import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startForgeWorld, type ForgeWorld } from '../../src/sandbox/testing/forge-test-kit.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { createForgeTokenVerifier } from '../../src/atlassian/verify-forge-invocation-token.js';
import { forgeAppTokenExpiry } from '../../src/atlassian/forge-app-token.js';
import { createForgeInstallations } from '../../src/tenants/forge-installation.js';
import { createForgeTokenBroker } from '../../src/broker/forge-token-broker.js';
import { createForgeRateLimiter } from '../../src/broker/forge-rate-limiter.js';
import { testBackends } from '../../src/store/test-support/backends.js';
import { openTestStore } from '../../src/store/test-support/open-test-store.js';
import { GatewayError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';

/**
 * The gateway's Forge pieces end to end against the sandbox over real HTTP: a verified invocation records
 * the installation and its system token; the broker exchanges it for offline user tokens.
 */
describe('Forge token broker against the sandbox', { timeout: 180_000 }, () => {
  async function setup(t: { after(fn: () => Promise<void>): void }, limiterPerMinute = 1000) {
    const w: ForgeWorld = await startForgeWorld();
    const store = await openTestStore(testBackends()[0]!);
    t.after(async () => {
      await store.close();
      await w.close();
    });
    const info = await w.install();
    const clock = { now: () => w.sb.sandbox.clock.now() };
    const verifier = createForgeTokenVerifier({ appId: info.appId, jwksUrl: w.sb.sandbox.control.discovery().endpoints.forgeJwks, fetch: (u, i) => fetch(u, i), clock });
    const installations = createForgeInstallations({ repos: store.repos, clock });
    const received = w.remote.received.find((r) => r.path === '/forge/lifecycle')!;
    const invocation = await verifier.verify(received.headers['authorization']);
    const system = received.headers['x-forge-oauth-system']!;
    const tenant = await installations.seen(invocation, { token: system, expiresAt: forgeAppTokenExpiry(system, clock) });
    const rejected: string[] = [];
    const broker = createForgeTokenBroker(
      {
        installations,
        graphqlUrl: w.sb.sandbox.control.discovery().endpoints.graphql,
        fetch: (u, i) => fetch(u, i),
        clock,
        logger: silentLogger(),
        limiter: createForgeRateLimiter({ perMinute: limiterPerMinute, maxWaitMs: 0, clock }),
        sleep: async () => {},
        onSystemTokenRejected: (x) => void rejected.push(x.id),
      },
      { refreshSkewMs: 60_000, cacheMaxEntries: 1000 },
    );
    const grants = async () => ((await (await fetch(`${w.sb.url}/_sandbox/counters?kind=offline_token_grant`)).json()) as { totals: Record<string, number> }).totals['offline_token_grant'] ?? 0;
    return { w, info, tenant, broker, installations, grants, rejected, store };
  }
  const code = (c: string) => (e: unknown) => e instanceof GatewayError && e.code === c;

  test('a cold burst of 5 users x 40 calls costs 5 exchanges; the tokens act as their users at apiBaseUrl', async (t) => {
    const s = await setup(t);
    const users = [DEFAULT_ACCOUNTS.alice, DEFAULT_ACCOUNTS.bob, DEFAULT_ACCOUNTS.carol, DEFAULT_ACCOUNTS.dave, DEFAULT_ACCOUNTS.grace];
    const calls = users.flatMap((u) => Array.from({ length: 40 }, () => s.broker.tokenFor({ tenant: s.tenant, accountId: u, scopes: ['read:page:confluence'] })));
    const tokens = await Promise.all(calls);
    assert.equal(await s.grants(), 5);
    assert.equal(new Set(tokens.map((x) => x.accessToken)).size, 5);
    const bob = tokens[40]!;
    assert.equal(bob.apiBaseUrl, `${s.info.apiBaseUrl}/wiki`);
    const me = await fetch(`${bob.apiBaseUrl}/rest/api/user/current`, { headers: { authorization: `Bearer ${bob.accessToken}` } });
    assert.equal(((await me.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.bob);
    await s.broker.tokenFor({ tenant: s.tenant, accountId: DEFAULT_ACCOUNTS.bob, scopes: ['read:page:confluence'] });
    assert.equal(await s.grants(), 5, 'warm: from the cache');
  });

  test('the other context form is tried once on "wrong contextIds" and remembered; refusals and a missing system token are clear errors', async (t) => {
    const s = await setup(t);
    await fetch(`${s.w.sb.url}/_sandbox/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ forgeContextIdForm: 'site' }) });
    await s.broker.tokenFor({ tenant: s.tenant, accountId: DEFAULT_ACCOUNTS.alice });
    await s.broker.tokenFor({ tenant: s.tenant, accountId: DEFAULT_ACCOUNTS.bob });
    const refused = ((await (await fetch(`${s.w.sb.url}/_sandbox/counters?kind=offline_token_refused`)).json()) as { totals: Record<string, number> }).totals['offline_token_refused'];
    assert.equal(refused, 1, 'only the first exchange tried the workspace form');
    assert.equal(await s.grants(), 2);
    await s.w.sb.sandbox.control.updateUser(DEFAULT_ACCOUNTS.carol, { accountStatus: 'inactive' });
    await assert.rejects(s.broker.tokenFor({ tenant: s.tenant, accountId: DEFAULT_ACCOUNTS.carol }), (e: unknown) => code('IMPERSONATION_REFUSED')(e) && (e as GatewayError).details?.['reason'] === 'user_inactive');
    await assert.rejects(s.broker.tokenFor({ tenant: s.tenant, accountId: DEFAULT_ACCOUNTS.bot }), code('IMPERSONATION_REFUSED'));
    // Forge stops accepting the stored system token: a clear error, and the installation is reported.
    await s.w.post(`/_sandbox/sites/acme/forge-apps/${encodeURIComponent(s.info.appId)}/tokens/expire`, { which: 'system' });
    await assert.rejects(s.broker.tokenFor({ tenant: s.tenant, accountId: DEFAULT_ACCOUNTS.dave }), (e: unknown) => code('FORGE_TOKEN_UNAVAILABLE')(e) && /uninstalled/.test((e as Error).message));
    assert.deepEqual(s.rejected, [s.tenant.id]);
    // No token stored at all (time passed its expiry): says what to do, sends nothing.
    const before = await s.grants();
    await s.w.post('/_sandbox/clock/advance', { ms: 5 * 3_600_000 });
    await assert.rejects(s.broker.tokenFor({ tenant: s.tenant, accountId: DEFAULT_ACCOUNTS.grace }), (e: unknown) => code('FORGE_TOKEN_UNAVAILABLE')(e) && /hourly scheduled trigger/.test((e as Error).message));
    assert.equal(await s.grants(), before);
  });

  test('the per-app budget: over it the call is refused with RATE_LIMITED and never sent', async (t) => {
    const s = await setup(t, 3);
    for (const u of [DEFAULT_ACCOUNTS.alice, DEFAULT_ACCOUNTS.bob, DEFAULT_ACCOUNTS.carol]) await s.broker.tokenFor({ tenant: s.tenant, accountId: u });
    await assert.rejects(s.broker.tokenFor({ tenant: s.tenant, accountId: DEFAULT_ACCOUNTS.dave }), (e: unknown) => code('RATE_LIMITED')(e) && typeof (e as GatewayError).details?.['retryAfterMs'] === 'number');
    assert.equal(await s.grants(), 3, 'the fourth exchange never reached Forge');
    await s.broker.tokenFor({ tenant: s.tenant, accountId: DEFAULT_ACCOUNTS.alice });
    assert.equal(await s.grants(), 3, 'cached tokens do not spend the budget');
  });
});
