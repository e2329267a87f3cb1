import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isGatewayError } from '../errors.js';
import type { ActingMode } from '../store/policies-repo.js';
import type { LinkRoute, TenantRoute } from '../store/schema.js';
import type { Tenant, TenantInstall } from '../store/tenants-repo.js';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../store/test-support/open-test-store.js';
import { resolveActing, type ActingDeps, type ActingRequest, type ActingTarget } from './acting.js';
import { refusal } from './test-support/refusal.js';

const APP = 'com.example.onbehalf';
const FORGE_APP = 'ari:cloud:ecosystem::app/0b1e0000-0000-4000-8000-000000000001';
const OTHER_FORGE_APP = 'ari:cloud:ecosystem::app/0b1e0000-0000-4000-8000-000000000002';
const OAUTH_CLIENT = 'oauth-client-1';

/**
 * Which installation the gateway acts through, by which route: Connect impersonation, the user's own 3LO
 * grant, or Forge offline user tokens. Each case is a site of its own on a real SQLite store, with the
 * installs a real site can have (Connect, the Connect app upgraded to Forge, Forge only, a 3LO record,
 * another app's installs, disabled ones), and checks the tenant acted through, the route and the scopes.
 */
describe('resolveActing: the route and the installation acted through', () => {
  let t: TestStore;
  let n = 0;
  before(async () => {
    t = await openTestStore(testBackends()[0]!);
  }, { timeout: 120_000 });
  after(() => t.close(), { timeout: 120_000 });

  const deps = (over: Partial<ActingDeps> = {}): ActingDeps => ({ repos: t.repos, appKey: APP, oauthClientId: OAUTH_CLIENT, forgeAppId: FORGE_APP, ...over });

  /** A fresh site: its cloud id, and a way to install on it (each install later than the one before). */
  function newSite(acting: ActingMode = 'linked_only') {
    n++;
    const cloudId = `a1c0e000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    const baseUrl = `https://site${n}.atlassian.net/wiki`;
    let users = 0;
    const site = {
      cloudId,
      baseUrl,
      async install(route: TenantRoute, appKey: string, tenantKey: string, extra: Partial<TenantInstall> = {}): Promise<Tenant> {
        t.clock.advance(1000);
        return t.repos.tenants.upsert({ route, appKey, tenantKey, cloudId, baseUrl, ...(route === 'connect' ? { sharedSecret: 's' } : {}), ...extra });
      },
      connect: (extra: Partial<TenantInstall> = {}) => site.install('connect', APP, `client-${n}`, extra),
      forge: (installation = `ari:cloud:ecosystem::installation/inst-${n}`, appId = FORGE_APP) => site.install('forge', appId, installation),
      oauth: (clientId = OAUTH_CLIENT) => site.install('oauth', clientId, cloudId, { oauthClientId: clientId }),
      async disable(tenant: Tenant) {
        assert.ok(await t.repos.tenants.setEnabled(tenant.id, false));
      },
      /** A linked user on this site; returns their user and account IDs. */
      async linked(route: LinkRoute, tenantId: string | null = null) {
        users++;
        const externalUserId = `u-${n}-${users}`;
        const accountId = `acc-${n}-${users}`;
        await t.repos.links.create({ externalUserId, cloudId, accountId, route, scopes: [], status: 'linked', evidence: {}, tenantId });
        return { externalUserId, accountId };
      },
      policy: (patch: Parameters<TestStore['repos']['policies']['set']>[1]) => t.repos.policies.set(cloudId, patch, 'test'),
    };
    return site.policy({ acting }).then(() => site);
  }

  const acts = async (d: ActingDeps, req: ActingRequest): Promise<[ActingTarget['route'], string, ActingTarget]> => {
    const got = await resolveActing(d, req);
    return [got.route, got.tenant.id, got];
  };

  test('a site with only the Forge app: a Connect link acts through Forge, with no policy scopes; without the Forge app it has nowhere to go', { timeout: 180_000 }, async () => {
    const s = await newSite();
    const forge = await s.forge();
    await s.policy({ allowedScopes: { connect: ['READ'] } });
    const u = await s.linked('connect');
    const [route, tenantId, got] = await acts(deps(), { site: s.cloudId, externalUserId: u.externalUserId });
    assert.deepEqual([route, tenantId, got.accountId, got.allowedScopes], ['forge', forge.id, u.accountId, null]);
    assert.equal(got.link?.externalUserId, u.externalUserId);
    const e = await refusal(resolveActing(deps({ forgeAppId: null }), { site: s.cloudId, externalUserId: u.externalUserId }));
    assert.deepEqual([e.code, e.message], ['TENANT_NOT_FOUND', `No site "${s.cloudId}" has installed this app.`]);
  });

  test('a Forge link acts through the Forge installation of this app, and not at all without it', { timeout: 180_000 }, async () => {
    const s = await newSite();
    await s.connect();
    const forge = await s.forge();
    await s.policy({ allowedScopes: { connect: ['READ'], oauth: ['read:me'] } });
    const u = await s.linked('forge', forge.id);
    const [route, tenantId, got] = await acts(deps(), { site: s.cloudId, externalUserId: u.externalUserId });
    assert.deepEqual([route, tenantId, got.allowedScopes], ['forge', forge.id, null]);
    const off = await refusal(resolveActing(deps({ forgeAppId: null }), { site: s.cloudId, externalUserId: u.externalUserId }));
    assert.deepEqual([off.code, off.message], ['POLICY_REFUSED', 'This link was made through Forge, which is not configured on this gateway (ONBEHALF_FORGE_APP_ID) or not installed on the site.']);
    const other = await refusal(resolveActing(deps({ forgeAppId: OTHER_FORGE_APP }), { site: s.cloudId, externalUserId: u.externalUserId }));
    assert.equal(other.code, 'POLICY_REFUSED', 'another Forge app\'s installation is not this one');
  });

  test('a disabled Forge installation is not acted through', { timeout: 180_000 }, async () => {
    const s = await newSite('any_user');
    const connect = await s.connect();
    const forge = await s.forge();
    const u = await s.linked('forge', forge.id);
    await s.disable(forge);
    await assert.rejects(resolveActing(deps(), { site: s.cloudId, externalUserId: u.externalUserId }), (e: unknown) => isGatewayError(e, 'POLICY_REFUSED'));
    const [route, tenantId] = await acts(deps(), { site: s.cloudId, accountId: 'anyone' });
    assert.deepEqual([route, tenantId], ['connect', connect.id], 'acting as anyone falls back to Connect');
  });

  test('the newest active Forge installation of this app is the one, whichever install the site look-up found', { timeout: 180_000 }, async () => {
    const s = await newSite();
    await s.forge('ari:cloud:ecosystem::installation/old');
    const current = await s.forge('ari:cloud:ecosystem::installation/new');
    // Installed last, so the plain look-up of the site finds another app's Forge installation first.
    await s.forge('ari:cloud:ecosystem::installation/other-app', OTHER_FORGE_APP);
    const u = await s.linked('forge', current.id);
    const [route, tenantId] = await acts(deps(), { site: s.cloudId, externalUserId: u.externalUserId });
    assert.deepEqual([route, tenantId], ['forge', current.id]);
    // Found first by the look-up, this app's newest installation is taken as it is.
    const t2 = await newSite();
    await t2.forge('ari:cloud:ecosystem::installation/first');
    const newest = await t2.forge('ari:cloud:ecosystem::installation/second');
    const u2 = await t2.linked('forge', newest.id);
    assert.deepEqual((await acts(deps(), { site: t2.cloudId, externalUserId: u2.externalUserId })).slice(0, 2), ['forge', newest.id]);
  });

  test('an install of another route under the Forge app\'s id is not the Forge installation', { timeout: 180_000 }, async () => {
    const s = await newSite('any_user');
    const connect = await s.connect();
    // A 3LO record whose client id happens to read like the Forge app id, found first by the site look-up.
    await s.oauth(FORGE_APP);
    const [route, tenantId] = await acts(deps(), { site: s.cloudId, accountId: 'anyone' });
    assert.deepEqual([route, tenantId], ['connect', connect.id]);
  });

  test('the route, not only the key, names the installation: one key for the Connect app, the 3LO client and the Forge app', { timeout: 180_000 }, async () => {
    const key = 'one-key-for-everything';
    const same = deps({ appKey: key, oauthClientId: key, forgeAppId: key });
    const s = await newSite('any_user');
    const connect = await s.install('connect', key, 'client-same');
    const oauth = await s.install('oauth', key, s.cloudId, { oauthClientId: key });
    const forge = await s.install('forge', key, 'ari:cloud:ecosystem::installation/same');
    const byRoute: Array<[LinkRoute, string, string]> = [['connect', 'connect', connect.id], ['oauth', 'oauth', oauth.id], ['forge', 'forge', forge.id]];
    for (const [linkRoute, route, tenantId] of byRoute) {
      const u = await s.linked(linkRoute);
      assert.deepEqual((await acts(same, { site: s.cloudId, externalUserId: u.externalUserId })).slice(0, 2), [route, tenantId], linkRoute);
    }
    // Forge installed first and the 3LO record last: the look-ups must still tell them apart.
    const r = await newSite('any_user');
    const forge2 = await r.install('forge', key, 'ari:cloud:ecosystem::installation/same-2');
    const connect2 = await r.install('connect', key, 'client-same-2');
    await r.install('oauth', key, r.cloudId, { oauthClientId: key });
    assert.deepEqual((await acts(same, { site: r.cloudId, accountId: 'anyone' })).slice(0, 2), ['forge', forge2.id]);
    const c2 = await r.linked('connect');
    assert.deepEqual((await acts(same, { site: r.cloudId, externalUserId: c2.externalUserId })).slice(0, 2), ['connect', connect2.id]);
  });

  test('acting as anyone prefers Forge where the site has it, else Connect; a consented Connect link stays on Connect', { timeout: 180_000 }, async () => {
    const s = await newSite('any_user');
    const connect = await s.connect();
    await s.policy({ allowedScopes: { connect: ['READ'] } });
    const before = await acts(deps(), { site: s.cloudId, accountId: 'anyone' });
    assert.deepEqual([before[0], before[1], before[2].allowedScopes, before[2].link, before[2].accountId], ['connect', connect.id, ['READ'], null, 'anyone']);
    const forge = await s.forge();
    const after = await acts(deps(), { site: s.cloudId, accountId: 'anyone' });
    assert.deepEqual([after[0], after[1], after[2].allowedScopes, after[2].link], ['forge', forge.id, null, null]);
    const u = await s.linked('connect', connect.id);
    const [route, tenantId, got] = await acts(deps(), { site: s.cloudId, externalUserId: u.externalUserId });
    assert.deepEqual([route, tenantId, got.allowedScopes], ['connect', connect.id, ['READ']], 'a Connect install not upgraded keeps its links');
    const byAccount = await acts(deps(), { site: s.cloudId, accountId: u.accountId });
    assert.deepEqual([byAccount[0], byAccount[1], byAccount[2].link?.externalUserId], ['connect', connect.id, u.externalUserId], 'an account with a link acts through its link, not as anyone');
  });

  test('a Connect install upgraded to the Forge version acts through that Forge installation, and only that one', { timeout: 180_000 }, async () => {
    const s = await newSite();
    const installation = 'ari:cloud:ecosystem::installation/upgraded';
    const connect = await s.connect({ payload: { installationId: installation } });
    const u = await s.linked('connect', connect.id);
    // Not installed (yet) as Forge here: Connect it is.
    assert.deepEqual((await acts(deps(), { site: s.cloudId, externalUserId: u.externalUserId })).slice(0, 2), ['connect', connect.id]);
    const elsewhere = await s.forge('ari:cloud:ecosystem::installation/not-the-upgrade');
    assert.deepEqual((await acts(deps(), { site: s.cloudId, externalUserId: u.externalUserId })).slice(0, 2), ['connect', connect.id], 'another installation is not the upgrade');
    await s.disable(elsewhere);
    const forge = await s.forge(installation);
    const [route, tenantId, got] = await acts(deps(), { site: s.cloudId, externalUserId: u.externalUserId });
    assert.deepEqual([route, tenantId, got.allowedScopes], ['forge', forge.id, null]);
    assert.deepEqual((await acts(deps({ forgeAppId: null }), { site: s.cloudId, externalUserId: u.externalUserId })).slice(0, 2), ['connect', connect.id], 'without the Forge app configured, Connect');
  });

  test('an admin mapping moved onto the Forge installation acts through it; one that names another install acts as the site allows', { timeout: 180_000 }, async () => {
    const s = await newSite('admin_mapped');
    const connect = await s.connect();
    const forge = await s.forge();
    const moved = await s.linked('admin', forge.id);
    assert.deepEqual((await acts(deps(), { site: s.cloudId, externalUserId: moved.externalUserId })).slice(0, 2), ['forge', forge.id]);
    const onConnect = await s.linked('admin', connect.id);
    assert.deepEqual((await acts(deps(), { site: s.cloudId, externalUserId: onConnect.externalUserId })).slice(0, 2), ['connect', connect.id]);
    const none = await s.linked('admin', null);
    assert.deepEqual((await acts(deps(), { site: s.cloudId, externalUserId: none.externalUserId })).slice(0, 2), ['connect', connect.id]);
    // Without the Forge app configured, the mapping acts through Connect.
    assert.deepEqual((await acts(deps({ forgeAppId: null }), { site: s.cloudId, externalUserId: onConnect.externalUserId })).slice(0, 2), ['connect', connect.id]);
    assert.deepEqual((await acts(deps({ forgeAppId: null }), { site: s.cloudId, accountId: moved.accountId })).slice(0, 2), ['connect', connect.id]);
  });

  test('a disabled Connect install is not acted through: refused as disabled, or Forge where the site has it', { timeout: 180_000 }, async () => {
    const s = await newSite();
    const connect = await s.connect();
    await s.oauth();
    const u = await s.linked('connect', connect.id);
    await s.disable(connect);
    const e = await refusal(resolveActing(deps(), { site: s.cloudId, externalUserId: u.externalUserId }));
    assert.deepEqual([e.code, e.message, e.details], ['TENANT_UNINSTALLED', `The app is disabled on ${s.baseUrl}.`, { site: s.baseUrl, status: 'disabled' }]);
    const forge = await s.forge();
    assert.deepEqual((await acts(deps(), { site: s.cloudId, externalUserId: u.externalUserId })).slice(0, 2), ['forge', forge.id]);
  });

  test('a 3LO link acts through the 3LO record of the configured client, with the policy\'s 3LO scopes', { timeout: 180_000 }, async () => {
    const s = await newSite();
    const oauth = await s.oauth();
    // Installed after the 3LO record: the plain look-up of the site finds this first.
    await s.connect();
    const u = await s.linked('oauth', oauth.id);
    const [route, tenantId, got] = await acts(deps(), { site: s.cloudId, externalUserId: u.externalUserId });
    assert.deepEqual([route, tenantId, got.allowedScopes], ['oauth', oauth.id, null]);
    await s.policy({ allowedScopes: { connect: ['READ'], oauth: ['read:page:confluence'] } });
    assert.deepEqual((await resolveActing(deps(), { site: s.cloudId, externalUserId: u.externalUserId })).allowedScopes, ['read:page:confluence']);
    const otherClient = await refusal(resolveActing(deps({ oauthClientId: 'another-client' }), { site: s.cloudId, externalUserId: u.externalUserId }));
    assert.equal(otherClient.code, 'TENANT_NOT_FOUND', 'another client\'s grant is not this gateway\'s');
    const off = await refusal(resolveActing(deps({ oauthClientId: null }), { site: s.cloudId, externalUserId: u.externalUserId }));
    assert.deepEqual([off.code, off.message], ['POLICY_REFUSED', 'This link was made through OAuth 2.0 (3LO), which is not configured on this gateway any more.']);
  });

  test('refusals by user ID name the user, the site, the reason and the link', { timeout: 180_000 }, async () => {
    const s = await newSite();
    await s.connect();
    const admin = await s.linked('admin');
    const e = await refusal(resolveActing(deps(), { site: s.cloudId, externalUserId: admin.externalUserId }));
    const adminLink = await t.repos.links.liveForUser(s.cloudId, admin.externalUserId);
    assert.deepEqual([e.code, e.message, e.details], ['POLICY_REFUSED', "This site's policy does not allow acting through admin-mapped links.", { externalUserId: admin.externalUserId, cloudId: s.cloudId, reason: 'admin_mapped_links_not_allowed', linkId: adminLink?.id }]);

    const claim = await t.repos.links.create({ externalUserId: 'u-claim', cloudId: s.cloudId, accountId: 'acc-claim', route: 'connect', scopes: [], status: 'pending_confirmation', evidence: {} });
    const c = await refusal(resolveActing(deps(), { site: s.cloudId, externalUserId: 'u-claim' }));
    assert.deepEqual([c.code, c.message, c.details], ['USER_NOT_LINKED', 'The link of u-claim cannot be used: pending_confirmation.', { externalUserId: 'u-claim', cloudId: s.cloudId, reason: 'pending_confirmation', linkId: claim.id }]);

    const r = await s.linked('oauth');
    const rl = await t.repos.links.liveForUser(s.cloudId, r.externalUserId);
    assert.ok(rl && (await t.repos.links.setStatus(rl.id, 'reauth_required', { reason: 'invalid_grant', from: ['linked'] })));
    const re = await refusal(resolveActing(deps(), { site: s.cloudId, externalUserId: r.externalUserId }));
    assert.deepEqual([re.code, re.message, re.details], ['REAUTH_REQUIRED', `The link of ${r.externalUserId} cannot be used: invalid_grant.`, { externalUserId: r.externalUserId, cloudId: s.cloudId, reason: 'invalid_grant', linkId: rl.id }]);
  });

  test('by account: an admin mapping the policy refuses is no link (refused under linked_only); under any_user the mapping itself is acted through', { timeout: 180_000 }, async () => {
    const s = await newSite();
    const connect = await s.connect();
    const admin = await s.linked('admin', connect.id);
    const e = await refusal(resolveActing(deps(), { site: s.cloudId, accountId: admin.accountId }));
    assert.deepEqual([e.code, e.details], ['POLICY_REFUSED', { accountId: admin.accountId, cloudId: s.cloudId, acting: 'linked_only' }]);
    await s.policy({ acting: 'any_user' });
    const got = await resolveActing(deps(), { site: s.cloudId, accountId: admin.accountId });
    assert.deepEqual([got.route, got.tenant.id, got.link?.externalUserId], ['connect', connect.id, admin.externalUserId]);
  });

  test('a site not installed, or whose cloud id is not known yet', { timeout: 180_000 }, async () => {
    const missing = await refusal(resolveActing(deps(), { site: 'nowhere', accountId: 'a' }));
    assert.equal(missing.code, 'TENANT_NOT_FOUND');
    await t.repos.tenants.upsert({ route: 'connect', appKey: APP, tenantKey: 'client-nocloud', baseUrl: 'https://nocloud.atlassian.net/wiki', sharedSecret: 's' });
    const e = await refusal(resolveActing(deps(), { site: 'https://nocloud.atlassian.net/wiki', externalUserId: 'u' }));
    assert.deepEqual([e.code, e.message], ['ATLASSIAN_UNAVAILABLE', 'The cloud id of https://nocloud.atlassian.net/wiki is not known yet; try again shortly.']);
  });
});
