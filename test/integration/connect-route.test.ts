import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SignJWT, generateKeyPair } from 'jose';
import { isGatewayError } from '../../src/errors.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { GATEWAY_ORIGIN, createConnectWorld, type ConnectWorld } from '../support/connect-world.js';

const BOB = DEFAULT_ACCOUNTS.bob;
const qshOf = (canonical: string) => createHash('sha256').update(canonical).digest('hex');
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
function hs256(claims: Record<string, unknown>, secret: string, header: Record<string, unknown> = { typ: 'JWT', alg: 'HS256' }): string {
  const signingInput = `${b64(header)}.${b64(claims)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

describe('Connect route through the sandbox', () => {
  let w: ConnectWorld;
  let install: Awaited<ReturnType<ConnectWorld['install']>>;
  before(async () => {
    w = await createConnectWorld();
    install = await w.install('acme');
  }, { timeout: 120_000 });
  after(async () => {
    await w.close();
  }, { timeout: 120_000 });

  const tenant = async () => {
    const t = await w.gateway.repos.tenants.find('connect', 'com.example.onbehalf', install.clientKey);
    assert.ok(t, 'tenant stored');
    return t;
  };

  test('the descriptor opts into signed installs and context-qsh, and asks for ACT_AS_USER', { timeout: 180_000 }, async () => {
    const res = await w.gateway.app.request('/atlassian-connect.json');
    assert.equal(res.status, 200);
    const d = (await res.json()) as Record<string, any>;
    assert.equal(d.key, 'com.example.onbehalf');
    assert.equal(d.baseUrl, GATEWAY_ORIGIN);
    assert.deepEqual(d.apiMigrations, { 'signed-install': true, 'context-qsh': true, gdpr: false });
    assert.deepEqual(d.scopes, ['READ', 'WRITE', 'ACT_AS_USER']);
    assert.deepEqual(d.lifecycle, { installed: '/installed', uninstalled: '/uninstalled', enabled: '/enabled', disabled: '/disabled' });
    assert.ok(d.modules.webhooks.some((h: { event: string }) => h.event === 'page_created'));
    assert.equal(d.modules.generalPages[0].location, 'none');
    assert.ok(d.modules.configurePage.url);
  });

  test('a signed install stores the tenant with its secret sealed and the cloudId from tenant_info', { timeout: 180_000 }, async () => {
    const t = await tenant();
    assert.equal(t.status, 'active');
    assert.equal(t.baseUrl, install.baseUrl);
    assert.equal(t.oauthClientId, install.oauthClientId);
    assert.equal(t.cloudId, w.sandbox.control.discovery().sites.find((s) => s.key === 'acme')?.cloudId);
    assert.equal(await w.gateway.repos.tenants.sharedSecret(t.id), install.sharedSecret);
    const row = await w.gateway.store.db.selectFrom('tenants').select('shared_secret').where('id', '=', t.id).executeTakeFirstOrThrow();
    assert.ok(row.shared_secret && !row.shared_secret.includes(install.sharedSecret));
    const audit = await w.gateway.repos.audit.query({ action: 'tenant.installed' });
    assert.equal(audit.length, 1);
  });

  test('webhook -> account captured -> token minted -> a page created with it names that user as author', { timeout: 180_000 }, async () => {
    // Bob creates a page in the sandbox himself; Confluence sends page_created to the gateway.
    const created = await w.fetch(`${install.baseUrl}/api/v2/pages`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('bob@acme.example:bob-api-token-0').toString('base64')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'Bob was here', body: { representation: 'storage', value: '<p>hi</p>' } }),
    });
    assert.equal(created.status, 200, await created.clone().text());
    await w.settle();
    const t = await tenant();
    const known = await w.gateway.repos.knownAccounts.get(t.cloudId ?? '', BOB);
    assert.ok(known, 'Bob is in the known-accounts directory');
    assert.equal(known.source, 'webhook:page_created');
    const feed = await w.gateway.repos.events.after(0, 10);
    assert.ok(feed.some((e) => e.type === 'webhook.page_created' && e.accountId === BOB));

    const token = await w.gateway.connect.broker.tokenFor({ tenant: t, accountId: BOB });
    assert.equal(token.route, 'connect');
    assert.equal(token.apiBaseUrl, install.baseUrl);
    const asBob = await w.fetch(`${token.apiBaseUrl}/api/v2/pages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token.accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'Made by the gateway as Bob', body: { representation: 'storage', value: '<p>as Bob</p>' } }),
    });
    assert.equal(asBob.status, 200, await asBob.clone().text());
    const page = (await asBob.json()) as { authorId: string; version: { authorId: string } };
    assert.equal(page.authorId, BOB);
    assert.equal(page.version.authorId, BOB);
  });

  test('asUser: a page created through the act-as client names the user as author', { timeout: 180_000 }, async () => {
    const t = await tenant();
    const client = w.gateway.connect.actAs.asUser(t, BOB);
    const res = await client.fetch('/api/v2/pages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer caller-supplied-is-dropped' },
      body: JSON.stringify({ spaceId: '65537', title: 'asUser page', body: { representation: 'storage', value: '<p>z</p>' } }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { authorId: string }).authorId, BOB);
    const me = (await (await client.fetch('/rest/api/user/current')).json()) as { accountId: string };
    assert.equal(me.accountId, BOB);
    await assert.rejects(client.fetch('https://evil.example/wiki/rest/api/user/current'), (e: unknown) => isGatewayError(e) && ['FORBIDDEN', 'BAD_REQUEST'].includes(e.code));
    await assert.rejects(client.fetch('/../../_sandbox/discovery'), (e: unknown) => isGatewayError(e));
  });

  test('asUser: a 401 on a cached token causes exactly one fresh grant and one retry', { timeout: 180_000 }, async () => {
    const t = await tenant();
    const alice = DEFAULT_ACCOUNTS.alice;
    const client = w.gateway.connect.actAs.asUser(t, alice);
    assert.equal((await client.fetch('/rest/api/user/current')).status, 200);
    const cached = await w.gateway.connect.broker.tokenFor({ tenant: t, accountId: alice });
    const grantsBefore = w.sandbox.control.counters.total('impersonation_grant', { user: alice });
    const fault = w.sandbox.control.faults.add({ kind: 'error', status: 401, match: { token: cached.accessToken } });
    try {
      const res = await client.fetch('/rest/api/user/current');
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { accountId: string }).accountId, alice);
      assert.equal(w.sandbox.control.counters.total('impersonation_grant', { user: alice }) - grantsBefore, 1);
      assert.notEqual((await w.gateway.connect.broker.tokenFor({ tenant: t, accountId: alice })).accessToken, cached.accessToken);
    } finally {
      w.sandbox.control.faults.remove(fault.id);
    }
  });

  test('asUser reuses the token it holds only until the broker drops anything (a revocation takes effect at once)', { timeout: 180_000 }, async () => {
    const t = await tenant();
    const dave = DEFAULT_ACCOUNTS.dave;
    const client = w.gateway.connect.actAs.asUser(t, dave);
    assert.equal((await client.fetch('/rest/api/user/current')).status, 200);
    const grants = () => w.sandbox.control.counters.total('impersonation_grant', { user: dave });
    const before = grants();
    for (let i = 0; i < 5; i++) assert.equal((await client.fetch('/rest/api/user/current')).status, 200);
    assert.equal(grants(), before, 'the held token serves repeated calls');
    w.gateway.connect.broker.purgeAccount(dave);
    assert.equal((await client.fetch('/rest/api/user/current')).status, 200);
    assert.equal(grants(), before + 1, 'after a purge the client goes back to the broker, which mints anew');
  });

  test('asApp: requests signed with a Connect JWT (qsh over the API path) act as the app', { timeout: 180_000 }, async () => {
    const t = await tenant();
    const res = await w.gateway.connect.actAs.asApp(t).fetch(`/rest/api/user?accountId=${encodeURIComponent(BOB)}`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { accountId: string }).accountId, BOB);
  });

  test('single-flight: 50 concurrent cold calls for one user cause exactly one grant; then the cache answers', { timeout: 180_000 }, async () => {
    const t = await tenant();
    const carol = DEFAULT_ACCOUNTS.carol;
    const before = w.sandbox.control.counters.total('impersonation_grant', { user: carol });
    const tokens = await Promise.all(Array.from({ length: 50 }, () => w.gateway.connect.broker.tokenFor({ tenant: t, accountId: carol, scopes: ['read'] })));
    assert.equal(new Set(tokens.map((x) => x.accessToken)).size, 1);
    assert.equal(w.sandbox.control.counters.total('impersonation_grant', { user: carol }) - before, 1);
    await w.gateway.connect.broker.tokenFor({ tenant: t, accountId: carol, scopes: ['READ'] });
    assert.equal(w.sandbox.control.counters.total('impersonation_grant', { user: carol }) - before, 1, 'scope case does not split the cache');
    await w.gateway.connect.broker.tokenFor({ tenant: t, accountId: carol, scopes: ['READ', 'WRITE'] });
    assert.equal(w.sandbox.control.counters.total('impersonation_grant', { user: carol }) - before, 2, 'another scope set is another token');
  });

  test('tokens are refreshed ahead of expiry: after 15 minutes less the skew a new grant happens', { timeout: 180_000 }, async () => {
    const t = await tenant();
    const dave = DEFAULT_ACCOUNTS.dave;
    const first = await w.gateway.connect.broker.tokenFor({ tenant: t, accountId: dave });
    w.sandbox.clock.advance(900_000 - 60_000 - 1);
    assert.equal((await w.gateway.connect.broker.tokenFor({ tenant: t, accountId: dave })).accessToken, first.accessToken);
    w.sandbox.clock.advance(2);
    const second = await w.gateway.connect.broker.tokenFor({ tenant: t, accountId: dave });
    assert.notEqual(second.accessToken, first.accessToken);
  });

  test('an inactive or unknown user is a clear INVALID_GRANT, not a retry loop', { timeout: 180_000 }, async () => {
    const t = await tenant();
    const before = w.sandbox.control.counters.total('impersonation_grant');
    await assert.rejects(w.gateway.connect.broker.tokenFor({ tenant: t, accountId: DEFAULT_ACCOUNTS.erin }), (e: unknown) => isGatewayError(e, 'INVALID_GRANT'));
    await assert.rejects(w.gateway.connect.broker.tokenFor({ tenant: t, accountId: '557058:no-such-user' }), (e: unknown) => isGatewayError(e, 'INVALID_GRANT'));
    await assert.rejects(w.gateway.connect.broker.tokenFor({ tenant: t, accountId: 'bad id!' }), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED'));
    assert.ok(w.sandbox.control.counters.total('impersonation_grant') - before <= 2, 'one attempt each');
  });

  test('Atlassian down: retried with backoff, then ATLASSIAN_UNAVAILABLE', { timeout: 180_000 }, async () => {
    const t = await tenant();
    w.sandbox.control.faults.add({ kind: 'error', status: 503, match: { pathPrefix: '/oauth2/token' }, times: 10 });
    try {
      await assert.rejects(w.gateway.connect.broker.tokenFor({ tenant: t, accountId: DEFAULT_ACCOUNTS.alice, scopes: ['WRITE'] }), (e: unknown) => isGatewayError(e, 'ATLASSIAN_UNAVAILABLE') && e.details?.['attempts'] === 3);
    } finally {
      w.sandbox.control.faults.clear();
    }
  });

  describe('inbound Connect JWTs on webhooks', () => {
    const path = '/connect/webhooks/page_created?lic=none';
    const claims = (over: Record<string, unknown> = {}) => {
      const now = Math.floor(w.sandbox.clock.now() / 1000);
      return { iss: install.clientKey, iat: now, exp: now + 180, qsh: qshOf('POST&/connect/webhooks/page_created&lic=none'), sub: BOB, ...over };
    };
    const send = (token: string | undefined, target = path) =>
      w.gateway.app.request(target, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `JWT ${token}` } : {}) }, body: JSON.stringify({ userAccountId: BOB }) });

    test('a valid token is accepted', { timeout: 180_000 }, async () => {
      assert.equal((await send(hs256(claims(), install.sharedSecret))).status, 204);
    });

    test('a replayed webhook is dropped: same token and body, or the same jti, adds one event to the feed', { timeout: 180_000 }, async () => {
      const feed = async () => (await w.gateway.repos.events.after(0, 1000)).filter((e) => e.type === 'webhook.page_created').length;
      const post = (token: string, body: unknown) =>
        w.gateway.app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `JWT ${token}` }, body: JSON.stringify(body) });
      await w.settle();
      const before = await feed();

      // No jti (as the sandbox and Atlassian's webhooks send): keyed by token and body.
      const plain = hs256(claims({ sub: BOB, iat: Math.floor(w.sandbox.clock.now() / 1000) - 1 }), install.sharedSecret);
      assert.equal((await post(plain, { userAccountId: BOB, n: 1 })).status, 204);
      assert.equal((await post(plain, { userAccountId: BOB, n: 1 })).status, 204, 'a replay is answered like a delivery');
      await w.settle();
      assert.equal(await feed(), before + 1, 'the replay added nothing');
      const rows = await w.gateway.store.db.selectFrom('webhook_replays').select(['replay_key']).execute();
      assert.ok(rows.every((r) => /^[0-9a-f]{64}$/.test(r.replay_key) && !r.replay_key.includes(plain)), 'only hashes are stored');

      // With a jti: a second token carrying the same jti is a replay whatever its body.
      const first = hs256(claims({ jti: 'delivery-1' }), install.sharedSecret);
      const again = hs256(claims({ jti: 'delivery-1', exp: Math.floor(w.sandbox.clock.now() / 1000) + 170 }), install.sharedSecret);
      assert.notEqual(first, again);
      assert.equal((await post(first, { userAccountId: BOB, n: 2 })).status, 204);
      assert.equal((await post(again, { userAccountId: BOB, n: 3 })).status, 204);
      const other = hs256(claims({ jti: 'delivery-2' }), install.sharedSecret);
      assert.equal((await post(other, { userAccountId: BOB, n: 2 })).status, 204);
      await w.settle();
      assert.equal(await feed(), before + 3, 'delivery-1 once, delivery-2 once');

      // Past the token's lifetime the key may be forgotten: the token itself is refused by then.
      w.sandbox.clock.advance(10 * 60_000);
      assert.equal((await post(plain, { userAccountId: BOB, n: 1 })).status, 401);
      assert.ok((await w.gateway.repos.webhookReplays.deleteExpired()) >= 3);
    });

    test('every bad token is 401 (or 400) and records nothing', { timeout: 180_000 }, async () => {
      const eventsBefore = (await w.gateway.repos.events.after(0, 1000)).length;
      const cases: [string, string | undefined, number][] = [
        ['no token', undefined, 401],
        ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, 401],
        ['HS384 is not HS256', hs256(claims(), install.sharedSecret, { alg: 'HS384', typ: 'JWT' }), 401],
        ['wrong secret', hs256(claims(), 'not-the-secret'), 401],
        ['missing exp', hs256({ ...claims(), exp: undefined }, install.sharedSecret), 401],
        ['expired', hs256(claims({ exp: Math.floor(w.sandbox.clock.now() / 1000) - 60 }), install.sharedSecret), 401],
        ['wrong qsh', hs256(claims({ qsh: qshOf('POST&/connect/webhooks/page_updated&lic=none') }), install.sharedSecret), 401],
        ['context token on a normal route', hs256(claims({ qsh: 'context-qsh' }), install.sharedSecret), 401],
        ['unknown issuer', hs256(claims({ iss: 'someone-else' }), install.sharedSecret), 401],
      ];
      for (const [name, token, status] of cases) {
        const res = await send(token);
        assert.equal(res.status, status, name);
        const body = (await res.json()) as { error: { code: string } };
        assert.ok(body.error.code, name);
      }
      const both = await w.gateway.app.request(`${path}&jwt=${hs256(claims(), install.sharedSecret)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `jwt=${hs256(claims(), install.sharedSecret)}`,
      });
      assert.equal(both.status, 400, 'a token in both query and body is refused');
      await w.settle();
      assert.equal((await w.gateway.repos.events.after(0, 1000)).length, eventsBefore, 'nothing recorded');
    });
  });

  test('context JWTs: accepted on the context route only, and real-qsh tokens refused there', { timeout: 180_000 }, async () => {
    const now = Math.floor(w.sandbox.clock.now() / 1000);
    const context = hs256({ iss: install.clientKey, iat: now, exp: now + 60, qsh: 'context-qsh', sub: BOB }, install.sharedSecret);
    const ok = await w.gateway.app.request('/connect/context', { headers: { Authorization: `JWT ${context}` } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { site: install.baseUrl, cloudId: (await tenant()).cloudId, accountId: BOB });
    const real = hs256({ iss: install.clientKey, iat: now, exp: now + 60, qsh: qshOf('GET&/connect/context&'), sub: BOB }, install.sharedSecret);
    assert.equal((await w.gateway.app.request('/connect/context', { headers: { Authorization: `JWT ${real}` } })).status, 401);
    const expired = hs256({ iss: install.clientKey, iat: now - 600, exp: now - 300, qsh: 'context-qsh', sub: BOB }, install.sharedSecret);
    assert.equal((await w.gateway.app.request('/connect/context', { headers: { Authorization: `JWT ${expired}` } })).status, 401);
  });

  describe('signed install rejections change nothing', () => {
    let attacker: Awaited<ReturnType<typeof generateKeyPair>>;
    before(async () => {
      attacker = await generateKeyPair('RS256');
    }, { timeout: 120_000 });
    const payload = () => ({ key: 'com.example.onbehalf', clientKey: install.clientKey, sharedSecret: 'forged-secret', baseUrl: install.baseUrl, productType: 'confluence', eventType: 'installed', oauthClientId: 'forged' });
    const claims = (over: Record<string, unknown> = {}) => {
      const now = Math.floor(w.sandbox.clock.now() / 1000);
      return { iss: install.clientKey, aud: GATEWAY_ORIGIN, iat: now, exp: now + 300, qsh: qshOf('POST&/installed&'), sub: DEFAULT_ACCOUNTS.alice, ...over };
    };
    const post = (token: string | undefined) =>
      w.gateway.app.request('/installed', { method: 'POST', headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `JWT ${token}` } : {}) }, body: JSON.stringify(payload()) });
    const trusted = async (c: Record<string, unknown>) => (await w.installKeys.sign(c)).token;

    test('forged, malformed and misdirected install tokens get 401/400', { timeout: 180_000 }, async () => {
      const t = await tenant();
      const kid = await w.installKeys.currentKid();
      const cases: [string, () => Promise<string | undefined>, number][] = [
        ['no token', async () => undefined, 401],
        ['alg none', async () => `${b64({ alg: 'none', kid })}.${b64(claims())}.`, 401],
        ['HS256 with the shared secret (RS/HS confusion)', async () => hs256(claims(), install.sharedSecret, { alg: 'HS256', typ: 'JWT', kid }), 401],
        ['missing exp', async () => trusted({ ...claims(), exp: undefined }), 401],
        ['expired', async () => trusted(claims({ exp: Math.floor(w.sandbox.clock.now() / 1000) - 120 })), 401],
        ['wrong qsh', async () => trusted(claims({ qsh: qshOf('POST&/uninstalled&') })), 401],
        ['wrong aud', async () => trusted(claims({ aud: 'https://evil.example' })), 401],
        ['iss is not the body clientKey', async () => trusted(claims({ iss: 'another-client' })), 401],
        ['unknown kid (attacker key)', async () => new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'attacker-kid' }).sign(attacker.privateKey), 401],
        ['kid with path tricks', async () => new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: '../../etc/passwd' }).sign(attacker.privateKey), 401],
        ['trusted kid, attacker signature', async () => new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid }).sign(attacker.privateKey), 401],
      ];
      for (const [name, make, status] of cases) {
        const res = await post(await make());
        assert.equal(res.status, status, `${name}: ${await res.clone().text()}`);
      }
      const after = await tenant();
      assert.equal(await w.gateway.repos.tenants.sharedSecret(after.id), install.sharedSecret, 'the secret was not replaced');
      assert.equal(after.oauthClientId, t.oauthClientId);
      assert.equal(after.updatedAt, t.updatedAt);
    });

    test('key server down: the install is refused (not trusted blindly)', { timeout: 180_000 }, async () => {
      const t = await tenant();
      // A kid the resolver has not cached yet forces a key fetch.
      await w.installKeys.rotate();
      w.setDown('http://sandbox.test', true);
      try {
        const res = await post(await trusted(claims()));
        assert.ok(res.status === 401 || res.status === 502, String(res.status));
      } finally {
        w.setDown('http://sandbox.test', false);
      }
      assert.equal(await w.gateway.repos.tenants.sharedSecret(t.id), install.sharedSecret);
    });

    test('a body for another app is refused', { timeout: 180_000 }, async () => {
      const res = await w.gateway.app.request('/installed', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `JWT ${await trusted(claims())}` },
        body: JSON.stringify({ ...payload(), key: 'other.app' }),
      });
      assert.equal(res.status, 400);
    });
  });

  test('uninstall: the tenant is marked, its cached tokens are gone at once, the next call fails clearly', { timeout: 180_000 }, async () => {
    const t = await tenant();
    await w.gateway.connect.broker.tokenFor({ tenant: t, accountId: BOB });
    // Data that exists only because of this install, to be purged after retention.
    const cloudId = t.cloudId ?? '';
    const mapped = await w.gateway.linking.links.adminMap({ cloudId, accountId: BOB, externalUserId: 'purge-bob', tenantId: t.id, adminId: 'admin-1', adminKind: 'console' });
    await w.gateway.repos.knownAccounts.record({ cloudId, accountId: BOB, displayName: 'Bob', source: 'webhook:page_created' });
    await w.gateway.repos.policies.set(cloudId, { acting: 'any_user' }, 'admin-1');
    await w.gateway.linking.sessions.start({ externalUserId: 'purge-carol', route: 'connect', cloudId });
    assert.ok(w.gateway.connect.broker.cacheSize > 0);
    const out = await w.sandbox.control.uninstallApp('acme', 'com.example.onbehalf');
    assert.ok(out.ok);
    assert.equal(out.callbackStatus, 204);
    const gone = await tenant();
    assert.equal(gone.status, 'uninstalled');
    assert.ok((gone.purgeAfter ?? 0) > w.sandbox.clock.now());
    assert.equal(w.gateway.connect.broker.cacheSize, 0, 'nothing is left in the cache');
    await assert.rejects(w.gateway.connect.broker.tokenFor({ tenant: gone, accountId: BOB }), (e: unknown) => isGatewayError(e, 'TENANT_UNINSTALLED'));
    // A late `disabled` (they can arrive together) does not revive it.
    const now = Math.floor(w.sandbox.clock.now() / 1000);
    const late = await w.gateway.app.request('/disabled', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `JWT ${hs256({ iss: install.clientKey, iat: now, exp: now + 60, qsh: qshOf('POST&/disabled&') }, install.sharedSecret)}` },
      body: JSON.stringify({ key: 'com.example.onbehalf', clientKey: install.clientKey, baseUrl: install.baseUrl, eventType: 'disabled' }),
    });
    assert.equal(late.status, 204);
    assert.equal((await tenant()).status, 'uninstalled');
    // Webhooks from an uninstalled site are refused.
    const hook = await w.gateway.app.request('/connect/webhooks/page_created?lic=none', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `JWT ${hs256({ iss: install.clientKey, iat: now, exp: now + 60, qsh: qshOf('POST&/connect/webhooks/page_created&lic=none') }, install.sharedSecret)}` },
      body: '{}',
    });
    assert.equal(hook.status, 401);
    // Retention passes: purge deletes the tenant.
    w.sandbox.clock.advance(31 * 86_400_000);
    const cursor = (await w.gateway.repos.events.after(0, 1000)).at(-1)?.id ?? 0;
    const purged = await w.gateway.connect.lifecycle.purge();
    assert.deepEqual(purged.map((p) => p.id), [gone.id]);
    assert.equal(await w.gateway.repos.tenants.get(gone.id), undefined);
    // Everything the install brought goes with it; the feed says the live link is gone, and why.
    assert.deepEqual(await w.gateway.repos.links.list({ externalUserId: 'purge-bob' }), []);
    const db = w.gateway.store.db;
    assert.deepEqual(await db.selectFrom('known_accounts').select('account_id').where('cloud_id', '=', cloudId).execute(), []);
    assert.deepEqual(await db.selectFrom('policies').select('cloud_id').where('cloud_id', '=', cloudId).execute(), []);
    assert.deepEqual(await db.selectFrom('link_sessions').select('id').where('cloud_id', '=', cloudId).execute(), []);
    assert.deepEqual(await db.selectFrom('tokens').select('id').where('tenant_key', '=', gone.tenantKey).execute(), []);
    const events = await w.gateway.repos.events.after(cursor, 100);
    assert.deepEqual(
      events.map((e) => [e.type, e.externalUserId, e.data['linkId'], e.data['reason']]),
      [['link.revoked', 'purge-bob', mapped.id, 'site_purged']],
    );
    const audit = await db.selectFrom('audit_events').select(['action', 'data']).where('action', '=', 'tenant.purged').execute();
    assert.equal(audit.length, 1);
    assert.match(String(audit[0]?.data), /"links":1/);
  });
});
