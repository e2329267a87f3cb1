import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Link, LiveLink } from '../store/links-repo.js';
import type { ActingMode } from '../store/policies-repo.js';
import type { LinkRoute, LinkStatus } from '../store/schema.js';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../store/test-support/open-test-store.js';
import { createLinks, linkUsable, type Links } from './links.js';
import { refusal } from './test-support/refusal.js';

const SITE = 'a1c0e000-0000-4000-8000-0000000000c1';

describe('linkUsable: which links may be acted on under which policy', () => {
  const link = (status: LinkStatus, route: LinkRoute, statusReason: string | null = null): LiveLink => ({ id: 'l', externalUserId: 'u', cloudId: SITE, accountId: 'a', tenantId: null, route, status, statusReason, scopes: [] });
  const modes: ActingMode[] = ['linked_only', 'admin_mapped', 'any_user'];

  test('a linked consented link, under every policy', () => {
    for (const route of ['connect', 'oauth', 'forge'] as const) for (const mode of modes) assert.deepEqual(linkUsable(link('linked', route), mode), { ok: true }, `${route} ${mode}`);
  });

  test('an admin-mapped link only where the policy allows admin mappings', () => {
    assert.deepEqual(linkUsable(link('linked', 'admin'), 'linked_only'), { ok: false, code: 'POLICY_REFUSED', reason: 'admin_mapped_links_not_allowed' });
    assert.deepEqual(linkUsable(link('linked', 'admin'), 'admin_mapped'), { ok: true });
    assert.deepEqual(linkUsable(link('linked', 'admin'), 'any_user'), { ok: true });
  });

  test('a link waiting for a new sign-in: REAUTH_REQUIRED with its reason, whatever the policy', () => {
    for (const mode of modes) {
      assert.deepEqual(linkUsable(link('reauth_required', 'oauth', 'invalid_grant'), mode), { ok: false, code: 'REAUTH_REQUIRED', reason: 'invalid_grant' });
      assert.deepEqual(linkUsable(link('reauth_required', 'admin'), mode), { ok: false, code: 'REAUTH_REQUIRED', reason: 'reauth_required' }, 'no reason recorded');
    }
  });

  test('an unconfirmed claim or a revoked link is no link, whatever the policy or route', () => {
    for (const status of ['pending_confirmation', 'revoked'] as const) {
      for (const route of ['connect', 'admin'] as const) {
        for (const mode of modes) assert.deepEqual(linkUsable(link(status, route, 'why'), mode), { ok: false, code: 'USER_NOT_LINKED', reason: status }, `${status} ${route} ${mode}`);
      }
    }
  });
});

