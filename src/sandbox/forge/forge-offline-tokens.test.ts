import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startForgeWorld, type ForgeWorld, type ForgeInstallInfo } from '../testing/forge-test-kit.js';
import { DEFAULT_ACCOUNTS } from '../seed/default-seed.js';

const MUTATION = 'mutation forge_remote_offlineUserAuthToken($input: OfflineUserAuthTokenInput!) { offlineUserAuthToken(input: $input) { success errors { message } authToken { token ttl } } }';
type Answer = { data: { offlineUserAuthToken: { success: boolean; errors: { message: string }[] | null; authToken: { token: string; ttl: number } | null } } | null; errors?: { message: string; extensions: { statusCode: number } }[] };

async function setup(w: ForgeWorld, options: Parameters<ForgeWorld['install']>[0] = {}): Promise<{ info: ForgeInstallInfo; system: string; exchange(userId: string, contextIds?: string[]): Promise<{ status: number; body: Answer; headers: Headers }> }> {
  const info = await w.install(options);
  const system = w.remote.received.find((r) => r.path === '/forge/lifecycle')!.headers['x-forge-oauth-system']!;
  const graphql = w.sb.sandbox.control.discovery().endpoints.graphql;
  return {
    info,
    system,
    async exchange(userId, contextIds = [`ari:cloud:confluence:${info.cloudId}:workspace/${info.cloudId}`]) {
      const res = await fetch(graphql, { method: 'POST', headers: { authorization: `Bearer ${system}`, 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ query: MUTATION, variables: { input: { contextIds, userId } } }) });
      return { status: res.status, body: (await res.json()) as Answer, headers: res.headers };
    },
  };
}

const get = (url: string, token: string) => fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });

