import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../clock.js';
import { isGatewayError } from '../errors.js';
import { createSandbox, DEFAULT_ACCOUNTS } from '../sandbox/index.js';
import { createActAsClient, type ActAsClientOptions, type CredentialRequest, type UpstreamCallInfo } from './create-act-as-client.js';

const basic = (email: string, token: string) => `Basic ${Buffer.from(`${email}:${token}`).toString('base64')}`;
const ALICE = basic('alice@acme.example', 'alice-api-token');

/** A seeded generator (mulberry32): deterministic jitter. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sent {
  method: string;
  url: string;
  authorization: string | null;
  cookie: string | null;
  contentType: string | null;
  headers: Record<string, string>;
  body: string;
}

/** The sandbox plus a recording fetch, a recording fake sleep and a recording credential source. */
function setup(overrides: Partial<ActAsClientOptions> = {}, authFor: (req: CredentialRequest) => string = () => ALICE) {
  const clock = createManualClock(Date.UTC(2026, 5, 1));
  const sb = createSandbox({ clock });
  const site = sb.control.discovery().sites.find((s) => s.key === 'acme')!;
  const sent: Sent[] = [];
  const sleeps: number[] = [];
  const credentialCalls: CredentialRequest[] = [];
  const upstream: UpstreamCallInfo[] = [];
  const recordingFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    const copy = req.clone();
    sent.push({
      method: req.method,
      url: req.url,
      authorization: req.headers.get('authorization'),
      cookie: req.headers.get('cookie'),
      contentType: req.headers.get('content-type'),
      headers: Object.fromEntries(req.headers),
      body: req.body ? await copy.text() : '',
    });
    return sb.fetch(req);
  }) as typeof fetch;
  const client = createActAsClient(
    {
      fetch: recordingFetch,
      clock,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: seeded(42),
    },
    {
      apiBaseUrl: site.baseUrl,
      credential: async (req) => {
        credentialCalls.push(req);
        return { authorization: authFor(req) };
      },
      onUpstreamCall: (info) => upstream.push(info),
      ...overrides,
    },
  );
  return { sb, site, client, sent, sleeps, credentialCalls, upstream };
}

const PAGES = '/s/acme/wiki/api/v2/pages';

