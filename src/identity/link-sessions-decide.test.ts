import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isGatewayError } from '../errors.js';
import type { Link } from '../store/links-repo.js';
import type { Repositories } from '../store/repositories.js';
import { createLinkSessions } from './link-sessions.js';
import { BASE_URL, decision, linkingWorldPerDescribe, SITE_A, SITE_B, type LinkingWorld } from './test-support/linking-world.js';
import { refusal } from './test-support/refusal.js';

const MINUTE = 60_000;
const RETURN = 'https://app.example/back?x=1';

/**
 * linkSessions.decide: what a user's Allow or Deny writes (the session, the links, the audit log, the event
 * feed, the way back to the app), and every check before the first write: an account or a user already
 * linked to someone else, a lapsed claim that no longer holds them, a re-consent of the same pair.
 */
describe('linkSessions.decide', () => {
  let w: LinkingWorld;
  let n = 0;
  linkingWorldPerDescribe((world) => (w = world));

  /** A fresh user, and a session for them opened as the consent page opens it. */
  async function opened(input: { cloudId?: string | null; returnUrl?: string | null; requireConfirmation?: boolean; route?: 'connect' | 'oauth'; ttlMs?: number } = {}, user?: string) {
    n++;
    const s = await w.started({ externalUserId: user ?? `user-${n}`, ...input });
    return { ...s, session: await w.sessions.open(s.token) };
  }

  const audits = async (externalUserId: string) => (await w.t.repos.audit.query({ externalUserId })).reverse();
  const events = async (externalUserId: string) => (await w.t.repos.events.after(0, 1000)).filter((e) => e.externalUserId === externalUserId);

  test('deny: the session is denied, the app hears it on its return URL, the audit log records who and where, and no link is made', { timeout: 180_000 }, async () => {
    const { session, id } = await opened({ cloudId: SITE_A, returnUrl: RETURN });
    w.t.clock.advance(5000);
    const at = w.t.clock.now();
    const out = await w.sessions.decide(session, decision('acc-deny', [], { allow: false, route: 'connect' }));
    assert.equal(out.redirectUrl, `https://app.example/back?x=1&onbehalf_session=${id}&onbehalf_status=denied`);
    assert.deepEqual(out.links, []);
    assert.deepEqual([out.session.status, out.session.completedAt, out.session.usedAt, out.session.linkId], ['denied', at, at, null]);
    assert.deepEqual((await w.sessions.get(id))?.status, 'denied', 'stored, not only returned');
    assert.deepEqual(await w.t.repos.links.list({ externalUserId: session.externalUserId }), []);
    const entries = await audits(session.externalUserId);
    assert.deepEqual(entries.slice(1).map((e) => [e.action, e.actorType, e.actorId, e.accountId, e.externalUserId, e.cloudId, e.route]), [['link.denied', 'user', 'acc-deny', 'acc-deny', session.externalUserId, SITE_A, 'connect']]);
    assert.deepEqual(await events(session.externalUserId), [], 'a refusal is not an event of the feed');

    const again = await refusal(w.sessions.decide(session, decision('acc-deny', [], { allow: false })));
    assert.deepEqual([again.code, again.message], ['LINK_SESSION_INVALID', 'This link was already used.']);
    assert.equal((await audits(session.externalUserId)).length, 2, 'a replayed deny writes nothing');
  });

  test('deny: the site recorded is the one decided on, else the session\'s; no return URL means no redirect; a sign-in time is kept', { timeout: 180_000 }, async () => {
    const fromSites = await opened({}, 'u-deny-sites');
    await w.sessions.decide(fromSites.session, decision('acc-d1', [SITE_B], { allow: false, route: 'oauth' }));
    const [, denied] = await audits('u-deny-sites');
    assert.deepEqual([denied?.action, denied?.cloudId, denied?.route], ['link.denied', SITE_B, 'oauth']);

    const nowhere = await opened({}, 'u-deny-nowhere');
    const out = await w.sessions.decide(nowhere.session, decision('acc-d2', [], { allow: false }));
    assert.ok(!('redirectUrl' in out), 'nowhere to send the browser');
    assert.equal((await audits('u-deny-nowhere'))[1]?.cloudId, null);

    const s = await w.started({ externalUserId: 'u-deny-bound', route: 'oauth' });
    const boundAt = w.t.clock.now();
    await w.sessions.bindState(s.token, 'state-deny', null);
    w.t.clock.advance(30_000);
    const bound = await w.sessions.decide(await w.sessions.byState('state-deny'), decision('acc-d3', [], { allow: false, route: 'oauth' }));
    assert.deepEqual([bound.session.usedAt, bound.session.completedAt], [boundAt, w.t.clock.now()], 'used when the sign-in started, completed now');
  });

  test('allow, opted out of the guard: linked at once, written in full, the app told where to find it', { timeout: 180_000 }, async () => {
    const { session, id } = await opened({ cloudId: SITE_A, returnUrl: RETURN, requireConfirmation: false });
    w.t.clock.advance(1000);
    const at = w.t.clock.now();
    const d = decision('acc-open', [SITE_A], { scopes: ['READ', 'WRITE'], evidence: { kind: 'connect_page', sub: 'acc-open' } });
    d.sites[0]!.tenantId = 'tenant-a';
    const out = await w.sessions.decide(session, d);
    const [link, ...more] = out.links;
    assert.equal(more.length, 0);
    assert.ok(link);
    assert.deepEqual({ ...link, id: '' }, {
      id: '',
      externalUserId: session.externalUserId,
      cloudId: SITE_A,
      accountId: 'acc-open',
      tenantId: 'tenant-a',
      route: 'connect',
      scopes: ['READ', 'WRITE'],
      status: 'linked',
      statusReason: null,
      evidence: { kind: 'connect_page', sub: 'acc-open' },
      createdAt: at,
      verifiedAt: at,
      updatedAt: at,
      revokedAt: null,
      sessionId: id,
    });
    assert.deepEqual(await w.t.repos.links.get(link.id), link, 'stored as returned');
    assert.deepEqual(
      [out.session.status, out.session.completedAt, out.session.usedAt, out.session.expiresAt, out.session.linkId, out.session.cloudId],
      ['linked', at, at, at + 10 * MINUTE, link.id, SITE_A],
    );
    assert.equal(out.redirectUrl, `https://app.example/back?x=1&onbehalf_session=${id}&onbehalf_status=linked`, 'no completion code when none is needed');
    const [, entry, ...rest] = await audits(session.externalUserId);
    assert.equal(rest.length, 0);
    assert.deepEqual(
      entry && [entry.action, entry.actorType, entry.actorId, entry.accountId, entry.externalUserId, entry.cloudId, entry.route, entry.reason, entry.data],
      ['link.linked', 'user', 'acc-open', 'acc-open', session.externalUserId, SITE_A, 'connect', 'confirmation_opted_out', { linkId: link.id, sessionId: id }],
    );
    assert.deepEqual((await events(session.externalUserId)).map((e) => [e.type, e.cloudId, e.accountId, e.data]), [['link.linked', SITE_A, 'acc-open', { linkId: link.id, route: 'connect' }]]);
  });

  test('allow, guarded: the account is only claimed, until the code on the return URL is redeemed', { timeout: 180_000 }, async () => {
    const { session, id } = await opened({ cloudId: SITE_A, returnUrl: RETURN });
    const at = w.t.clock.now();
    const out = await w.sessions.decide(session, decision('acc-guarded', [SITE_A], { evidence: { sub: 'acc-guarded' } }));
    const [link] = out.links;
    assert.ok(link);
    assert.deepEqual([link.status, link.evidence, link.verifiedAt, link.sessionId], ['pending_confirmation', { sub: 'acc-guarded', confirmBy: at + 10 * MINUTE }, null, id]);
    assert.deepEqual([out.session.status, out.session.completedAt, out.session.expiresAt, out.session.linkId], ['pending_confirmation', null, at + 10 * MINUTE, link.id]);
    assert.ok((await w.bare.repos.linkSessions.get(id))?.hasCompletionCode);
    const back = new URL(out.redirectUrl ?? '');
    assert.equal(`${back.origin}${back.pathname}`, 'https://app.example/back');
    assert.deepEqual([...back.searchParams.keys()], ['x', 'onbehalf_session', 'onbehalf_status', 'onbehalf_code']);
    assert.deepEqual([back.searchParams.get('x'), back.searchParams.get('onbehalf_session'), back.searchParams.get('onbehalf_status')], ['1', id, 'pending_confirmation']);
    const code = back.searchParams.get('onbehalf_code') ?? '';
    assert.match(code, /^obc_[A-Za-z0-9_-]{43}$/);
    const row = await w.t.store.db.selectFrom('link_sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    assert.ok(!JSON.stringify(row).includes(code), 'only the hash of the code is stored');

    const [, entry] = await audits(session.externalUserId);
    assert.deepEqual(entry && [entry.action, entry.reason, entry.data], ['link.created', 'awaiting_confirmation', { linkId: link.id, sessionId: id }]);
    assert.deepEqual((await events(session.externalUserId)).map((e) => [e.type, e.data]), [['link.pending_confirmation', { linkId: link.id, route: 'connect' }]]);

    const confirmed = await w.sessions.confirm(id, code, { externalUserId: session.externalUserId });
    assert.deepEqual([confirmed.id, confirmed.status], [link.id, 'linked']);
  });

  test('allow on several sites (3LO): one link per site, the session names none of them, the first link is the session\'s', { timeout: 180_000 }, async () => {
    const { session, id } = await opened({ route: 'oauth', returnUrl: RETURN });
    const out = await w.sessions.decide(session, decision('acc-multi', [SITE_A, SITE_B], { route: 'oauth' }));
    assert.deepEqual(out.links.map((l) => [l.cloudId, l.status, l.route, l.sessionId]), [[SITE_A, 'pending_confirmation', 'oauth', id], [SITE_B, 'pending_confirmation', 'oauth', id]]);
    assert.deepEqual([out.session.cloudId, out.session.linkId], [null, out.links[0]?.id]);
    assert.deepEqual((await audits(session.externalUserId)).slice(1).map((e) => [e.action, e.cloudId]), [['link.created', SITE_A], ['link.created', SITE_B]]);
    assert.deepEqual((await events(session.externalUserId)).map((e) => [e.type, e.cloudId]), [['link.pending_confirmation', SITE_A], ['link.pending_confirmation', SITE_B]]);
    assert.deepEqual((await w.sessions.linksOf(id)).map((l) => l.id).sort(), out.links.map((l) => l.id).sort());
  });

  test('an account already linked to another user is a conflict: audited, and nothing else changes', { timeout: 180_000 }, async () => {
    const first = await opened({ cloudId: SITE_A, requireConfirmation: false });
    await w.sessions.decide(first.session, decision('acc-taken', [SITE_A]));
    const second = await opened({ cloudId: SITE_A, requireConfirmation: false });
    const e = await refusal(w.sessions.decide(second.session, decision('acc-taken', [SITE_A], { route: 'oauth' })));
    assert.deepEqual([e.code, e.message, e.details], ['LINK_CONFLICT', 'This Atlassian account is already linked to another user of the application. An admin must resolve it.', { cloudId: SITE_A }]);
    assert.equal((await w.sessions.get(second.id))?.status, 'pending');
    assert.deepEqual(await w.t.repos.links.list({ externalUserId: second.session.externalUserId }), []);
    const [, conflict, ...rest] = await audits(second.session.externalUserId);
    assert.equal(rest.length, 0);
    assert.deepEqual(
      conflict && [conflict.action, conflict.actorType, conflict.actorId, conflict.accountId, conflict.cloudId, conflict.route, conflict.reason],
      ['link.conflicted', 'user', 'acc-taken', 'acc-taken', SITE_A, 'oauth', 'account_linked_to_another_user'],
    );
    // The first user's link is untouched.
    const [theirs] = await w.t.repos.links.list({ externalUserId: first.session.externalUserId });
    assert.deepEqual([theirs?.status, theirs?.accountId], ['linked', 'acc-taken']);
  });

  test('a user already linked to another account is a conflict too, and a revoked link is no claim at all', { timeout: 180_000 }, async () => {
    const first = await opened({ cloudId: SITE_B, requireConfirmation: false }, 'u-two-accounts');
    const [mine] = (await w.sessions.decide(first.session, decision('acc-one', [SITE_B]))).links;
    const second = await opened({ cloudId: SITE_B, requireConfirmation: false }, 'u-two-accounts');
    const e = await refusal(w.sessions.decide(second.session, decision('acc-two', [SITE_B])));
    assert.deepEqual([e.code, e.message, e.details], ['LINK_CONFLICT', 'This user is already linked to a different account on this site; revoke that link first.', { cloudId: SITE_B }]);
    assert.equal((await w.sessions.get(second.id))?.status, 'pending');
    const conflict = (await audits('u-two-accounts')).find((a) => a.action === 'link.conflicted');
    assert.deepEqual(conflict && [conflict.actorType, conflict.actorId, conflict.accountId, conflict.externalUserId, conflict.cloudId, conflict.route, conflict.reason], ['user', 'acc-two', 'acc-two', 'u-two-accounts', SITE_B, 'connect', 'user_linked_to_another_account']);

    assert.ok(mine && (await w.t.repos.links.setStatus(mine.id, 'revoked', { reason: 'test' })));
    const out = await w.sessions.decide(second.session, decision('acc-two', [SITE_B]));
    assert.deepEqual(out.links.map((l) => [l.accountId, l.status]), [['acc-two', 'linked']]);
  });

  test('every site is checked before the first write: a conflict on the second site leaves the first unlinked', { timeout: 180_000 }, async () => {
    const other = await opened({ cloudId: SITE_B, requireConfirmation: false });
    await w.sessions.decide(other.session, decision('acc-split', [SITE_B]));
    const s = await opened({ route: 'oauth', requireConfirmation: false });
    await assert.rejects(w.sessions.decide(s.session, decision('acc-split', [SITE_A, SITE_B], { route: 'oauth' })), (e: unknown) => isGatewayError(e, 'LINK_CONFLICT') && e.details?.['cloudId'] === SITE_B);
    assert.deepEqual(await w.t.repos.links.list({ externalUserId: s.session.externalUserId }), []);
    assert.deepEqual(await w.t.repos.links.list({ accountId: 'acc-split', cloudId: SITE_A }), []);
    assert.equal((await w.sessions.get(s.id))?.status, 'pending');
  });

  test('a claim nobody confirmed frees the account from its deadline on, not a millisecond before, and is recorded as lapsed', { timeout: 180_000 }, async () => {
    // Only liveForAccount/liveForUser run before the decision here: no read sweeps the lapsed claim first.
    const claim = await opened({ cloudId: SITE_A, returnUrl: RETURN });
    const claimedAt = w.t.clock.now();
    const [held] = (await w.sessions.decide(claim.session, decision('acc-lapse', [SITE_A]))).links;
    assert.ok(held);
    const next = await opened({ cloudId: SITE_A, requireConfirmation: false, ttlMs: 60 * MINUTE });
    w.t.clock.set(claimedAt + 10 * MINUTE - 1);
    await assert.rejects(w.sessions.decide(next.session, decision('acc-lapse', [SITE_A])), (e: unknown) => isGatewayError(e, 'LINK_CONFLICT'));
    assert.equal((await w.bare.repos.links.get(held.id))?.status, 'pending_confirmation', 'still held');
    w.t.clock.advance(1);
    const out = await w.sessions.decide(next.session, decision('acc-lapse', [SITE_A]));
    assert.deepEqual(out.links.map((l) => [l.externalUserId, l.accountId, l.status]), [[next.session.externalUserId, 'acc-lapse', 'linked']]);
    const lapsed = await w.bare.repos.links.get(held.id);
    assert.deepEqual([lapsed?.status, lapsed?.statusReason], ['revoked', 'confirmation_expired']);
    const revoked = (await w.t.repos.audit.query({ action: 'link.revoked', externalUserId: claim.session.externalUserId }));
    assert.deepEqual(revoked.map((e) => [e.actorType, e.accountId, e.externalUserId, e.cloudId, e.route, e.reason]), [['system', 'acc-lapse', claim.session.externalUserId, SITE_A, 'connect', 'confirmation_expired']]);
  });

  test('a lapsed claim on the user frees the user for another account', { timeout: 180_000 }, async () => {
    const claim = await opened({ cloudId: SITE_B, returnUrl: RETURN }, 'u-lapse-user');
    const [held] = (await w.sessions.decide(claim.session, decision('acc-first-try', [SITE_B]))).links;
    const next = await opened({ cloudId: SITE_B, requireConfirmation: false, ttlMs: 60 * MINUTE }, 'u-lapse-user');
    w.t.clock.advance(10 * MINUTE);
    const out = await w.sessions.decide(next.session, decision('acc-second-try', [SITE_B]));
    assert.deepEqual(out.links.map((l) => [l.accountId, l.status]), [['acc-second-try', 'linked']]);
    assert.equal((await w.bare.repos.links.get(held?.id ?? ''))?.status, 'revoked');
  });

  test('a confirmed link is never treated as a lapsed claim, however old its deadline', { timeout: 180_000 }, async () => {
    const claim = await opened({ cloudId: SITE_A, returnUrl: RETURN });
    const out = await w.sessions.decide(claim.session, decision('acc-kept', [SITE_A]));
    const code = new URL(out.redirectUrl ?? '').searchParams.get('onbehalf_code') ?? '';
    await w.sessions.confirm(claim.id, code);
    w.t.clock.advance(60 * MINUTE);
    const thief = await opened({ cloudId: SITE_A, requireConfirmation: false });
    await assert.rejects(w.sessions.decide(thief.session, decision('acc-kept', [SITE_A])), (e: unknown) => isGatewayError(e, 'LINK_CONFLICT'));
    const sameUser = await opened({ cloudId: SITE_A, requireConfirmation: false }, claim.session.externalUserId);
    await assert.rejects(w.sessions.decide(sameUser.session, decision('acc-other', [SITE_A])), (e: unknown) => isGatewayError(e, 'LINK_CONFLICT'));
    assert.equal((await w.bare.repos.links.get(out.links[0]?.id ?? ''))?.status, 'linked');
  });

  test('a lapsed claim ended by another process at the same moment is recorded once', { timeout: 180_000 }, async () => {
    const claim = await opened({ cloudId: SITE_B, returnUrl: RETURN });
    const [held] = (await w.sessions.decide(claim.session, decision('acc-lapse-race', [SITE_B]))).links;
    assert.ok(held);
    w.t.clock.advance(10 * MINUTE);
    // Another process revokes the lapsed claim between this decision's read of it and its own revocation.
    let raced = false;
    const repos: Repositories = { ...w.t.repos, links: { ...w.t.repos.links, liveForAccount: async (cloudId: string, accountId: string) => {
      const found = await w.t.repos.links.liveForAccount(cloudId, accountId);
      if (found?.id === held.id && !raced) {
        raced = true;
        await w.t.repos.links.setStatus(held.id, 'revoked', { reason: 'confirmation_expired', from: ['pending_confirmation'] });
      }
      return found;
    } } };
    const racing = createLinkSessions({ repos, clock: w.t.clock }, { baseUrl: BASE_URL });
    const next = await opened({ cloudId: SITE_B, requireConfirmation: false });
    await racing.decide(next.session, decision('acc-lapse-race', [SITE_B]));
    assert.ok(raced);
    assert.deepEqual(await w.t.repos.audit.query({ action: 'link.revoked', externalUserId: claim.session.externalUserId }), [], 'the process that did not revoke it writes no audit entry');
  });

  test('the same account again (a re-consent): the link is refreshed in place, moves to the new route, and keeps its status', { timeout: 180_000 }, async () => {
    const user = 'u-reconsent';
    const first = await opened({ cloudId: SITE_A, requireConfirmation: false }, user);
    const [link] = (await w.sessions.decide(first.session, decision('acc-re', [SITE_A], { scopes: ['READ'], evidence: { v: 1 } }))).links;
    assert.ok(link);
    w.t.clock.advance(1000);
    // A guarded re-consent through 3LO of a link already confirmed: no new claim to confirm.
    const again = await opened({ cloudId: SITE_A, returnUrl: RETURN }, user);
    const d = decision('acc-re', [SITE_A], { route: 'oauth', scopes: ['read:page:confluence'], evidence: { v: 2 } });
    d.sites[0]!.tenantId = 'oauth-tenant';
    const out = await w.sessions.decide(again.session, d);
    const [same, ...more] = out.links;
    assert.equal(more.length, 0);
    assert.deepEqual(
      same && [same.id, same.status, same.route, same.tenantId, same.scopes, same.evidence, same.sessionId, same.updatedAt],
      [link.id, 'linked', 'oauth', 'oauth-tenant', ['read:page:confluence'], { v: 2 }, first.id, w.t.clock.now()],
    );
    assert.equal(out.session.linkId, link.id);
    assert.equal((await w.t.repos.links.list({ externalUserId: user })).length, 1, 'no second link');
  });

  test('a re-consent clears a reauth: at once when opted out, on confirmation when guarded', { timeout: 180_000 }, async () => {
    for (const guarded of [false, true]) {
      const user = `u-reauth-${guarded}`;
      const first = await opened({ cloudId: SITE_B, requireConfirmation: false }, user);
      const [link] = (await w.sessions.decide(first.session, decision(`acc-reauth-${guarded}`, [SITE_B], { route: 'oauth' }))).links;
      assert.ok(link && (await w.t.repos.links.setStatus(link.id, 'reauth_required', { reason: 'invalid_grant', from: ['linked'] })));
      const again = await opened({ cloudId: SITE_B, returnUrl: RETURN, requireConfirmation: !guarded ? false : true }, user);
      const out = await w.sessions.decide(again.session, decision(`acc-reauth-${guarded}`, [SITE_B], { route: 'oauth' }));
      const refreshed = await w.bare.repos.links.get(link.id);
      assert.deepEqual([out.links[0]?.id, refreshed?.status, refreshed?.statusReason], [link.id, guarded ? 'pending_confirmation' : 'linked', null], `guarded: ${guarded}`);
      if (guarded) {
        const code = new URL(out.redirectUrl ?? '').searchParams.get('onbehalf_code') ?? '';
        const confirmed = await w.sessions.confirm(again.id, code);
        assert.deepEqual([confirmed.id, confirmed.status], [link.id, 'linked'], 'the session\'s link is confirmed though another session made it');
      }
    }
  });

  test('a second Allow of a user\'s own unconfirmed claim renews it in place', { timeout: 180_000 }, async () => {
    const user = 'u-twice';
    const first = await opened({ cloudId: SITE_A, returnUrl: RETURN }, user);
    const [claim] = (await w.sessions.decide(first.session, decision('acc-twice', [SITE_A], { evidence: { v: 1 } }))).links;
    const again = await opened({ cloudId: SITE_A, requireConfirmation: false }, user);
    const out = await w.sessions.decide(again.session, decision('acc-twice', [SITE_A], { evidence: { v: 2 } }));
    assert.deepEqual(out.links.map((l) => [l.id, l.status, l.evidence]), [[claim?.id, 'linked', { v: 2 }]]);
  });

  test('a decision taken twice (a replayed Allow) changes nothing the second time', { timeout: 180_000 }, async () => {
    const { session } = await opened({ cloudId: SITE_A, returnUrl: RETURN });
    await w.sessions.decide(session, decision('acc-replay', [SITE_A]));
    const before = await audits(session.externalUserId);
    const e = await refusal(w.sessions.decide(session, decision('acc-replay', [SITE_A])));
    assert.deepEqual([e.code, e.message], ['LINK_SESSION_INVALID', 'This link was already used.']);
    assert.deepEqual(await audits(session.externalUserId), before);
    assert.equal((await w.t.repos.links.list({ externalUserId: session.externalUserId })).length, 1);
  });

  test('the refusals of a decision that names no site, or the wrong one, say so', { timeout: 180_000 }, async () => {
    const { session } = await opened({ cloudId: SITE_A });
    const wrong = await refusal(w.sessions.decide(session, decision('acc-words', [SITE_B])));
    assert.deepEqual([wrong.code, wrong.message, wrong.details], ['LINK_SESSION_INVALID', 'This link was made for another site.', { reason: 'wrong_site' }]);
    const none = await refusal(w.sessions.decide(session, decision('acc-words', [])));
    assert.deepEqual([none.code, none.message], ['VALIDATION_FAILED', 'Choose at least one site.']);
  });

  test('links of a session: only its own', { timeout: 180_000 }, async () => {
    const a = await opened({ requireConfirmation: false });
    const b = await opened({ requireConfirmation: false });
    const [la] = (await w.sessions.decide(a.session, decision('acc-of-a', [SITE_A]))).links;
    await w.sessions.decide(b.session, decision('acc-of-b', [SITE_A]));
    assert.deepEqual((await w.sessions.linksOf(a.id)).map((l) => l.id), [la?.id]);
    const none: Link[] = await w.sessions.linksOf('00000000-0000-4000-8000-000000000000');
    assert.deepEqual(none, []);
  });
});
