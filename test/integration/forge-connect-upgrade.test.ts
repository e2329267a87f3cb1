import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { exampleForgeManifest, EXAMPLE_APP_ID } from '../../src/sandbox/forge/example-manifest.js';
import { findTenant } from '../../src/tenants/find-tenant.js';
import { startBrowserWorld } from '../browser/support/browser-world.js';

/**
 * Connect-on-Forge (§10.8) over real HTTP: the sandbox and the gateway on loopback sockets; a site's Connect
 * install of the gateway is upgraded to the Forge version (the Connect `installed` callback carries the
 * Forge installationId, then Forge invokes the remote). The site's links move to the Forge route with an
 * audit entry, none lost, none asked to consent again, and acting then goes through offline user tokens.
 */
describe('a Connect install upgraded to the Forge version keeps its links, now on the Forge route', { timeout: 180_000 }, () => {
  test('consented links become route forge, admin-mapped ones act through Forge, a revoked one stays revoked', async (t) => {
    const w = await startBrowserWorld({ env: { ONBEHALF_FORGE_APP_ID: EXAMPLE_APP_ID } });
    t.after(() => w.close());
    const repos = w.gateway.repos;
    const connect = await findTenant(repos, 'acme');
    assert.equal(connect.route, 'connect');
    const cloudId = w.site.cloudId;
    const base = { cloudId, scopes: [], evidence: { via: 'connect consent page' }, tenantId: connect.id };
    const bob = await repos.links.create({ ...base, externalUserId: 'u-bob', accountId: DEFAULT_ACCOUNTS.bob, route: 'connect', status: 'linked' });
    const carol = await repos.links.create({ ...base, externalUserId: 'u-carol', accountId: DEFAULT_ACCOUNTS.carol, route: 'admin', status: 'linked', evidence: { mappedBy: 'admin' } });
    const gone = await repos.links.create({ ...base, externalUserId: 'u-dave', accountId: DEFAULT_ACCOUNTS.dave, route: 'connect', status: 'revoked' });
    await repos.policies.set(cloudId, { acting: 'admin_mapped' }, null);

    // Before: Bob acts through Connect impersonation (a JWT-bearer grant), not Forge.
    const before = await w.api<{ route: string }>('POST', '/v1/tokens', { externalUserId: 'u-bob', site: 'acme' });
    assert.deepEqual([before.status, before.body.route], [200, 'connect']);

    // The admin upgrades the Connect app to its Forge version; its Connect lifecycle paths are the gateway's.
    const appKey = w.gateway.config.connect.appKey;
    const manifest = exampleForgeManifest({ baseUrl: w.gatewayUrl, connectKey: appKey }).replace('/connect/installed', '/installed').replace('/connect/uninstalled', '/uninstalled');
    const upgraded = await w.sandbox.sandbox.forge.upgradeConnectToForge('acme', appKey, { manifest });
    assert.ok(upgraded.ok, JSON.stringify(upgraded));
    await w.sandbox.sandbox.forge.deliveries.flush();
    await w.gateway.background.drain();
    const installationId = upgraded.value.installationId;
    const forge = await repos.tenants.find('forge', EXAMPLE_APP_ID, installationId);
    assert.ok(forge, 'the Forge invocation recorded the installation');
    assert.equal((await repos.tenants.get(connect.id))?.payload?.['installationId'], installationId, 'the Connect install knows its Forge installation');

    const after = await Promise.all([bob, carol, gone].map(async (l) => (await repos.links.get(l.id))!));
    assert.deepEqual(
      after.map((l) => [l.externalUserId, l.route, l.status, l.tenantId]),
      [
        ['u-bob', 'forge', 'linked', forge.id],
        ['u-carol', 'admin', 'linked', forge.id],
        ['u-dave', 'forge', 'revoked', forge.id],
      ],
    );
    assert.deepEqual(after[0]!.evidence, bob.evidence, 'the consent stands: no new one asked');
    const audit = await repos.audit.query({ action: 'links.moved_to_forge', cloudId });
    assert.equal(audit.length, 1);
    assert.deepEqual(audit[0]!.data, { clientKey: connect.tenantKey, installationId, linksMoved: 2, adminLinksMoved: 1 });

    // After: Bob (consented) and Carol (admin-mapped) act through offline user tokens at the Forge apiBaseUrl.
    const grants = () => w.sandbox.sandbox.control.counters.total('offline_token_grant');
    for (const [user, accountId] of [['u-bob', DEFAULT_ACCOUNTS.bob], ['u-carol', DEFAULT_ACCOUNTS.carol]] as const) {
      const tok = await w.api<{ route: string; accessToken: string; apiBaseUrl: string }>('POST', '/v1/tokens', { externalUserId: user, site: 'acme' });
      assert.deepEqual([tok.status, tok.body.route], [200, 'forge'], JSON.stringify(tok.body));
      const me = await fetch(`${tok.body.apiBaseUrl}/rest/api/user/current`, { headers: { authorization: `Bearer ${tok.body.accessToken}` } });
      assert.equal(((await me.json()) as { accountId: string }).accountId, accountId);
    }
    assert.equal(grants(), 2);
    const proxied = await fetch(`${w.gatewayUrl}/v1/act/u-bob/acme/rest/api/user/current`, { headers: { authorization: `Bearer ${w.apiKey}` } });
    assert.equal(proxied.status, 200);
    assert.equal(((await proxied.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.bob);
    assert.equal(grants(), 2, 'the proxy reused the cached offline token');
    assert.equal((await w.api('POST', '/v1/tokens', { externalUserId: 'u-dave', site: 'acme' })).status, 404, 'a revoked link stays revoked');

    // A link made on the Connect page after the upgrade (route connect) acts through Forge as well.
    await repos.links.create({ ...base, externalUserId: 'u-grace', accountId: DEFAULT_ACCOUNTS.grace, route: 'connect', status: 'linked' });
    const late = await w.api<{ route: string }>('POST', '/v1/tokens', { externalUserId: 'u-grace', site: 'acme' });
    assert.deepEqual([late.status, late.body.route], [200, 'forge'], JSON.stringify(late.body));

    // Later invocations (the hourly trigger) move nothing again.
    const tick = await w.sandbox.sandbox.forge.runScheduledTrigger(upgraded.value, 'token-keepalive');
    assert.ok(tick.ok && tick.value.outcome === 'delivered');
    await w.gateway.background.drain();
    assert.equal((await repos.audit.query({ action: 'links.moved_to_forge', cloudId })).length, 1);
  });
});