describe('Forge offline user tokens and the app tokens at the product API, over real HTTP', { timeout: 180_000 }, () => {
  test('offlineUserAuthToken acts as the user with their permissions and only the allowImpersonation scopes', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const scopes = { 'read:app-system-token': false, 'read:app-user-token': false, 'read:page:confluence': true, 'read:confluence-user': true, 'write:page:confluence': false };
    const s = await setup(w, { scopes });
    const alice = await s.exchange(DEFAULT_ACCOUNTS.alice);
    assert.equal(alice.status, 200);
    const grant = alice.body.data!.offlineUserAuthToken;
    assert.deepEqual([grant.success, grant.errors, grant.authToken?.ttl], [true, null, 3600]);
    const token = grant.authToken!.token;
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const me = await get(`${s.info.apiBaseUrl}/wiki/rest/api/user/current`, token);
    assert.equal(((await me.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.alice);
    // Alice (hr) reads the People space's page; Bob's token does not see it: the user's own permissions.
    const hrPage = w.sb.sandbox.state.pagesOnSite('acme').find((p) => p.spaceId === '65538')!;
    assert.equal((await get(`${s.info.apiBaseUrl}/wiki/api/v2/pages/${hrPage.id}`, token)).status, 200);
    const bob = (await s.exchange(DEFAULT_ACCOUNTS.bob)).body.data!.offlineUserAuthToken.authToken!.token;
    assert.equal((await get(`${s.info.apiBaseUrl}/wiki/api/v2/pages/${hrPage.id}`, bob)).status, 404);
    // write:page:confluence is declared without allowImpersonation: the offline token cannot write.
    const write = await fetch(`${s.info.apiBaseUrl}/wiki/api/v2/pages`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ spaceId: '65537', title: 'x', body: { representation: 'storage', value: '' } }) });
    assert.equal(write.status, 401);
    assert.deepEqual(await write.json(), { code: 401, message: 'Unauthorized; scope does not match' });
    // Not on the site URL, and not after the ttl.
    const site = w.sb.sandbox.control.discovery().sites.find((x) => x.key === 'acme')!;
    assert.equal((await get(`${site.baseUrl}/rest/api/user/current`, token)).status, 401);
    await w.post('/_sandbox/clock/advance', { ms: 3600_000 });
    assert.equal((await get(`${s.info.apiBaseUrl}/wiki/rest/api/user/current`, token)).status, 401);
    const counters = (await (await fetch(`${w.sb.url}/_sandbox/counters?kind=offline_token_grant&user=${encodeURIComponent(DEFAULT_ACCOUNTS.alice)}`)).json()) as { totals: Record<string, number> };
    assert.equal(counters.totals['offline_token_grant'], 1);
  });

  test('refusals: no allowImpersonation scope, deactivated user, app account, no app access, another site\'s context', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const s = await setup(w);
    const refused = async (userId: string, expected: RegExp, contextIds?: string[]) => {
      const r = await s.exchange(userId, contextIds);
      assert.equal(r.status, 200);
      const out = r.body.data!.offlineUserAuthToken;
      assert.deepEqual([out.success, out.authToken], [false, null]);
      assert.match(out.errors![0]!.message, expected);
    };
    await w.sb.sandbox.control.updateUser(DEFAULT_ACCOUNTS.carol, { accountStatus: 'inactive' });
    await refused(DEFAULT_ACCOUNTS.carol, /deactivated/);
    const app = await s.exchange(DEFAULT_ACCOUNTS.bot);
    assert.equal(app.body.data, null);
    assert.equal(app.body.errors![0]!.extensions.statusCode, 401);
    const base = `/_sandbox/sites/acme/forge-apps/${encodeURIComponent(s.info.appId)}/access`;
    const patch = (body: unknown) => fetch(`${w.sb.url}${base}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await patch({ distribution: 'private', contributors: [DEFAULT_ACCOUNTS.alice] })).status, 200);
    await refused(DEFAULT_ACCOUNTS.bob, /does not have access to the app/);
    assert.equal((await s.exchange(DEFAULT_ACCOUNTS.alice)).body.data!.offlineUserAuthToken.success, true);
    await patch({ distribution: 'shared', blockedUsers: [DEFAULT_ACCOUNTS.bob] });
    await refused(DEFAULT_ACCOUNTS.bob, /does not have access to the app/);
    await refused(DEFAULT_ACCOUNTS.frank, /does not have access to the app/);
    const globex = w.sb.sandbox.control.discovery().sites.find((x) => x.key === 'globex')!.cloudId;
    await refused(DEFAULT_ACCOUNTS.alice, /Could not load permissions for app user in the provided contextIds/, [`ari:cloud:confluence::site/${globex}`]);
    await refused(DEFAULT_ACCOUNTS.alice, /Could not load permissions/, [`ari:cloud:jira:${s.info.cloudId}:workspace/${s.info.cloudId}`]);
    const none = await startForgeWorld();
    t.after(() => none.close());
    const noImp = await setup(none, { scopes: { 'read:app-system-token': false, 'read:page:confluence': false } });
    const r = (await noImp.exchange(DEFAULT_ACCOUNTS.alice)).body.data!.offlineUserAuthToken;
    assert.equal(r.success, false);
    assert.match(r.errors![0]!.message, /allowImpersonation/);
  });

  test('both context ARI forms by default; a switch accepts only one, so a client\'s choice is tested against each', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const s = await setup(w);
    const workspace = `ari:cloud:confluence:${s.info.cloudId}:workspace/${s.info.cloudId}`;
    const site = `ari:cloud:confluence::site/${s.info.cloudId}`;
    const ok = async (ctx: string) => (await s.exchange(DEFAULT_ACCOUNTS.alice, [ctx])).body.data!.offlineUserAuthToken.success;
    assert.deepEqual([await ok(workspace), await ok(site)], [true, true]);
    const set = (form: string) => fetch(`${w.sb.url}/_sandbox/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ forgeContextIdForm: form }) });
    await set('workspace');
    assert.deepEqual([await ok(workspace), await ok(site)], [true, false]);
    await set('site');
    assert.deepEqual([await ok(workspace), await ok(site)], [false, true]);
  });

  test('the per-app budget: over the limit in a minute answers 429 with Retry-After; the next minute works again', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    await fetch(`${w.sb.url}/_sandbox/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ forgeOfflineTokenLimitPerMinute: 3 }) });
    const s = await setup(w);
    for (let i = 0; i < 3; i++) assert.equal((await s.exchange(DEFAULT_ACCOUNTS.alice)).body.data!.offlineUserAuthToken.success, true);
    const over = await s.exchange(DEFAULT_ACCOUNTS.alice);
    assert.equal(over.status, 429);
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    assert.match(over.body.errors![0]!.message, /Rate limit exceeded/);
    assert.equal(over.body.errors![0]!.extensions.statusCode, 429);
    await w.post('/_sandbox/clock/advance', { ms: 60_000 });
    assert.equal((await s.exchange(DEFAULT_ACCOUNTS.alice)).status, 200);
  });

  test('only a live system token may exchange: user tokens, unknown and expired tokens are refused', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const s = await setup(w);
    const graphql = w.sb.sandbox.control.discovery().endpoints.graphql;
    const call = (token: string) => fetch(graphql, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: MUTATION, variables: { input: { contextIds: [`ari:cloud:confluence::site/${s.info.cloudId}`], userId: DEFAULT_ACCOUNTS.alice } } }) });
    assert.equal((await call('not-a-token')).status, 401);
    const offline = (await s.exchange(DEFAULT_ACCOUNTS.alice)).body.data!.offlineUserAuthToken.authToken!.token;
    const viaUser = (await (await call(offline)).json()) as Answer;
    assert.equal(viaUser.errors![0]!.extensions.statusCode, 403);
    const other = await fetch(graphql, { method: 'POST', headers: { authorization: `Bearer ${s.system}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ me { user { accountId } } }' }) });
    assert.match(((await other.json()) as Answer).errors![0]!.message, /only the offlineUserAuthToken mutation/);
    await w.post(`/_sandbox/sites/acme/forge-apps/${encodeURIComponent(s.info.appId)}/tokens/expire`, { which: 'system' });
    assert.equal((await call(s.system)).status, 401);
    assert.equal((await get(`${s.info.apiBaseUrl}/wiki/rest/api/user/current`, s.system)).status, 401);
    // The next trigger brings a fresh system token that works again.
    await w.post(`/_sandbox/sites/acme/forge-apps/${encodeURIComponent(s.info.appId)}/scheduled-triggers/token-keepalive/run`);
    const fresh = w.remote.received.filter((r) => r.path === '/forge/tick').at(-1)!.headers['x-forge-oauth-system']!;
    assert.notEqual(fresh, s.system);
    assert.equal((await call(fresh)).status, 200);
  });

  test('the email API answers the app system token (asApp) and refuses user and offline tokens', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const s = await setup(w);
    const url = `${s.info.apiBaseUrl}/wiki/rest/api/user/email?accountId=${encodeURIComponent(DEFAULT_ACCOUNTS.bob)}`;
    const asApp = await get(url, s.system);
    assert.equal(asApp.status, 200);
    assert.deepEqual(await asApp.json(), { accountId: DEFAULT_ACCOUNTS.bob, email: 'bob@acme.example' });
    const bulk = await get(`${s.info.apiBaseUrl}/wiki/rest/api/user/email/bulk?accountId=${encodeURIComponent(DEFAULT_ACCOUNTS.bob)},${encodeURIComponent(DEFAULT_ACCOUNTS.carol)}`, s.system);
    assert.equal(((await bulk.json()) as unknown[]).length, 2);
    const offline = (await s.exchange(DEFAULT_ACCOUNTS.alice)).body.data!.offlineUserAuthToken.authToken!.token;
    const asUser = await get(url, offline);
    assert.equal(asUser.status, 400);
    assert.match(((await asUser.json()) as { message: string }).message, /not approved/);
    const without = await startForgeWorld();
    t.after(() => without.close());
    const noEmail = await setup(without, { scopes: { 'read:app-system-token': false, 'read:confluence-user': true } });
    assert.equal((await get(`${noEmail.info.apiBaseUrl}/wiki/rest/api/user/email?accountId=${encodeURIComponent(DEFAULT_ACCOUNTS.bob)}`, noEmail.system)).status, 400);
  });
});
