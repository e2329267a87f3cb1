import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isGatewayError } from '../errors.js';
import { hashToken } from '../store/ids.js';
import { createLinkSessions } from './link-sessions.js';
import { BASE_URL, decision, linkingWorldPerDescribe, SITE_A, SITE_B, type LinkingWorld } from './test-support/linking-world.js';
import { refusal } from './test-support/refusal.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

/**
 * Link sessions from their start to the moment a decision may be taken: what start() accepts and records,
 * and which tokens and OAuth states open a session. A link URL is a bearer credential for linking one of
 * your users, so each refusal here is one a forwarded, replayed or stale URL meets.
 */
describe('linkSessions.start', () => {
  let w: LinkingWorld;
  linkingWorldPerDescribe((world) => (w = world));

  test('refuses a user ID that is empty, too long, or holds a space or a non-printable character, and records nothing', { timeout: 180_000 }, async () => {
    for (const externalUserId of ['', 'a'.repeat(201), 'bad user', ' lead', 'trail ', 'tab\tuser', 'new\nline', 'ünïcode', 'del\x7f']) {
      const e = await refusal(w.sessions.start({ externalUserId, route: 'connect' }));
      assert.deepEqual([e.code, e.message, e.details], ['VALIDATION_FAILED', 'externalUserId must be 1-200 printable characters without spaces.', { field: 'externalUserId' }], JSON.stringify(externalUserId));
    }
    assert.deepEqual(await w.t.repos.linkSessions.list({}), [], 'no session was written');
    assert.deepEqual(await w.t.repos.audit.query({ action: 'link_session.created' }), [], 'no audit entry either');
    // The bounds themselves are accepted: 1 and 200 printable characters, the whole printable range.
    for (const externalUserId of ['x', 'a'.repeat(200), '!~"#$%&()*+,-./0:;<=>?@[\\]^_`{|}']) {
      await w.sessions.start({ externalUserId, route: 'connect' });
    }
  });

  test('refuses a return URL that is not an absolute http(s) URL, and records nothing', { timeout: 180_000 }, async () => {
    const before = (await w.t.repos.linkSessions.list({})).length;
    for (const returnUrl of ['not a url', '/relative/path', 'javascript:alert(1)', 'ftp://app.example/x', 'data:text/html,hi', 'file:///etc/passwd']) {
      const e = await refusal(w.sessions.start({ externalUserId: 'u-return', route: 'connect', returnUrl }));
      assert.deepEqual([e.code, e.message, e.details], ['VALIDATION_FAILED', 'returnUrl must be an absolute http(s) URL.', { field: 'returnUrl' }], returnUrl);
    }
    assert.equal((await w.t.repos.linkSessions.list({})).length, before);
    for (const returnUrl of ['https://app.example/linked', 'http://localhost:3000/linked']) {
      const s = await w.sessions.start({ externalUserId: 'u-return', route: 'connect', returnUrl });
      assert.equal((await w.sessions.get(s.id))?.returnUrl, returnUrl);
    }
  });

  test('the lifetime: ten minutes by default, one minute to seven days when given, whole milliseconds only', { timeout: 180_000 }, async () => {
    const now = w.t.clock.now();
    const byDefault = await w.sessions.start({ externalUserId: 'u-ttl', route: 'connect' });
    assert.equal(byDefault.expiresAt, now + 10 * MINUTE);
    assert.equal((await w.sessions.get(byDefault.id))?.expiresAt, now + 10 * MINUTE, 'stored as returned');
    for (const ttlMs of [MINUTE, 7 * DAY, 3 * DAY]) {
      const s = await w.sessions.start({ externalUserId: 'u-ttl', route: 'connect', ttlMs });
      assert.equal(s.expiresAt, now + ttlMs);
      assert.equal((await w.sessions.get(s.id))?.expiresAt, now + ttlMs);
    }
    const count = (await w.t.repos.linkSessions.list({ externalUserId: 'u-ttl' })).length;
    for (const ttlMs of [MINUTE - 1, 7 * DAY + 1, 0, -MINUTE, MINUTE + 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const e = await refusal(w.sessions.start({ externalUserId: 'u-ttl', route: 'connect', ttlMs }));
      assert.deepEqual([e.code, e.message, e.details], ['VALIDATION_FAILED', 'ttl must be between one minute and seven days.', { field: 'ttl' }], String(ttlMs));
    }
    assert.equal((await w.t.repos.linkSessions.list({ externalUserId: 'u-ttl' })).length, count, 'a refused lifetime writes nothing');
  });

  test('records what it was given, and the URL holds a fresh token of which only the hash is stored', { timeout: 180_000 }, async () => {
    const now = w.t.clock.now();
    const s = await w.started({ externalUserId: 'u-fields', route: 'oauth', cloudId: SITE_A, returnUrl: 'https://app.example/back?x=1', emailHint: 'someone@example.com', apiKeyId: 'key-1' });
    assert.match(s.token, /^obl_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(await w.sessions.get(s.id), {
      id: s.id,
      externalUserId: 'u-fields',
      cloudId: SITE_A,
      route: 'oauth',
      returnUrl: 'https://app.example/back?x=1',
      status: 'pending',
      requireConfirmation: true,
      linkId: null,
      emailHint: 'someone@example.com',
      apiKeyId: 'key-1',
      createdAt: now,
      expiresAt: now + 10 * MINUTE,
      usedAt: null,
      completedAt: null,
      pendingAccountId: null,
      pendingData: null,
    });
    const row = await w.t.store.db.selectFrom('link_sessions').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow();
    assert.equal(row.token_hash, hashToken(s.token));
    assert.ok(!JSON.stringify(row).includes(s.token), 'the token itself is nowhere in the row');
    const bare = await w.sessions.start({ externalUserId: 'u-fields', route: 'connect' });
    const view = await w.sessions.get(bare.id);
    assert.deepEqual([view?.cloudId, view?.returnUrl, view?.emailHint, view?.apiKeyId, view?.route], [null, null, null, null, 'connect']);
    const other = await w.started({ externalUserId: 'u-fields', route: 'connect' });
    assert.notEqual(other.token, s.token);
    assert.notEqual(other.id, s.id);
  });

  test('the forwarded-link guard is on with a return URL unless opted out, and never without one; the audit log says which', { timeout: 180_000 }, async () => {
    const cases = [
      { name: 'return URL', input: { returnUrl: 'https://app.example/r' }, guarded: true, reason: null },
      { name: 'return URL, asked for', input: { returnUrl: 'https://app.example/r', requireConfirmation: true }, guarded: true, reason: null },
      { name: 'return URL, opted out', input: { returnUrl: 'https://app.example/r', requireConfirmation: false }, guarded: false, reason: 'confirmation_opted_out' },
      { name: 'no return URL', input: {}, guarded: false, reason: 'no_return_url' },
      { name: 'no return URL, asked for', input: { requireConfirmation: true }, guarded: false, reason: 'no_return_url' },
      { name: 'no return URL, opted out', input: { requireConfirmation: false }, guarded: false, reason: 'confirmation_opted_out' },
    ];
    for (const [i, c] of cases.entries()) {
      const externalUserId = `u-guard-${i}`;
      const s = await w.started({ externalUserId, cloudId: SITE_B, ...c.input });
      assert.equal((await w.sessions.get(s.id))?.requireConfirmation, c.guarded, c.name);
      const [entry, ...more] = await w.t.repos.audit.query({ externalUserId });
      assert.equal(more.length, 0, `${c.name}: one audit entry`);
      assert.deepEqual(
        entry && [entry.action, entry.actorType, entry.actorId, entry.cloudId, entry.route, entry.reason],
        ['link_session.created', 'system', null, SITE_B, 'connect', c.reason],
        c.name,
      );
      // And the decision follows it: a guarded session only claims the account.
      const out = await w.sessions.decide(await w.sessions.open(s.token), decision(`acc-guard-${i}`, [SITE_B]));
      assert.equal(out.links[0]?.status, c.guarded ? 'pending_confirmation' : 'linked', c.name);
    }
  });

  test('the audit entry names the API key that started the session, or no site when none was given', { timeout: 180_000 }, async () => {
    await w.sessions.start({ externalUserId: 'u-audit-key', route: 'oauth', apiKeyId: 'key-42', returnUrl: 'https://app.example/r' });
    const [entry] = await w.t.repos.audit.query({ externalUserId: 'u-audit-key' });
    assert.deepEqual(entry && [entry.action, entry.actorType, entry.actorId, entry.cloudId, entry.route, entry.reason, entry.externalUserId], ['link_session.created', 'api_key', 'key-42', null, 'oauth', null, 'u-audit-key']);
  });
});

describe('linkSessions.open, get, bindState, byState', () => {
  let w: LinkingWorld;
  linkingWorldPerDescribe((world) => (w = world));

  test('open: an unknown token, a used session and an expired one are refused, each with its own words', { timeout: 180_000 }, async () => {
    const unknown = await refusal(w.sessions.open('obl_not-a-real-token'));
    assert.deepEqual([unknown.code, unknown.message, unknown.details], ['LINK_SESSION_INVALID', 'This link is not valid. Ask the application for a new one.', undefined]);

    const s = await w.started({ externalUserId: 'u-open' });
    const opened = await w.sessions.open(s.token);
    assert.deepEqual([opened.id, opened.status, opened.externalUserId], [s.id, 'pending', 'u-open']);
    await w.sessions.decide(opened, decision('acc-open', [SITE_A], { allow: false }));
    const used = await refusal(w.sessions.open(s.token));
    assert.deepEqual([used.code, used.message, used.details], ['LINK_SESSION_INVALID', 'This link was already used. Ask the application for a new one.', { status: 'denied' }]);

    const e = await w.started({ externalUserId: 'u-open', ttlMs: 2 * MINUTE });
    w.t.clock.advance(2 * MINUTE - 1);
    assert.equal((await w.sessions.open(e.token)).id, e.id, 'open until its last millisecond');
    w.t.clock.advance(1);
    const expired = await refusal(w.sessions.open(e.token));
    assert.deepEqual([expired.code, expired.message, expired.details], ['LINK_SESSION_EXPIRED', 'This link has expired. Ask the application for a new one.', { expiredAt: new Date(e.expiresAt).toISOString() }]);
  });

  test('get: an unknown id is undefined; a pending session reads as expired from its deadline on; a decided one keeps its status; the completion code never shows', { timeout: 180_000 }, async () => {
    assert.equal(await w.sessions.get('00000000-0000-4000-8000-000000000000'), undefined);
    const s = await w.started({ externalUserId: 'u-get', ttlMs: MINUTE });
    const linked = await w.started({ externalUserId: 'u-get-2', requireConfirmation: false, returnUrl: 'https://app.example/r' });
    const guarded = await w.started({ externalUserId: 'u-get-3', returnUrl: 'https://app.example/r' });
    await w.sessions.decide(await w.sessions.open(linked.token), decision('acc-get-2', [SITE_A]));
    await w.sessions.decide(await w.sessions.open(guarded.token), decision('acc-get-3', [SITE_A]));
    const view = await w.sessions.get(guarded.id);
    assert.equal(view?.status, 'pending_confirmation');
    assert.ok(view && !('hasCompletionCode' in view), 'whether a code exists is not part of the view');
    w.t.clock.advance(MINUTE - 1);
    assert.equal((await w.sessions.get(s.id))?.status, 'pending');
    w.t.clock.advance(1);
    assert.equal((await w.sessions.get(s.id))?.status, 'expired');
    w.t.clock.advance(10 * MINUTE);
    assert.equal((await w.sessions.get(linked.id))?.status, 'linked', 'a decided session does not lapse');
  });

  test('bindState: binds a hashed state to the session, marks it used, takes the site when one is named', { timeout: 180_000 }, async () => {
    const s = await w.started({ externalUserId: 'u-state', route: 'oauth' });
    const t0 = w.t.clock.now();
    const bound = await w.sessions.bindState(s.token, 'state-1', SITE_A);
    assert.equal(bound.id, s.id);
    const view = await w.sessions.get(s.id);
    assert.deepEqual([view?.usedAt, view?.cloudId, view?.status], [t0, SITE_A, 'pending']);
    assert.equal((await w.sessions.byState('state-1')).id, s.id);
    const row = await w.t.store.db.selectFrom('link_sessions').select('oauth_state_hash').where('id', '=', s.id).executeTakeFirstOrThrow();
    assert.equal(row.oauth_state_hash, hashToken('state-1'), 'only the hash of the state is kept');

    // Without a site the session keeps the one it had (none here); a new state replaces the old one.
    const s2 = await w.started({ externalUserId: 'u-state-2', route: 'oauth', cloudId: SITE_B });
    await w.sessions.bindState(s2.token, 'state-2', null);
    assert.equal((await w.sessions.get(s2.id))?.cloudId, SITE_B);
    w.t.clock.advance(1000);
    await w.sessions.bindState(s2.token, 'state-2b', null);
    assert.equal((await w.sessions.byState('state-2b')).id, s2.id);
    assert.equal((await w.sessions.get(s2.id))?.usedAt, w.t.clock.now());
    const old = await refusal(w.sessions.byState('state-2'));
    assert.equal(old.details?.['reason'], 'unknown_state');

    // A spent or unknown link cannot be bound.
    await assert.rejects(w.sessions.bindState('obl_unknown', 'state-x', null), (e: unknown) => isGatewayError(e, 'LINK_SESSION_INVALID'));
    assert.equal((await refusal(w.sessions.byState('state-x'))).details?.['reason'], 'unknown_state');
  });

  test('bindState: a session decided between the read and the write is not bound', { timeout: 180_000 }, async () => {
    const s = await w.started({ externalUserId: 'u-state-race', route: 'oauth' });
    const session = await w.sessions.open(s.token);
    // Another request decides the session while this one is between reading it and binding the state.
    const racing = { ...w.t.repos, linkSessions: { ...w.t.repos.linkSessions, byTokenHash: async (h: string) => {
      const found = await w.t.repos.linkSessions.byTokenHash(h);
      await w.sessions.decide(session, decision('acc-race', [], { allow: false }));
      return found;
    } } };
    const raced = createLinkSessions({ repos: racing, clock: w.t.clock }, { baseUrl: BASE_URL });
    const e = await refusal(raced.bindState(s.token, 'state-race', SITE_A));
    assert.deepEqual([e.code, e.message], ['LINK_SESSION_INVALID', 'This link was already used.']);
    assert.equal((await refusal(w.sessions.byState('state-race'))).details?.['reason'], 'unknown_state', 'the state was not bound');
    assert.equal((await w.sessions.get(s.id))?.cloudId, null);
  });

  test('byState: an unknown state, a completed sign-in and an expired session are refused, each with its reason', { timeout: 180_000 }, async () => {
    const unknown = await refusal(w.sessions.byState('never-issued'));
    assert.deepEqual([unknown.code, unknown.message, unknown.details], ['LINK_SESSION_INVALID', 'The sign-in came back with an unknown state; start again from the application.', { reason: 'unknown_state' }]);

    const s = await w.started({ externalUserId: 'u-bystate', route: 'oauth', ttlMs: 2 * MINUTE });
    await w.sessions.bindState(s.token, 'state-b', null);
    w.t.clock.advance(2 * MINUTE - 1);
    const found = await w.sessions.byState('state-b');
    assert.deepEqual([found.id, found.status], [s.id, 'pending']);
    w.t.clock.advance(1);
    const expired = await refusal(w.sessions.byState('state-b'));
    assert.deepEqual([expired.code, expired.message], ['LINK_SESSION_EXPIRED', 'The link expired before the sign-in finished. Ask the application for a new one.']);

    const d = await w.started({ externalUserId: 'u-bystate-2', route: 'oauth' });
    await w.sessions.bindState(d.token, 'state-d', null);
    await w.sessions.decide(await w.sessions.byState('state-d'), decision('acc-bystate', [], { route: 'oauth', allow: false }));
    const replayed = await refusal(w.sessions.byState('state-d'));
    assert.deepEqual([replayed.code, replayed.message, replayed.details], ['LINK_SESSION_INVALID', 'This sign-in was already completed.', { reason: 'state_replayed', status: 'denied' }]);
  });
});

describe('linkSessions: the 3LO site choice (holdForChoice, awaitingChoice)', () => {
  let w: LinkingWorld;
  linkingWorldPerDescribe((world) => (w = world));

  test('a held sign-in waits for the choice under its token; its state is spent; the choice then links only the chosen sites', { timeout: 180_000 }, async () => {
    const s = await w.started({ externalUserId: 'u-choice', route: 'oauth', requireConfirmation: false });
    const none = await refusal(w.sessions.awaitingChoice(s.token));
    assert.deepEqual([none.code, none.message, none.details], ['LINK_SESSION_INVALID', 'There is no finished sign-in waiting for a site choice.', { reason: 'no_pending_sign_in' }]);

    await w.sessions.bindState(s.token, 'state-choice', null);
    const data = { sites: [SITE_A, SITE_B], scopes: ['read:confluence-content.all'] };
    await w.sessions.holdForChoice(await w.sessions.byState('state-choice'), 'acc-choice', data);
    const waiting = await w.sessions.awaitingChoice(s.token);
    assert.deepEqual([waiting.id, waiting.pendingAccountId, waiting.pendingData, waiting.status], [s.id, 'acc-choice', data, 'pending']);
    assert.equal((await refusal(w.sessions.byState('state-choice'))).details?.['reason'], 'unknown_state', 'the OAuth state cannot be replayed');

    const out = await w.sessions.decide(waiting, decision('acc-choice', [SITE_B], { route: 'oauth' }));
    assert.deepEqual(out.links.map((l) => [l.cloudId, l.accountId, l.route]), [[SITE_B, 'acc-choice', 'oauth']]);
    assert.equal(out.session.pendingData, null, 'what was held is dropped once decided');
    await assert.rejects(w.sessions.awaitingChoice(s.token), (e: unknown) => isGatewayError(e, 'LINK_SESSION_INVALID'));
  });

  test('a deny of a held sign-in drops what was held', { timeout: 180_000 }, async () => {
    const s = await w.started({ externalUserId: 'u-choice-deny', route: 'oauth' });
    await w.sessions.holdForChoice(await w.sessions.open(s.token), 'acc-choice-deny', { sites: [SITE_A] });
    const out = await w.sessions.decide(await w.sessions.awaitingChoice(s.token), decision('acc-choice-deny', [], { route: 'oauth', allow: false }));
    assert.deepEqual([out.session.status, out.session.pendingData], ['denied', null]);
  });

  test('a decided session cannot be held again, and an expired one is not waiting', { timeout: 180_000 }, async () => {
    const s = await w.started({ externalUserId: 'u-choice-2', route: 'oauth' });
    const session = await w.sessions.open(s.token);
    await w.sessions.decide(session, decision('acc-choice-2', [], { route: 'oauth', allow: false }));
    const e = await refusal(w.sessions.holdForChoice(session, 'acc-choice-2', { sites: [SITE_A] }));
    assert.deepEqual([e.code, e.message], ['LINK_SESSION_INVALID', 'This sign-in was already completed.']);
    assert.equal((await w.sessions.get(s.id))?.pendingAccountId, null, 'nothing was held');

    const x = await w.started({ externalUserId: 'u-choice-3', route: 'oauth', ttlMs: MINUTE });
    await w.sessions.holdForChoice(await w.sessions.open(x.token), 'acc-choice-3', { sites: [SITE_A] });
    w.t.clock.advance(MINUTE);
    await assert.rejects(w.sessions.awaitingChoice(x.token), (err: unknown) => isGatewayError(err, 'LINK_SESSION_EXPIRED'));
  });
});
