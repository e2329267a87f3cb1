import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { isGatewayError } from '../../errors.js';
import { DEFAULT_ACCOUNTS } from '../../sandbox/index.js';
import { createConnectWorld, GATEWAY_ORIGIN, type ConnectWorld } from '../../../test/support/connect-world.js';
import { createConsoleAgent, type ConsoleAgent } from '../../../test/support/console-agent.js';
import { seedConsoleData, type SeededConsole } from '../../../test/support/seed-console-data.js';

const SECRET = 'console-test-secret-console-test-secret';
const TABLES = ['tenants', 'oauth_apps', 'links', 'link_sessions', 'known_accounts', 'tokens', 'audit_events', 'events', 'api_keys', 'policies', 'admin_sessions', 'token_mints'] as const;

describe('admin console pages (seeded gateway + sandbox)', () => {
  let world: ConnectWorld;
  let seeded: SeededConsole;
  let a: ConsoleAgent;
  before(async () => {
    world = await createConnectWorld({ ONBEHALF_ADMIN_SECRET: SECRET });
    seeded = await seedConsoleData({ gateway: world.gateway, sandbox: world.sandbox, descriptorUrl: `${GATEWAY_ORIGIN}/atlassian-connect.json`, settle: world.settle });
    a = createConsoleAgent((url, init) => world.gateway.app.request(url, init), GATEWAY_ORIGIN);
    await a.signIn(SECRET);
  }, { timeout: 120_000 });
  after(async () => {
    await world.close();
  }, { timeout: 120_000 });

  /** Every row of every table, to prove a refused request changed nothing. */
  async function snapshot(): Promise<string> {
    const out: Record<string, unknown[]> = {};
    for (const t of TABLES) out[t] = (await sql`select * from ${sql.table(t)}`.execute(world.gateway.store.db)).rows;
    return JSON.stringify(out);
  }

  /** Real ids in every path parameter, so a refusal is proven on requests that would otherwise act. */
  const concrete = (path: string) =>
    path
      .replace('/links/:id', `/links/${seeded.links['u-alice'] ?? ''}`)
      .replace('/api-keys/:id', `/api-keys/${seeded.apiKeys.acmeOnly}`)
      .replace(':cloudId', seeded.sites.acme);

  test('sweep: every admin route refuses without a session; every POST refuses a missing or wrong CSRF token and a cross-site origin, changing nothing', { timeout: 180_000 }, async () => {
    const adminRoutes = world.gateway.routes.filter((r) => r.auth === 'admin');
    assert.ok(adminRoutes.length >= 18, 'the console routes are in the table');
    const anon = createConsoleAgent((url, init) => world.gateway.app.request(url, init), GATEWAY_ORIGIN);
    const before = await snapshot();
    for (const r of adminRoutes) {
      const path = concrete(r.path);
      assert.ok(!path.includes(':'), path);
      if (r.method === 'GET') {
        const res = await anon.get(path);
        assert.equal(res.status, 303, `GET ${r.path} without a session`);
        assert.match(res.location ?? '', /^\/admin\/sign-in\?next=/);
        assert.equal((await a.get(path)).status, 200, `GET ${r.path} with a session`);
        continue;
      }
      const fields = { csv: 'u-x,acc-x', name: 'sweep', secret: SECRET, acting: 'any_user', site: seeded.sites.acme, accountId: DEFAULT_ACCOUNTS.carol, externalUserId: 'u-sweep' };
      assert.equal((await anon.post(path, fields)).status, 401, `POST ${r.path} without a session`);
      assert.equal((await a.post(path, { ...fields, _csrf: '' })).status, 403, `POST ${r.path} without a CSRF token`);
      assert.equal((await a.post(path, { ...fields, _csrf: `${a.csrf ?? ''}x` })).status, 403, `POST ${r.path} with a wrong CSRF token`);
      assert.equal((await a.post(path, fields, { origin: 'https://evil.example' })).status, 403, `POST ${r.path} from another origin`);
      assert.equal((await a.post(path, fields, { origin: null })).status, 403, `POST ${r.path} with neither Origin nor Referer`);
      assert.equal((await a.post(path, fields, { origin: 'null' })).status, 403, `POST ${r.path} with an opaque origin`);
    }
    // Session rows are touched at most once a minute and the clock stands still: nothing moved at all.
    assert.equal(await snapshot(), before);
    const viaReferer = await world.gateway.app.request(`${GATEWAY_ORIGIN}/admin/policies/${seeded.sites.acme}`, {
      method: 'POST',
      headers: { cookie: a.cookie ?? '', referer: `${GATEWAY_ORIGIN}/admin/policies`, 'content-type': 'application/x-www-form-urlencoded', 'content-length': '0' },
      body: '',
    });
    assert.equal(viaReferer.status, 403, 'a same-origin Referer passes the origin check, but there is still no CSRF token');
  });

  test('overview: installations by route, links by status, and the mint chart from real buckets', { timeout: 180_000 }, async () => {
    const r = await a.get('/admin');
    assert.equal(r.status, 200);
    const text = r.html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    assert.match(text, /Connect installations Active 2 Disabled 0 Uninstalled 0/);
    assert.match(text, /Sites reached 1 User grants 0/);
    assert.match(text, /linked 5 pending confirmation 0 reauth required 1 revoked 2 All 8/);
    const buckets = await world.gateway.repos.tokenMints.since(world.gateway.clock.now() - 3_600_000);
    const total = buckets.reduce((n, b) => n + b.count, 0);
    assert.ok(total > 3);
    assert.match(r.html, new RegExp(`<desc id="mints-desc">${total} tokens minted in the last hour`));
    assert.match(r.html, /<svg viewBox="0 0 720 190" role="img" aria-labelledby="mints-caption mints-desc"/);
    assert.ok(!r.html.includes('style='), 'no inline styles (the CSP forbids them)');
    assert.ok(!/<script/i.test(r.html), 'no scripts at all');
  });

  test('token mints are recorded durably by both brokers (one bucket upsert per grant)', { timeout: 180_000 }, async () => {
    const gw = world.gateway;
    const minute = Math.floor(gw.clock.now() / 60_000) * 60_000;
    const count = async (route: string) => (await gw.repos.tokenMints.since(minute)).find((b) => b.route === route)?.count ?? 0;
    const connectBefore = await count('connect');
    const tenant = (await gw.repos.tenants.findByCloudId(seeded.sites.acme)).find((t) => t.route === 'connect');
    assert.ok(tenant);
    await gw.connect.broker.tokenFor({ tenant, accountId: DEFAULT_ACCOUNTS.carol });
    await gw.connect.broker.tokenFor({ tenant, accountId: DEFAULT_ACCOUNTS.carol });
    await gw.background.drain();
    assert.equal(await count('connect'), connectBefore + 1, 'a grant is counted; a cached token is not');
    assert.ok(gw.oauth, 'the sandbox registers a 3LO app');
    const oauthBefore = await count('oauth');
    await gw.oauth.broker.storeGrant({ accountId: DEFAULT_ACCOUNTS.carol, scopes: ['read:me'], tokens: { accessToken: 'at-seed', refreshToken: 'rt-seed', tokenType: 'Bearer', expiresAt: gw.clock.now() + 3_600_000, scopes: ['read:me'] } });
    await gw.background.drain();
    assert.equal(await count('oauth'), oauthBefore + 1, 'a 3LO consent is counted');
  });

  test('users & links: search by user ID, account ID or a known email; filters by status and route', { timeout: 180_000 }, async () => {
    const users = async (q: string) => [...(await a.get(`/admin/links?${q}`)).html.matchAll(/<th scope="row" class="mono">([^<]+)<\/th>/g)].map((m) => m[1]);
    assert.deepEqual(await users('q=u-bob'), ['u-bob']);
    assert.deepEqual(await users(`q=${DEFAULT_ACCOUNTS.carol}`), ['u-carol']);
    assert.deepEqual(await users('q=alice%40acme.example'), ['u-alice']);
    assert.deepEqual(await users('q=nobody%40example.com'), []);
    assert.deepEqual(await users('status=reauth_required'), ['u-dave']);
    assert.deepEqual((await users('route=oauth')).sort(), ['u-carol', 'u-dave']);
    assert.deepEqual((await users(`status=revoked&site=${seeded.sites.globex}`)).sort(), ['u-frank-old']);
    const page = await a.get('/admin/links?q=nobody%40example.com');
    assert.match(page.html, /No account has been seen with the email nobody@example.com/);
  });

  test('revoking from the console is confirmed, audited with the admin, and immediate for the proxy and tokens', { timeout: 180_000 }, async () => {
    const { secret } = await world.gateway.repos.apiKeys.create({ name: 'revoke-test' });
    const token = () => world.gateway.app.request(`${GATEWAY_ORIGIN}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ externalUserId: 'u-bob', site: 'acme' }) });
    const proxy = () => world.gateway.app.request(`${GATEWAY_ORIGIN}/v1/act/u-bob/acme/api/v2/spaces`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal((await token()).status, 200);
    assert.equal((await proxy()).status, 200);

    const linkId = seeded.links['u-bob'] ?? '';
    const confirm = await a.get(`/admin/links/${linkId}`);
    assert.match(confirm.html, /<button class="button danger" type="submit">Revoke link of u-bob<\/button>/);
    const done = await a.post(`/admin/links/${linkId}/revoke`, {});
    assert.equal(done.status, 303);
    assert.equal(done.location, `/admin/links/${linkId}?done=revoked`);
    assert.equal((await world.gateway.repos.links.get(linkId))?.status, 'revoked');
    const audit = (await world.gateway.repos.audit.query({ action: 'link.revoked', externalUserId: 'u-bob' }))[0];
    assert.equal(audit?.actorType, 'admin');
    assert.match(audit?.actorId ?? '', /^console:/);

    const refusedToken = await token();
    assert.equal(refusedToken.status, 404);
    assert.equal(((await refusedToken.json()) as { error: { code: string } }).error.code, 'USER_NOT_LINKED');
    assert.equal((await proxy()).status, 404, 'the proxy refuses the very next call');
    await assert.rejects(world.gateway.tokenFor({ site: 'acme', externalUserId: 'u-bob' }), (e: unknown) => isGatewayError(e, 'USER_NOT_LINKED'));
    const after = await a.get(`/admin/links/${linkId}`);
    assert.ok(!after.html.includes('Revoke link of'), 'a revoked link offers no revoke button');
  });

  test('link sessions and known accounts: filters and search', { timeout: 180_000 }, async () => {
    const sessions = await a.get('/admin/link-sessions?status=denied');
    assert.match(sessions.html, /u-jack/);
    assert.ok(!sessions.html.includes('u-henry'));
    const expired = await a.get('/admin/link-sessions?status=expired');
    assert.match(expired.html, /u-kate/);
    const accounts = await a.get(`/admin/accounts?site=${seeded.sites.acme}&q=carol`);
    assert.match(accounts.html, /Carol Jones/);
    assert.match(accounts.html, /carol@acme\.example/);
    assert.ok(!accounts.html.includes('Alice Admin'));
    const globex = await a.get(`/admin/accounts?site=${seeded.sites.globex}`);
    assert.match(globex.html, /Frank Globex/);
  });

  test('admin mapping: search a site as the app, map one, and a CSV import that changes nothing unless every line is good', { timeout: 180_000 }, async () => {
    await world.gateway.linking.links.revoke({ linkId: seeded.links['u-grace'] ?? '', actorType: 'admin', actorId: 'test' });
    const found = await a.get(`/admin/mapping?site=${seeded.sites.acme}&q=Grace`);
    assert.equal(found.status, 200);
    assert.match(found.html, /<label class="visually-hidden" for="ext-[^"]+">Your user ID for Grace/);
    const mapped = await a.post('/admin/mapping/map', { site: seeded.sites.acme, accountId: DEFAULT_ACCOUNTS.grace, externalUserId: 'u-grace-new', q: 'Grace' });
    assert.equal(mapped.status, 303, mapped.html);
    const link = await world.gateway.repos.links.liveForUser(seeded.sites.acme, 'u-grace-new');
    assert.equal(link?.route, 'admin');
    assert.match(String(link?.evidence['adminId']), /^console:/);
    const conflict = await a.post('/admin/mapping/map', { site: seeded.sites.acme, accountId: DEFAULT_ACCOUNTS.grace, externalUserId: 'u-someone-else' });
    assert.equal(conflict.status, 409);
    assert.match(conflict.html, /already linked to user u-grace-new/);

    const before = await world.gateway.repos.links.list({ cloudId: seeded.sites.acme, limit: 1000 });
    const bad = await a.post('/admin/mapping/import', { site: seeded.sites.acme, csv: ['userId,accountId', `u-csv-1,${DEFAULT_ACCOUNTS.bot}`, 'u-csv-2', `u-csv-3,${DEFAULT_ACCOUNTS.alice}`, 'u-csv-4,no-such-account'].join('\n') });
    assert.equal(bad.status, 400);
    assert.match(bad.html, /Nothing was imported/);
    assert.match(bad.html, /Line 3: expected two columns/);
    assert.match(bad.html, /Line 4: account [^ ]+ is already linked to user u-alice/, 'format and content problems are reported together');
    assert.match(bad.html, /Line 5: &quot;no-such-account&quot; is not an Atlassian account ID|Line 5: there is no user no-such-account/);
    const badLines = await a.post('/admin/mapping/import', { site: seeded.sites.acme, csv: [`u-csv-1,${DEFAULT_ACCOUNTS.bot}`, `u-csv-3,${DEFAULT_ACCOUNTS.alice}`, 'u-csv-4,557058:00000000-0000-0000-0000-00000000ffff', `u-csv-1,${DEFAULT_ACCOUNTS.dave}`].join('\n') });
    assert.equal(badLines.status, 400);
    assert.match(badLines.html, /Line 2: account [^ ]+ is already linked to user u-alice/);
    assert.match(badLines.html, /Line 3: there is no user 557058:00000000-0000-0000-0000-00000000ffff on this site/);
    assert.match(badLines.html, /Line 4: user u-csv-1 appears on more than one line/);
    assert.deepEqual(await world.gateway.repos.links.list({ cloudId: seeded.sites.acme, limit: 1000 }), before, 'nothing was written');

    const good = await a.post('/admin/mapping/import', { site: seeded.sites.acme, csv: `# from HR\nu-csv-erin,${DEFAULT_ACCOUNTS.erin}\n` });
    assert.equal(good.status, 200, good.html);
    assert.match(good.html, /Imported 1 mapping on acme/);
    assert.equal((await world.gateway.repos.links.liveForUser(seeded.sites.acme, 'u-csv-erin'))?.accountId, DEFAULT_ACCOUNTS.erin);
  });

  test('audit log: filters by action, actor and time; cursor paging', { timeout: 180_000 }, async () => {
    const actor = (await world.gateway.repos.audit.query({ action: 'admin.signed_in' }))[0]?.actorId ?? '';
    const mine = await a.get(`/admin/audit?actor=${encodeURIComponent(actor)}`);
    const actions = [...mine.html.matchAll(/<th scope="row" class="mono">([^<]+)<\/th>/g)].map((m) => m[1]);
    assert.ok(actions.includes('admin.signed_in') && actions.every((x) => x !== 'api_key.created'), actions.join());
    const bySite = await a.get(`/admin/audit?action=policy.changed&site=${seeded.sites.acme}`);
    assert.match(bySite.html, /policy\.changed/);
    const future = await a.get('/admin/audit?from=2099-01-01T00:00');
    assert.match(future.html, /No audit events match/);
    const badTime = await a.get('/admin/audit?from=yesterday');
    assert.match(badTime.html, /was not a date and time/);
    for (let i = 0; i < 60; i++) await world.gateway.repos.audit.append({ action: 'test.paging', actorType: 'system', reason: `n${i}` });
    const first = await a.get('/admin/audit?action=test.paging');
    const older = /href="(\/admin\/audit\?action=test.paging&amp;before=\d+)" rel="next"/.exec(first.html)?.[1];
    assert.ok(older, 'a next page link');
    const second = await a.get(older.replace(/&amp;/g, '&'));
    const reasons = [...second.html.matchAll(/<td[^>]*>(n\d+)<\/td>/g)].map((m) => m[1]);
    assert.deepEqual(reasons, Array.from({ length: 10 }, (_, i) => `n${9 - i}`));
  });

  test('API keys: created keys are shown once and work, limited to the chosen sites; revoke asks first and is immediate', { timeout: 180_000 }, async () => {
    const bad = await a.post('/admin/api-keys', { name: 'no/slashes' });
    assert.equal(bad.status, 400);
    const created = await a.post('/admin/api-keys', { name: 'console-made', sites: [seeded.sites.globex, seeded.sites.acme] });
    assert.equal(created.status, 200);
    const key = /<input id="new-key"[^>]* value="(obk_[\w-]+)"/.exec(created.html)?.[1] ?? '';
    const verified = await world.gateway.repos.apiKeys.verify(key);
    assert.deepEqual(verified?.sites, [seeded.sites.globex, seeded.sites.acme]);
    const listing = await a.get('/admin/api-keys');
    assert.ok(listing.html.includes('console-made') && !listing.html.includes(key), 'the list never shows a key');
    assert.equal((await world.gateway.repos.audit.query({ action: 'api_key.created' }))[0]?.data?.['name'], 'console-made');
    const id = verified?.id ?? '';
    const confirm = await a.get(`/admin/api-keys/${id}/revoke`);
    assert.match(confirm.html, /Revoke console-made/);
    const revoked = await a.post(`/admin/api-keys/${id}/revoke`, {});
    assert.equal(revoked.location, '/admin/api-keys?done=revoked');
    assert.equal(await world.gateway.repos.apiKeys.verify(key), undefined);
    const res = await world.gateway.app.request(`${GATEWAY_ORIGIN}/v1/links`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 401);
  });

  test('policies: the same validation as everywhere (a policy narrows scopes, never widens); saved and audited', { timeout: 180_000 }, async () => {
    const url = `/admin/policies/${seeded.sites.globex}`;
    const before = await world.gateway.repos.policies.get(seeded.sites.globex);
    const empty = await a.post(url, { acting: 'admin_mapped', connectMode: 'narrow', oauthMode: 'default' });
    assert.equal(empty.status, 400);
    assert.match(empty.html, /Pick at least one connect scope/);
    const widen = await a.post(url, { acting: 'admin_mapped', connectMode: 'narrow', connectScopes: ['READ', 'ADMIN'] });
    assert.equal(widen.status, 400);
    assert.match(widen.html, /cannot allow them: ADMIN/);
    const mode = await a.post(url, { acting: 'everyone' });
    assert.equal(mode.status, 400);
    assert.deepEqual(await world.gateway.repos.policies.get(seeded.sites.globex), before, 'nothing saved');

    const ok = await a.post(url, { acting: 'any_user', connectMode: 'narrow', connectScopes: ['read', 'WRITE'], oauthMode: 'default' });
    assert.equal(ok.status, 303);
    const saved = await world.gateway.repos.policies.get(seeded.sites.globex);
    assert.equal(saved.acting, 'any_user');
    assert.deepEqual(saved.allowedScopes, { connect: ['READ', 'WRITE'] }, 'every ticked box counts');
    assert.match(saved.updatedBy ?? '', /^console:/);
    const audit = (await world.gateway.repos.audit.query({ action: 'policy.changed', cloudId: seeded.sites.globex }))[0];
    assert.match(audit?.actorId ?? '', /^console:/);
    const list = await a.get('/admin/policies');
    assert.match(list.html, /any user/);
  });
});
