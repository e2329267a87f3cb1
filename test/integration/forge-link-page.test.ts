import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { startBrowserWorld, type BrowserWorld } from '../browser/support/browser-world.js';
import { createUserAgent, type UserAgent } from '../support/user-agent.js';
import { installShippedForgeApp, invokeFromPage, type ShippedInstall } from '../support/forge-app.js';

const APP_ID = 'ari:cloud:ecosystem::app/5d3f2a10-7b4c-4e8a-9c61-2f0e8d7a4b21';

/**
 * The shipped Forge app's "Connect your account" page and settings page against the gateway, on real loopback
 * sockets: the sandbox runs the rendered manifest, sends each page's `invokeRemote` to the gateway with a FIT
 * naming the signed-in user, and the gateway decides from that FIT alone.
 */
describe('the Forge "Connect your account" and settings pages (shipped app, real HTTP)', { timeout: 240_000 }, () => {
  let w: BrowserWorld;
  let inst: ShippedInstall;
  let pageUrl: string;
  let settingsUrl: string;

  const settle = async () => {
    await w.sandbox.sandbox.forge.deliveries.flush();
    await w.gateway.background.drain();
  };
  const as = async (accountId: string): Promise<UserAgent> => {
    const ua = createUserAgent(fetch);
    await ua.signIn(w.sandboxUrl, accountId);
    return ua;
  };
  const startSession = async (externalUserId: string) => {
    const r = await w.api<{ id: string; url: string }>('POST', '/v1/link-sessions', { externalUserId, site: 'acme', returnUrl: `${w.appUrl}/linked` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  };
  /** Opens the link URL as that person: the gateway sends them to the Forge page of their site. */
  const openLink = async (ua: UserAgent, url: string) => {
    const res = await ua.fetch(url);
    assert.equal(res.status, 302, `the link URL redirects to the Forge page (got ${res.status}: ${await res.clone().text()})`);
    const to = new URL(res.headers.get('location') ?? '');
    return { to, token: to.searchParams.get('session') ?? '' };
  };

  before(async () => {
    w = await startBrowserWorld({ env: { ONBEHALF_FORGE_APP_ID: APP_ID } });
    inst = await installShippedForgeApp(w.sandboxUrl, 'acme', w.gatewayUrl, APP_ID);
    await settle();
    pageUrl = inst.pages.find((p) => p.key === 'connect-account')?.url ?? '';
    settingsUrl = inst.pages.find((p) => p.type === 'confluence:globalSettings')?.url ?? '';
    assert.ok(pageUrl && settingsUrl, JSON.stringify(inst.pages));
    // Triggers carry only apiBaseUrl; the installed event made the gateway ask the site's own address.
    const tenant = await w.gateway.repos.tenants.find('forge', APP_ID, inst.installationId);
    assert.equal(tenant?.baseUrl, `${w.sandboxUrl}/s/acme/wiki`);
  });
  after(() => w?.close());

  test('a link session opens the Forge page; Allow waits for the completion code; then the gateway acts as that user offline', async () => {
    const session = await startSession('forge-bob');
    const bob = await as(DEFAULT_ACCOUNTS.bob);
    const { to, token } = await openLink(bob, session.url);
    assert.equal(`${to.origin}${to.pathname}`, pageUrl, 'the global page of the installed Forge app');
    assert.ok(token.startsWith('obl'), 'the page URL carries the session');
    const page = await bob.fetch(to.href);
    assert.equal(page.status, 200, 'the sandbox serves the page with the query (createHistory reports it)');

    const state = await invokeFromPage(bob, pageUrl, '/forge/ui/state', { session: token });
    assert.equal(state.status, 200, JSON.stringify(state.body));
    assert.deepEqual((state.body['session'] as { externalUserId: string }).externalUserId, 'forge-bob');
    assert.equal((state.body['account'] as { accountId: string }).accountId, DEFAULT_ACCOUNTS.bob, 'the account is the FIT principal');
    assert.equal((state.body['account'] as { displayName: string }).displayName, 'Bob Builder', 'named with the user token Forge sent');
    assert.deepEqual(state.body['links'], []);

    const allowed = await invokeFromPage(bob, pageUrl, '/forge/ui/decide', { session: token, decision: 'allow' });
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.equal(allowed.body['status'], 'pending_confirmation');
    const back = new URL(String(allowed.body['redirectUrl']));
    assert.equal(`${back.origin}${back.pathname}`, `${w.appUrl}/linked`);
    const code = back.searchParams.get('onbehalf_code') ?? '';
    assert.ok(code.startsWith('obc'));

    // Replaying the decision changes nothing; the same viewer sees their decision, anyone else "already used".
    const replay = await invokeFromPage(bob, pageUrl, '/forge/ui/decide', { session: token, decision: 'deny' });
    assert.equal(replay.status, 400);
    assert.equal((replay.body['error'] as { code: string }).code, 'LINK_SESSION_INVALID');
    const reload = await invokeFromPage(bob, pageUrl, '/forge/ui/state', { session: token });
    assert.deepEqual(reload.body['done'], { externalUserId: 'forge-bob', status: 'pending_confirmation' });
    const carol = await as(DEFAULT_ACCOUNTS.carol);
    const other = await invokeFromPage(carol, pageUrl, '/forge/ui/state', { session: token });
    assert.equal((other.body['problem'] as { title: string }).title, 'This link was already used');

    // The forwarded-link guard: unusable until the backend redeems the code the browser brought back.
    const [pending] = (await w.api<{ links: { id: string; route: string; status: string }[] }>('GET', '/v1/links?externalUserId=forge-bob')).body.links;
    assert.deepEqual([pending?.route, pending?.status], ['forge', 'pending_confirmation']);
    const early = await w.api('POST', '/v1/tokens', { externalUserId: 'forge-bob', site: 'acme' });
    assert.notEqual(early.status, 200, 'no token before the confirmation');
    const wrong = await w.api('POST', `/v1/link-sessions/${session.id}/confirm`, { code: 'obc_wrong' });
    assert.equal(wrong.status, 400);
    const confirmed = await w.api<{ status: string; route: string }>('POST', `/v1/link-sessions/${session.id}/confirm`, { code });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    assert.deepEqual([confirmed.body.status, confirmed.body.route], ['linked', 'forge']);
    const link = await w.gateway.repos.links.get(pending?.id ?? '');
    assert.equal(link?.evidence?.['kind'], 'forge_invocation');
    assert.equal(link?.evidence?.['principal'], DEFAULT_ACCOUNTS.bob);
    assert.equal(link?.evidence?.['installationId'], inst.installationId);

    // Acting as bob through the proxy: an offline user token of the Forge installation.
    const grants = w.sandbox.sandbox.control.counters.total('offline_token_grant');
    const me = await fetch(`${w.gatewayUrl}/v1/act/forge-bob/acme/rest/api/user/current`, { headers: { authorization: `Bearer ${w.apiKey}` } });
    assert.equal(me.status, 200, await me.clone().text());
    assert.equal(((await me.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.bob);
    assert.equal(w.sandbox.sandbox.control.counters.total('offline_token_grant'), grants + 1);

    // Disconnect: only the owner, on this site.
    const notYours = await invokeFromPage(carol, pageUrl, '/forge/ui/disconnect', { linkId: pending?.id });
    assert.equal(notYours.status, 404);
    assert.equal((await w.gateway.repos.links.get(pending?.id ?? ''))?.status, 'linked');
    const shown = await invokeFromPage(bob, pageUrl, '/forge/ui/state', {});
    assert.deepEqual((shown.body['links'] as { id: string; since: string }[]).map((l) => l.id), [pending?.id]);
    const gone = await invokeFromPage(bob, pageUrl, '/forge/ui/disconnect', { linkId: pending?.id });
    assert.equal(gone.status, 200, JSON.stringify(gone.body));
    assert.equal((await w.gateway.repos.links.get(pending?.id ?? ''))?.status, 'revoked');
    const after = await fetch(`${w.gatewayUrl}/v1/act/forge-bob/acme/rest/api/user/current`, { headers: { authorization: `Bearer ${w.apiKey}` } });
    assert.notEqual(after.status, 200, 'a disconnected user cannot be acted as');
  });

  test('Deny records the refusal and creates no link', async () => {
    const session = await startSession('forge-dave');
    const dave = await as(DEFAULT_ACCOUNTS.dave);
    const { token } = await openLink(dave, session.url);
    const denied = await invokeFromPage(dave, pageUrl, '/forge/ui/decide', { session: token, decision: 'deny' });
    assert.equal(denied.status, 200);
    assert.equal(denied.body['status'], 'denied');
    assert.equal(new URL(String(denied.body['redirectUrl'])).searchParams.get('onbehalf_status'), 'denied');
    assert.equal((await w.gateway.repos.links.list({ externalUserId: 'forge-dave' })).length, 0);
    assert.equal((await w.gateway.repos.audit.query({ action: 'link.denied', externalUserId: 'forge-dave' })).length, 1);
  });

  test('the admin endpoints: refused from another page and for non-admins; an admin sets the policy and maps an account', async () => {
    const bob = await as(DEFAULT_ACCOUNTS.bob);
    // A non-admin calling the admin endpoints from the page they can open: its FIT names that module.
    const fromLinkPage = await invokeFromPage(bob, pageUrl, '/forge/admin/policy', { acting: 'any_user' });
    assert.equal(fromLinkPage.status, 403, JSON.stringify(fromLinkPage.body));
    assert.equal((fromLinkPage.body['error'] as { details: { reason: string } }).details.reason, 'wrong_module');
    // Forge shows the settings page to site admins only (the sandbox too).
    const settingsForBob = await bob.fetch(settingsUrl);
    assert.equal(settingsForBob.status, 403);
    assert.equal((await w.gateway.repos.policies.get(inst.cloudId)).acting, 'linked_only', 'nothing changed');

    const alice = await as(DEFAULT_ACCOUNTS.alice);
    const state = await invokeFromPage(alice, settingsUrl, '/forge/admin/state', {});
    assert.equal(state.status, 200, JSON.stringify(state.body));
    assert.equal(state.body['acting'], 'linked_only');
    assert.equal((state.body['admin'] as { displayName: string | null }).displayName, 'Alice Admin', 'the admin is greeted by name, asked as the app');
    const found = await invokeFromPage(alice, settingsUrl, '/forge/admin/search', { q: 'Carol' });
    assert.equal(found.status, 200, JSON.stringify(found.body));
    assert.ok((found.body['users'] as { accountId: string }[]).some((u) => u.accountId === DEFAULT_ACCOUNTS.carol), JSON.stringify(found.body));
    const mapped = await invokeFromPage(alice, settingsUrl, '/forge/admin/map', { accountId: DEFAULT_ACCOUNTS.carol, externalUserId: 'forge-carol' });
    assert.equal(mapped.status, 200, JSON.stringify(mapped.body));
    const bad = await invokeFromPage(alice, settingsUrl, '/forge/admin/policy', { acting: 'everyone' });
    assert.equal(bad.status, 400);
    const set = await invokeFromPage(alice, settingsUrl, '/forge/admin/policy', { acting: 'admin_mapped' });
    assert.deepEqual(set.body, { acting: 'admin_mapped' });
    await w.gateway.background.drain();
    const carolMe = await fetch(`${w.gatewayUrl}/v1/act/forge-carol/acme/rest/api/user/current`, { headers: { authorization: `Bearer ${w.apiKey}` } });
    assert.equal(carolMe.status, 200, await carolMe.clone().text());
    assert.equal(((await carolMe.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.carol);
    const audit = await w.gateway.repos.audit.query({ action: 'policy.changed', cloudId: inst.cloudId });
    assert.equal(audit[0]?.actorId, DEFAULT_ACCOUNTS.alice);
    const revoke = await invokeFromPage(alice, settingsUrl, '/forge/admin/revoke', { linkId: mapped.body['id'] });
    assert.equal(revoke.status, 200);
  });

  test('a forged invocation token is refused with a JSON 401 and nothing is stored', async () => {
    const session = await startSession('forge-eve');
    const bob = await as(DEFAULT_ACCOUNTS.bob);
    const { token } = await openLink(bob, session.url);
    const { privateKey } = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const fit = await new SignJWT({
      app: { id: APP_ID, installationId: inst.installationId, apiBaseUrl: `${w.sandboxUrl}/ex/confluence/${inst.cloudId}`, installation: { id: inst.installationId, contexts: [{ name: 'confluence', cloudId: inst.cloudId }] }, environment: { type: 'PRODUCTION', id: inst.environmentId }, module: { type: 'xen:globalPage', key: 'connect-account' } },
      context: { cloudId: inst.cloudId, moduleKey: 'connect-account' },
      principal: DEFAULT_ACCOUNTS.bob,
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'forged' })
      .setIssuer('forge/invocation-token')
      .setAudience(APP_ID)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 25)
      .setJti('forged-1')
      .sign(privateKey);
    const before = (await w.gateway.repos.audit.query({ limit: 1000 })).length;
    const res = await fetch(`${w.gatewayUrl}/forge/ui/decide`, { method: 'POST', redirect: 'manual', headers: { authorization: `Bearer ${fit}`, 'content-type': 'application/json' }, body: JSON.stringify({ session: token, decision: 'allow' }) });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'FORGE_TOKEN_INVALID');
    assert.equal((await w.gateway.repos.links.list({ externalUserId: 'forge-eve' })).length, 0);
    assert.equal((await w.api<{ status: string }>('GET', `/v1/link-sessions/${session.id}`)).body.status, 'pending', 'the session is still unused');
    assert.equal((await w.gateway.repos.audit.query({ limit: 1000 })).length, before, 'nothing audited either');
  });
});

describe('the Forge settings page when the caller is not in an admin group', { timeout: 120_000 }, () => {
  test('a site admin of the sandbox outside ONBEHALF_ADMIN_GROUPS is refused by the product check, and nothing changes', async (t) => {
    const w = await startBrowserWorld({ env: { ONBEHALF_FORGE_APP_ID: APP_ID, ONBEHALF_ADMIN_GROUPS: 'confluence-admins' } });
    t.after(() => w.close());
    const inst = await installShippedForgeApp(w.sandboxUrl, 'acme', w.gatewayUrl, APP_ID);
    await w.sandbox.sandbox.forge.deliveries.flush();
    await w.gateway.background.drain();
    const settingsUrl = inst.pages.find((p) => p.type === 'confluence:globalSettings')?.url ?? '';
    const alice = createUserAgent(fetch);
    await alice.signIn(w.sandboxUrl, DEFAULT_ACCOUNTS.alice);
    // Forge lets Alice open the page (she is a site admin), but she is not in the groups this gateway names.
    const res = await invokeFromPage(alice, settingsUrl, '/forge/admin/policy', { acting: 'any_user' });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal((res.body['error'] as { details: { reason: string } }).details.reason, 'not_admin');
    assert.equal((await w.gateway.repos.policies.get(inst.cloudId)).acting, 'linked_only');
    assert.equal((await w.gateway.repos.audit.query({ action: 'admin.refused', cloudId: inst.cloudId })).length, 1);
  });
});
