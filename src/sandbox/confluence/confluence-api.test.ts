import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../clock.js';
import { createSandbox } from '../create-sandbox.js';
import { DEFAULT_ACCOUNTS } from '../seed/default-seed.js';

const basic = (email: string, token: string) => `Basic ${Buffer.from(`${email}:${token}`).toString('base64')}`;
const ALICE = basic('alice@acme.example', 'alice-api-token');
const BOB = basic('bob@acme.example', 'bob-api-token-0');

function setup() {
  const sandbox = createSandbox({ clock: createManualClock(Date.UTC(2026, 5, 1)) });
  const base = `${sandbox.origin}/s/acme/wiki`;
  const get = (path: string, auth: string) => sandbox.fetch(`${base}${path}`, { headers: { authorization: auth } });
  const send = (method: string, path: string, auth: string, body: unknown) =>
    sandbox.fetch(`${base}${path}`, { method, headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { sandbox, base, get, send };
}

describe('sites, discovery, tenant_info', () => {
  test('discovery lists endpoints, both sites and the seeded users', async () => {
    const { sandbox } = setup();
    const d = (await (await sandbox.fetch(`${sandbox.origin}/_sandbox/discovery`)).json()) as {
      url: string;
      endpoints: Record<string, string>;
      sites: { key: string; baseUrl: string; cloudId: string }[];
      users: { accountId: string; emailVisible: boolean; active: boolean }[];
    };
    assert.equal(d.url, sandbox.origin);
    for (const k of ['impersonationToken', 'authorize', 'token', 'accessibleResources', 'me', 'installKeys', 'api']) assert.ok(d.endpoints[k]?.startsWith(sandbox.origin), k);
    assert.deepEqual(d.sites.map((s) => s.key), ['acme', 'globex']);
    assert.equal(d.sites[0]!.baseUrl, `${sandbox.origin}/s/acme/wiki`);
    assert.equal(d.users.length, 8);
    assert.ok(d.users.some((u) => !u.active));
    assert.ok(d.users.some((u) => !u.emailVisible) && d.users.some((u) => u.emailVisible));
  });
  test('tenant_info answers the cloudId; unknown site is 404', async () => {
    const { sandbox } = setup();
    const res = await sandbox.fetch(`${sandbox.origin}/s/globex/_edge/tenant_info`);
    assert.deepEqual(await res.json(), { cloudId: '9e0b0000-0000-4000-8000-000000000002' });
    assert.equal((await sandbox.fetch(`${sandbox.origin}/s/nope/_edge/tenant_info`)).status, 404);
  });
});

describe('Confluence REST with Basic auth and real permissions', () => {
  test('no credentials and a wrong API token are 401', async () => {
    const { get } = setup();
    assert.equal((await get('/api/v2/pages', '')).status, 401);
    assert.equal((await get('/api/v2/pages', basic('alice@acme.example', 'wrong-token'))).status, 401);
  });
  test('v2 page list paginates with Link header and _links.next', async () => {
    const { get, sandbox } = setup();
    const first = await get('/api/v2/pages?limit=2', ALICE);
    assert.equal(first.status, 200);
    const body = (await first.json()) as { results: { id: string }[]; _links: { next?: string; base: string } };
    assert.deepEqual(body.results.map((p) => p.id), ['98305', '98306']);
    assert.ok(body._links.next?.startsWith('/wiki/api/v2/pages?'));
    assert.match(first.headers.get('link') ?? '', /rel="next"/);
    const ids: string[] = body.results.map((p) => p.id);
    let next = body._links.next;
    while (next) {
      const res = await sandbox.fetch(`${body._links.base.replace(/\/wiki$/, '')}${next}`, { headers: { authorization: ALICE } });
      const page = (await res.json()) as { results: { id: string }[]; _links: { next?: string } };
      ids.push(...page.results.map((p) => p.id));
      next = page._links.next;
    }
    assert.deepEqual(ids, ['98305', '98306', '98307', '98308', '98309', '98310']);
  });
  test('restricted pages (and their children) are 404 for users outside the restriction', async () => {
    const { get } = setup();
    assert.equal((await get('/api/v2/pages/98308', ALICE)).status, 200);
    const denied = await get('/api/v2/pages/98308', BOB);
    assert.equal(denied.status, 404);
    assert.equal(((await denied.json()) as { errors: { status: number }[] }).errors[0]!.status, 404);
    assert.equal((await get('/api/v2/pages/98309', BOB)).status, 404);
    assert.equal((await get('/rest/api/content/98308', BOB)).status, 404);
    const list = (await (await get('/api/v2/pages?limit=250', BOB)).json()) as { results: { id: string }[] };
    assert.ok(!list.results.some((p) => p.id === '98308' || p.id === '98309' || p.id === '98310'));
  });
  test('space permissions: HR space is invisible to bob, visible to carol (hr group)', async () => {
    const { get } = setup();
    const bobSpaces = (await (await get('/api/v2/spaces', BOB)).json()) as { results: { key: string }[] };
    assert.deepEqual(bobSpaces.results.map((s) => s.key), ['ENG']);
    assert.equal((await get('/api/v2/spaces/65538', BOB)).status, 404);
    const carol = await (await setup()).sandbox.control.updateUser(DEFAULT_ACCOUNTS.carol, { apiToken: 'carol-api-token' });
    assert.equal(carol.apiToken, 'carol-api-token');
  });
  test('create and update a page: authorId, version.authorId and v1 version.by name the real actor', async () => {
    const { send, get } = setup();
    const created = await send('POST', '/api/v2/pages', BOB, { spaceId: '65537', status: 'current', title: 'Bob notes', body: { representation: 'storage', value: '<p>x</p>' } });
    assert.equal(created.status, 200);
    const page = (await created.json()) as { id: string; authorId: string; parentId: string; version: { number: number; authorId: string } };
    assert.equal(page.authorId, DEFAULT_ACCOUNTS.bob);
    assert.equal(page.parentId, '98305');
    const conflict = await send('PUT', `/api/v2/pages/${page.id}`, ALICE, { id: page.id, status: 'current', title: 'Bob notes', body: { representation: 'storage', value: 'y' }, version: { number: 1 } });
    assert.equal(conflict.status, 409);
    const updated = await send('PUT', `/api/v2/pages/${page.id}`, ALICE, { id: page.id, status: 'current', title: 'Bob notes v2', body: { representation: 'storage', value: 'y' }, version: { number: 2, message: 'edit' } });
    assert.equal(updated.status, 200);
    const u = (await updated.json()) as { authorId: string; version: { number: number; authorId: string } };
    assert.equal(u.authorId, DEFAULT_ACCOUNTS.bob);
    assert.equal(u.version.authorId, DEFAULT_ACCOUNTS.alice);
    const v1 = (await (await get(`/rest/api/content/${page.id}?expand=body.storage`, BOB)).json()) as {
      version: { by: { accountId: string; type: string; displayName: string; email: string }; number: number };
      history: { createdBy: { accountId: string } };
      body: { storage: { value: string } };
    };
    assert.equal(v1.version.by.accountId, DEFAULT_ACCOUNTS.alice);
    assert.equal(v1.version.by.type, 'known');
    assert.equal(v1.version.by.email, 'alice@acme.example');
    assert.equal(v1.history.createdBy.accountId, DEFAULT_ACCOUNTS.bob);
    assert.equal(v1.body.storage.value, 'y');
  });
  test('creating in a space without permission is 404, not 403; missing title is 400', async () => {
    const { send } = setup();
    assert.equal((await send('POST', '/api/v2/pages', BOB, { spaceId: '65538', title: 'x', body: { representation: 'storage', value: '' } })).status, 404);
    assert.equal((await send('POST', '/api/v2/pages', BOB, { spaceId: '65537', body: { representation: 'storage', value: '' } })).status, 400);
  });
  test('v2 delete trashes, purge removes; only editors may delete', async () => {
    const { send, get, sandbox } = setup();
    const del = (id: string, auth: string, q = '') => sandbox.fetch(`${sandbox.origin}/s/acme/wiki/api/v2/pages/${id}${q}`, { method: 'DELETE', headers: { authorization: auth } });
    assert.equal((await del('98308', BOB)).status, 404, 'restricted: not found');
    const created = (await (await send('POST', '/api/v2/pages', BOB, { spaceId: '65537', title: 'Temp', body: { representation: 'storage', value: '' } })).json()) as { id: string };
    assert.equal((await del(created.id, BOB, '?purge=true')).status, 400, 'purge needs trash first');
    assert.equal((await del(created.id, BOB)).status, 204);
    const list = (await (await get('/api/v2/pages?limit=250', BOB)).json()) as { results: { id: string }[] };
    assert.ok(!list.results.some((p) => p.id === created.id));
    assert.equal((await del(created.id, BOB, '?purge=true')).status, 204);
    assert.equal((await get(`/api/v2/pages/${created.id}`, BOB)).status, 404);
  });
  test('/rest/api/user/bulk returns users; Connect apps get 403 (INACCESSIBLE)', async () => {
    const { get } = setup();
    const res = (await (await get(`/rest/api/user/bulk?accountId=${DEFAULT_ACCOUNTS.bob}&accountId=${DEFAULT_ACCOUNTS.carol}`, ALICE)).json()) as { results: { accountId: string; email: string }[] };
    assert.deepEqual(res.results.map((u) => [u.accountId, u.email]), [[DEFAULT_ACCOUNTS.bob, ''], [DEFAULT_ACCOUNTS.carol, 'carol@acme.example']]);
  });
  test('children and space listings respect permissions', async () => {
    const { get } = setup();
    const kids = (await (await get('/api/v2/pages/98305/children', BOB)).json()) as { results: { id: string }[] };
    assert.deepEqual(kids.results.map((p) => p.id), ['98306', '98307'], 'the restricted child is hidden from bob');
    const aliceKids = (await (await get('/api/v2/pages/98305/children', ALICE)).json()) as { results: { id: string }[] };
    assert.deepEqual(aliceKids.results.map((p) => p.id), ['98306', '98307', '98308']);
    const inSpace = (await (await get('/api/v2/spaces/65537/pages?limit=1', BOB)).json()) as { results: { id: string }[]; _links: { next?: string } };
    assert.deepEqual(inSpace.results.map((p) => p.id), ['98305']);
    assert.ok(inSpace._links.next?.startsWith('/wiki/api/v2/spaces/65537/pages?'));
    assert.equal((await get('/api/v2/spaces/65538/pages', BOB)).status, 404);
    const v1Kids = (await (await get('/rest/api/content/98305/child/page', BOB)).json()) as { results: { id: string }[] };
    assert.deepEqual(v1Kids.results.map((p) => p.id), ['98306', '98307']);
    const spaces = (await (await get('/rest/api/space', BOB)).json()) as { results: { key: string }[] };
    assert.deepEqual(spaces.results.map((s) => s.key), ['ENG']);
    assert.equal((await get('/rest/api/space/HR', BOB)).status, 404);
    assert.equal((await get('/rest/api/space/HR', ALICE)).status, 200);
  });
  test('v1 content create/update with version check', async () => {
    const { send } = setup();
    const res = await send('POST', '/rest/api/content', BOB, { type: 'page', title: 'V1 page', space: { key: 'ENG' }, ancestors: [{ id: '98306' }], body: { storage: { value: '<p>a</p>', representation: 'storage' } } });
    assert.equal(res.status, 200);
    const c = (await res.json()) as { id: string; ancestors: { id: string }[]; version: { by: { accountId: string } } };
    assert.deepEqual(c.ancestors.map((a) => a.id), ['98305', '98306']);
    assert.equal(c.version.by.accountId, DEFAULT_ACCOUNTS.bob);
    assert.equal((await send('PUT', `/rest/api/content/${c.id}`, BOB, { type: 'page', title: 'V1', version: { number: 5 } })).status, 409);
    assert.equal((await send('PUT', `/rest/api/content/${c.id}`, BOB, { type: 'page', title: 'V1 page', version: { number: 2 }, body: { storage: { value: 'b', representation: 'storage' } } })).status, 200);
    assert.equal((await send('PUT', '/rest/api/content/98308', BOB, { type: 'page', title: 'x', version: { number: 2 } })).status, 404);
  });
  test('restrictions GET/PUT: alice restricts a page, bob loses it', async () => {
    const { send, get } = setup();
    const before = (await (await get('/rest/api/content/98307/restriction', ALICE)).json()) as { results: { operation: string; restrictions: { user: { size: number } } }[] };
    assert.deepEqual(before.results.map((r) => [r.operation, r.restrictions.user.size]), [['read', 0], ['update', 0]]);
    assert.equal((await get('/api/v2/pages/98307', BOB)).status, 200);
    const put = await send('PUT', '/rest/api/content/98307/restriction', ALICE, [{ operation: 'read', restrictions: { user: [{ type: 'known', accountId: DEFAULT_ACCOUNTS.alice }], group: [] } }]);
    assert.equal(put.status, 200);
    assert.equal((await get('/api/v2/pages/98307', BOB)).status, 404);
    assert.equal((await get('/rest/api/content/98307/restriction', BOB)).status, 404);
  });
  test('user APIs: hidden emails are "" in /user and null in search; CQL forms; bad CQL is 400', async () => {
    const { get } = setup();
    const bob = (await (await get(`/rest/api/user?accountId=${encodeURIComponent(DEFAULT_ACCOUNTS.bob)}`, ALICE)).json()) as { email: string; publicName: string };
    assert.equal(bob.email, '');
    assert.equal(bob.publicName, 'bob');
    const alice = (await (await get('/rest/api/user/current', ALICE)).json()) as { accountId: string; email: string };
    assert.equal(alice.accountId, DEFAULT_ACCOUNTS.alice);
    assert.equal(alice.email, 'alice@acme.example');
    const search = async (cql: string) =>
      (await (await get(`/rest/api/search/user?cql=${encodeURIComponent(cql)}`, ALICE)).json()) as { results: { user: { accountId: string; email: string | null } }[] };
    const byId = await search(`user="${DEFAULT_ACCOUNTS.bob}"`);
    assert.equal(byId.results.length, 1);
    assert.equal(byId.results[0]!.user.email, null);
    assert.equal((await search(`user IN ("${DEFAULT_ACCOUNTS.alice}","${DEFAULT_ACCOUNTS.carol}")`)).results.length, 2);
    assert.deepEqual((await search('user.fullname~car')).results.map((r) => r.user.accountId), [DEFAULT_ACCOUNTS.carol]);
    assert.equal((await search(`user.accountid="${DEFAULT_ACCOUNTS.dave}"`)).results.length, 1);
    assert.ok((await search('type=user')).results.every((r) => r.user.accountId !== DEFAULT_ACCOUNTS.erin), 'inactive users are not searchable');
    assert.equal((await get(`/rest/api/search/user?cql=${encodeURIComponent('title ~ foo')}`, ALICE)).status, 400);
    assert.equal((await get('/rest/api/user?accountId=nope', ALICE)).status, 404);
  });
  test('/user/email is 400 for Basic callers and 501 when the site has it off', async () => {
    const { get, sandbox } = setup();
    assert.equal((await get(`/rest/api/user/email?accountId=${DEFAULT_ACCOUNTS.bob}`, ALICE)).status, 400);
    sandbox.control.setSite('acme', { emailApiEnabled: false });
    assert.equal((await get(`/rest/api/user/email?accountId=${DEFAULT_ACCOUNTS.bob}`, ALICE)).status, 501);
  });
  test('groups: memberof and group members', async () => {
    const { get } = setup();
    const m = (await (await get(`/rest/api/user/memberof?accountId=${DEFAULT_ACCOUNTS.carol}`, ALICE)).json()) as { results: { name: string }[] };
    assert.deepEqual(m.results.map((g) => g.name).sort(), ['confluence-users', 'hr']);
    const members = (await (await get('/rest/api/group/hr/member', ALICE)).json()) as { results: { accountId: string }[] };
    assert.deepEqual(members.results.map((u) => u.accountId).sort(), [DEFAULT_ACCOUNTS.alice, DEFAULT_ACCOUNTS.carol].sort());
    assert.equal((await get('/rest/api/group/member?name=hr&limit=500', ALICE)).status, 400);
  });
  test('users outside a site and inactive users cannot authenticate there', async () => {
    const { sandbox } = setup();
    sandbox.control.updateUser(DEFAULT_ACCOUNTS.frank, { apiToken: 'frank-api-token' });
    const frank = basic('frank@globex.example', 'frank-api-token');
    assert.equal((await sandbox.fetch(`${sandbox.origin}/s/acme/wiki/api/v2/pages`, { headers: { authorization: frank } })).status, 401);
    assert.equal((await sandbox.fetch(`${sandbox.origin}/s/globex/wiki/api/v2/pages`, { headers: { authorization: frank } })).status, 200);
    sandbox.control.updateUser(DEFAULT_ACCOUNTS.bob, { accountStatus: 'inactive' });
    assert.equal((await sandbox.fetch(`${sandbox.origin}/s/acme/wiki/api/v2/pages`, { headers: { authorization: BOB } })).status, 401);
  });
  test('scoped API tokens work only on the gateway path, with their scopes', async () => {
    const { sandbox } = setup();
    sandbox.control.updateUser(DEFAULT_ACCOUNTS.carol, { apiToken: 'carol-scoped-token', apiTokenScopes: ['read:page:confluence'] });
    const carol = basic('carol@acme.example', 'carol-scoped-token');
    const site = sandbox.control.discovery().sites[0]!;
    assert.equal((await sandbox.fetch(`${site.baseUrl}/api/v2/pages/98305`, { headers: { authorization: carol } })).status, 401, 'not at the site URL');
    assert.equal((await sandbox.fetch(`${site.gatewayBaseUrl}/api/v2/pages/98305`, { headers: { authorization: carol } })).status, 200);
    const noScope = await sandbox.fetch(`${site.gatewayBaseUrl}/rest/api/user/current`, { headers: { authorization: carol } });
    assert.deepEqual(await noScope.json(), { code: 401, message: 'Unauthorized; scope does not match' });
  });
  test('Basic auth is refused on the 3LO gateway path', async () => {
    const { sandbox } = setup();
    const site = sandbox.control.discovery().sites[0]!;
    assert.equal((await sandbox.fetch(`${sandbox.origin}/ex/confluence/${site.cloudId}/wiki/api/v2/pages`, { headers: { authorization: ALICE } })).status, 401);
  });
  test('counters record API calls per user and route', async () => {
    const { get, sandbox } = setup();
    await get('/api/v2/pages/98305', ALICE);
    await get('/api/v2/pages/98306', ALICE);
    assert.equal(sandbox.control.counters.total('api_call', { user: DEFAULT_ACCOUNTS.alice, route: 'GET /api/v2/pages/{id}' }), 2);
  });
});
