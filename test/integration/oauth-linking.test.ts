import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isGatewayError } from '../../src/errors.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { GATEWAY_ORIGIN, SANDBOX_ORIGIN, createConnectWorld, type ConnectWorld } from '../support/connect-world.js';
import { createUserAgent } from '../support/user-agent.js';

const RETURN = 'https://app.example/back';

describe('linking through Atlassian sign-in (OAuth 2.0 3LO), in process', () => {
  let w: ConnectWorld;
  let acme: string;
  let globex: string;
  before(async () => {
    w = await createConnectWorld();
    const sites = w.sandbox.control.discovery().sites;
    acme = sites.find((s) => s.key === 'acme')?.cloudId ?? '';
    globex = sites.find((s) => s.key === 'globex')?.cloudId ?? '';
  }, { timeout: 120_000 });
  after(async () => {
    await w.close();
  }, { timeout: 120_000 });

  /** A person: opens the link, signs in to Atlassian, clicks Accept or Deny on Atlassian's consent page. */
  async function consent(accountId: string, linkUrl: string, decision: 'accept' | 'deny') {
    const ua = createUserAgent(w.fetch);
    await ua.signIn(SANDBOX_ORIGIN, accountId);
    const toAtlassian = await ua.fetch(linkUrl);
    assert.equal(toAtlassian.status, 302);
    const authorize = new URL(toAtlassian.headers.get('location') ?? '');
    assert.equal(authorize.origin, SANDBOX_ORIGIN);
    assert.equal(authorize.searchParams.get('prompt'), 'consent');
    assert.equal(authorize.searchParams.get('audience'), 'api.atlassian.com');
    assert.match(authorize.searchParams.get('scope') ?? '', /offline_access/);
    assert.equal(authorize.searchParams.get('redirect_uri'), `${GATEWAY_ORIGIN}/oauth/callback`);
    const consentPage = await (await ua.fetch(authorize.href)).text();
    const nonce = /name="consent" value="([^"]+)"/.exec(consentPage)?.[1] ?? '';
    const back = await ua.fetch(`${SANDBOX_ORIGIN}/authorize/decision`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ consent: nonce, decision }).toString() });
    assert.equal(back.status, 302);
    const callback = back.headers.get('location') ?? '';
    assert.ok(callback.startsWith(`${GATEWAY_ORIGIN}/oauth/callback?`), callback);
    const res = await ua.fetch(callback);
    return { ua, res, callback, state: new URL(callback).searchParams.get('state') ?? '' };
  }

  test('one reachable site: consent -> link (pending) -> confirm -> act through the API gateway as the user', { timeout: 180_000 }, async () => {
    const s = await w.gateway.linking.sessions.start({ externalUserId: 'crm-frank', route: 'oauth', returnUrl: RETURN });
    const { res, callback } = await consent(DEFAULT_ACCOUNTS.frank, s.url, 'accept');
    assert.equal(res.status, 302, await res.clone().text());
    const back = new URL(res.headers.get('location') ?? '');
    assert.equal(back.searchParams.get('onbehalf_status'), 'pending_confirmation');
    const link = await w.gateway.linking.sessions.confirm(s.id, back.searchParams.get('onbehalf_code') ?? '', { externalUserId: 'crm-frank' });
    assert.equal(link.route, 'oauth');
    assert.equal(link.cloudId, globex);
    assert.equal(link.evidence['kind'], 'oauth_me');
    assert.equal(link.evidence['accountId'], DEFAULT_ACCOUNTS.frank);

    const token = await w.gateway.tokenFor({ site: 'globex', externalUserId: 'crm-frank' });
    assert.equal(token.route, 'oauth');
    assert.match(token.apiBaseUrl, new RegExp(`/ex/confluence/${globex}/wiki$`));
    const client = await w.gateway.asUser({ site: globex, externalUserId: 'crm-frank' });
    const page = await client.fetch('/api/v2/pages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ spaceId: '65539', title: 'Frank via 3LO', body: { representation: 'storage', value: '<p>3lo</p>' } }),
    });
    assert.equal(page.status, 200, await page.clone().text());
    assert.equal(((await page.json()) as { authorId: string }).authorId, DEFAULT_ACCOUNTS.frank);

    // The refresh token is stored sealed; the code cannot be replayed; the state cannot be replayed.
    const row = await w.gateway.store.db.selectFrom('tokens').select(['token', 'kind']).where('account_id', '=', DEFAULT_ACCOUNTS.frank).where('kind', '=', 'refresh').executeTakeFirstOrThrow();
    assert.match(row.token, /^ob1\./);
    const replay = await w.gateway.app.request(new URL(callback).pathname + new URL(callback).search);
    assert.equal(replay.status, 400);
  });

  test('a session without a return URL is no dead end: it links at consent, says so, and leaves no claim behind (issue 15)', { timeout: 180_000 }, async () => {
    const s = await w.gateway.linking.sessions.start({ externalUserId: 'crm-frank-noreturn', route: 'oauth', cloudId: globex });
    const { res } = await consent(DEFAULT_ACCOUNTS.bob, s.url, 'accept');
    const html = await res.text();
    assert.equal(res.status, 200, html);
    assert.match(html, /Your account is connected/);
    assert.doesNotMatch(html, /Almost done/);
    assert.equal((await w.gateway.linking.sessions.get(s.id))?.status, 'linked');
    const links = await w.gateway.repos.links.list({ externalUserId: 'crm-frank-noreturn' });
    assert.deepEqual(links.map((l) => l.status), ['linked']);
    const audit = await w.gateway.repos.audit.query({ action: 'link_session.created', externalUserId: 'crm-frank-noreturn' });
    assert.equal(audit[0]?.reason, 'no_return_url', 'the audit log says why the guard was off');
    assert.equal((await w.gateway.repos.links.countByStatus())['pending_confirmation'] ?? 0, 0);
    // Leave Bob free for the tests after this one.
    await w.gateway.linking.links.revoke({ linkId: links[0]?.id ?? '', actorType: 'system' });
  });

  test('a 3LO consent over a live Connect-era link moves it onto the 3LO route (no revocation needed)', { timeout: 180_000 }, async () => {
    const mapped = await w.gateway.linking.links.adminMap({ cloudId: acme, accountId: DEFAULT_ACCOUNTS.dave, externalUserId: 'crm-dave-migrating', adminId: 'admin-1', adminKind: 'console' });
    assert.equal(mapped.route, 'admin');
    const s = await w.gateway.linking.sessions.start({ externalUserId: 'crm-dave-migrating', route: 'oauth', cloudId: acme, returnUrl: RETURN });
    const { res } = await consent(DEFAULT_ACCOUNTS.dave, s.url, 'accept');
    assert.equal(res.status, 302, await res.clone().text());
    const back = new URL(res.headers.get('location') ?? '');
    await w.gateway.linking.sessions.confirm(s.id, back.searchParams.get('onbehalf_code') ?? '', { externalUserId: 'crm-dave-migrating' });
    const links = await w.gateway.repos.links.list({ externalUserId: 'crm-dave-migrating' });
    assert.deepEqual(links.map((l) => [l.id, l.route, l.status, l.evidence['kind']]), [[mapped.id, 'oauth', 'linked', 'oauth_me']]);
    assert.notEqual(links[0]?.tenantId ?? null, null, 'the link now names the 3LO installation');
    const token = await w.gateway.tokenFor({ site: 'acme', externalUserId: 'crm-dave-migrating' });
    assert.equal(token.route, 'oauth');
  });

  test('several reachable sites: the user is asked, and only the chosen sites are linked', { timeout: 180_000 }, async () => {
    const s = await w.gateway.linking.sessions.start({ externalUserId: 'crm-alice', route: 'oauth', returnUrl: RETURN, requireConfirmation: false });
    const { ua, res, state } = await consent(DEFAULT_ACCOUNTS.alice, s.url, 'accept');
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /Which Confluence sites/);
    assert.match(html, new RegExp(`value="${acme}"`));
    assert.match(html, new RegExp(`value="${globex}"`));
    assert.deepEqual(await w.gateway.repos.links.list({ externalUserId: 'crm-alice' }), [], 'nothing is linked before the choice');
    const bad = await ua.fetch(`${GATEWAY_ORIGIN}/oauth/choose`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ state, cloudId: 'not-a-site', decision: 'allow' }).toString() });
    assert.equal(bad.status, 400);
    const chosen = await ua.fetch(`${GATEWAY_ORIGIN}/oauth/choose`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ state, cloudId: acme, decision: 'allow' }).toString() });
    assert.equal(chosen.status, 302);
    assert.equal(new URL(chosen.headers.get('location') ?? '').searchParams.get('onbehalf_status'), 'linked');
    const links = await w.gateway.repos.links.list({ externalUserId: 'crm-alice' });
    assert.deepEqual(links.map((l) => [l.cloudId, l.route, l.status]), [[acme, 'oauth', 'linked']]);
    const again = await ua.fetch(`${GATEWAY_ORIGIN}/oauth/choose`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ state, cloudId: globex, decision: 'allow' }).toString() });
    assert.equal(again.status, 400, 'the choice is made once');
  });

  test('consent denied: the session records it and nothing is linked or stored', { timeout: 180_000 }, async () => {
    const s = await w.gateway.linking.sessions.start({ externalUserId: 'crm-carol', route: 'oauth', returnUrl: RETURN });
    const { res } = await consent(DEFAULT_ACCOUNTS.carol, s.url, 'deny');
    assert.equal(res.status, 302);
    assert.equal(new URL(res.headers.get('location') ?? '').searchParams.get('onbehalf_status'), 'denied');
    assert.equal((await w.gateway.linking.sessions.get(s.id))?.status, 'denied');
    assert.deepEqual(await w.gateway.repos.links.list({ externalUserId: 'crm-carol' }), []);
    const stored = await w.gateway.store.db.selectFrom('tokens').select('id').where('account_id', '=', DEFAULT_ACCOUNTS.carol).execute();
    assert.deepEqual(stored, []);
  });

  test('consent for another site than the link is for is refused, and no grant is kept', { timeout: 180_000 }, async () => {
    const s = await w.gateway.linking.sessions.start({ externalUserId: 'crm-frank-2', route: 'oauth', cloudId: acme, returnUrl: RETURN });
    const { res } = await consent(DEFAULT_ACCOUNTS.frank, s.url, 'accept');
    assert.equal(res.status, 400);
    assert.match(await res.text(), /other sites/);
    assert.deepEqual(await w.gateway.repos.links.list({ externalUserId: 'crm-frank-2' }), []);
  });

  test('a wrong or missing state is refused with a clear page', { timeout: 180_000 }, async () => {
    assert.equal((await w.gateway.app.request('/oauth/callback?code=x&state=forged-state-value')).status, 400);
    assert.equal((await w.gateway.app.request('/oauth/callback?code=x')).status, 400);
  });

  test('a refresh token Atlassian no longer accepts marks the link reauth_required instead of retrying', { timeout: 180_000 }, async () => {
    const before = await w.gateway.repos.links.list({ externalUserId: 'crm-frank', status: 'linked' });
    assert.equal(before.length, 1);
    // 91 idle days: Atlassian's refresh token has expired.
    w.sandbox.clock.advance(91 * 86_400_000);
    await assert.rejects(w.gateway.tokenFor({ site: 'globex', externalUserId: 'crm-frank' }), (e: unknown) => isGatewayError(e, 'REAUTH_REQUIRED'));
    const link = await w.gateway.repos.links.get(before[0]?.id ?? '');
    assert.equal(link?.status, 'reauth_required');
    assert.ok(link?.statusReason);
    await assert.rejects(w.gateway.asUser({ site: 'globex', externalUserId: 'crm-frank' }), (e: unknown) => isGatewayError(e, 'REAUTH_REQUIRED'));
    assert.ok((await w.gateway.repos.audit.query({ action: 'link.reauth_required' })).length >= 1);
  });

  test('the user disconnects a 3LO link themselves, after proving who they are with an Atlassian sign-in', { timeout: 180_000 }, async () => {
    const ua = createUserAgent(w.fetch);
    await ua.signIn(SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.frank);
    const toAtlassian = await ua.fetch(`${GATEWAY_ORIGIN}/oauth/manage`);
    const authorize = new URL(toAtlassian.headers.get('location') ?? '');
    assert.equal(authorize.searchParams.get('scope'), 'read:me', 'only identity is asked for');
    const nonce = /name="consent" value="([^"]+)"/.exec(await (await ua.fetch(authorize.href)).text())?.[1] ?? '';
    const back = await ua.fetch(`${SANDBOX_ORIGIN}/authorize/decision`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ consent: nonce, decision: 'accept' }).toString() });
    const page = await ua.fetch(back.headers.get('location') ?? '');
    const html = await page.text();
    assert.equal(page.status, 200, html);
    assert.match(html, /Your connections to onbehalf/);
    assert.match(html, /crm-frank/);
    assert.ok(!html.includes('crm-alice'), "only the signed-in user's own links are shown");
    const token = /name="token" value="([^"]+)"/.exec(html)?.[1] ?? '';
    assert.equal((await w.gateway.app.request('/oauth/manage/revoke', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: `${token}x` }).toString() })).status, 400, 'a tampered token is refused');
    const revoked = await w.gateway.app.request('/oauth/manage/revoke', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
    assert.equal(revoked.status, 200);
    assert.deepEqual((await w.gateway.repos.links.list({ externalUserId: 'crm-frank', status: ['linked', 'reauth_required'] })).length, 0);
    await assert.rejects(w.gateway.tokenFor({ site: 'globex', externalUserId: 'crm-frank' }), (e: unknown) => isGatewayError(e, 'USER_NOT_LINKED'));
    assert.ok((await w.gateway.repos.audit.query({ action: 'link.revoked' })).some((e) => e.externalUserId === 'crm-frank' && e.reason === 'revoked_by_user'));
  });
});
