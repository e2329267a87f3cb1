import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ForgeInvocation } from '../atlassian/verify-forge-invocation-token.js';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../store/test-support/open-test-store.js';
import type { Tenant } from '../store/tenants-repo.js';
import { createForgeInstallations, systemTokenKey } from './forge-installation.js';

const APP = 'ari:cloud:ecosystem::app/8db33809-1f32-48bb-8c52-5877dab48107';
const HOUR = 3_600_000;

function invocation(cloudId: string, installation: string, ui: { siteUrl: string } | null = null): ForgeInvocation {
  const apiBaseUrl = `https://api.atlassian.com/ex/confluence/${cloudId}`;
  return {
    appId: APP,
    appVersion: '2.0.0',
    installationId: `ari:cloud:ecosystem::installation/${installation}`,
    apiBaseUrl,
    cloudId,
    environment: { type: 'PRODUCTION', id: 'ari:cloud:ecosystem::environment/x/y' },
    module: ui ? { type: 'confluence:globalPage', key: 'link-account' } : { type: 'core:endpoint', key: 'gateway-tick' },
    principal: ui ? '712020:alice' : null,
    context: ui ? { cloudId, siteUrl: ui.siteUrl, moduleKey: 'link-account', localId: 'l', extension: { type: 'confluence:globalPage' } } : null,
    jti: 'j',
    expiresAt: 0,
  };
}

for (const backend of testBackends()) {
  describe(`Forge installations as tenants: ${backend.name}`, () => {
    let t: TestStore;
    const gone: Tenant[] = [];
    const forge = () => createForgeInstallations({ repos: t.repos, clock: t.clock, onTenantGone: (x) => gone.push(x) });
    before(async () => {
      t = await openTestStore(backend);
    }, { timeout: 120_000 });
    after(() => t.close(), { timeout: 120_000 });

    test('the first invocation creates the tenant keyed by installationId; a UI call brings the site URL', { timeout: 180_000 }, async () => {
      const f = forge();
      const tenant = await f.seen(invocation('c0000000-0000-4000-8000-000000000001', 'i-1'), null);
      assert.deepEqual([tenant.route, tenant.appKey, tenant.tenantKey, tenant.cloudId, tenant.status], ['forge', APP, 'ari:cloud:ecosystem::installation/i-1', 'c0000000-0000-4000-8000-000000000001', 'active']);
      assert.equal(tenant.baseUrl, 'https://api.atlassian.com/ex/confluence/c0000000-0000-4000-8000-000000000001/wiki', 'until a UI call names the site');
      assert.deepEqual(tenant.payload?.['environment'], { type: 'PRODUCTION', id: 'ari:cloud:ecosystem::environment/x/y' });
      const again = await f.seen(invocation('c0000000-0000-4000-8000-000000000001', 'i-1', { siteUrl: 'https://acme.atlassian.net' }), null);
      assert.equal(again.id, tenant.id);
      assert.equal(again.baseUrl, 'https://acme.atlassian.net/wiki');
      const trigger = await f.seen(invocation('c0000000-0000-4000-8000-000000000001', 'i-1'), null);
      assert.equal(trigger.baseUrl, 'https://acme.atlassian.net/wiki', 'a trigger keeps the URL a UI call gave');
      const audit = await t.repos.audit.query({ action: 'tenant.installed', cloudId: 'c0000000-0000-4000-8000-000000000001' });
      assert.equal(audit.length, 1);
    });

    test('system tokens: sealed at rest, the longest-lived wins, expired ones are neither kept nor answered', { timeout: 180_000 }, async () => {
      const f = forge();
      const cloud = 'c0000000-0000-4000-8000-000000000002';
      const now = t.clock.now();
      const tenant = await f.seen(invocation(cloud, 'i-2'), { token: 'sys-token-3h', expiresAt: now + 3 * HOUR });
      assert.deepEqual(await f.systemToken(tenant), { token: 'sys-token-3h', expiresAt: now + 3 * HOUR });
      await f.seen(invocation(cloud, 'i-2'), { token: 'sys-token-2h', expiresAt: now + 2 * HOUR });
      assert.equal((await f.systemToken(tenant))?.token, 'sys-token-3h', 'an older token arriving late does not replace a fresher one');
      await f.seen(invocation(cloud, 'i-2'), { token: 'sys-token-4h', expiresAt: now + 4 * HOUR });
      assert.equal((await f.systemToken(tenant))?.token, 'sys-token-4h');
      await f.seen(invocation(cloud, 'i-2'), { token: 'sys-token-dead', expiresAt: now - 1 });
      assert.equal((await f.systemToken(tenant))?.token, 'sys-token-4h');
      const raw = await t.store.db.selectFrom('tokens').select('token').where('tenant_key', '=', tenant.tenantKey).execute();
      assert.equal(raw.length, 1);
      assert.ok(!raw[0]!.token.includes('sys-token-4h'), 'never stored in plaintext');
      t.clock.advance(4 * HOUR);
      assert.equal(await f.systemToken(tenant), null, 'an expired system token is not handed out');
    });

    test('a new installationId for a known site takes over: links move, the old tenant and its token go, audited', { timeout: 180_000 }, async () => {
      const f = forge();
      const cloud = 'c0000000-0000-4000-8000-000000000003';
      const old = await f.seen(invocation(cloud, 'i-old'), { token: 'old-sys', expiresAt: t.clock.now() + HOUR });
      const link = await t.repos.links.create({ externalUserId: 'fu-1', cloudId: cloud, accountId: 'acc-f1', route: 'forge', scopes: [], status: 'linked', evidence: {}, tenantId: old.id });
      // Another app on the same site and the same app on another site stay as they are.
      const otherSite = await f.seen(invocation('c0000000-0000-4000-8000-000000000004', 'i-elsewhere'), null);
      const fresh = await f.seen(invocation(cloud, 'i-new'), { token: 'new-sys', expiresAt: t.clock.now() + HOUR });
      assert.notEqual(fresh.id, old.id);
      assert.equal(await t.repos.tenants.get(old.id), undefined, 'the older installation is folded into the new one');
      assert.equal((await t.repos.links.get(link.id))?.tenantId, fresh.id, 'the link moved: the user stays linked');
      assert.equal(await t.repos.tokens.get(systemTokenKey(old)), undefined);
      assert.equal((await f.systemToken(fresh))?.token, 'new-sys');
      assert.ok(gone.some((g) => g.id === old.id));
      assert.ok(await t.repos.tenants.get(otherSite.id));
      const [entry] = await t.repos.audit.query({ action: 'tenant.superseded', cloudId: cloud });
      assert.deepEqual(entry?.data, { previousInstallationId: 'ari:cloud:ecosystem::installation/i-old', installationId: 'ari:cloud:ecosystem::installation/i-new', linksMoved: 1 });
    });
  });
}
