import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../clock.js';
import { isGatewayError } from '../errors.js';
import { createSandbox, DEFAULT_ACCOUNTS, DEFAULT_OAUTH_CLIENT } from '../sandbox/index.js';
import { createActAsClient } from './create-act-as-client.js';
import { linkHeaderUrl, paginate, resolveNextLink } from './paginate.js';
import { createPage } from './pages.js';

const basic = (email: string, token: string) => `Basic ${Buffer.from(`${email}:${token}`).toString('base64')}`;
const ALICE = basic('alice@acme.example', 'alice-api-token');
const ENG = '65537';

describe('linkHeaderUrl', () => {
  const cases: Array<[string, string | null, string | undefined]> = [
    ['Confluence v2 shape', '</wiki/api/v2/pages?cursor=abc>; rel="next", <https://x.atlassian.net/wiki>; rel="base"', '/wiki/api/v2/pages?cursor=abc'],
    ['base only (last page)', '<https://x.atlassian.net/wiki>; rel="base"', undefined],
    ['rel first among params, unquoted', '<https://x/next>;rel=next', 'https://x/next'],
    ['rel list', '<https://x/n>; type="a"; rel="prev next"', 'https://x/n'],
    ['order does not matter', '<https://x/b>; rel="base", </wiki/n?c=1>; rel="next"', '/wiki/n?c=1'],
    ['comma inside the URL', '</wiki/api/v2/pages?cursor=a,b>; rel="next"', '/wiki/api/v2/pages?cursor=a,b'],
    ['no header', null, undefined],
    ['garbage', 'next', undefined],
  ];
  for (const [name, header, expected] of cases) test(name, () => assert.equal(linkHeaderUrl(header, 'next'), expected));
});

describe('resolveNextLink', () => {
  const cases: Array<[string, string, string | undefined, string]> = [
    ['v2 next starts with /wiki: stripped', '/wiki/api/v2/pages?cursor=abc', undefined, '/api/v2/pages?cursor=abc'],
    ['v1 next is relative to /wiki already', '/rest/api/content?start=25&limit=25', '/wiki', '/rest/api/content?start=25&limit=25'],
    ['absolute passes unchanged (the client checks it)', 'https://x.atlassian.net/wiki/api/v2/pages?cursor=a', undefined, 'https://x.atlassian.net/wiki/api/v2/pages?cursor=a'],
    ['/wikipedia is not under /wiki', '/wikipedia/x', undefined, '/wikipedia/x'],
    ['empty context', '/wiki/api/v2/pages', '', '/wiki/api/v2/pages'],
    ['no leading slash', 'rest/api/content?start=2', '/wiki', '/rest/api/content?start=2'],
  ];
  for (const [name, next, context, expected] of cases) test(name, () => assert.equal(resolveNextLink(next, context), expected));
});

