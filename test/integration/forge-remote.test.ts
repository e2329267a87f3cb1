import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createApiWorld, GATEWAY_ORIGIN } from '../api/support/api-world.js';
import { exampleForgeManifest, EXAMPLE_APP_ID } from '../../src/sandbox/forge/example-manifest.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { systemTokenKey } from '../../src/tenants/forge-installation.js';

/**
 * The gateway as a Forge remote, against the sandbox's Forge: the manifest's remote is the gateway; every
 * invocation is verified, records the installation and its system token; product events feed the accounts
 * seen; a reinstall keeps the site's links; a forged or foreign token is refused with nothing stored.
 */
describe('the gateway as a Forge remote', { timeout: 180_000 }, () => {
  test('install, tick, product events, reinstall with a new installationId, forged tokens refused', async (t) => {
    const w = await createApiWorld({ ONBEHALF_FORGE_APP_ID: EXAMPLE_APP_ID });
    t.after(() => w.close());
    const installed = await w.sandbox.forge.install('acme', { manifest: exampleForgeManifest({ baseUrl: GATEWAY_ORIGIN }) });
    assert.ok(installed.ok, JSON.stringify(installed));
    const inst = installed.value;
    const [record] = w.sandbox.forge.deliveries.records();
    assert.equal(record?.outcome, 'delivered', JSON.stringify(record));
    await w.settle();
    const repos = w.gateway.repos;
    const tenant = await repos.tenants.find('forge', EXAMPLE_APP_ID, inst.installationId);
    assert.ok(tenant, 'the installed event created the tenant');
    assert.deepEqual([tenant.cloudId, tenant.status], [w.cloudId, 'active']);
    const stored = await repos.tokens.get(systemTokenKey(tenant));
    assert.equal(stored?.token, inst.systemToken?.token, 'the system token of the invocation is kept');

    // The hourly trigger lands too, and a product event's actor joins the accounts seen.
    const tick = await w.sandbox.forge.runScheduledTrigger(inst, 'token-keepalive');
    assert.ok(tick.ok && tick.value.outcome === 'delivered');
    const basic = `Basic ${Buffer.from('alice@acme.example:alice-api-token').toString('base64')}`;
    const created = await w.sandbox.app.fetch(new Request(`${w.sandbox.origin}/s/acme/wiki/api/v2/pages`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/json' }, body: JSON.stringify({ spaceId: '65537', title: 'Forge event', body: { representation: 'storage', value: '<p>x</p>' } }) }));
    assert.equal(created.status, 200);
    await w.sandbox.forge.deliveries.flush();
    await w.settle();
    const seen = await repos.knownAccounts.list(w.cloudId);
    assert.ok(seen.some((a) => a.accountId === DEFAULT_ACCOUNTS.alice && a.source.startsWith('forge:')), JSON.stringify(seen));

    // A reinstall: a new installationId on the same site; the link made through the old one stays.
    const link = await repos.links.create({ externalUserId: 'forge-u1', cloudId: w.cloudId, accountId: DEFAULT_ACCOUNTS.bob, route: 'forge', scopes: [], status: 'linked', evidence: {}, tenantId: tenant.id });
    const again = await w.sandbox.forge.reinstall(inst);
    assert.ok(again.ok);
    await w.settle();
    const next = await repos.tenants.find('forge', EXAMPLE_APP_ID, again.value.installationId);
    assert.ok(next && next.id !== tenant.id);
    assert.equal((await repos.links.get(link.id))?.tenantId, next.id);
    assert.equal(await repos.tenants.get(tenant.id), undefined);
    assert.equal(await repos.forgeActivity.get(tenant.id), undefined, 'its invocation record went with it');
    assert.ok(await repos.forgeActivity.get(next.id), 'the new installation has its own');
    const [superseded] = await repos.audit.query({ action: 'tenant.superseded', cloudId: w.cloudId });
    assert.equal(superseded?.data?.['previousInstallationId'], inst.installationId);

    // Anything but a valid FIT for our app: a JSON 401 (never a redirect), and nothing is recorded.
    const before = (await repos.tenants.list()).length;
    for (const authorization of [undefined, 'Bearer a.b.c', `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.`]) {
      const res = await w.gateway.app.fetch(new Request(`${GATEWAY_ORIGIN}/forge/tick`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: '{}' }));
      assert.equal(res.status, 401);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'FORGE_TOKEN_INVALID');
    }
    assert.equal((await repos.tenants.list()).length, before);
  });

  test('acting through Forge: a forge link and the any_user policy get offline user tokens, via /v1/tokens and the proxy', async (t) => {
    const w = await createApiWorld({ ONBEHALF_FORGE_APP_ID: EXAMPLE_APP_ID });
    t.after(() => w.close());
    const installed = await w.sandbox.forge.install('acme', { manifest: exampleForgeManifest({ baseUrl: GATEWAY_ORIGIN }) });
    assert.ok(installed.ok);
    await w.settle();
    const repos = w.gateway.repos;
    const tenant = (await repos.tenants.find('forge', EXAMPLE_APP_ID, installed.value.installationId))!;
    const key = await w.apiKey();
    const api = (method: string, path: string, body?: unknown) =>
      w.gateway.app.fetch(new Request(`${GATEWAY_ORIGIN}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) }));
    const whoAt = async (apiBaseUrl: string, token: string) =>
      ((await (await w.sandbox.app.fetch(new Request(`${apiBaseUrl}/rest/api/user/current`, { headers: { authorization: `Bearer ${token}` } }))).json()) as { accountId: string }).accountId;

    // A link made through Forge acts with an offline token of that installation (proxy and /v1/tokens).
    await repos.links.create({ externalUserId: 'forge-bob', cloudId: w.cloudId, accountId: DEFAULT_ACCOUNTS.bob, route: 'forge', scopes: [], status: 'linked', evidence: {}, tenantId: tenant.id });
    const proxied = await api('GET', '/v1/act/forge-bob/acme/rest/api/user/current');
    assert.equal(proxied.status, 200, await proxied.clone().text());
    assert.equal(((await proxied.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.bob);
    const tok = await api('POST', '/v1/tokens', { externalUserId: 'forge-bob', site: 'acme' });
    const issued = (await tok.json()) as { accessToken: string; apiBaseUrl: string; route: string };
    assert.equal(issued.route, 'forge');
    assert.equal(issued.apiBaseUrl, `${w.sandbox.origin}/ex/confluence/${w.cloudId}/wiki`);
    assert.equal(await whoAt(issued.apiBaseUrl, issued.accessToken), DEFAULT_ACCOUNTS.bob);

    // Without a link, only the any_user policy lets the gateway act: then through Forge, as anyone the app may impersonate.
    const refused = await api('POST', '/v1/tokens', { accountId: DEFAULT_ACCOUNTS.carol, site: 'acme' });
    assert.equal(refused.status, 403);
    await repos.policies.set(w.cloudId, { acting: 'any_user' }, null);
    await w.settle();
    const anyone = await api('POST', '/v1/tokens', { accountId: DEFAULT_ACCOUNTS.carol, site: 'acme' });
    assert.equal(anyone.status, 200, await anyone.clone().text());
    const carol = (await anyone.json()) as { accessToken: string; apiBaseUrl: string; route: string };
    assert.equal(carol.route, 'forge');
    assert.equal(await whoAt(carol.apiBaseUrl, carol.accessToken), DEFAULT_ACCOUNTS.carol);
    assert.equal(w.sandbox.control.counters.total('offline_token_grant'), 2, 'bob once (proxy and tokens share the cache), carol once');

    // Forge refuses the stored system token (as after an uninstall): a clear error, the installation is
    // marked, and the next invocation (the hourly trigger) brings it back.
    w.sandbox.forge.expireTokens(installed.value, 'system');
    const dead = await api('POST', '/v1/tokens', { accountId: DEFAULT_ACCOUNTS.dave, site: 'acme' });
    assert.equal(dead.status, 503);
    assert.equal(((await dead.json()) as { error: { code: string } }).error.code, 'FORGE_TOKEN_UNAVAILABLE');
    await w.settle();
    assert.equal((await repos.tenants.get(tenant.id))?.status, 'disabled');
    assert.equal((await repos.audit.query({ action: 'tenant.token_rejected', cloudId: w.cloudId })).length, 1);
    const tick = await w.sandbox.forge.runScheduledTrigger(installed.value, 'token-keepalive');
    assert.ok(tick.ok && tick.value.outcome === 'delivered');
    await w.settle();
    assert.equal((await repos.tenants.get(tenant.id))?.status, 'active');
    const back = await api('POST', '/v1/tokens', { accountId: DEFAULT_ACCOUNTS.dave, site: 'acme' });
    assert.equal(back.status, 200, await back.clone().text());
  });

  test('the stored system token runs out (no invocation for hours): a clear error saying what to do, nothing sent; the next trigger recovers', async (t) => {
    const w = await createApiWorld({ ONBEHALF_FORGE_APP_ID: EXAMPLE_APP_ID });
    t.after(() => w.close());
    const installed = await w.sandbox.forge.install('acme', { manifest: exampleForgeManifest({ baseUrl: GATEWAY_ORIGIN }) });
    assert.ok(installed.ok);
    await w.settle();
    await w.gateway.repos.policies.set(w.cloudId, { acting: 'any_user' }, null);
    const key = await w.apiKey();
    const tokenFor = (accountId: string) =>
      w.gateway.app.fetch(new Request(`${GATEWAY_ORIGIN}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ accountId, site: 'acme' }) }));
    const grants = () => w.sandbox.control.counters.total('offline_token_grant');

    // Five hours with no invocation reaching the gateway: the system token it holds has expired.
    w.sandbox.control.advanceClock(5 * 3_600_000);
    const expired = await tokenFor(DEFAULT_ACCOUNTS.bob);
    assert.equal(expired.status, 503);
    const body = (await expired.json()) as { error: { code: string; message: string; details: Record<string, unknown> } };
    assert.equal(body.error.code, 'FORGE_TOKEN_UNAVAILABLE');
    assert.match(body.error.message, /hourly scheduled trigger/);
    assert.match(body.error.message, /reinstall/);
    assert.equal(body.error.details['installationId'], installed.value.installationId);
    assert.equal(grants(), 0, 'nothing was sent to Forge');
    const tenant = (await w.gateway.repos.tenants.find('forge', EXAMPLE_APP_ID, installed.value.installationId))!;
    assert.equal(tenant.status, 'active', 'an expired token is not a refused one: the installation is not marked');

    // The hourly trigger brings a fresh system token with it; the same call now works.
    const tick = await w.sandbox.forge.runScheduledTrigger(installed.value, 'token-keepalive');
    assert.ok(tick.ok && tick.value.outcome === 'delivered');
    await w.settle();
    const back = await tokenFor(DEFAULT_ACCOUNTS.bob);
    assert.equal(back.status, 200, await back.clone().text());
    assert.equal(((await back.json()) as { route: string }).route, 'forge');
    assert.equal(grants(), 1);
  });

  test('without ONBEHALF_FORGE_APP_ID the Forge endpoints do not exist', async (t) => {
    const w = await createApiWorld();
    t.after(() => w.close());
    const res = await w.gateway.app.fetch(new Request(`${GATEWAY_ORIGIN}/forge/tick`, { method: 'POST', body: '{}' }));
    assert.equal(res.status, 404);
  });
});
