import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isGatewayError, type ErrorCode } from '../errors.js';
import type { ActingMode } from '../store/policies-repo.js';
import type { LinkRoute, LinkStatus } from '../store/schema.js';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../store/test-support/open-test-store.js';
import { resolveActing, type ActingDeps } from './acting.js';

const CLOUD = 'a1c0e000-0000-4000-8000-0000000000a1';
const APP = 'onbehalf-app';

/**
 * resolveActing's decision table, by your user ID and by account ID directly. Acting by account ID used
 * to be covered only where its link was usable, so a missing usability check there would have let a
 * forwarded link (pending_confirmation), a reauth_required link or an admin mapping act.
 */
describe('resolveActing: every link status, by user and by account', () => {
  let t: TestStore;
  let deps: ActingDeps;
  let n = 0;

  let connectTenantId: string;
  before(async () => {
    t = await openTestStore(testBackends()[0]!);
    connectTenantId = (await t.repos.tenants.upsert({ route: 'connect', appKey: APP, tenantKey: 'client-1', baseUrl: 'https://acme.atlassian.net/wiki', cloudId: CLOUD, sharedSecret: 's', oauthClientId: 'oc-1' })).id;
    deps = { repos: t.repos, appKey: APP, oauthClientId: null };
  }, { timeout: 120_000 });
  after(() => t.close(), { timeout: 120_000 });

  /** A fresh user and account with one link in the given state, on a site with the given policy. */
  async function linkIn(status: LinkStatus, route: LinkRoute, acting: ActingMode): Promise<{ externalUserId: string; accountId: string; linkId: string }> {
    n++;
    const externalUserId = `user-${n}`;
    const accountId = `acc-${n}`;
    await t.repos.policies.set(CLOUD, { acting }, 'test');
    const link = await t.repos.links.create({ externalUserId, cloudId: CLOUD, accountId, route, scopes: [], status: status === 'reauth_required' ? 'linked' : status, evidence: {} });
    // reauth_required is reached from linked, as the broker does when a refresh token dies.
    if (status === 'reauth_required') assert.ok(await t.repos.links.setStatus(link.id, 'reauth_required', { reason: 'refresh_token_revoked', from: ['linked'] }));
    return { externalUserId, accountId, linkId: link.id };
  }

  type Outcome = { ok: true } | { code: ErrorCode };
  // [status, route, policy, by user, by account]
  const table: Array<[LinkStatus, LinkRoute, ActingMode, Outcome, Outcome]> = [
    ['linked', 'connect', 'linked_only', { ok: true }, { ok: true }],
    ['pending_confirmation', 'connect', 'linked_only', { code: 'USER_NOT_LINKED' }, { code: 'POLICY_REFUSED' }],
    ['pending_confirmation', 'connect', 'admin_mapped', { code: 'USER_NOT_LINKED' }, { code: 'POLICY_REFUSED' }],
    ['reauth_required', 'connect', 'linked_only', { code: 'REAUTH_REQUIRED' }, { code: 'REAUTH_REQUIRED' }],
    ['reauth_required', 'connect', 'any_user', { code: 'REAUTH_REQUIRED' }, { code: 'REAUTH_REQUIRED' }],
    ['linked', 'admin', 'linked_only', { code: 'POLICY_REFUSED' }, { code: 'POLICY_REFUSED' }],
    ['linked', 'admin', 'admin_mapped', { ok: true }, { ok: true }],
    ['pending_confirmation', 'admin', 'admin_mapped', { code: 'USER_NOT_LINKED' }, { code: 'POLICY_REFUSED' }],
  ];

  for (const [status, route, acting, byUser, byAccount] of table) {
    test(`${route} link ${status} under ${acting}`, { timeout: 180_000 }, async () => {
      const l = await linkIn(status, route, acting);
      for (const [how, req, want] of [
        ['by user', { site: CLOUD, externalUserId: l.externalUserId }, byUser],
        ['by account', { site: CLOUD, accountId: l.accountId }, byAccount],
      ] as const) {
        if ('ok' in want) {
          const got = await resolveActing(deps, req);
          assert.equal(got.accountId, l.accountId, how);
          assert.equal(got.link?.id, l.linkId, `${how}: acts through its link`);
          assert.equal(got.route, 'connect', how);
          assert.equal(got.tenant.id, connectTenantId, `${how}: through the site's Connect install`);
        } else {
          await assert.rejects(resolveActing(deps, req), (e: unknown) => isGatewayError(e, want.code), `${how}: ${want.code}`);
        }
      }
    });
  }

  test('any_user: an account whose link cannot be used acts without that link, as an unlinked user would', { timeout: 180_000 }, async () => {
    const l = await linkIn('pending_confirmation', 'connect', 'any_user');
    const got = await resolveActing(deps, { site: CLOUD, accountId: l.accountId });
    assert.equal(got.link, null, 'the forwarded link itself is never the reason the call is allowed');
    assert.equal(got.accountId, l.accountId);
    await assert.rejects(resolveActing(deps, { site: CLOUD, externalUserId: l.externalUserId }), (e: unknown) => isGatewayError(e, 'USER_NOT_LINKED'));
  });

  test('an account with no link at all: refused under linked_only, allowed without a link under any_user', { timeout: 180_000 }, async () => {
    await t.repos.policies.set(CLOUD, { acting: 'linked_only' }, 'test');
    await assert.rejects(resolveActing(deps, { site: CLOUD, accountId: 'nobody' }), (e: unknown) => isGatewayError(e, 'POLICY_REFUSED'));
    await t.repos.policies.set(CLOUD, { acting: 'any_user' }, 'test');
    assert.equal((await resolveActing(deps, { site: CLOUD, accountId: 'nobody' })).link, null);
  });

  test('exactly one of externalUserId and accountId', { timeout: 180_000 }, async () => {
    await assert.rejects(resolveActing(deps, { site: CLOUD }), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED'));
    await assert.rejects(resolveActing(deps, { site: CLOUD, externalUserId: 'u', accountId: 'a' }), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED'));
  });

  test('the policy narrows the scopes per route; none set means the configured defaults (null)', { timeout: 180_000 }, async () => {
    const l = await linkIn('linked', 'connect', 'linked_only');
    assert.equal((await resolveActing(deps, { site: CLOUD, externalUserId: l.externalUserId })).allowedScopes, null);
    await t.repos.policies.set(CLOUD, { allowedScopes: { connect: ['READ'] } }, 'test');
    assert.deepEqual((await resolveActing(deps, { site: CLOUD, externalUserId: l.externalUserId })).allowedScopes, ['READ']);
    await t.repos.policies.set(CLOUD, { acting: 'any_user' }, 'test');
    const unlinked = await resolveActing(deps, { site: CLOUD, accountId: 'nobody-2' });
    assert.deepEqual([unlinked.allowedScopes, unlinked.tenant.id], [['READ'], connectTenantId]);
    await t.repos.policies.set(CLOUD, { acting: 'linked_only', allowedScopes: {} }, 'test');
  });

  test('a user with no link at all is USER_NOT_LINKED; a refused admin mapping says which route', { timeout: 180_000 }, async () => {
    await assert.rejects(resolveActing(deps, { site: CLOUD, externalUserId: 'never-linked' }), (e: unknown) => isGatewayError(e, 'USER_NOT_LINKED'));
    const l = await linkIn('linked', 'admin', 'linked_only');
    await assert.rejects(resolveActing(deps, { site: CLOUD, externalUserId: l.externalUserId }), (e: unknown) => isGatewayError(e, 'POLICY_REFUSED') && /through admin-mapped links/.test(e.message));
    const p = await linkIn('pending_confirmation', 'connect', 'linked_only');
    await assert.rejects(resolveActing(deps, { site: CLOUD, externalUserId: p.externalUserId }), (e: unknown) => isGatewayError(e, 'USER_NOT_LINKED') && /cannot be used: pending_confirmation/.test(e.message));
  });

  test('a 3LO link acts through the 3LO app\'s record of the site, and not at all once 3LO is switched off', { timeout: 180_000 }, async () => {
    const oauthTenant = await t.repos.tenants.upsert({ route: 'oauth', appKey: 'oauth-client', tenantKey: CLOUD, cloudId: CLOUD, baseUrl: 'https://acme.atlassian.net/wiki', oauthClientId: 'oauth-client' });
    const l = await linkIn('linked', 'oauth', 'linked_only');
    const got = await resolveActing({ ...deps, oauthClientId: 'oauth-client' }, { site: CLOUD, externalUserId: l.externalUserId });
    assert.deepEqual([got.route, got.tenant.id], ['oauth', oauthTenant.id]);
    await assert.rejects(resolveActing(deps, { site: CLOUD, externalUserId: l.externalUserId }), (e: unknown) => isGatewayError(e, 'POLICY_REFUSED'));
    // Named by a site key that finds the 3LO record first, a Connect link still acts through the Connect install.
    const c = await linkIn('linked', 'connect', 'linked_only');
    const viaKey = await resolveActing({ ...deps, oauthClientId: 'oauth-client' }, { site: 'https://acme.atlassian.net/wiki', externalUserId: c.externalUserId });
    assert.deepEqual([viaKey.route, viaKey.tenant.id], ['connect', connectTenantId]);
  });

  test('a site whose cloud id is not known yet cannot be acted on', { timeout: 180_000 }, async () => {
    await t.repos.tenants.upsert({ route: 'connect', appKey: APP, tenantKey: 'client-x', baseUrl: 'https://nocloud.atlassian.net/wiki', sharedSecret: 's' });
    await assert.rejects(resolveActing(deps, { site: 'https://nocloud.atlassian.net/wiki', accountId: 'a' }), (e: unknown) => isGatewayError(e, 'ATLASSIAN_UNAVAILABLE'));
  });
});

describe('resolveActing: the Connect install is the one of this app, whatever the site look-up found first', () => {
  let t: TestStore;
  before(async () => {
    t = await openTestStore(testBackends()[0]!);
  }, { timeout: 120_000 });
  after(() => t.close(), { timeout: 120_000 });

  test('a later 3LO record or another app\'s Connect install of the same site is not acted through', { timeout: 180_000 }, async () => {
    const deps: ActingDeps = { repos: t.repos, appKey: APP, oauthClientId: null };
    const sites = [
      { cloud: 'a1c0e000-0000-4000-8000-0000000000b1', other: { route: 'oauth' as const, appKey: 'oc-client', tenantKey: 'a1c0e000-0000-4000-8000-0000000000b1' } },
      { cloud: 'a1c0e000-0000-4000-8000-0000000000b2', other: { route: 'connect' as const, appKey: 'another-app', tenantKey: 'client-other', sharedSecret: 's2', oauthClientId: 'oc-2' } },
    ];
    for (const [i, site] of sites.entries()) {
      const baseUrl = `https://site${i}.atlassian.net/wiki`;
      const mine = await t.repos.tenants.upsert({ route: 'connect', appKey: APP, tenantKey: `client-${i}`, baseUrl, cloudId: site.cloud, sharedSecret: 's', oauthClientId: 'oc-1' });
      // Installed after this app's, so the plain look-up of the site finds it first.
      await t.repos.tenants.upsert({ ...site.other, baseUrl, cloudId: site.cloud });
      await t.repos.policies.set(site.cloud, { acting: 'linked_only' }, 'test');
      await t.repos.links.create({ externalUserId: `u-${i}`, cloudId: site.cloud, accountId: `acc-${i}`, route: 'connect', scopes: [], status: 'linked', evidence: {} });
      const got = await resolveActing(deps, { site: site.cloud, externalUserId: `u-${i}` });
      assert.equal(got.route, 'connect', site.other.route);
      assert.equal(got.tenant.id, mine.id, `${site.other.appKey}: through this app's own Connect install`);
    }
  });

  test('refusals carry what a caller needs: the user or account, the site, the link', { timeout: 180_000 }, async () => {
    const cloud = 'a1c0e000-0000-4000-8000-0000000000b3';
    const deps: ActingDeps = { repos: t.repos, appKey: APP, oauthClientId: null };
    await t.repos.tenants.upsert({ route: 'connect', appKey: APP, tenantKey: 'client-refusals', baseUrl: 'https://refusals.atlassian.net/wiki', cloudId: cloud, sharedSecret: 's', oauthClientId: 'oc-1' });
    await t.repos.policies.set(cloud, { acting: 'linked_only' }, 'test');
    const refused = async (req: Parameters<typeof resolveActing>[1]) => {
      try {
        await resolveActing(deps, req);
      } catch (e) {
        assert.ok(isGatewayError(e));
        return e;
      }
      return assert.fail('expected a refusal');
    };
    const both = await refused({ site: cloud, externalUserId: 'u', accountId: 'a' });
    assert.deepEqual([both.code, both.message, both.details], ['VALIDATION_FAILED', 'Name exactly one of externalUserId or accountId.', { field: 'externalUserId' }]);
    const nobody = await refused({ site: cloud, externalUserId: 'nobody' });
    assert.deepEqual([nobody.code, nobody.message, nobody.details], ['USER_NOT_LINKED', 'User nobody has not linked an Atlassian account on https://refusals.atlassian.net/wiki.', { externalUserId: 'nobody', cloudId: cloud }]);
    const unlinked = await refused({ site: cloud, accountId: 'acc-none' });
    assert.deepEqual([unlinked.code, unlinked.message, unlinked.details], ['POLICY_REFUSED', "This site's policy allows acting only as users who linked their account; account acc-none has no usable link.", { accountId: 'acc-none', cloudId: cloud, acting: 'linked_only' }]);
    const link = await t.repos.links.create({ externalUserId: 'u-reauth', cloudId: cloud, accountId: 'acc-reauth', route: 'connect', scopes: [], status: 'linked', evidence: {} });
    assert.ok(await t.repos.links.setStatus(link.id, 'reauth_required', { reason: 'refresh_token_revoked', from: ['linked'] }));
    const reauth = await refused({ site: cloud, accountId: 'acc-reauth' });
    assert.deepEqual([reauth.code, reauth.message, reauth.details], ['REAUTH_REQUIRED', 'The link of account acc-reauth needs the user to sign in again.', { accountId: 'acc-reauth', cloudId: cloud, linkId: link.id }]);
    const reauthUser = await refused({ site: cloud, externalUserId: 'u-reauth' });
    assert.equal(reauthUser.code, 'REAUTH_REQUIRED');
    assert.equal(reauthUser.details?.['linkId'], link.id);
    assert.equal(reauthUser.details?.['externalUserId'], 'u-reauth');
  });
});
