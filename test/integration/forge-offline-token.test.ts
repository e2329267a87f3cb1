import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startForgeWorld, type ForgeWorld } from '../../src/sandbox/testing/forge-test-kit.js';
import { offlineUserAuthTokenRequest, processOfflineUserAuthTokenResponse, type ContextIdForm } from '../../src/atlassian/offline-user-auth-token.js';
import { GatewayError } from '../../src/errors.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';

/** The gateway's offline-token request/process pair against the sandbox's GraphQL endpoint over real HTTP. */
describe("the gateway's offlineUserAuthToken exchange against the sandbox", { timeout: 120_000 }, () => {
  const setup = async (w: ForgeWorld) => {
    const info = await w.install();
    const system = w.remote.received.find((r) => r.path === '/forge/lifecycle')!.headers['x-forge-oauth-system']!;
    const clock = { now: () => w.sb.sandbox.clock.now() };
    const exchange = async (accountId: string, form: ContextIdForm = 'workspace', token = system) =>
      processOfflineUserAuthTokenResponse(
        await offlineUserAuthTokenRequest({ graphqlUrl: w.sb.sandbox.control.discovery().endpoints.graphql, systemToken: token, cloudId: info.cloudId, accountId, contextIdForm: form, fetch: (u, i) => fetch(u, i) }),
        clock,
      );
    return { info, exchange, clock };
  };
  const code = (code: string, reason?: string) => (e: unknown) => e instanceof GatewayError && e.code === code && (reason === undefined || e.details?.['reason'] === reason);

  test('a token for the user, both context forms; each refusal becomes IMPERSONATION_REFUSED with its reason', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const s = await setup(w);
    const tok = await s.exchange(DEFAULT_ACCOUNTS.bob);
    assert.equal(tok.ttlSeconds, 3600);
    assert.ok(Math.abs(tok.expiresAt - (s.clock.now() + 3600_000)) < 5_000, 'expiresAt is now + ttl');
    const me = await fetch(`${s.info.apiBaseUrl}/wiki/rest/api/user/current`, { headers: { authorization: `Bearer ${tok.token}` } });
    assert.equal(((await me.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.bob);
    assert.ok(await s.exchange(DEFAULT_ACCOUNTS.bob, 'site'));
    await fetch(`${w.sb.url}/_sandbox/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ forgeContextIdForm: 'site' }) });
    await assert.rejects(s.exchange(DEFAULT_ACCOUNTS.bob, 'workspace'), code('IMPERSONATION_REFUSED', 'context_mismatch'));
    await w.sb.sandbox.control.updateUser(DEFAULT_ACCOUNTS.carol, { accountStatus: 'inactive' });
    await assert.rejects(s.exchange(DEFAULT_ACCOUNTS.carol, 'site'), code('IMPERSONATION_REFUSED', 'user_inactive'));
    await assert.rejects(s.exchange(DEFAULT_ACCOUNTS.frank, 'site'), code('IMPERSONATION_REFUSED', 'no_app_access'));
    await assert.rejects(s.exchange(DEFAULT_ACCOUNTS.bot, 'site'), code('IMPERSONATION_REFUSED', 'service_account'));
    await assert.rejects(s.exchange(DEFAULT_ACCOUNTS.bob, 'site', 'expired-or-made-up'), code('ATLASSIAN_ERROR', 'unauthorized'));
    await fetch(`${w.sb.url}/_sandbox/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ forgeOfflineTokenLimitPerMinute: 0 }) });
    await assert.rejects(s.exchange(DEFAULT_ACCOUNTS.bob, 'site'), (e: unknown) => code('ATLASSIAN_UNAVAILABLE', 'rate_limited')(e) && typeof (e as GatewayError).details?.['retryAfterMs'] === 'number');
  });

  test('an app without allowImpersonation scopes is refused with that reason', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const info = await w.install({ scopes: { 'read:app-system-token': false, 'read:page:confluence': false } });
    const system = w.remote.received.find((r) => r.path === '/forge/lifecycle')!.headers['x-forge-oauth-system']!;
    const res = await offlineUserAuthTokenRequest({ graphqlUrl: `${w.sb.url}/graphql`, systemToken: system, cloudId: info.cloudId, accountId: DEFAULT_ACCOUNTS.bob, contextIdForm: 'workspace', fetch: (u, i) => fetch(u, i) });
    await assert.rejects(processOfflineUserAuthTokenResponse(res, { now: () => w.sb.sandbox.clock.now() }), code('IMPERSONATION_REFUSED', 'no_impersonation_scope'));
  });
});