/** Revocation and admin mapping, on a real SQLite store: what each writes, and what it refuses to overwrite. */
describe('links: revoke and adminMap', () => {
  let t: TestStore;
  let links: Links;
  const gone: Link[] = [];
  let n = 0;
  before(async () => {
    t = await openTestStore(testBackends()[0]!);
    links = createLinks({ repos: t.repos, clock: t.clock, onLinkGone: (l) => void gone.push(l) });
  }, { timeout: 120_000 });
  after(() => t.close(), { timeout: 120_000 });

  async function linkIn(status: LinkStatus): Promise<Link> {
    n++;
    const l = await t.repos.links.create({ externalUserId: `user-${n}`, cloudId: SITE, accountId: `acc-${n}`, route: 'connect', scopes: ['READ'], status: status === 'reauth_required' ? 'linked' : status, evidence: {} });
    if (status === 'reauth_required') assert.ok(await t.repos.links.setStatus(l.id, 'reauth_required', { reason: 'invalid_grant', from: ['linked'] }));
    return (await t.repos.links.get(l.id)) ?? l;
  }

  test('revoke ends a live link at once: status, the tokens\' hook, the audit log and the event feed', { timeout: 180_000 }, async () => {
    for (const status of ['linked', 'pending_confirmation', 'reauth_required'] as const) {
      const l = await linkIn(status);
      gone.length = 0;
      t.clock.advance(1000);
      const out = await links.revoke({ linkId: l.id, actorType: 'app', actorId: 'key-1', reason: 'user_left' });
      assert.deepEqual([out.id, out.status, out.statusReason, out.revokedAt], [l.id, 'revoked', 'user_left', t.clock.now()], status);
      assert.deepEqual(await t.repos.links.get(l.id), out, 'stored as returned');
      assert.deepEqual(gone.map((g) => [g.id, g.accountId]), [[l.id, l.accountId]], 'the brokers are told once');
      const audit = await t.repos.audit.query({ action: 'link.revoked', externalUserId: l.externalUserId });
      assert.deepEqual(audit.map((e) => [e.actorType, e.actorId, e.accountId, e.cloudId, e.route, e.reason, e.data]), [['app', 'key-1', l.accountId, SITE, 'connect', 'user_left', { linkId: l.id }]]);
      const feed = (await t.repos.events.after(0, 1000)).filter((e) => e.externalUserId === l.externalUserId);
      assert.deepEqual(feed.map((e) => [e.type, e.cloudId, e.accountId, e.data]), [['link.revoked', SITE, l.accountId, { linkId: l.id, by: 'app' }]]);
    }
  });

  test('revoke without a reason records who did it', { timeout: 180_000 }, async () => {
    const l = await linkIn('linked');
    const out = await links.revoke({ linkId: l.id, actorType: 'admin' });
    assert.equal(out.statusReason, 'revoked_by_admin');
    const [entry] = await t.repos.audit.query({ action: 'link.revoked', externalUserId: l.externalUserId });
    assert.deepEqual(entry && [entry.actorType, entry.actorId, entry.reason], ['admin', null, null]);
  });

  test('revoking a revoked link changes nothing and tells nobody; an unknown link is NOT_FOUND', { timeout: 180_000 }, async () => {
    const l = await linkIn('linked');
    const first = await links.revoke({ linkId: l.id, actorType: 'user', actorId: l.accountId, reason: 'first' });
    gone.length = 0;
    t.clock.advance(1000);
    const again = await links.revoke({ linkId: l.id, actorType: 'admin', reason: 'second' });
    assert.deepEqual(again, first);
    assert.deepEqual(gone, []);
    assert.equal((await t.repos.audit.query({ action: 'link.revoked', externalUserId: l.externalUserId })).length, 1);
    const e = await refusal(links.revoke({ linkId: 'no-such-link', actorType: 'app' }));
    assert.deepEqual([e.code, e.message], ['NOT_FOUND', 'There is no link no-such-link.']);
  });

  test('adminMap records a linked admin mapping with the admin as evidence', { timeout: 180_000 }, async () => {
    t.clock.advance(1000);
    const at = t.clock.now();
    const l = await links.adminMap({ cloudId: SITE, accountId: 'acc-mapped', externalUserId: 'u-mapped', tenantId: 'tenant-1', adminId: 'admin-acc', adminKind: 'atlassian' });
    assert.deepEqual({ ...l, id: '' }, {
      id: '',
      externalUserId: 'u-mapped',
      cloudId: SITE,
      accountId: 'acc-mapped',
      tenantId: 'tenant-1',
      route: 'admin',
      scopes: [],
      status: 'linked',
      statusReason: null,
      evidence: { kind: 'admin_mapping', adminId: 'admin-acc', adminKind: 'atlassian', at },
      createdAt: at,
      verifiedAt: at,
      updatedAt: at,
      revokedAt: null,
      sessionId: null,
    });
    assert.deepEqual(await t.repos.links.get(l.id), l);
    const audit = await t.repos.audit.query({ externalUserId: 'u-mapped' });
    assert.deepEqual(audit.map((e) => [e.action, e.actorType, e.actorId, e.accountId, e.cloudId, e.route, e.data]), [['link.admin_mapped', 'admin', 'admin-acc', 'acc-mapped', SITE, 'admin', { linkId: l.id }]]);
    const feed = (await t.repos.events.after(0, 1000)).filter((e) => e.externalUserId === 'u-mapped');
    assert.deepEqual(feed.map((e) => [e.type, e.cloudId, e.accountId, e.data]), [['link.linked', SITE, 'acc-mapped', { linkId: l.id, route: 'admin' }]]);
    const noTenant = await links.adminMap({ cloudId: SITE, accountId: 'acc-mapped-2', externalUserId: 'u-mapped-2', adminId: 'console-admin', adminKind: 'console' });
    assert.equal(noTenant.tenantId, null);
  });

  test('mapping the same pair again is the same link; mapping over another user\'s or account\'s link is refused and overwrites nothing', { timeout: 180_000 }, async () => {
    const l = await linkIn('linked');
    const same = await links.adminMap({ cloudId: SITE, accountId: l.accountId, externalUserId: l.externalUserId, adminId: 'admin-acc', adminKind: 'api_key' });
    assert.deepEqual([same.id, same.route], [l.id, 'connect'], 'the consented link stays as it was');
    assert.deepEqual((await t.repos.audit.query({ externalUserId: l.externalUserId })).map((e) => e.action), [], 'nothing to record');

    const taken = await refusal(links.adminMap({ cloudId: SITE, accountId: l.accountId, externalUserId: 'u-intruder', adminId: 'admin-acc', adminKind: 'atlassian' }));
    assert.deepEqual([taken.code, taken.message, taken.details], ['LINK_CONFLICT', `Account ${l.accountId} is already linked to user ${l.externalUserId} on this site; revoke that link first.`, { linkId: l.id, externalUserId: l.externalUserId }]);
    const conflicts = await t.repos.audit.query({ externalUserId: 'u-intruder' });
    assert.deepEqual(conflicts.map((e) => [e.action, e.actorType, e.actorId, e.accountId, e.cloudId, e.route, e.reason]), [['link.conflicted', 'admin', 'admin-acc', l.accountId, SITE, 'admin', 'account_linked_to_another_user']]);

    const busy = await refusal(links.adminMap({ cloudId: SITE, accountId: 'acc-free', externalUserId: l.externalUserId, adminId: 'admin-acc', adminKind: 'atlassian' }));
    assert.deepEqual([busy.code, busy.message, busy.details], ['LINK_CONFLICT', `User ${l.externalUserId} is already linked to account ${l.accountId} on this site; revoke that link first.`, { linkId: l.id, accountId: l.accountId }]);
    assert.deepEqual((await t.repos.links.list({ externalUserId: 'u-intruder' })).concat(await t.repos.links.list({ accountId: 'acc-free' })), []);
    assert.deepEqual(await t.repos.links.get(l.id), l, 'the existing link is untouched');

    // Once that link is revoked, both are free to be mapped.
    await links.revoke({ linkId: l.id, actorType: 'admin' });
    assert.equal((await links.adminMap({ cloudId: SITE, accountId: l.accountId, externalUserId: 'u-intruder', adminId: 'admin-acc', adminKind: 'atlassian' })).status, 'linked');
  });

  test('list and get are the store\'s', { timeout: 180_000 }, async () => {
    const l = await linkIn('linked');
    assert.deepEqual(await links.get(l.id), l);
    assert.deepEqual((await links.list({ externalUserId: l.externalUserId })).map((x) => x.id), [l.id]);
  });
});