describe('act-as client against the sandbox', () => {
  test('a plain GET carries the credential and asks the source with method, url and apiPath', async () => {
    const { client, sent, credentialCalls, site, sleeps } = setup();
    const res = await client.fetch('/api/v2/pages?limit=1');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { results: { id: string }[] };
    assert.equal(body.results.length, 1);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.url, `${site.baseUrl}/api/v2/pages?limit=1`);
    assert.equal(sent[0]!.authorization, ALICE);
    assert.deepEqual(credentialCalls, [{ forceFresh: false, method: 'GET', url: `${site.baseUrl}/api/v2/pages?limit=1`, apiPath: '/api/v2/pages?limit=1' }]);
    assert.deepEqual(sleeps, []);
  });

  test('429 with Retry-After: waits exactly what the server asked, then succeeds', async () => {
    const { client, sb, sent, sleeps, upstream } = setup();
    sb.control.faults.add({ kind: 'error', match: { pathPrefix: PAGES, method: 'GET' }, status: 429, retryAfterSeconds: 7, times: 2 });
    const res = await client.fetch('/api/v2/pages');
    assert.equal(res.status, 200);
    assert.equal(sent.length, 3);
    assert.deepEqual(sleeps, [7000, 7000]);
    assert.deepEqual(
      upstream.map((u) => [u.status, u.attempt, u.retryReason]),
      [
        [429, 1, 'rate_limited'],
        [429, 2, 'rate_limited'],
        [200, 3, undefined],
      ],
    );
    assert.equal(sb.control.counters.total('api_call', { route: 'GET /api/v2/pages' }), 1, 'only the last call reached the API');
  });

  test('a huge Retry-After is clamped to maxRetryAfterMs', async () => {
    const { client, sb, sleeps } = setup({ retry: { maxRetryAfterMs: 45_000 } });
    sb.control.faults.add({ kind: 'error', match: { pathPrefix: PAGES }, status: 429, retryAfterSeconds: 86_400, times: 1 });
    assert.equal((await client.fetch('/api/v2/pages')).status, 200);
    assert.deepEqual(sleeps, [45_000]);
  });

  test('429 for POST is retried too (a rate-limited request was not processed)', async () => {
    const { client, sb, sleeps, sent } = setup();
    sb.control.faults.add({ kind: 'error', match: { pathPrefix: PAGES, method: 'POST' }, status: 429, retryAfterSeconds: 2, times: 1 });
    const res = await client.fetch('/api/v2/pages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'After a 429', body: { representation: 'storage', value: '<p>x</p>' } }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(sleeps, [2000]);
    assert.equal(sent.length, 2);
    assert.equal(sent[0]!.body, sent[1]!.body, 'the body was re-sent unchanged');
    assert.ok(sent[1]!.body.includes('After a 429'));
  });

  test('429 until retries run out: the last 429 comes back with its headers, no throw', async () => {
    const { client, sb, sent, sleeps } = setup();
    sb.control.faults.add({ kind: 'error', match: { pathPrefix: PAGES }, status: 429, retryAfterSeconds: 3 });
    const res = await client.fetch('/api/v2/pages');
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '3');
    assert.equal(res.headers.get('x-ratelimit-remaining'), '0');
    assert.deepEqual(await res.json(), { code: 429, message: 'Rate limit exceeded.' });
    assert.equal(sent.length, 4, 'maxAttempts defaults to 4');
    assert.deepEqual(sleeps, [3000, 3000, 3000]);
  });

  test('503 on GET: retried with full-jitter exponential backoff (seeded)', async () => {
    const { client, sb, sleeps, sent } = setup();
    sb.control.faults.add({ kind: 'error', match: { pathPrefix: PAGES }, status: 503, times: 3 });
    assert.equal((await client.fetch('/api/v2/pages')).status, 200);
    assert.equal(sent.length, 4);
    const r = seeded(42);
    assert.deepEqual(sleeps, [Math.floor(r() * 500), Math.floor(r() * 1000), Math.floor(r() * 2000)]);
    assert.ok(sleeps.every((ms, i) => ms >= 0 && ms < 500 * 2 ** i));
  });

  test('503 with Retry-After: the server wait is honoured for 5xx too', async () => {
    const { client, sb, sleeps } = setup();
    sb.control.faults.add({ kind: 'error', match: { pathPrefix: PAGES }, status: 503, retryAfterSeconds: 4, times: 1 });
    assert.equal((await client.fetch('/api/v2/pages')).status, 200);
    assert.deepEqual(sleeps, [4000]);
  });

  test('maxAttempts 1 turns retries off', async () => {
    const { client, sb, sent, sleeps } = setup({ retry: { maxAttempts: 1 } });
    sb.control.faults.add({ kind: 'error', match: { pathPrefix: PAGES }, status: 429, retryAfterSeconds: 1, times: 1 });
    assert.equal((await client.fetch('/api/v2/pages')).status, 429);
    assert.equal(sent.length, 1);
    assert.deepEqual(sleeps, []);
  });

  test('500 is not retried (not a transient status)', async () => {
    const { client, sb, sent } = setup();
    sb.control.faults.add({ kind: 'error', match: { pathPrefix: PAGES }, status: 500, times: 1 });
    assert.equal((await client.fetch('/api/v2/pages')).status, 500);
    assert.equal(sent.length, 1);
  });

  test('503 on POST is not retried by default: the page may have been created', async () => {
    const { client, sb, sent, sleeps } = setup();
    sb.control.faults.add({ kind: 'error', match: { pathPrefix: PAGES, method: 'POST' }, status: 503, times: 1 });
    const res = await client.fetch('/api/v2/pages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'Once', body: { representation: 'storage', value: '<p>x</p>' } }),
    });
    assert.equal(res.status, 503);
    assert.equal(sent.length, 1);
    assert.deepEqual(sleeps, []);
  });

  test('503 on POST is retried when retryNonIdempotent is set', async () => {
    const { client, sb, sent, sleeps } = setup({ retry: { retryNonIdempotent: true } });
    sb.control.faults.add({ kind: 'error', match: { pathPrefix: PAGES, method: 'POST' }, status: 503, times: 1 });
    const res = await client.fetch('/api/v2/pages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'Retried', body: { representation: 'storage', value: '<p>x</p>' } }),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { title: string }).title, 'Retried');
    assert.equal(sent.length, 2);
    assert.equal(sleeps.length, 1);
  });

  test('a dropped connection on GET is retried; on every attempt it throws ATLASSIAN_UNAVAILABLE', async () => {
    const once = setup();
    once.sb.control.faults.add({ kind: 'drop', match: { pathPrefix: PAGES }, times: 1 });
    assert.equal((await once.client.fetch('/api/v2/pages')).status, 200);
    assert.equal(once.sent.length, 2);
    assert.equal(once.upstream[0]!.status, 'network_error');

    const always = setup({ retry: { maxAttempts: 3 } });
    always.sb.control.faults.add({ kind: 'drop', match: { pathPrefix: PAGES } });
    await assert.rejects(always.client.fetch('/api/v2/pages?limit=1'), (e) => {
      assert.ok(isGatewayError(e, 'ATLASSIAN_UNAVAILABLE'));
      assert.equal(e.details?.['attempts'], 3);
      assert.ok(!JSON.stringify(e.details).includes('alice-api-token') && !JSON.stringify(e.details).includes(ALICE));
      return true;
    });
    assert.equal(always.sent.length, 3);
    assert.equal(always.sleeps.length, 2);
  });

  test('a dropped connection on POST is not retried', async () => {
    const { client, sb, sent } = setup();
    sb.control.faults.add({ kind: 'drop', match: { pathPrefix: PAGES, method: 'POST' } });
    await assert.rejects(
      client.fetch('/api/v2/pages', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }),
      (e) => isGatewayError(e, 'ATLASSIAN_UNAVAILABLE'),
    );
    assert.equal(sent.length, 1);
  });

  test('401 → exactly one forceFresh credential and one retry, for any method', async () => {
    let fresh = 0;
    const { client, sent, credentialCalls, upstream } = setup({}, (req) => {
      if (req.forceFresh) fresh += 1;
      return req.forceFresh ? ALICE : basic('alice@acme.example', 'expired-token');
    });
    const res = await client.fetch('/api/v2/pages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'After refresh', body: { representation: 'storage', value: '<p>x</p>' } }),
    });
    assert.equal(res.status, 200);
    assert.equal(fresh, 1);
    assert.deepEqual(credentialCalls.map((c) => [c.forceFresh, c.method]), [
      [false, 'POST'],
      [true, 'POST'],
    ]);
    assert.equal(sent.length, 2);
    assert.deepEqual(upstream.map((u) => u.retryReason), ['credential_refresh', undefined]);
  });

  test('the forceFresh request names the Authorization value the 401 answered (concurrent calls may hold others)', async () => {
    const expired = basic('alice@acme.example', 'expired-token');
    const { client, credentialCalls } = setup({}, (req) => (req.forceFresh ? ALICE : expired));
    assert.equal((await client.fetch('/api/v2/pages/98305')).status, 200);
    assert.deepEqual(credentialCalls.map((c) => [c.forceFresh, c.rejected]), [
      [false, undefined],
      [true, expired],
    ]);
  });

  test('a second 401 is returned to the caller', { timeout: 5000 }, async () => {
    const { client, sent, credentialCalls, sleeps } = setup({}, () => basic('alice@acme.example', 'revoked'));
    const res = await client.fetch('/api/v2/pages');
    assert.equal(res.status, 401);
    assert.equal(sent.length, 2);
    assert.deepEqual(credentialCalls.map((c) => c.forceFresh), [false, true]);
    assert.deepEqual(sleeps, []);
  });

  test('refused URLs never reach the network nor the credential source', async () => {
    const { client, sent, credentialCalls } = setup();
    const cases: Array<[string, string]> = [
      ['https://evil.example/s/acme/wiki/api/v2/pages', 'FORBIDDEN'],
      ['http://sandbox.localhost/s/globex/wiki/api/v2/pages', 'FORBIDDEN'],
      ['/../../globex/wiki/api/v2/pages', 'FORBIDDEN'],
      ['/%2e%2e/%2e%2e/globex/wiki/api/v2/pages', 'FORBIDDEN'],
      ['/api%2F..%2F..%2Fglobex', 'FORBIDDEN'],
      ['//evil.example/x', 'FORBIDDEN'],
      ['file:///etc/passwd', 'BAD_REQUEST'],
    ];
    for (const [path, code] of cases) {
      await assert.rejects(client.fetch(path), (e) => isGatewayError(e) && e.code === code, path);
    }
    assert.equal(sent.length, 0);
    assert.equal(credentialCalls.length, 0);
  });

  test('caller Authorization and Cookie headers are replaced/removed', async () => {
    const { client, sent } = setup();
    const res = await client.fetch('/api/v2/pages', { headers: { Authorization: 'Bearer caller-token', Cookie: 'session=abc', 'X-Extra': '1' } });
    assert.equal(res.status, 200);
    assert.equal(sent[0]!.authorization, ALICE);
    assert.equal(sent[0]!.cookie, null);
  });

  test('headers as a plain record (the proxy passes them so) are checked and sent exactly as a Headers object would be', async () => {
    const given = { 'X-Padded': ' \t v  ', 'x-twice': 'a', 'X-Twice': 'b', Accept: 'text/plain', 'X-Latin': 'caf\u00e9' };
    const viaRecord = setup();
    await viaRecord.client.fetch('/api/v2/pages', { headers: given });
    const viaHeaders = setup();
    await viaHeaders.client.fetch('/api/v2/pages', { headers: new Headers(given) });
    assert.deepEqual(viaRecord.sent[0]!.headers, viaHeaders.sent[0]!.headers);
    assert.equal(viaRecord.sent[0]!.headers['x-padded'], 'v');
    assert.equal(viaRecord.sent[0]!.headers['x-twice'], 'a, b');
    const bads: Record<string, string>[] = [{ 'bad header': 'x' }, { 'x-ok': 'a\r\nInjected: 1' }, { 'x-ok': 'a\0b' }, { 'x-ok': 'wide \u0100' }, { '': 'x' }];
    for (const bad of bads) {
      const { client, sent, credentialCalls } = setup();
      assert.throws(() => new Headers(bad), TypeError, `Headers refuses ${JSON.stringify(bad)} too`);
      await assert.rejects(client.fetch('/api/v2/pages', { headers: bad }), TypeError, JSON.stringify(bad));
      assert.deepEqual([sent.length, credentialCalls.length], [0, 0], 'nothing sent, no credential asked');
    }
  });

  test('v1 and the acting user: /rest/api/user/current answers as the credential owner', async () => {
    const { client } = setup();
    const me = (await (await client.fetch('/rest/api/user/current')).json()) as { accountId: string };
    assert.equal(me.accountId, DEFAULT_ACCOUNTS.alice);
  });
});