function sandboxWithPages(count: number) {
  const clock = createManualClock(Date.UTC(2026, 5, 1));
  const sb = createSandbox({ clock });
  const d = sb.control.discovery();
  const acme = d.sites.find((s) => s.key === 'acme')!;
  const urls: string[] = [];
  const sleeps: number[] = [];
  const fetchImpl = ((input: string | URL | Request, init?: RequestInit) => {
    urls.push(new Request(input, init).url);
    return sb.fetch(input, init);
  }) as typeof fetch;
  const make = (apiBaseUrl: string, authorization: string) =>
    createActAsClient({ fetch: fetchImpl, clock, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 }, { apiBaseUrl, credential: async () => ({ authorization }) });
  const alice = make(acme.baseUrl, ALICE);
  const created = (async () => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push((await createPage(alice, { spaceId: ENG, title: `Paged ${String(i).padStart(3, '0')}`, body: `<p>${i}</p>` })).id);
    return ids;
  })();
  return { sb, d, acme, alice, make, urls, sleeps, created };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('paginate against the sandbox', () => {
  test('v2 cursor pages: every page of a space, in order, one request per page', async () => {
    const { sb, alice, urls, created } = sandboxWithPages(40);
    const ids = await created;
    const expected = sb.state
      .pagesOnSite('acme')
      .filter((p) => p.spaceId === ENG && p.status === 'current')
      .map((p) => p.id)
      .sort((a, b) => Number(a) - Number(b));
    assert.ok(expected.length >= 45, `seed pages + 40 created, got ${expected.length}`);
    for (const id of ids) assert.ok(expected.includes(id));
    urls.length = 0;
    const items = await collect(paginate<{ id: string }>(alice, `/api/v2/pages?space-id=${ENG}&limit=7`));
    assert.deepEqual(
      items.map((p) => p.id),
      expected,
    );
    assert.equal(urls.length, Math.ceil(expected.length / 7));
    assert.ok(urls.slice(1).every((u) => u.startsWith(`${sb.origin}/s/acme/wiki/api/v2/pages?`) && u.includes('cursor=')), urls.join('\n'));
  });

  test('v2 through the 3LO gateway base: next links land under /ex/confluence/<cloudId>/wiki, no doubled /wiki', async () => {
    const { sb, d, acme, make, urls, created } = sandboxWithPages(12);
    await created;
    const code = sb.control.issueAuthorizationCode({
      clientId: DEFAULT_OAUTH_CLIENT.clientId,
      accountId: DEFAULT_ACCOUNTS.alice,
      redirectUri: 'http://127.0.0.1/callback',
      scopes: ['read:page:confluence'],
    });
    const tokenRes = await sb.fetch(d.endpoints.token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'authorization_code', client_id: DEFAULT_OAUTH_CLIENT.clientId, client_secret: DEFAULT_OAUTH_CLIENT.clientSecret, code, redirect_uri: 'http://127.0.0.1/callback' }),
    });
    assert.equal(tokenRes.status, 200);
    const { access_token } = (await tokenRes.json()) as { access_token: string };
    const viaGateway = make(acme.gatewayBaseUrl, `Bearer ${access_token}`);
    urls.length = 0;
    const items = await collect(paginate<{ id: string; spaceId: string }>(viaGateway, `/api/v2/pages?space-id=${ENG}&limit=5`));
    assert.ok(items.length >= 17);
    assert.equal(new Set(items.map((p) => p.id)).size, items.length, 'no page twice');
    assert.ok(urls.length >= 4);
    for (const u of urls) assert.ok(u.startsWith(`${acme.gatewayBaseUrl}/api/v2/pages?`), u);
    assert.ok(!urls.some((u) => u.includes('/wiki/wiki/')));
  });

  test('v1 start/limit pages follow _links.next relative to _links.context', async () => {
    const { alice, urls, created, sb } = sandboxWithPages(20);
    await created;
    const expected = sb.state.pagesOnSite('acme').filter((p) => p.spaceId === ENG && p.status === 'current').length;
    urls.length = 0;
    const items = await collect(paginate<{ id: string; type: string }>(alice, '/rest/api/content?spaceKey=ENG&limit=6'));
    assert.equal(items.length, expected);
    assert.equal(new Set(items.map((p) => p.id)).size, expected);
    assert.equal(urls.length, Math.ceil(expected / 6));
    assert.match(urls[1]!, /\/s\/acme\/wiki\/rest\/api\/content\?.*start=6/);
  });

  test('a 429 in the middle of a listing is waited out by the client, and the listing completes', async () => {
    const { sb, alice, sleeps, created } = sandboxWithPages(10);
    await created;
    let n = 0;
    for await (const _ of paginate(alice, `/api/v2/pages?space-id=${ENG}&limit=4`)) {
      n += 1;
      if (n === 1) sb.control.faults.add({ kind: 'error', match: { pathPrefix: '/s/acme/wiki/api/v2/pages' }, status: 429, retryAfterSeconds: 5, times: 1 });
    }
    assert.ok(n >= 15);
    assert.deepEqual(sleeps, [5000]);
  });

  test('429 past the retries: RATE_LIMITED with retryAfterMs when a clock is given', async () => {
    const { sb, alice, sleeps, created } = sandboxWithPages(0);
    await created;
    sb.control.faults.add({ kind: 'error', match: { pathPrefix: '/s/acme/wiki/api/v2/pages' }, status: 429, retryAfterSeconds: 3 });
    await assert.rejects(collect(paginate(alice, '/api/v2/pages', { clock: createManualClock() })), (e) => {
      assert.ok(isGatewayError(e, 'RATE_LIMITED'));
      assert.equal(e.details?.['status'], 429);
      assert.equal(e.details?.['retryAfterMs'], 3000);
      return true;
    });
    assert.deepEqual(sleeps, [3000, 3000, 3000]);
  });

  test('an error page throws a GatewayError after the items already yielded', async () => {
    const { sb, alice, created } = sandboxWithPages(6);
    await created;
    const seen: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const p of paginate(alice, `/api/v2/pages?space-id=${ENG}&limit=3`)) {
          seen.push(p);
          if (seen.length === 1) sb.control.faults.add({ kind: 'error', match: { pathPrefix: '/s/acme/wiki/api/v2/pages' }, status: 403, times: 1 });
        }
      })(),
      (e) => isGatewayError(e, 'FORBIDDEN') && e.details?.['status'] === 403,
    );
    assert.equal(seen.length, 3);
  });
});

