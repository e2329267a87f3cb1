import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isGatewayError } from '../errors.js';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../store/test-support/open-test-store.js';
import { createLinkSessions, type Decision } from './link-sessions.js';

const SITE_A = 'a1c0e000-0000-4000-8000-00000000000a';
const SITE_B = 'a1c0e000-0000-4000-8000-00000000000b';

/**
 * decide() on its own. Its callers (the Connect consent page, the 3LO callback) check the site before they
 * call it, so its own site checks were never reached by a test: here they are, and each refusal must
 * leave the session pending and create no link.
 */
describe('linkSessions.decide: the site checks', () => {
  let t: TestStore;
  let sessions: ReturnType<typeof createLinkSessions>;
  let n = 0;

  before(async () => {
    t = await openTestStore(testBackends()[0]!);
    sessions = createLinkSessions({ repos: t.repos, clock: t.clock }, { baseUrl: 'https://gw.example' });
  }, { timeout: 120_000 });
  after(() => t.close(), { timeout: 120_000 });

  async function pendingSession(cloudId: string | null) {
    n++;
    const started = await sessions.start({ externalUserId: `user-${n}`, route: 'connect', cloudId, requireConfirmation: false });
    const token = started.url.slice('https://gw.example/link/'.length);
    return sessions.open(token);
  }

  const decision = (sites: string[], allow = true): Decision => ({
    accountId: `acc-${n}`,
    sites: sites.map((cloudId) => ({ cloudId, tenantId: null })),
    route: 'connect',
    scopes: [],
    evidence: {},
    allow,
  });

  async function assertUnchanged(sessionId: string, externalUserId: string): Promise<void> {
    assert.equal((await sessions.get(sessionId))?.status, 'pending', 'the session is still pending');
    assert.deepEqual(await t.repos.links.list({ externalUserId }), [], 'no link was made');
  }

  const cases: Array<[string, string | null, string[], boolean]> = [
    ['another site than the session was made for', SITE_A, [SITE_B], true],
    ['the right site and another one', SITE_A, [SITE_A, SITE_B], true],
    ['another site first, then the right one', SITE_A, [SITE_B, SITE_A], true],
    ['a deny from another site', SITE_A, [SITE_B], false],
  ];
  for (const [name, sessionSite, sites, allow] of cases) {
    test(`refused: ${name}`, { timeout: 180_000 }, async () => {
      const s = await pendingSession(sessionSite);
      await assert.rejects(sessions.decide(s, decision(sites, allow)), (e: unknown) => isGatewayError(e, 'LINK_SESSION_INVALID') && e.details?.['reason'] === 'wrong_site');
      await assertUnchanged(s.id, s.externalUserId);
    });
  }

  test('refused: allow with no site at all', { timeout: 180_000 }, async () => {
    for (const site of [SITE_A, null]) {
      const s = await pendingSession(site);
      await assert.rejects(sessions.decide(s, decision([])), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED'));
      await assertUnchanged(s.id, s.externalUserId);
    }
  });

  test('accepted: the session\'s own site', { timeout: 180_000 }, async () => {
    const s = await pendingSession(SITE_A);
    const out = await sessions.decide(s, decision([SITE_A]));
    assert.deepEqual(out.links.map((l) => [l.cloudId, l.status]), [[SITE_A, 'linked']]);
    assert.equal(out.session.status, 'linked');
    assert.equal(out.session.cloudId, SITE_A);
  });

  test('accepted: a session without a site links every site chosen, and records none as its own', { timeout: 180_000 }, async () => {
    const s = await pendingSession(null);
    const out = await sessions.decide(s, decision([SITE_A, SITE_B]));
    assert.deepEqual(out.links.map((l) => l.cloudId).sort(), [SITE_A, SITE_B]);
    assert.equal(out.session.cloudId, null);
  });

  test('accepted: a session without a site and one site chosen takes that site', { timeout: 180_000 }, async () => {
    const s = await pendingSession(null);
    const out = await sessions.decide(s, decision([SITE_B]));
    assert.equal(out.session.cloudId, SITE_B);
  });

  test('a deny with no site is recorded (nothing to link)', { timeout: 180_000 }, async () => {
    const s = await pendingSession(SITE_A);
    const out = await sessions.decide(s, decision([], false));
    assert.equal(out.session.status, 'denied');
    assert.deepEqual(out.links, []);
  });

  test('a decision is taken once: the same session decided again is refused', { timeout: 180_000 }, async () => {
    const s = await pendingSession(SITE_A);
    await sessions.decide(s, decision([SITE_A]));
    await assert.rejects(sessions.decide(s, decision([SITE_A])), (e: unknown) => isGatewayError(e, 'LINK_SESSION_INVALID'));
    await assert.rejects(sessions.decide(s, decision([SITE_A], false)), (e: unknown) => isGatewayError(e, 'LINK_SESSION_INVALID'));
  });
});
