import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { EVIL_ORIGIN, GATEWAY_ORIGIN, SANDBOX_ORIGIN, clickAllow, createApiWorld, tinyConfluenceClient, type ApiWorld } from './support/api-world.js';

type Json = Record<string, any>;

describe('/v1 API in process (gateway + sandbox)', () => {
  let w: ApiWorld;
  let key: string;
  const RETURN = 'https://app.example/linked';

  async function api(method: string, path: string, opts: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: Json; res: Response }> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const k = opts.key === undefined ? key : opts.key;
    if (k !== null) headers['Authorization'] = `Bearer ${k}`;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
    const res = await w.gateway.app.request(`${GATEWAY_ORIGIN}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.clone().text();
    let parsed: Json = {};
    try {
      parsed = text ? (JSON.parse(text) as Json) : {};
    } catch {
      parsed = { text };
    }
    return { status: res.status, body: parsed, res };
  }

  /** Links an app user to a sandbox account through the API and the consent page; returns the link id. */
  async function link(externalUserId: string, accountId: string): Promise<string> {
    const started = await api('POST', '/v1/link-sessions', { body: { externalUserId, site: 'acme', returnUrl: RETURN } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const back = await clickAllow(w.fetch, SANDBOX_ORIGIN, accountId, started.body['url']);
    assert.equal(back.status, 'pending_confirmation');
    const confirmed = await api('POST', `/v1/link-sessions/${started.body['id']}/confirm`, { body: { code: back.code, externalUserId } });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    return confirmed.body['id'];
  }

  before(async () => {
    w = await createApiWorld();
    key = await w.apiKey();
  }, { timeout: 120_000 });
  after(async () => {
    await w.close();
  }, { timeout: 120_000 });

  test('every /v1 route rejects a missing, malformed, wrong or revoked key with 401 and the envelope', { timeout: 180_000 }, async () => {
    const revoked = await w.apiKey();
    const keys = await w.gateway.repos.apiKeys.list();
    assert.ok(await w.gateway.repos.apiKeys.revoke(keys.at(-1)?.id ?? ''));
    const v1 = w.gateway.routes.filter((r) => r.path.startsWith('/v1/'));
    assert.ok(v1.length >= 14);
    for (const r of v1) {
      assert.equal(r.auth, 'apiKey', `${r.method} ${r.path}`);
      const path = r.path.replace(':id', 'x1').replace(':externalUserId', 'u1').replace(':site', 'acme').replace('*', 'api/v2/spaces');
      for (const [label, header] of [
        ['missing', null],
        ['wrong', 'Bearer obk_not-a-real-key'],
        ['revoked', `Bearer ${revoked}`],
        ['not bearer', `Basic ${Buffer.from('a:b').toString('base64')}`],
        ['empty bearer', 'Bearer '],
      ] as const) {
        const res = await w.gateway.app.request(`${GATEWAY_ORIGIN}${path}`, {
          method: r.method,
          headers: { ...(header ? { Authorization: header } : {}), 'Content-Type': 'application/json' },
          ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { body: '{}' }),
        });
        assert.equal(res.status, 401, `${label} key on ${r.method} ${path}`);
        const body = (await res.json()) as Json;
        assert.equal(body['error']['code'], 'UNAUTHENTICATED', `${label} on ${r.method} ${path}`);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
    }
    assert.equal(w.outbound.filter((c) => c.url.includes('/api/v2/spaces')).length, 0, 'no unauthenticated call reached Confluence');
    assert.equal((await w.gateway.app.request('/openapi.json')).status, 200, 'the OpenAPI document is public');
  });

  test('link session: create -> pending -> consent -> pending_confirmation -> confirm -> linked', { timeout: 180_000 }, async () => {
    const created = await api('POST', '/v1/link-sessions', { body: { externalUserId: 'app-bob', site: 'acme', returnUrl: RETURN } });
    assert.equal(created.status, 201);
    assert.match(created.body['url'], new RegExp(`^${GATEWAY_ORIGIN}/link/obl_`));
    assert.ok(!Number.isNaN(Date.parse(created.body['expiresAt'])));
    const id = created.body['id'];
    assert.equal((await api('GET', `/v1/link-sessions/${id}`)).body['status'], 'pending');
    const back = await clickAllow(w.fetch, SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.bob, created.body['url']);
    assert.equal((await api('GET', `/v1/link-sessions/${id}`)).body['status'], 'pending_confirmation');
    const wrong = await api('POST', `/v1/link-sessions/${id}/confirm`, { body: { code: 'obc_wrong' } });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body['error']['code'], 'LINK_SESSION_INVALID');
    const other = await api('POST', `/v1/link-sessions/${id}/confirm`, { body: { code: back.code, externalUserId: 'someone-else' } });
    assert.equal(other.body['error']['code'], 'LINK_SESSION_INVALID');
    const ok = await api('POST', `/v1/link-sessions/${id}/confirm`, { body: { code: back.code, externalUserId: 'app-bob' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body['status'], 'linked');
    assert.equal(ok.body['accountId'], DEFAULT_ACCOUNTS.bob);
    const view = await api('GET', `/v1/link-sessions/${id}`);
    assert.equal(view.body['status'], 'linked');
    assert.equal(view.body['linkId'], ok.body['id']);
    assert.equal((await api('GET', '/v1/link-sessions/nope')).status, 404);
    // 3LO sessions are accepted by the schema (the flow itself is wired elsewhere).
    const oauth = await api('POST', '/v1/link-sessions', { body: { externalUserId: 'app-bob', route: 'oauth' } });
    assert.equal(oauth.status, 201);
  });

  test('link session: deny and expiry show in the status', { timeout: 180_000 }, async () => {
    const created = await api('POST', '/v1/link-sessions', { body: { externalUserId: 'app-carol', site: 'acme', returnUrl: RETURN } });
    await clickAllow(w.fetch, SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.carol, created.body['url'], 'deny');
    assert.equal((await api('GET', `/v1/link-sessions/${created.body['id']}`)).body['status'], 'denied');
    const late = await api('POST', '/v1/link-sessions', { body: { externalUserId: 'app-late', ttlSeconds: 60 } });
    w.sandbox.clock.advance(61_000);
    assert.equal((await api('GET', `/v1/link-sessions/${late.body['id']}`)).body['status'], 'expired');
  });

  test('malformed JSON, wrong content type, validation failures and oversized bodies', { timeout: 180_000 }, async () => {
    const bad = await api('POST', '/v1/link-sessions', { raw: '{"externalUserId": "x",' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body['error']['code'], 'BAD_REQUEST');
    assert.equal(bad.body['error']['details']['reason'], 'malformed_json');
    const type = await api('POST', '/v1/link-sessions', { raw: 'externalUserId=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(type.status, 400);
    assert.equal(type.body['error']['details']['reason'], 'unsupported_content_type');
    const missing = await api('POST', '/v1/link-sessions', { body: {} });
    assert.equal(missing.status, 400);
    assert.equal(missing.body['error']['code'], 'VALIDATION_FAILED');
    assert.equal(missing.body['error']['details']['issues'][0]['path'], 'externalUserId');
    for (const body of [
      { externalUserId: 'has space' },
      { externalUserId: 'x', route: 'magic' },
      { externalUserId: 'x', returnUrl: 'javascript:alert(1)' },
      { externalUserId: 'x', ttlSeconds: 5 },
      { externalUserId: 'x', surprise: true },
    ]) {
      const r = await api('POST', '/v1/link-sessions', { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body['error']['code'], 'VALIDATION_FAILED', JSON.stringify(body));
    }
    const empty = await api('POST', '/v1/tokens', { raw: '' });
    assert.equal(empty.body['error']['code'], 'VALIDATION_FAILED');
    const both = await api('POST', '/v1/tokens', { body: { site: 'acme', externalUserId: 'a', accountId: 'b' } });
    assert.equal(both.body['error']['code'], 'VALIDATION_FAILED');
    const huge = await api('POST', '/v1/resolve', { raw: JSON.stringify({ site: 'acme', users: [{ email: `${'a'.repeat(300_000)}@x.example` }] }) });
    assert.equal(huge.status, 413);
    assert.equal(huge.body['error']['code'], 'PAYLOAD_TOO_LARGE');
    const query = await api('GET', '/v1/events?after=abc');
    assert.equal(query.body['error']['code'], 'VALIDATION_FAILED');
    assert.equal(query.body['error']['details']['in'], 'query');
  });

  test('tokens: a linked user gets a token that a standalone fetch-based Confluence client can use', { timeout: 180_000 }, async () => {
    await link('app-alice', DEFAULT_ACCOUNTS.alice);
    const t = await api('POST', '/v1/tokens', { body: { externalUserId: 'app-alice', site: 'acme' } });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.equal(t.body['tokenType'], 'Bearer');
    assert.equal(t.body['route'], 'connect');
    assert.ok(t.body['apiBaseUrl'].startsWith(SANDBOX_ORIGIN));
    // A third-party client that only takes a base URL and a bearer token.
    const confluence = tinyConfluenceClient(t.body['apiBaseUrl'], t.body['accessToken'], w.fetch);
    assert.equal((await confluence.currentUser()).accountId, DEFAULT_ACCOUNTS.alice);
    const page = await confluence.createPage('65537', 'From a token', '<p>t</p>');
    assert.equal(page.authorId, DEFAULT_ACCOUNTS.alice);
    const byAccount = await api('POST', '/v1/tokens', { body: { accountId: DEFAULT_ACCOUNTS.alice, site: w.cloudId } });
    assert.equal(byAccount.status, 200, 'a linked account may be named by account id');
  });

  test('acting errors: not linked and reauth carry a working linkUrl; policy, unknown and uninstalled sites', { timeout: 180_000 }, async () => {
    const notLinked = await api('POST', '/v1/tokens', { body: { externalUserId: 'app-nobody', site: 'acme' } });
    assert.equal(notLinked.status, 404);
    assert.equal(notLinked.body['error']['code'], 'USER_NOT_LINKED');
    const linkUrl = notLinked.body['error']['details']['linkUrl'] as string;
    assert.match(linkUrl, new RegExp(`^${GATEWAY_ORIGIN}/link/obl_`));
    const session = await api('GET', `/v1/link-sessions/${notLinked.body['error']['details']['linkSessionId']}`);
    assert.equal(session.body['externalUserId'], 'app-nobody');
    assert.equal(session.body['cloudId'], w.cloudId);
    assert.equal((await w.gateway.app.request(linkUrl)).status, 302, 'the link URL starts linking');

    const proxied = await api('GET', '/v1/act/app-nobody/acme/rest/api/user/current');
    assert.equal(proxied.status, 404);
    assert.match(proxied.body['error']['details']['linkUrl'], /\/link\/obl_/);

    const daveLink = await link('app-dave', DEFAULT_ACCOUNTS.dave);
    await w.gateway.repos.links.setStatus(daveLink, 'reauth_required', { reason: 'grant_revoked' });
    const reauth = await api('GET', '/v1/act/app-dave/acme/rest/api/user/current');
    assert.equal(reauth.status, 409);
    assert.equal(reauth.body['error']['code'], 'REAUTH_REQUIRED');
    assert.match(reauth.body['error']['details']['linkUrl'], /\/link\/obl_/);
    await w.gateway.repos.links.setStatus(daveLink, 'linked');

    const policy = await api('POST', '/v1/tokens', { body: { accountId: DEFAULT_ACCOUNTS.frank, site: 'acme' } });
    assert.equal(policy.status, 403);
    assert.equal(policy.body['error']['code'], 'POLICY_REFUSED');
    assert.equal(policy.body['error']['details']['linkUrl'], undefined, 'no link URL without a user of yours');

    const unknown = await api('POST', '/v1/tokens', { body: { externalUserId: 'app-alice', site: 'nowhere' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body['error']['code'], 'TENANT_NOT_FOUND');
  });

  test('links: list by user, by account and by site; read; revoke -> next proxy call refused with linkUrl', { timeout: 180_000 }, async () => {
    const id = await link('app-grace', DEFAULT_ACCOUNTS.grace);
    const byUser = await api('GET', '/v1/links?externalUserId=app-grace');
    assert.deepEqual(byUser.body['links'].map((l: Json) => l['id']), [id]);
    const byAccount = await api('GET', `/v1/links?accountId=${encodeURIComponent(DEFAULT_ACCOUNTS.grace)}`);
    assert.deepEqual(byAccount.body['links'].map((l: Json) => l['externalUserId']), ['app-grace']);
    const bySite = await api('GET', '/v1/links?site=acme&status=linked');
    assert.ok(bySite.body['links'].some((l: Json) => l['id'] === id));
    const one = await api('GET', `/v1/links/${id}`);
    assert.equal(one.body['status'], 'linked');
    assert.equal((await api('GET', '/v1/act/app-grace/acme/rest/api/user/current')).status, 200);
    const revoked = await api('DELETE', `/v1/links/${id}`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body['status'], 'revoked');
    const refused = await api('GET', '/v1/act/app-grace/acme/rest/api/user/current');
    assert.equal(refused.status, 404);
    assert.equal(refused.body['error']['code'], 'USER_NOT_LINKED');
    assert.match(refused.body['error']['details']['linkUrl'], /\/link\/obl_/);
    assert.equal((await api('GET', '/v1/links/nope')).status, 404);
    assert.equal((await api('DELETE', '/v1/links/nope')).status, 404);
  });

  test('resolve: emails without evidence come back unresolved, with a link URL for named users', { timeout: 180_000 }, async () => {
    const r = await api('POST', '/v1/resolve', { body: { site: 'acme', users: [{ email: 'nobody@acme.example', externalUserId: 'app-zed' }, { email: 'other@acme.example' }] } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body['results'].length, 2);
    assert.equal(r.body['results'][0]['status'], 'unresolved');
    assert.match(r.body['results'][0]['linkUrl'], /\/link\/obl_/);
    assert.equal(r.body['results'][1]['linkUrl'], null);
    const bad = await api('POST', '/v1/resolve', { body: { site: 'acme', users: [{ email: 'not-an-email' }] } });
    assert.equal(bad.body['error']['code'], 'VALIDATION_FAILED');
  });

  test('events: link changes and webhooks in order, with a cursor; webhooks name the linked user', { timeout: 180_000 }, async () => {
    const first = await api('GET', '/v1/events?limit=1000');
    assert.equal(first.status, 200);
    const types = first.body['events'].map((e: Json) => e['type']);
    assert.ok(types.includes('link.pending_confirmation') && types.includes('link.linked') && types.includes('link.revoked'), types.join(','));
    const cursor = first.body['cursor'];
    const none = await api('GET', `/v1/events?after=${cursor}`);
    assert.deepEqual(none.body['events'], []);
    assert.equal(none.body['cursor'], cursor);
    // Alice (linked as app-alice) edits in Confluence: the page_created webhook reaches the feed with her user.
    const res = await w.fetch(`${SANDBOX_ORIGIN}/s/acme/wiki/api/v2/pages`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('alice@acme.example:alice-api-token').toString('base64')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'Alice in Confluence', body: { representation: 'storage', value: '<p>x</p>' } }),
    });
    assert.equal(res.status, 200);
    await w.settle();
    const next = await api('GET', `/v1/events?after=${cursor}`);
    const hook = next.body['events'].find((e: Json) => e['type'] === 'webhook.page_created');
    assert.ok(hook, JSON.stringify(next.body));
    assert.equal(hook['accountId'], DEFAULT_ACCOUNTS.alice);
    assert.equal(hook['externalUserId'], 'app-alice');
    const paged = await api('GET', '/v1/events?after=0&limit=2');
    assert.equal(paged.body['events'].length, 2);
    const rest = await api('GET', `/v1/events?after=${paged.body['cursor']}&limit=1`);
    assert.equal(Number(rest.body['events'][0]['id']), Number(paged.body['cursor']) + 1);
  });

  test('proxy: GET with query, POST creating a page as the user, PUT and DELETE; auth and hop-by-hop headers stay behind', { timeout: 180_000 }, async () => {
    const me = await api('GET', '/v1/act/app-alice/acme/rest/api/user/current', { headers: { Cookie: 'session=secret', 'X-Custom': 'kept', Connection: 'x-drop-me', 'X-Drop-Me': '1', 'Proxy-Authorization': 'Basic x' } });
    assert.equal(me.status, 200);
    assert.equal(me.body['accountId'], DEFAULT_ACCOUNTS.alice);
    const call = w.outbound.at(-1);
    assert.ok(call);
    assert.equal(call.url, `${SANDBOX_ORIGIN}/s/acme/wiki/rest/api/user/current`);
    assert.match(call.headers.get('authorization') ?? '', /^Bearer /);
    assert.ok(!(call.headers.get('authorization') ?? '').includes(key));
    assert.equal(call.headers.get('cookie'), null);
    assert.equal(call.headers.get('x-drop-me'), null);
    assert.equal(call.headers.get('proxy-authorization'), null);
    assert.equal(call.headers.get('x-custom'), 'kept');

    const created = await api('POST', '/v1/act/app-alice/acme/api/v2/pages', { body: { spaceId: '65537', title: 'Proxied page', body: { representation: 'storage', value: '<p>p</p>' } } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body['authorId'], DEFAULT_ACCOUNTS.alice);
    const listed = await api('GET', '/v1/act/app-alice/acme/api/v2/pages?limit=1');
    assert.equal(listed.status, 200);
    assert.equal(w.outbound.at(-1)?.url, `${SANDBOX_ORIGIN}/s/acme/wiki/api/v2/pages?limit=1`);
    assert.equal(listed.body['results'].length, 1);
    const pageId = created.body['id'];
    const updated = await api('PUT', `/v1/act/app-alice/acme/api/v2/pages/${pageId}`, {
      body: { id: pageId, status: 'current', title: 'Proxied page v2', body: { representation: 'storage', value: '<p>v2</p>' }, version: { number: 2 } },
    });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.equal(updated.body['title'], 'Proxied page v2');
    const gone = await api('DELETE', `/v1/act/app-alice/acme/api/v2/pages/${pageId}`);
    assert.equal(w.outbound.at(-1)?.method, 'DELETE');
    assert.equal(w.outbound.at(-1)?.url, `${SANDBOX_ORIGIN}/s/acme/wiki/api/v2/pages/${pageId}`);
    // The app's Connect scopes decide (no DELETE scope here): Confluence's own answer comes back as is.
    assert.ok([200, 204, 403].includes(gone.status), String(gone.status));
    assert.equal(gone.body['error']?.['requestId'], undefined);
    const missing = await api('GET', `/v1/act/app-alice/acme/api/v2/pages/999999999`);
    assert.equal(missing.status, 404, 'Confluence answers pass through as they are');
    assert.equal(missing.body['error'], undefined, 'not wrapped in our envelope');
  });

  test('proxy refuses SSRF and open-proxy tricks before any credential leaves', { timeout: 180_000 }, async () => {
    const attempts: [string, number][] = [
      ['/v1/act/app-alice/acme/http://evil.test/x', 403],
      ['/v1/act/app-alice/acme/https:%2F%2Fevil.test/x', 403],
      ['/v1/act/app-alice/acme//evil.test/x', 403],
      ['/v1/act/app-alice/acme/api/v2/pages%2F..%2F..%2F..%2Fadmin', 403],
      ['/v1/act/app-alice/acme/api/%2e%2e%252fadmin', 403],
      ['/v1/act/app-alice/acme/api/%252e%252e/admin', 403],
      ['/v1/act/app-alice/acme/api/v2/%2fevil', 403],
      ['/v1/act/app-alice/evil.test/api/v2/pages', 404],
      ['/v1/act/app-alice/http%3A%2F%2Fevil.test/api/v2/pages', 404],
      ['/v1/act/app-alice/acme@evil.test/api/v2/pages', 404],
      ['/v1/act/app-alice/acme/', 400],
    ];
    const before = w.outbound.length;
    for (const [path, status] of attempts) {
      const r = await api('GET', path);
      assert.ok(r.status >= 400 && r.status < 500, `${path} -> ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.status, status, `${path} -> ${JSON.stringify(r.body)}`);
    }
    // `..` in the raw URL is resolved by the HTTP layer before routing: it can only land on another
    // gateway path, never outside the site's API base.
    const dots = await api('GET', '/v1/act/app-alice/acme/api/v2/../../../../healthz');
    assert.ok(dots.status !== 200 || !w.outbound.slice(before).some((c) => !c.url.startsWith(`${SANDBOX_ORIGIN}/s/acme/wiki/`)));
    // Backslashes are slashes to the URL parser (so `..` is resolved before routing), and the result stays on the site.
    const slashes = await api('GET', '/v1/act/app-alice/acme/api\\..\\admin');
    assert.equal(slashes.status, 404);
    // `@` inside the API path stays a path on the site.
    const at = await api('GET', '/v1/act/app-alice/acme/@evil.test/x');
    assert.equal(at.status, 404);
    const calls = w.outbound.slice(before);
    assert.ok(calls.every((c) => c.url.startsWith(`${SANDBOX_ORIGIN}/s/acme/wiki/`)), calls.map((c) => c.url).join('\n'));
    assert.equal(calls.filter((c) => c.url.startsWith(EVIL_ORIGIN)).length, 0);
  });

  test('proxy does not follow redirects to other hosts; same-site redirects are followed', { timeout: 180_000 }, async () => {
    w.intercept = (req) => {
      const u = new URL(req.url);
      if (u.pathname.endsWith('/rest/api/bounce-away')) return new Response(null, { status: 302, headers: { Location: `${EVIL_ORIGIN}/steal` } });
      if (u.pathname.endsWith('/rest/api/bounce-userinfo')) return new Response(null, { status: 302, headers: { Location: `http://user@sandbox.test@evil.test/x` } });
      if (u.pathname.endsWith('/rest/api/bounce-home')) return new Response(null, { status: 302, headers: { Location: '/s/acme/wiki/rest/api/user/current' } });
      return undefined;
    };
    try {
      const before = w.outbound.length;
      const away = await api('GET', '/v1/act/app-alice/acme/rest/api/bounce-away');
      assert.equal(away.status, 302);
      assert.equal(away.res.headers.get('location'), `${EVIL_ORIGIN}/steal`);
      const userinfo = await api('GET', '/v1/act/app-alice/acme/rest/api/bounce-userinfo');
      assert.equal(userinfo.status, 302);
      assert.equal(w.outbound.slice(before).filter((c) => !c.url.startsWith(SANDBOX_ORIGIN)).length, 0, 'evil.test never called');
      const home = await api('GET', '/v1/act/app-alice/acme/rest/api/bounce-home');
      assert.equal(home.status, 200);
      assert.equal(home.body['accountId'], DEFAULT_ACCOUNTS.alice);
    } finally {
      w.intercept = undefined;
    }
  });

  test('proxy: response hop-by-hop and cookies are dropped; 429 retried for GET, passed back with headers for POST', { timeout: 180_000 }, async () => {
    w.intercept = (req) => {
      if (new URL(req.url).pathname.endsWith('/rest/api/headers')) {
        return new Response('{"ok":true}', { status: 200, headers: { 'Content-Type': 'application/json', 'Set-Cookie': 'atl=1', 'Keep-Alive': 'timeout=5', 'X-Upstream': 'yes' } });
      }
      return undefined;
    };
    try {
      const h = await api('GET', '/v1/act/app-alice/acme/rest/api/headers');
      assert.equal(h.status, 200);
      assert.equal(h.res.headers.get('set-cookie'), null);
      assert.equal(h.res.headers.get('keep-alive'), null);
      assert.equal(h.res.headers.get('x-upstream'), 'yes');
    } finally {
      w.intercept = undefined;
    }
    let n = 0;
    w.intercept = (req) => {
      if (new URL(req.url).pathname.endsWith('/rest/api/user/current') && n++ < 1) return new Response('{"message":"slow down"}', { status: 429, headers: { 'Retry-After': '1', 'X-RateLimit-Reason': 'test' } });
      return undefined;
    };
    try {
      const retried = await api('GET', '/v1/act/app-alice/acme/rest/api/user/current');
      assert.equal(retried.status, 200, 'a GET is retried after a 429');
      assert.equal(n, 2);
    } finally {
      w.intercept = undefined;
    }
    let posts = 0;
    w.intercept = (req) => {
      if (!(new URL(req.url).pathname.endsWith('/api/v2/pages') && req.method === 'POST')) return undefined;
      posts++;
      return new Response('{"message":"slow down"}', { status: 429, headers: { 'Retry-After': '7', 'X-RateLimit-Reason': 'test' } });
    };
    try {
      const body = JSON.stringify({ spaceId: '65537', title: 't' });
      const limited = await api('POST', '/v1/act/app-alice/acme/api/v2/pages', { raw: body, headers: { 'Content-Length': String(Buffer.byteLength(body)) } });
      // A 429 means Confluence did not process the request, so even a POST is sent again when its body
      // was buffered (4 sends by default); the last 429 comes back with its headers.
      assert.equal(posts, 4);
      assert.equal(limited.status, 429);
      // A body of unknown length that ends within the buffer size is buffered too.
      posts = 0;
      const chunked = await api('POST', '/v1/act/app-alice/acme/api/v2/pages', { raw: body });
      assert.equal(posts, 4);
      assert.equal(chunked.res.headers.get('retry-after'), '7');
      assert.equal(limited.res.headers.get('retry-after'), '7');
      assert.equal(limited.res.headers.get('x-ratelimit-reason'), 'test');
    } finally {
      w.intercept = undefined;
    }
  });

  test('proxy: upstream down is 502 ATLASSIAN_UNAVAILABLE; oversized bodies are 413', { timeout: 180_000 }, async () => {
    w.setDown(SANDBOX_ORIGIN, true);
    try {
      const down = await api('GET', '/v1/act/app-alice/acme/rest/api/user/current');
      assert.equal(down.status, 502);
      assert.equal(down.body['error']['code'], 'ATLASSIAN_UNAVAILABLE');
    } finally {
      w.setDown(SANDBOX_ORIGIN, false);
    }
    const big = await w.gateway.app.request(`${GATEWAY_ORIGIN}/v1/act/app-alice/acme/api/v2/pages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'Content-Length': String(65 * 1024 * 1024) },
      body: 'x',
    });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as Json)['error']['code'], 'PAYLOAD_TOO_LARGE');
  });

  test('a key limited to other sites is refused on this one and sees none of its links', { timeout: 180_000 }, async () => {
    const limited = await w.apiKey(['other-site']);
    for (const [method, path, body] of [
      ['GET', '/v1/act/app-alice/acme/rest/api/user/current', undefined],
      ['POST', '/v1/tokens', { externalUserId: 'app-alice', site: 'acme' }],
      ['POST', '/v1/tokens', { externalUserId: 'app-alice', site: w.cloudId }],
      ['POST', '/v1/resolve', { site: 'acme', users: [{ email: 'a@b.example' }] }],
      ['POST', '/v1/link-sessions', { externalUserId: 'x', site: 'acme' }],
      ['POST', '/v1/link-sessions', { externalUserId: 'x' }],
      ['POST', '/v1/tokens', { externalUserId: 'app-alice', site: 'no-such-site' }],
    ] as const) {
      const r = await api(method, path, { key: limited, ...(body ? { body } : {}) });
      assert.equal(r.status, 403, `${method} ${path} ${JSON.stringify(body)}`);
      assert.equal(r.body['error']['code'], 'FORBIDDEN');
    }
    assert.deepEqual((await api('GET', '/v1/links?externalUserId=app-alice', { key: limited })).body['links'], []);
    const aliceLink = (await api('GET', '/v1/links?externalUserId=app-alice')).body['links'][0]['id'];
    assert.equal((await api('GET', `/v1/links/${aliceLink}`, { key: limited })).status, 404);
    assert.equal((await api('DELETE', `/v1/links/${aliceLink}`, { key: limited })).status, 404);
    const mine = await w.apiKey(['acme']);
    assert.equal((await api('GET', '/v1/act/app-alice/acme/rest/api/user/current', { key: mine })).status, 200);
    const byCloud = await w.apiKey([w.cloudId]);
    assert.equal((await api('POST', '/v1/tokens', { key: byCloud, body: { externalUserId: 'app-alice', site: 'acme' } })).status, 200);
  });

  test('confirming after the completion code expired is 410 LINK_SESSION_EXPIRED; narrower scopes than allowed are refused', { timeout: 180_000 }, async () => {
    const created = await api('POST', '/v1/link-sessions', { body: { externalUserId: 'app-late-confirm', site: 'acme', returnUrl: RETURN } });
    const back = await clickAllow(w.fetch, SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.carol, created.body['url']);
    w.sandbox.clock.advance(11 * 60_000);
    const late = await api('POST', `/v1/link-sessions/${created.body['id']}/confirm`, { body: { code: back.code } });
    assert.equal(late.status, 410);
    assert.equal(late.body['error']['code'], 'LINK_SESSION_EXPIRED');
    const scoped = await api('POST', '/v1/tokens', { body: { externalUserId: 'app-alice', site: 'acme', scopes: ['READ'] } });
    assert.equal(scoped.status, 200, JSON.stringify(scoped.body));
    const wider = await api('POST', '/v1/tokens', { body: { externalUserId: 'app-alice', site: 'acme', scopes: ['ADMIN'] } });
    assert.equal(wider.status, 403);
    assert.equal(wider.body['error']['code'], 'SCOPE_NOT_ALLOWED');
  });

  test('uninstalled site: 410 TENANT_UNINSTALLED', { timeout: 180_000 }, async () => {
    const removed = await w.sandbox.control.uninstallApp('acme', 'com.example.onbehalf');
    assert.ok(removed.ok);
    await w.settle();
    const r = await api('GET', '/v1/act/app-alice/acme/rest/api/user/current');
    assert.equal(r.status, 410);
    assert.equal(r.body['error']['code'], 'TENANT_UNINSTALLED');
  });
});