describe('paginate: guards', () => {
  const client = (pages: (url: string) => Response) =>
    createActAsClient(
      { fetch: (async (input: string | URL | Request) => pages(String(input instanceof Request ? input.url : input))) as typeof fetch, clock: createManualClock(), sleep: async () => undefined },
      { apiBaseUrl: 'https://acme.atlassian.net/wiki', credential: async () => ({ authorization: 'Bearer t' }) },
    );

  test('the same next link twice stops with pagination_loop', { timeout: 5000 }, async () => {
    let calls = 0;
    const c = client(() => {
      calls += 1;
      return Response.json({ results: [calls], _links: { next: '/wiki/api/v2/pages?cursor=same' } });
    });
    const got: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const x of paginate(c, '/api/v2/pages')) got.push(x);
      })(),
      (e) => isGatewayError(e, 'ATLASSIAN_ERROR') && e.details?.['reason'] === 'pagination_loop',
    );
    assert.deepEqual(got, [1, 2]);
    assert.equal(calls, 2);
  });

  test('a next link pointing back at the first page is a loop too', { timeout: 5000 }, async () => {
    let calls = 0;
    const c = client(() => {
      calls += 1;
      return Response.json({ results: [], _links: { next: '/wiki/api/v2/pages' } });
    });
    await assert.rejects(collect(paginate(c, '/api/v2/pages')), (e) => isGatewayError(e) && e.details?.['reason'] === 'pagination_loop');
    assert.equal(calls, 1);
  });

  test('a next link to another origin is refused by the client (FORBIDDEN), nothing sent there', async () => {
    const urls: string[] = [];
    const c = client((url) => {
      urls.push(url);
      return Response.json({ results: [1], _links: { next: 'https://evil.example/wiki/api/v2/pages?cursor=x' } });
    });
    await assert.rejects(collect(paginate(c, '/api/v2/pages')), (e) => isGatewayError(e, 'FORBIDDEN'));
    assert.deepEqual(urls, ['https://acme.atlassian.net/wiki/api/v2/pages']);
  });

  test('the Link header wins over _links.next; itemsKey selects the array', async () => {
    const urls: string[] = [];
    const c = client((url) => {
      urls.push(url);
      if (urls.length === 1) {
        return Response.json({ users: ['a'], _links: { next: '/wiki/ignored' } }, { headers: { link: '</wiki/api/v2/users?cursor=2>; rel="next"' } });
      }
      return Response.json({ users: ['b'] });
    });
    assert.deepEqual(await collect(paginate(c, '/api/v2/users', { itemsKey: 'users' })), ['a', 'b']);
    assert.deepEqual(urls, ['https://acme.atlassian.net/wiki/api/v2/users', 'https://acme.atlassian.net/wiki/api/v2/users?cursor=2']);
  });

  test('a body without the items array is ATLASSIAN_ERROR unexpected_shape', async () => {
    const c = client(() => Response.json({ values: [] }));
    await assert.rejects(collect(paginate(c, '/api/v2/pages')), (e) => isGatewayError(e, 'ATLASSIAN_ERROR') && e.details?.['reason'] === 'unexpected_shape');
  });
});