/** A scripted upstream for what the sandbox does not do (redirects, hangs, custom headers). */
function scripted(handler: (req: Request, n: number) => Response | Promise<Response>, overrides: Partial<ActAsClientOptions> = {}) {
  const seen: { method: string; url: string; authorization: string | null; body: string; contentType: string | null }[] = [];
  const sleeps: number[] = [];
  const credentialCalls: CredentialRequest[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    seen.push({ method: req.method, url: req.url, authorization: req.headers.get('authorization'), body: req.body ? await req.clone().text() : '', contentType: req.headers.get('content-type') });
    if (init?.redirect !== 'manual') throw new Error('the client must use redirect: manual');
    return handler(req, seen.length);
  }) as typeof fetch;
  const client = createActAsClient(
    { fetch: fetchImpl, clock: createManualClock(Date.UTC(2026, 2, 2, 10)), sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
    {
      apiBaseUrl: 'https://acme.atlassian.net/wiki',
      credential: async (req) => {
        credentialCalls.push(req);
        return { authorization: `JWT signed-for-${req.method}-${req.apiPath}` };
      },
      ...overrides,
    },
  );
  return { client, seen, sleeps, credentialCalls };
}

describe('act-as client: redirects', () => {
  test('same origin under the base: followed, credential re-made for the new URL', async () => {
    const { client, seen, credentialCalls } = scripted((req, n) =>
      n === 1 ? new Response(null, { status: 302, headers: { location: '/wiki/rest/api/content/2?expand=body' } }) : Response.json({ id: '2', url: req.url }),
    );
    const res = await client.fetch('/rest/api/content/1');
    assert.equal(res.status, 200);
    assert.deepEqual(seen.map((s) => s.url), ['https://acme.atlassian.net/wiki/rest/api/content/1', 'https://acme.atlassian.net/wiki/rest/api/content/2?expand=body']);
    assert.deepEqual(credentialCalls.map((c) => c.apiPath), ['/rest/api/content/1', '/rest/api/content/2?expand=body']);
    assert.equal(seen[1]!.authorization, 'JWT signed-for-GET-/rest/api/content/2?expand=body');
  });

  const notFollowed: Array<[string, string]> = [
    ['another origin', 'https://evil.example/steal'],
    ['the login page outside the base path', '/login.action?os_destination=x'],
    ['a dot-segment escape', '/wiki/%2e%2e/admin'],
    ['scheme-relative', '//evil.example/wiki/x'],
  ];
  for (const [name, location] of notFollowed) {
    test(`not followed: ${name}; the 3xx comes back as is`, async () => {
      const { client, seen } = scripted(() => new Response(null, { status: 302, headers: { location } }));
      const res = await client.fetch('/rest/api/content/1');
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), location);
      assert.equal(seen.length, 1, 'nothing was sent to the redirect target');
    });
  }

  test('307 keeps method and body; 303 becomes a GET without body', async () => {
    const a = scripted((_req, n) => (n === 1 ? new Response(null, { status: 307, headers: { location: '/wiki/api/v2/pages/other' } }) : new Response('ok')));
    await a.client.fetch('/api/v2/pages', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    assert.deepEqual(a.seen.map((s) => [s.method, s.body, s.contentType]), [
      ['POST', '{"a":1}', 'application/json'],
      ['POST', '{"a":1}', 'application/json'],
    ]);
    const b = scripted((_req, n) => (n === 1 ? new Response(null, { status: 303, headers: { location: '/wiki/api/v2/pages/1' } }) : new Response('ok')));
    await b.client.fetch('/api/v2/pages', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    assert.deepEqual(b.seen.map((s) => [s.method, s.body, s.contentType]), [
      ['POST', '{"a":1}', 'application/json'],
      ['GET', '', null],
    ]);
  });

  test('a redirect loop stops after 5 hops and returns the 3xx', async () => {
    const { client, seen } = scripted(() => new Response(null, { status: 302, headers: { location: '/wiki/loop' } }));
    const res = await client.fetch('/loop');
    assert.equal(res.status, 302);
    assert.equal(seen.length, 6);
  });
});

