import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isGatewayError } from '../../src/errors.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { GATEWAY_ORIGIN, SANDBOX_ORIGIN, createConnectWorld, type ConnectWorld } from '../support/connect-world.js';
import { createUserAgent, parseHostPage } from '../support/user-agent.js';

const RETURN = 'https://app.example/after-link';

describe('linking inside Confluence (Connect route), in process', () => {
  let w: ConnectWorld;
  let cloudId: string;
  before(async () => {
    w = await createConnectWorld();
    await w.install('acme');
    cloudId = w.sandbox.control.discovery().sites.find((s) => s.key === 'acme')?.cloudId ?? '';
  }, { timeout: 120_000 });
  after(async () => {
    await w.close();
  }, { timeout: 120_000 });

  /** What a person does: open the link, sign in to Confluence, see the consent page, click. */
  async function clickThrough(accountId: string, linkUrl: string, decision: 'allow' | 'deny') {
    const ua = createUserAgent(w.fetch);
    await ua.signIn(SANDBOX_ORIGIN, accountId);
    const toSite = await ua.fetch(linkUrl);
    assert.equal(toSite.status, 302);
    const sitePage = toSite.headers.get('location') ?? '';
    assert.match(sitePage, /\/s\/acme\/wiki\/plugins\/servlet\/ac\/com\.example\.onbehalf\/onbehalf-link\?ac\.session=/);
    const host = await ua.fetch(sitePage);
    assert.equal(host.status, 200);
    const { iframeSrc, contextTokenUrl } = parseHostPage(await host.text());
    assert.ok(iframeSrc.startsWith(`${GATEWAY_ORIGIN}/connect/link?`), iframeSrc);
    const page = await ua.fetch(iframeSrc);
    const html = await page.text();
    assert.equal(page.status, 200, html);
    assert.match(page.headers.get('content-security-policy') ?? '', new RegExp(`frame-ancestors ${SANDBOX_ORIGIN}`));
    const ctx = (await (await ua.fetch(contextTokenUrl, { method: 'POST' })).json()) as { token: string };
    const token = /data-session="([^"]*)"/.exec(html)?.[1] ?? '';
    const res = await ua.fetch(`${GATEWAY_ORIGIN}/connect/link/decide`, {
      method: 'POST',
      headers: { Authorization: `JWT ${ctx.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ session: token, decision }),
    });
    return { html, res, body: (await res.json()) as Record<string, any>, ctx: ctx.token, ua, sessionToken: token };
  }

  test('Allow -> pending confirmation -> the app redeems the code -> linked -> acting as the user names them as author', { timeout: 180_000 }, async () => {
    const started = await w.gateway.linking.sessions.start({ externalUserId: 'app-user-bob', route: 'connect', cloudId, returnUrl: RETURN });
    const r = await clickThrough(DEFAULT_ACCOUNTS.bob, started.url, 'allow');
    assert.match(r.html, /^<!doctype html>/i, 'standards mode: in quirks mode the body stretches and the frame kept growing');
    assert.match(r.html, /Allow onbehalf to act as you in Confluence\?/);
    assert.match(r.html, /Bob Builder/, 'the page names the signed-in user');
    assert.match(r.html, /app-user-bob/, 'and the app user being linked');
    assert.equal(r.res.status, 200);
    assert.equal(r.body['status'], 'pending_confirmation');
    const back = new URL(r.body['redirectUrl']);
    assert.equal(back.origin + back.pathname, RETURN);
    assert.equal(back.searchParams.get('onbehalf_session'), started.id);
    const code = back.searchParams.get('onbehalf_code') ?? '';
    assert.match(code, /^obc_/);

    // Before confirmation the gateway refuses to act.
    await assert.rejects(w.gateway.asUser({ site: 'acme', externalUserId: 'app-user-bob' }), (e: unknown) => isGatewayError(e, 'USER_NOT_LINKED'));
    await assert.rejects(w.gateway.linking.sessions.confirm(started.id, 'obc_wrong'), (e: unknown) => isGatewayError(e, 'LINK_SESSION_INVALID'));
    await assert.rejects(w.gateway.linking.sessions.confirm(started.id, code, { externalUserId: 'someone-else' }), (e: unknown) => isGatewayError(e, 'LINK_SESSION_INVALID'));
    const link = await w.gateway.linking.sessions.confirm(started.id, code, { externalUserId: 'app-user-bob' });
    assert.equal(link.status, 'linked');
    assert.equal(link.accountId, DEFAULT_ACCOUNTS.bob);
    assert.equal(link.route, 'connect');
    assert.equal(link.evidence['kind'], 'connect_context_jwt');
    await assert.rejects(w.gateway.linking.sessions.confirm(started.id, code), (e: unknown) => isGatewayError(e, 'LINK_SESSION_INVALID'), 'a code works once');
    assert.equal((await w.gateway.linking.sessions.get(started.id))?.status, 'linked');

    // Replaying the decision changes nothing.
    const replay = await r.ua.fetch(`${GATEWAY_ORIGIN}/connect/link/decide`, {
      method: 'POST',
      headers: { Authorization: `JWT ${r.ctx}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ session: r.sessionToken, decision: 'deny' }),
    });
    assert.equal(replay.status, 400);
    assert.equal((await w.gateway.linking.links.get(link.id))?.status, 'linked');

    const client = await w.gateway.asUser({ site: 'acme', externalUserId: 'app-user-bob' });
    const page = await client.fetch('/api/v2/pages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'Linked Bob', body: { representation: 'storage', value: '<p>linked</p>' } }),
    });
    assert.equal(page.status, 200);
    assert.equal(((await page.json()) as { authorId: string }).authorId, DEFAULT_ACCOUNTS.bob);
    const audit = (await w.gateway.repos.audit.query({ externalUserId: 'app-user-bob' })).map((e) => e.action);
    assert.deepEqual(audit.slice(0, 3), ['link.confirmed', 'link.created', 'link_session.created']);
  });

  test('Deny records the refusal and links nothing', { timeout: 180_000 }, async () => {
    const started = await w.gateway.linking.sessions.start({ externalUserId: 'app-user-carol', route: 'connect', cloudId, returnUrl: RETURN });
    const r = await clickThrough(DEFAULT_ACCOUNTS.carol, started.url, 'deny');
    assert.equal(r.body['status'], 'denied');
    assert.equal(new URL(r.body['redirectUrl']).searchParams.get('onbehalf_status'), 'denied');
    assert.equal((await w.gateway.linking.sessions.get(started.id))?.status, 'denied');
    assert.deepEqual(await w.gateway.repos.links.list({ externalUserId: 'app-user-carol' }), []);
  });

  test('a forwarded link does not link the forwardee: without the code the link never becomes usable, and it lapses', { timeout: 180_000 }, async () => {
    const started = await w.gateway.linking.sessions.start({ externalUserId: 'app-user-alice', route: 'connect', cloudId, returnUrl: RETURN });
    // Alice forwards her link; Dave clicks Allow. The code lands in Dave's browser, not Alice's app session.
    const r = await clickThrough(DEFAULT_ACCOUNTS.dave, started.url, 'allow');
    assert.equal(r.body['status'], 'pending_confirmation');
    await assert.rejects(w.gateway.asUser({ site: 'acme', externalUserId: 'app-user-alice' }), (e: unknown) => isGatewayError(e, 'USER_NOT_LINKED'));
    // Ten minutes later the unconfirmed claim lapses, and Dave's account is free for his own user.
    w.sandbox.clock.advance(11 * 60_000);
    await assert.rejects(w.gateway.linking.sessions.confirm(started.id, new URL(r.body['redirectUrl']).searchParams.get('onbehalf_code') ?? ''), (e: unknown) => isGatewayError(e, 'LINK_SESSION_EXPIRED'));
    const own = await w.gateway.linking.sessions.start({ externalUserId: 'app-user-dave', route: 'connect', cloudId, requireConfirmation: false });
    const mine = await clickThrough(DEFAULT_ACCOUNTS.dave, own.url, 'allow');
    assert.equal(mine.body['status'], 'linked', JSON.stringify(mine.body));
    const audit = await w.gateway.repos.audit.query({ externalUserId: 'app-user-dave' });
    assert.ok(audit.some((e) => e.reason === 'confirmation_opted_out'), 'the audit log says the guard was skipped');
  });

  test('a second claim of a linked account is a conflict and changes nothing', { timeout: 180_000 }, async () => {
    const started = await w.gateway.linking.sessions.start({ externalUserId: 'app-user-mallory', route: 'connect', cloudId, returnUrl: RETURN });
    const r = await clickThrough(DEFAULT_ACCOUNTS.bob, started.url, 'allow');
    assert.equal(r.res.status, 409);
    assert.equal(r.body['error']['code'], 'LINK_CONFLICT');
    // The page shows these words as they are: a title and a next step, not only the code.
    assert.equal(r.body['error']['details']['title'], 'Already linked to someone else');
    assert.match(r.body['error']['details']['nextStep'], /Connected apps/);
    assert.equal((await w.gateway.linking.sessions.get(started.id))?.status, 'pending', 'the session is untouched');
    const bobLinks = await w.gateway.repos.links.list({ accountId: DEFAULT_ACCOUNTS.bob, status: 'linked' });
    assert.deepEqual(bobLinks.map((l) => l.externalUserId), ['app-user-bob']);
    assert.ok((await w.gateway.repos.audit.query({ action: 'link.conflicted' })).length >= 1);
  });

  test('expired, unknown and forged link URLs get a clear page and change nothing', { timeout: 180_000 }, async () => {
    const started = await w.gateway.linking.sessions.start({ externalUserId: 'app-user-late', route: 'connect', cloudId, ttlMs: 60_000 });
    w.sandbox.clock.advance(61_000);
    const expired = await w.gateway.app.request(new URL(started.url).pathname);
    assert.equal(expired.status, 410);
    assert.match(await expired.text(), /expired/);
    const forged = await w.gateway.app.request('/link/obl_forged-token-that-does-not-exist');
    assert.equal(forged.status, 400);
    assert.match(await forged.text(), /not valid/);
    assert.equal((await w.gateway.linking.sessions.get(started.id))?.status, 'expired');
    await assert.rejects(w.gateway.linking.sessions.start({ externalUserId: 'has space', route: 'connect' }), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED'));
    await assert.rejects(w.gateway.linking.sessions.start({ externalUserId: 'x', route: 'connect', returnUrl: 'javascript:alert(1)' }), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED'));
  });

  test('a decision needs a context JWT: a page (real qsh) JWT or none is refused', { timeout: 180_000 }, async () => {
    const started = await w.gateway.linking.sessions.start({ externalUserId: 'app-user-x', route: 'connect', cloudId });
    const token = new URL(started.url).pathname.split('/').pop() ?? '';
    const none = await w.gateway.app.request('/connect/link/decide', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ session: token, decision: 'allow' }) });
    assert.equal(none.status, 401);
    assert.equal((await w.gateway.linking.sessions.get(started.id))?.status, 'pending');
  });

  test('the user disconnects from the Connected apps section; the next act-as call is refused', { timeout: 180_000 }, async () => {
    const ua = createUserAgent(w.fetch);
    await ua.signIn(SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.bob);
    const host = await ua.fetch(`${SANDBOX_ORIGIN}/s/acme/wiki/plugins/servlet/ac/com.example.onbehalf/onbehalf-link`);
    const { iframeSrc, contextTokenUrl } = parseHostPage(await host.text());
    const html = await (await ua.fetch(iframeSrc)).text();
    assert.match(html, /Connected apps/);
    const linkId = /data-revoke="([^"]+)"/.exec(html)?.[1];
    assert.ok(linkId, 'Bob sees his link');
    const t = (await (await ua.fetch(contextTokenUrl, { method: 'POST' })).json()) as { token: string };
    // Carol cannot revoke Bob's link with her own context token.
    const carol = createUserAgent(w.fetch);
    await carol.signIn(SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.carol);
    const carolHost = parseHostPage(await (await carol.fetch(`${SANDBOX_ORIGIN}/s/acme/wiki/plugins/servlet/ac/com.example.onbehalf/onbehalf-link`)).text());
    const ct = (await (await carol.fetch(carolHost.contextTokenUrl, { method: 'POST' })).json()) as { token: string };
    const notHers = await carol.fetch(`${GATEWAY_ORIGIN}/connect/links/${linkId}/revoke`, { method: 'POST', headers: { Authorization: `JWT ${ct.token}`, 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(notHers.status, 404);
    const ok = await ua.fetch(`${GATEWAY_ORIGIN}/connect/links/${linkId}/revoke`, { method: 'POST', headers: { Authorization: `JWT ${t.token}`, 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { status: string }).status, 'revoked');
    await assert.rejects(w.gateway.asUser({ site: 'acme', externalUserId: 'app-user-bob' }), (e: unknown) => isGatewayError(e, 'USER_NOT_LINKED'));
  });

  test('scopes: only those configured for the route, narrowed further by the site policy', { timeout: 180_000 }, async () => {
    await assert.rejects(w.gateway.tokenFor({ site: 'acme', externalUserId: 'app-user-dave', scopes: ['ADMIN'] }), (e: unknown) => isGatewayError(e, 'SCOPE_NOT_ALLOWED'));
    assert.equal((await w.gateway.tokenFor({ site: 'acme', externalUserId: 'app-user-dave', scopes: ['write'] })).route, 'connect');
    await w.gateway.repos.policies.set(cloudId, { allowedScopes: { connect: ['READ'] } }, 'test');
    await assert.rejects(w.gateway.tokenFor({ site: 'acme', externalUserId: 'app-user-dave', scopes: ['WRITE'] }), (e: unknown) => isGatewayError(e, 'SCOPE_NOT_ALLOWED') && JSON.stringify(e.details).includes('WRITE'));
    assert.deepEqual((await w.gateway.tokenFor({ site: 'acme', externalUserId: 'app-user-dave', scopes: ['READ'] })).scopes, ['READ']);
    await w.gateway.repos.policies.set(cloudId, { allowedScopes: {} }, 'test');
  });

  test('admin mapping: recorded as route admin; usable only when the site policy allows it', { timeout: 180_000 }, async () => {
    const link = await w.gateway.linking.links.adminMap({ cloudId, accountId: DEFAULT_ACCOUNTS.carol, externalUserId: 'app-user-carol', adminId: DEFAULT_ACCOUNTS.alice, adminKind: 'atlassian' });
    assert.equal(link.route, 'admin');
    assert.equal(link.evidence['adminId'], DEFAULT_ACCOUNTS.alice);
    await assert.rejects(w.gateway.asUser({ site: 'acme', externalUserId: 'app-user-carol' }), (e: unknown) => isGatewayError(e, 'POLICY_REFUSED'));
    await w.gateway.repos.policies.set(cloudId, { acting: 'admin_mapped' }, 'test');
    const client = await w.gateway.asUser({ site: 'acme', externalUserId: 'app-user-carol' });
    const me = (await (await client.fetch('/rest/api/user/current')).json()) as { accountId: string };
    assert.equal(me.accountId, DEFAULT_ACCOUNTS.carol);
    await assert.rejects(
      w.gateway.linking.links.adminMap({ cloudId, accountId: DEFAULT_ACCOUNTS.carol, externalUserId: 'someone-else', adminId: DEFAULT_ACCOUNTS.alice, adminKind: 'atlassian' }),
      (e: unknown) => isGatewayError(e, 'LINK_CONFLICT'),
    );
    // Acting by account id without a link needs the any_user policy.
    await assert.rejects(w.gateway.asUser({ site: 'acme', accountId: DEFAULT_ACCOUNTS.frank }), (e: unknown) => isGatewayError(e, 'POLICY_REFUSED'));
  });
});
