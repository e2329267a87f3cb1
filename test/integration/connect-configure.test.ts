import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isGatewayError } from '../../src/errors.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { GATEWAY_ORIGIN, SANDBOX_ORIGIN, createConnectWorld, type ConnectWorld } from '../support/connect-world.js';
import { createUserAgent, parseHostPage, type UserAgent } from '../support/user-agent.js';

describe('admin mapping on the configure page inside Confluence', () => {
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

  async function openAs(accountId: string) {
    const ua = createUserAgent(w.fetch);
    await ua.signIn(SANDBOX_ORIGIN, accountId);
    const host = await ua.fetch(`${SANDBOX_ORIGIN}/s/acme/wiki/plugins/servlet/ac/com.example.onbehalf/onbehalf-configure`);
    return { ua, host };
  }
  async function pageAndToken(ua: UserAgent, hostHtml: string) {
    const { iframeSrc, contextTokenUrl } = parseHostPage(hostHtml);
    const page = await ua.fetch(iframeSrc);
    const ctx = ((await (await ua.fetch(contextTokenUrl, { method: 'POST' })).json()) as { token: string }).token;
    return { page, ctx, iframeSrc };
  }
  const post = (ua: UserAgent, ctx: string, path: string, body: unknown) =>
    ua.fetch(`${GATEWAY_ORIGIN}${path}`, { method: 'POST', headers: { Authorization: `JWT ${ctx}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  test('a site admin searches users, maps one, imports a CSV, sets the policy and revokes; all audited', { timeout: 180_000 }, async () => {
    const { ua, host } = await openAs(DEFAULT_ACCOUNTS.alice);
    assert.equal(host.status, 200);
    const { page, ctx } = await pageAndToken(ua, await host.text());
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Configure onbehalf/);

    const pageWithContextToken = await w.gateway.app.request(`/connect/configure`, { headers: { Authorization: `JWT ${ctx}` } });
    assert.equal(pageWithContextToken.status, 401, 'a context token cannot load the page (it needs the iframe JWT with a real qsh)');

    const mapped = await post(ua, ctx, '/connect/configure/map', { accountId: DEFAULT_ACCOUNTS.carol, externalUserId: 'crm-carol' });
    assert.equal(mapped.status, 200, await mapped.clone().text());
    const link = (await w.gateway.repos.links.list({ externalUserId: 'crm-carol' }))[0];
    assert.equal(link?.route, 'admin');
    assert.equal(link?.evidence['adminId'], DEFAULT_ACCOUNTS.alice);

    const csv = ['user id,account id', `crm-dave,${DEFAULT_ACCOUNTS.dave}`, 'crm-ghost,557058:no-such-account', `crm-carol-2,${DEFAULT_ACCOUNTS.carol}`, 'bad line'].join('\n');
    const imported = (await (await post(ua, ctx, '/connect/configure/import', { csv })).json()) as { mapped: number; failed: number; errors: string[] };
    assert.equal(imported.mapped, 1);
    assert.equal(imported.failed, 3);
    assert.match(imported.errors.join('\n'), /line 3: There is no user/);
    assert.match(imported.errors.join('\n'), /line 4: .*already linked/);

    assert.equal((await post(ua, ctx, '/connect/configure/policy', { acting: 'sometimes' })).status, 400);
    assert.equal((await post(ua, ctx, '/connect/configure/policy', { acting: 'admin_mapped' })).status, 200);
    assert.equal((await w.gateway.repos.policies.get(cloudId)).acting, 'admin_mapped');
    const asCarol = await w.gateway.asUser({ site: 'acme', externalUserId: 'crm-carol' });
    assert.equal(((await (await asCarol.fetch('/rest/api/user/current')).json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.carol);

    const revoked = await post(ua, ctx, '/connect/configure/revoke', { linkId: link?.id });
    assert.equal(revoked.status, 200);
    await assert.rejects(w.gateway.asUser({ site: 'acme', externalUserId: 'crm-carol' }), (e: unknown) => isGatewayError(e, 'USER_NOT_LINKED'));
    const actions = (await w.gateway.repos.audit.query({ cloudId })).map((e) => e.action);
    for (const a of ['link.admin_mapped', 'policy.changed', 'link.revoked']) assert.ok(actions.includes(a), a);
  });

  test('search runs as the app through Confluence user search; hidden emails stay hidden; results join the directory', { timeout: 180_000 }, async () => {
    const { ua, host } = await openAs(DEFAULT_ACCOUNTS.alice);
    const { ctx } = await pageAndToken(ua, await host.text());
    const res = await post(ua, ctx, '/connect/configure/search', { q: 'Bob' });
    assert.equal(res.status, 200, await res.clone().text());
    const { users } = (await res.json()) as { users: { accountId: string; displayName: string; email: string | null; linkedTo: string | null }[] };
    const bob = users.find((u) => u.accountId === DEFAULT_ACCOUNTS.bob);
    assert.ok(bob, JSON.stringify(users));
    assert.equal(bob.displayName, 'Bob Builder');
    assert.equal(bob.email, null, "Bob hides his email, so the app does not see it");
    assert.equal((await w.gateway.repos.knownAccounts.get(cloudId, DEFAULT_ACCOUNTS.bob))?.source, 'admin:search');
    assert.equal((await post(ua, ctx, '/connect/configure/search', { q: 'B' })).status, 400);
    const known = await w.gateway.repos.knownAccounts.get(cloudId, DEFAULT_ACCOUNTS.alice);
    assert.equal(known?.source, 'iframe:configure', 'the admin seen in the iframe joins the directory');
  });

  test('a non-admin is refused on the page and on every action, even with a valid context token', { timeout: 180_000 }, async () => {
    const { ua, host } = await openAs(DEFAULT_ACCOUNTS.bob);
    if (host.status === 200) {
      const { page, ctx } = await pageAndToken(ua, await host.text());
      assert.equal(page.status, 403);
      assert.match(await page.text(), /Only site administrators/);
      const res = await post(ua, ctx, '/connect/configure/map', { accountId: DEFAULT_ACCOUNTS.bob, externalUserId: 'bob-self' });
      assert.equal(res.status, 403);
    } else {
      // The sandbox, like Confluence, may refuse the page itself to non-admins.
      assert.notEqual(host.status, 500);
    }
    // Either way a forged context token for Bob cannot map.
    const now = Math.floor(w.sandbox.clock.now() / 1000);
    const info = w.sandbox.control.installInfo('acme', 'com.example.onbehalf');
    assert.ok(info);
    const { createHmac } = await import('node:crypto');
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: info.clientKey, sub: DEFAULT_ACCOUNTS.bob, iat: now, exp: now + 60, qsh: 'context-qsh' })}`;
    const token = `${input}.${createHmac('sha256', info.sharedSecret).update(input).digest('base64url')}`;
    const res = await w.gateway.app.request('/connect/configure/map', { method: 'POST', headers: { Authorization: `JWT ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ accountId: DEFAULT_ACCOUNTS.bob, externalUserId: 'bob-self' }) });
    assert.equal(res.status, 403);
    assert.deepEqual(await w.gateway.repos.links.list({ externalUserId: 'bob-self' }), []);
  });
});
