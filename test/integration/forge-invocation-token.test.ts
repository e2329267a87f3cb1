import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startForgeWorld } from '../../src/sandbox/testing/forge-test-kit.js';
import { createForgeTokenVerifier } from '../../src/atlassian/verify-forge-invocation-token.js';
import { GatewayError } from '../../src/errors.js';

/**
 * The gateway's FIT verifier against the sandbox's Forge over real HTTP: two independent implementations
 * (src/atlassian and src/sandbox share no code) agree on what a valid FIT is.
 */
describe("the gateway's Forge Invocation Token verifier against the sandbox", { timeout: 120_000 }, () => {
  test('accepts what the sandbox signs, follows a key rotation, refuses after expiry and for another app', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const info = await w.install();
    const clock = { now: () => w.sb.sandbox.clock.now() };
    const jwksUrl = w.sb.sandbox.control.discovery().endpoints.forgeJwks;
    const verifier = createForgeTokenVerifier({ appId: info.appId, jwksUrl, fetch: (u, i) => fetch(u, i), clock, refetchCooldownMs: 0 });
    const lifecycle = w.remote.received.find((r) => r.path === '/forge/lifecycle')!;
    const inv = await verifier.verify(lifecycle.headers['authorization']);
    assert.deepEqual([inv.installationId, inv.cloudId, inv.apiBaseUrl, inv.principal, inv.module.key], [info.installationId, info.cloudId, info.apiBaseUrl, null, 'gateway-lifecycle']);

    await w.post('/_sandbox/forge/keys/rotate');
    await w.post(`/_sandbox/sites/acme/forge-apps/${encodeURIComponent(info.appId)}/scheduled-triggers/token-keepalive/run`);
    const tick = w.remote.received.find((r) => r.path === '/forge/tick')!;
    assert.equal((await verifier.verify(tick.headers['authorization'])).module.key, 'gateway-tick');

    const other = createForgeTokenVerifier({ appId: 'ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000000', jwksUrl, fetch: (u, i) => fetch(u, i), clock });
    await assert.rejects(other.verify(tick.headers['authorization']), (e: unknown) => e instanceof GatewayError && e.code === 'FORGE_TOKEN_INVALID' && e.details?.['reason'] === 'claim_aud');
    await w.post('/_sandbox/clock/advance', { ms: 60_000 });
    await assert.rejects(verifier.verify(tick.headers['authorization']), (e: unknown) => e instanceof GatewayError && e.details?.['reason'] === 'expired');
  });
});