describe('act-as client: bodies, timeouts, aborts', () => {
  test('bodies are buffered once and re-sent identically (URLSearchParams, Uint8Array, FormData)', async () => {
    for (const make of [() => new URLSearchParams({ a: '1', b: 'two' }), () => new TextEncoder().encode('bytes!'), () => Object.assign(new FormData(), {})]) {
      const body = make();
      if (body instanceof FormData) body.append('field', 'value');
      const { client, seen } = scripted((_req, n) => new Response(null, { status: n === 1 ? 503 : 200 }), { retry: { retryNonIdempotent: true } });
      const res = await client.fetch('/api/x', { method: 'POST', body });
      assert.equal(res.status, 200);
      assert.equal(seen.length, 2);
      assert.ok(seen[0]!.body.length > 0);
      assert.equal(seen[1]!.body, seen[0]!.body);
      assert.equal(seen[1]!.contentType, seen[0]!.contentType);
      if (body instanceof URLSearchParams) assert.match(seen[0]!.contentType ?? '', /^application\/x-www-form-urlencoded/);
    }
  });

  test('a ReadableStream body is sent once and never retried', async () => {
    const { client, seen } = scripted(() => new Response(null, { status: 503 }), { retry: { retryNonIdempotent: true } });
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('streamed'));
        c.close();
      },
    });
    const res = await client.fetch('/api/x', { method: 'PUT', body: stream, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 503);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.body, 'streamed');
  });

  test('a stream body: a 401 is returned without refresh, a 307 is not followed', async () => {
    const stream = () =>
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode('s'));
          c.close();
        },
      });
    const a = scripted(() => new Response(null, { status: 401 }));
    assert.equal((await a.client.fetch('/api/x', { method: 'POST', body: stream(), duplex: 'half' } as RequestInit)).status, 401);
    assert.equal(a.seen.length, 1);
    assert.deepEqual(a.credentialCalls.map((c) => c.forceFresh), [false]);
    const b = scripted(() => new Response(null, { status: 307, headers: { location: '/wiki/api/y' } }));
    assert.equal((await b.client.fetch('/api/x', { method: 'POST', body: stream(), duplex: 'half' } as RequestInit)).status, 307);
    assert.equal(b.seen.length, 1);
  });

  test('a throwing onUpstreamCall hook does not break the call', async () => {
    const { client } = scripted(() => new Response('ok'), {
      onUpstreamCall: () => {
        throw new Error('metrics down');
      },
    });
    assert.equal(await (await client.fetch('/api/x')).text(), 'ok');
  });

  test('a GET with a body is refused before sending', async () => {
    const { client, seen } = scripted(() => new Response('no'));
    await assert.rejects(client.fetch('/api/x', { body: 'x' }), (e) => isGatewayError(e, 'BAD_REQUEST'));
    assert.equal(seen.length, 0);
  });

  test('429 without Retry-After: exponential backoff with full jitter', async () => {
    const { client, sleeps } = scripted((_req, n) => new Response(null, { status: n < 3 ? 429 : 200 }));
    assert.equal((await client.fetch('/api/x')).status, 200);
    assert.deepEqual(sleeps, [250, 500], 'random 0.5 of 500 and of 1000');
  });

  test('Retry-After as X-RateLimit-Reset (ISO instant) is honoured', async () => {
    const { client, sleeps } = scripted((_req, n) => (n === 1 ? new Response(null, { status: 429, headers: { 'x-ratelimit-reset': '2026-03-02T10:01Z' } }) : new Response('ok')));
    assert.equal((await client.fetch('/api/x')).status, 200);
    assert.deepEqual(sleeps, [60_000]);
  });

  test('a send with no answer times out: retried for GET, then ATLASSIAN_TIMEOUT', async () => {
    const hang = (req: Request) =>
      new Promise<Response>((_resolve, reject) => {
        req.signal.addEventListener('abort', () => reject(req.signal.reason), { once: true });
      });
    const upstream: UpstreamCallInfo[] = [];
    const { client, seen, sleeps } = scripted(hang, { timeoutMs: 5, retry: { maxAttempts: 2 }, onUpstreamCall: (i) => upstream.push(i) });
    await assert.rejects(client.fetch('/api/x'), (e) => isGatewayError(e, 'ATLASSIAN_TIMEOUT') && e.details?.['attempts'] === 2);
    assert.equal(seen.length, 2);
    assert.equal(sleeps.length, 1);
    assert.deepEqual(upstream.map((u) => u.status), ['timeout', 'timeout']);
  });

  test('the per-send timeout covers the wait for headers only, not reading the body', async () => {
    const { client } = scripted(
      (req) =>
        new Response(
          new ReadableStream({
            async pull(c) {
              await new Promise((r) => setTimeout(r, 30));
              if (req.signal.aborted) c.error(req.signal.reason);
              else {
                c.enqueue(new TextEncoder().encode('slow body'));
                c.close();
              }
            },
          }),
        ),
      { timeoutMs: 5 },
    );
    const res = await client.fetch('/api/x');
    assert.equal(await res.text(), 'slow body');
  });

  test("the caller's abort stops the wait and the retries", async () => {
    const controller = new AbortController();
    let sends = 0;
    const client = createActAsClient(
      {
        fetch: (async () => {
          sends += 1;
          return new Response(null, { status: 429, headers: { 'retry-after': '30' } });
        }) as typeof fetch,
        clock: createManualClock(),
        sleep: (_ms, signal) => {
          controller.abort(new DOMException('caller gave up', 'AbortError'));
          return Promise.reject(signal?.reason);
        },
      },
      { apiBaseUrl: 'https://acme.atlassian.net/wiki', credential: async () => ({ authorization: 'Bearer t' }) },
    );
    await assert.rejects(client.fetch('/api/x', { signal: controller.signal }), (e) => e instanceof DOMException && e.name === 'AbortError');
    assert.equal(sends, 1);
  });

  test('the default sleep stops on abort too (no real wait)', { timeout: 5000 }, async () => {
    const controller = new AbortController();
    let sends = 0;
    const client = createActAsClient(
      {
        fetch: (async () => {
          sends += 1;
          setTimeout(() => controller.abort(), 1);
          return new Response(null, { status: 429, headers: { 'retry-after': '30' } });
        }) as typeof fetch,
        clock: createManualClock(),
      },
      { apiBaseUrl: 'https://acme.atlassian.net/wiki', credential: async () => ({ authorization: 'Bearer t' }) },
    );
    await assert.rejects(client.fetch('/api/x', { signal: controller.signal }), (e) => e instanceof DOMException && e.name === 'AbortError');
    assert.equal(sends, 1);
  });

  test('an already aborted signal sends nothing', async () => {
    const { client, seen, credentialCalls } = scripted(() => new Response('ok'));
    await assert.rejects(client.fetch('/api/x', { signal: AbortSignal.abort() }), (e) => e instanceof DOMException && e.name === 'AbortError');
    assert.equal(seen.length, 0);
    assert.equal(credentialCalls.length, 0);
  });

  test('an Authorization value with CR/LF from the credential source is refused without echoing it', async () => {
    const client = createActAsClient(
      { fetch: (async () => new Response('ok')) as typeof fetch, clock: createManualClock() },
      { apiBaseUrl: 'https://acme.atlassian.net/wiki', credential: async () => ({ authorization: 'Bearer secret\r\nX-Evil: 1' }) },
    );
    await assert.rejects(client.fetch('/api/x'), (e) => isGatewayError(e, 'INTERNAL') && !e.message.includes('secret'));
  });

  test('options are validated at creation with a fix-it message', () => {
    const deps = { fetch: (async () => new Response('ok')) as typeof fetch, clock: createManualClock() };
    const credential = async () => ({ authorization: 'Bearer t' });
    assert.throws(() => createActAsClient(deps, { apiBaseUrl: 'ftp://x/wiki', credential }), (e) => isGatewayError(e, 'CONFIG_INVALID'));
    assert.throws(() => createActAsClient(deps, { apiBaseUrl: 'https://x.atlassian.net/wiki', credential, retry: { maxAttempts: 0 } }), (e) => isGatewayError(e, 'CONFIG_INVALID'));
    assert.throws(() => createActAsClient(deps, { apiBaseUrl: 'https://x.atlassian.net/wiki', credential, retry: { baseMs: 10, maxMs: 5 } }), (e) => isGatewayError(e, 'CONFIG_INVALID'));
    assert.equal(createActAsClient(deps, { apiBaseUrl: 'https://x.atlassian.net/wiki/', credential }).apiBaseUrl, 'https://x.atlassian.net/wiki');
  });
});
