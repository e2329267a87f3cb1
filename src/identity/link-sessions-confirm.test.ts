import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isGatewayError } from '../errors.js';
import type { Repositories } from '../store/repositories.js';
import { createLinkSessions, type LinkSessions } from './link-sessions.js';
import { BASE_URL, decision, linkingWorldPerDescribe, SITE_A, SITE_B, type LinkingWorld } from './test-support/linking-world.js';
import { refusal } from './test-support/refusal.js';

const MINUTE = 60_000;
const RETURN = 'https://app.example/back';

/**
 * The forwarded-link guard's second half: only the app's backend, redeeming the one-time completion code
 * for its own user in time, turns a claim into a link. Whoever clicked Allow on a forwarded link gets a
 * code on the app's return URL but has no session of that user at the app, so cannot redeem it.
 */
describe('linkSessions.confirm', () => {
  let w: LinkingWorld;
  let n = 0;
  linkingWorldPerDescribe((world) => (w = world));

  /** A guarded session for a fresh user, decided with Allow on the given sites: its id, user, code and links. */
  async function claimed(sites: string[] = [SITE_A], on: LinkSessions = w.sessions, extra: { apiKeyId?: string } = {}) {
    n++;
    const externalUserId = `user-${n}`;
    const s = await w.started({ externalUserId, returnUrl: RETURN, route: sites.length > 1 ? 'oauth' : 'connect', ...extra }, on);
    const out = await on.decide(await on.open(s.token), decision(`acc-${n}`, sites, { route: sites.length > 1 ? 'oauth' : 'connect' }));
    const code = new URL(out.redirectUrl ?? '').searchParams.get('onbehalf_code');
    assert.ok(code, 'a guarded decision hands out a code');
    return { id: s.id, externalUserId, accountId: `acc-${n}`, code, links: out.links };
  }

  const statusOf = async (linkId: string | undefined) => (await w.bare.repos.links.get(linkId ?? ''))?.status;

  test('the right code for the right user links the claim, once, and says so in the audit log and the event feed', { timeout: 180_000 }, async () => {
    const bystander = await claimed([SITE_B]);
    const c = await claimed([SITE_A], w.sessions, { apiKeyId: 'key-7' });
    w.t.clock.advance(5 * MINUTE);
    const at = w.t.clock.now();
    const link = await w.sessions.confirm(c.id, c.code, { externalUserId: c.externalUserId });
    assert.deepEqual([link.id, link.status, link.verifiedAt, link.externalUserId, link.accountId], [c.links[0]?.id, 'linked', at, c.externalUserId, c.accountId]);
    const s = await w.sessions.get(c.id);
    assert.deepEqual([s?.status, s?.completedAt], ['linked', at]);
    assert.equal((await w.bare.repos.linkSessions.get(c.id))?.hasCompletionCode, false, 'the code is spent');
    const [entry, ...more] = await w.t.repos.audit.query({ action: 'link.confirmed', externalUserId: c.externalUserId });
    assert.equal(more.length, 0);
    assert.deepEqual(
      entry && [entry.actorType, entry.actorId, entry.accountId, entry.externalUserId, entry.cloudId, entry.route, entry.data],
      ['api_key', 'key-7', c.accountId, c.externalUserId, SITE_A, 'connect', { linkId: link.id, sessionId: c.id }],
    );
    const feed = (await w.t.repos.events.after(0, 1000)).filter((e) => e.externalUserId === c.externalUserId);
    assert.deepEqual(feed.map((e) => [e.type, e.cloudId, e.accountId, e.data]), [
      ['link.pending_confirmation', SITE_A, c.accountId, { linkId: link.id, route: 'connect' }],
      ['link.linked', SITE_A, c.accountId, { linkId: link.id, route: 'connect' }],
    ]);

    const again = await refusal(w.sessions.confirm(c.id, c.code, { externalUserId: c.externalUserId }));
    assert.deepEqual([again.code, again.message, again.details], ['LINK_SESSION_INVALID', 'There is no link waiting for confirmation in this session.', { status: 'linked' }]);
    assert.equal(await statusOf(bystander.links[0]?.id), 'pending_confirmation', 'another session\'s claim is not confirmed with it');
    assert.equal((await w.sessions.get(bystander.id))?.status, 'pending_confirmation');
  });

  test('without naming the user the code alone confirms (the caller vouches for the session)', { timeout: 180_000 }, async () => {
    const c = await claimed();
    assert.equal((await w.sessions.confirm(c.id, c.code)).status, 'linked');
  });

  test('a code redeemed for another user, a wrong code, or no code confirms nothing and spends nothing', { timeout: 180_000 }, async () => {
    const c = await claimed();
    const wrongUser = await refusal(w.sessions.confirm(c.id, c.code, { externalUserId: 'someone-else' }));
    assert.deepEqual([wrongUser.code, wrongUser.message, wrongUser.details], ['LINK_SESSION_INVALID', 'This session belongs to another user.', { reason: 'wrong_user' }]);
    const emptyUser = await refusal(w.sessions.confirm(c.id, c.code, { externalUserId: '' }));
    assert.equal(emptyUser.details?.['reason'], 'wrong_user', 'an empty user ID is a user ID that does not match');
    for (const code of ['obc_wrong', '', c.code.slice(0, -1), `${c.code}x`]) {
      const wrong = await refusal(w.sessions.confirm(c.id, code, { externalUserId: c.externalUserId }));
      assert.deepEqual([wrong.code, wrong.message, wrong.details], ['LINK_SESSION_INVALID', 'The completion code does not match.', { reason: 'wrong_code' }], code);
    }
    assert.equal(await statusOf(c.links[0]?.id), 'pending_confirmation');
    assert.equal((await w.sessions.get(c.id))?.status, 'pending_confirmation');
    assert.deepEqual(await w.t.repos.audit.query({ action: 'link.confirmed', externalUserId: c.externalUserId }), []);
    // Still redeemable by the rightful caller.
    assert.equal((await w.sessions.confirm(c.id, c.code, { externalUserId: c.externalUserId })).status, 'linked');
  });

  test('a code is good until the claim lapses, not a millisecond longer', { timeout: 180_000 }, async () => {
    for (const on of [w.sessions, w.bare.sessions]) {
      const c = await claimed([SITE_A], on);
      w.t.clock.advance(10 * MINUTE - 1);
      assert.equal((await on.confirm(c.id, c.code)).status, 'linked', 'in time');
      const late = await claimed([SITE_A], on);
      w.t.clock.advance(10 * MINUTE);
      const e = await refusal(on.confirm(late.id, late.code, { externalUserId: late.externalUserId }));
      assert.deepEqual([e.code, e.message], ['LINK_SESSION_EXPIRED', 'The completion code has expired; start linking again.']);
      assert.notEqual(await statusOf(late.links[0]?.id), 'linked');
    }
  });

  test('a lapsed claim (its session expired by the sweep) is refused as expired, and stays so', { timeout: 180_000 }, async () => {
    const c = await claimed();
    w.t.clock.advance(10 * MINUTE);
    assert.equal((await w.sessions.get(c.id))?.status, 'expired');
    const e = await refusal(w.bare.sessions.confirm(c.id, c.code, { externalUserId: c.externalUserId }));
    assert.deepEqual([e.code, e.message], ['LINK_SESSION_EXPIRED', 'The completion code has expired; start linking again.']);
    assert.equal(await statusOf(c.links[0]?.id), 'revoked');
  });

  test('a session that was never decided, was denied, or does not exist has nothing to confirm', { timeout: 180_000 }, async () => {
    const unknown = await refusal(w.sessions.confirm('00000000-0000-4000-8000-000000000000', 'obc_x'));
    assert.deepEqual([unknown.code, unknown.message, unknown.details], ['LINK_SESSION_INVALID', 'There is no link waiting for confirmation in this session.', { status: 'unknown' }]);
    const pending = await w.started({ externalUserId: 'u-undecided', returnUrl: RETURN });
    assert.deepEqual((await refusal(w.sessions.confirm(pending.id, 'obc_x'))).details, { status: 'pending' });
    const denied = await w.started({ externalUserId: 'u-denied', returnUrl: RETURN });
    await w.sessions.decide(await w.sessions.open(denied.token), decision('acc-denied', [], { allow: false }));
    assert.deepEqual((await refusal(w.sessions.confirm(denied.id, 'obc_x'))).details, { status: 'denied' });
    const opted = await w.started({ externalUserId: 'u-opted', returnUrl: RETURN, requireConfirmation: false });
    await w.sessions.decide(await w.sessions.open(opted.token), decision('acc-opted', [SITE_A]));
    assert.deepEqual((await refusal(w.sessions.confirm(opted.id, 'obc_x'))).details, { status: 'linked' });
  });

  test('3LO with several sites: one code confirms every link of the session, and answers with the first site\'s', { timeout: 180_000 }, async () => {
    // The links of a session are read back in no particular order (they share a creation time): several
    // sessions make an answer that merely happened to be the first one read show.
    for (let i = 0; i < 12; i++) {
      const x = await claimed([SITE_A, SITE_B]);
      const answer = await w.sessions.confirm(x.id, x.code);
      assert.deepEqual([answer.id, answer.cloudId, answer.status], [x.links[0]?.id, SITE_A, 'linked'], `session ${i}`);
    }
    const c = await claimed([SITE_A, SITE_B]);
    const first = await w.sessions.confirm(c.id, c.code, { externalUserId: c.externalUserId });
    assert.equal(first.id, c.links[0]?.id);
    assert.deepEqual(await Promise.all(c.links.map((l) => statusOf(l.id))), ['linked', 'linked']);
    const confirmed = await w.t.repos.audit.query({ action: 'link.confirmed', externalUserId: c.externalUserId });
    assert.deepEqual(confirmed.map((e) => e.cloudId).sort(), [SITE_A, SITE_B]);
    const linked = (await w.t.repos.events.after(0, 1000)).filter((e) => e.externalUserId === c.externalUserId && e.type === 'link.linked');
    assert.deepEqual(linked.map((e) => [e.cloudId, e.data['route']]).sort(), [[SITE_A, 'oauth'], [SITE_B, 'oauth']]);
  });

  test('a guarded re-consent of a link that stayed linked: the code confirms it in place, on its new route', { timeout: 180_000 }, async () => {
    const first = await w.started({ externalUserId: 'u-relink', cloudId: SITE_A, requireConfirmation: false });
    const [link] = (await w.sessions.decide(await w.sessions.open(first.token), decision('acc-relink', [SITE_A]))).links;
    assert.ok(link);
    const again = await w.started({ externalUserId: 'u-relink', cloudId: SITE_A, returnUrl: RETURN, route: 'oauth' });
    const out = await w.sessions.decide(await w.sessions.open(again.token), decision('acc-relink', [SITE_A], { route: 'oauth' }));
    assert.equal(await statusOf(link.id), 'linked', 'never out of use while the new consent waits');
    w.t.clock.advance(1000);
    const code = new URL(out.redirectUrl ?? '').searchParams.get('onbehalf_code') ?? '';
    const confirmed = await w.sessions.confirm(again.id, code, { externalUserId: 'u-relink' });
    assert.deepEqual([confirmed.id, confirmed.status, confirmed.route, confirmed.verifiedAt], [link.id, 'linked', 'oauth', w.t.clock.now()]);
    assert.equal((await w.sessions.get(again.id))?.status, 'linked');
    const [entry] = await w.t.repos.audit.query({ action: 'link.confirmed', externalUserId: 'u-relink' });
    assert.deepEqual(entry && [entry.route, entry.data], ['oauth', { linkId: link.id, sessionId: again.id }]);
  });

  test('a claim revoked before its code came back is not brought back, and the code confirms nothing', { timeout: 180_000 }, async () => {
    const c = await claimed();
    const link = c.links[0];
    assert.ok(link && (await w.t.repos.links.setStatus(link.id, 'revoked', { reason: 'revoked_by_admin', from: ['pending_confirmation'] })));
    const e = await refusal(w.sessions.confirm(c.id, c.code, { externalUserId: c.externalUserId }));
    assert.deepEqual([e.code, e.message], ['NOT_FOUND', 'The link of this session no longer exists.']);
    assert.equal(await statusOf(link.id), 'revoked');
    assert.deepEqual(await w.t.repos.audit.query({ action: 'link.confirmed', externalUserId: c.externalUserId }), [], 'no confirmation is recorded');
    assert.deepEqual((await w.t.repos.events.after(0, 1000)).filter((ev) => ev.externalUserId === c.externalUserId && ev.type === 'link.linked'), [], 'nor announced');
    assert.equal((await w.sessions.get(c.id))?.status, 'pending_confirmation', 'the session is not marked linked');
  });

  test('a claim revoked while its code is being redeemed stays revoked, and no confirmation is recorded', { timeout: 180_000 }, async () => {
    const c = await claimed();
    const link = c.links[0];
    assert.ok(link);
    // The revocation lands between the redemption's read of the claim and its write.
    const repos: Repositories = { ...w.t.repos, links: { ...w.t.repos.links, list: async (q) => {
      const found = await w.t.repos.links.list(q);
      if (q?.sessionId === c.id) await w.t.repos.links.setStatus(link.id, 'revoked', { reason: 'revoked_by_app', from: ['pending_confirmation'] });
      return found;
    } } };
    const racing = createLinkSessions({ repos, clock: w.t.clock }, { baseUrl: BASE_URL });
    const e = await refusal(racing.confirm(c.id, c.code, { externalUserId: c.externalUserId }));
    assert.deepEqual([e.code, e.message], ['NOT_FOUND', 'The link of this session no longer exists.']);
    assert.equal(await statusOf(link.id), 'revoked');
    assert.deepEqual(await w.t.repos.audit.query({ action: 'link.confirmed', externalUserId: c.externalUserId }), []);
  });

  test('a code redeemed by another request between this one\'s checks and its write is refused here, and recorded once', { timeout: 180_000 }, async () => {
    const c = await claimed();
    let other: Promise<unknown> | undefined;
    const repos: Repositories = { ...w.t.repos, linkSessions: { ...w.t.repos.linkSessions, completionCodeHash: async (id: string) => {
      const stored = await w.t.repos.linkSessions.completionCodeHash(id);
      other ??= w.sessions.confirm(c.id, c.code);
      await other;
      return stored;
    } } };
    const racing = createLinkSessions({ repos, clock: w.t.clock }, { baseUrl: BASE_URL });
    const e = await refusal(racing.confirm(c.id, c.code, { externalUserId: c.externalUserId }));
    assert.deepEqual([e.code, e.message], ['LINK_SESSION_INVALID', 'This completion code was already used.']);
    assert.equal(((await other) as { status?: string } | undefined)?.status, 'linked', 'the other request linked it');
    assert.equal((await w.t.repos.audit.query({ action: 'link.confirmed', externalUserId: c.externalUserId })).length, 1);
  });

  test('a code redeemed by another request between this one\'s read of the claims and its write is refused here, and recorded once', { timeout: 180_000 }, async () => {
    const c = await claimed();
    let other: Promise<unknown> | undefined;
    const repos: Repositories = { ...w.t.repos, links: { ...w.t.repos.links, list: async (q) => {
      const found = await w.t.repos.links.list(q);
      if (q?.sessionId === c.id) {
        other ??= w.sessions.confirm(c.id, c.code);
        await other;
      }
      return found;
    } } };
    const racing = createLinkSessions({ repos, clock: w.t.clock }, { baseUrl: BASE_URL });
    const e = await refusal(racing.confirm(c.id, c.code, { externalUserId: c.externalUserId }));
    assert.deepEqual([e.code, e.message], ['LINK_SESSION_INVALID', 'This completion code was already used.']);
    assert.equal(((await other) as { status?: string } | undefined)?.status, 'linked');
    assert.equal((await w.t.repos.audit.query({ action: 'link.confirmed', externalUserId: c.externalUserId })).length, 1);
  });

  test('two redemptions of one code at the same time: one links, the other is refused', { timeout: 180_000 }, async () => {
    const c = await claimed();
    const results = await Promise.allSettled([w.sessions.confirm(c.id, c.code), w.sessions.confirm(c.id, c.code)]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.ok(isGatewayError(rejected?.reason, 'LINK_SESSION_INVALID'));
    assert.equal((await w.t.repos.audit.query({ action: 'link.confirmed', externalUserId: c.externalUserId })).length, 1, 'confirmed once');
  });
});
