import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ActAsClient } from '../../confluence/create-act-as-client.js';
import { isGatewayError } from '../../errors.js';
import { assertNoDotSegments, DEFAULT_PROXY_OPTIONS, DROP_REQUEST, DROP_RESPONSE, forward, forwardRaw, forwardRequestHeaders, forwardResponseHeaders, parseProxyPath, rawHeaderList, UPSTREAM_MARKER, type ProxyOptions } from './proxy.js';

// Written out here rather than read from proxy.ts, so that a header dropped from its lists fails a test.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
/** The caller's own credentials and address, and framing the gateway redoes: never sent to Atlassian. */
const REQUEST_ONLY = ['authorization', 'cookie', 'host', 'content-length', 'accept-encoding', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip'];
/** Atlassian's cookies and the body framing fetch already undid: never sent back to the caller. */
const RESPONSE_ONLY = ['content-length', 'content-encoding', 'set-cookie'];

/** The filters' output as Headers, to read it the way a caller sees it. */
const reqHeaders = (h: Headers): Headers => new Headers(forwardRequestHeaders(rawHeaderList(h)));
const resHeaders = (h: Headers): Headers => new Headers(forwardResponseHeaders(rawHeaderList(h)));

describe('proxy header filters', () => {
  for (const name of [...HOP_BY_HOP, ...REQUEST_ONLY, 'proxy-anything']) {
    test(`request: ${name} is not forwarded`, () => {
      const out = reqHeaders(new Headers({ [name]: 'v', accept: 'application/json' }));
      assert.equal(out.get(name), null);
      assert.equal(out.get('accept'), 'application/json', 'ordinary headers go through');
    });
  }
  for (const name of [...HOP_BY_HOP, ...RESPONSE_ONLY, 'proxy-anything']) {
    test(`response: ${name} is not passed back`, () => {
      const out = resHeaders(new Headers({ [name]: 'v', 'content-type': 'application/json' }));
      assert.equal(out.get(name), null);
      assert.equal(out.get('content-type'), 'application/json');
    });
  }
  test('headers named by Connection are hop-by-hop too, both ways, whatever their case', () => {
    const req = reqHeaders(new Headers({ connection: 'close, X-Secret-Hop ,x-other', 'x-secret-hop': '1', 'x-other': '2', 'x-kept': '3' }));
    assert.deepEqual([...req.keys()], ['x-kept']);
    const res = resHeaders(new Headers({ connection: 'X-Secret-Hop', 'x-secret-hop': '1', 'x-kept': '3' }));
    assert.deepEqual([...res.keys()], ['x-kept']);
  });
  test('what is kept: content negotiation and Atlassian headers, as sent', () => {
    const req = reqHeaders(new Headers({ accept: 'application/json', 'content-type': 'application/json', 'x-atlassian-token': 'no-check', 'if-match': '"3"' }));
    assert.deepEqual(Object.fromEntries(req), { accept: 'application/json', 'content-type': 'application/json', 'if-match': '"3"', 'x-atlassian-token': 'no-check' });
    const res = resHeaders(new Headers({ 'x-ratelimit-remaining': '9', 'retry-after': '3', etag: '"4"', 'x-forwarded-for': 'kept: only the request side is about the caller' }));
    assert.deepEqual(Object.keys(Object.fromEntries(res)).sort(), ['etag', 'retry-after', 'x-forwarded-for', 'x-ratelimit-remaining']);
  });
});

/** An act-as client that reads the whole body it is given, as a real upstream would, and reports its size. */
function countingClient(): ActAsClient & { received: number[] } {
  const received: number[] = [];
  return {
    apiBaseUrl: 'https://acme.atlassian.net/wiki',
    received,
    async fetch(_path, init) {
      const body = init?.body;
      let size = 0;
      if (body instanceof ReadableStream) {
        for await (const chunk of body as ReadableStream<Uint8Array>) size += chunk.byteLength;
      } else if (body instanceof Uint8Array) {
        size = body.byteLength;
      }
      received.push(size);
      return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
    },
  };
}

/** A request whose body arrives in chunks of `chunk` bytes with no Content-Length (chunked encoding). */
function streamedPost(total: number, chunk = 100): Request {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= total) return c.close();
      const n = Math.min(chunk, total - sent);
      sent += n;
      c.enqueue(new Uint8Array(n).fill(120));
    },
  });
  return new Request('https://gw.example/v1/act/u/acme/api/v2/pages', { method: 'POST', body, duplex: 'half' } as RequestInit);
}

function declaredPost(total: number): Request {
  return new Request('https://gw.example/v1/act/u/acme/api/v2/pages', { method: 'POST', body: new Uint8Array(total).fill(120), headers: { 'content-length': String(total) } });
}

describe('proxy body limits, at the limit and one byte over', () => {
  const options: ProxyOptions = { bufferBytes: 64, maxBodyBytes: 1000 };
  const target = { externalUserId: 'u', site: 'acme', apiPath: '/api/v2/pages' };
  const tooLarge = (e: unknown) => isGatewayError(e, 'PAYLOAD_TOO_LARGE') && e.details?.['maxBytes'] === 1000;

  test('streamed: exactly maxBodyBytes goes through whole', async () => {
    const client = countingClient();
    const res = await forward(client, target, streamedPost(1000), options);
    assert.equal(res.status, 200);
    assert.deepEqual(client.received, [1000]);
  });
  test('streamed: maxBodyBytes + 1 is refused (413)', async () => {
    const client = countingClient();
    await assert.rejects(forward(client, target, streamedPost(1001), options), tooLarge);
  });
  test('streamed: one byte over in the last one-byte chunk is refused too', async () => {
    await assert.rejects(forward(countingClient(), target, streamedPost(1001, 1001 - 1), options), tooLarge);
  });
  test('declared: Content-Length equal to maxBodyBytes goes through whole', async () => {
    const client = countingClient();
    const res = await forward(client, target, declaredPost(1000), options);
    assert.equal(res.status, 200);
    assert.deepEqual(client.received, [1000]);
  });
  test('declared: Content-Length maxBodyBytes + 1 is refused before anything is sent', async () => {
    const client = countingClient();
    await assert.rejects(forward(client, target, declaredPost(1001), options), tooLarge);
    assert.deepEqual(client.received, [], 'nothing reached the upstream');
  });
  test('buffered: exactly bufferBytes is sent as bytes (replayable), one more streams', async () => {
    const seen: string[] = [];
    const client: ActAsClient = {
      apiBaseUrl: 'https://acme.atlassian.net/wiki',
      async fetch(_p, init) {
        seen.push(init?.body instanceof ReadableStream ? 'stream' : init?.body instanceof Uint8Array ? `bytes:${init.body.byteLength}` : 'none');
        if (init?.body instanceof ReadableStream) await new Response(init.body).arrayBuffer();
        return new Response(null, { status: 204 });
      },
    };
    await forward(client, target, streamedPost(64, 10), options);
    await forward(client, target, streamedPost(65, 10), options);
    await forward(client, target, declaredPost(64), options);
    assert.deepEqual(seen, ['bytes:64', 'stream', 'bytes:64']);
  });
});

describe('parseProxyPath', () => {
  const parse = (path: string) => parseProxyPath(new URL(`https://gw.example${path}`), '/v1/act/');
  test('splits user, site and the API path as written, query kept', () => {
    assert.deepEqual(parse('/v1/act/u1/acme/api/v2/pages?limit=5'), { externalUserId: 'u1', site: 'acme', apiPath: '/api/v2/pages?limit=5' });
    assert.deepEqual(parse('/v1/act/user%40x/https%3A%2F%2Facme.atlassian.net/rest/api/content%2Fx'), { externalUserId: 'user@x', site: 'https://acme.atlassian.net', apiPath: '/rest/api/content%2Fx' });
  });
  const refused: Array<[string, string, string]> = [
    ['/v1/other/u1/acme/x', 'NOT_FOUND', ''],
    ['/v1/act/u1', 'BAD_REQUEST', 'missing_api_path'],
    ['/v1/act/u1/acme', 'BAD_REQUEST', 'missing_api_path'],
    ['/v1/act/u1/acme/', 'BAD_REQUEST', 'missing_api_path'],
    ['/v1/act//acme/api', 'BAD_REQUEST', 'missing_externalUserId'],
    ['/v1/act/u1//api', 'BAD_REQUEST', 'missing_site'],
    ['/v1/act/%E0%A4%A/acme/api', 'BAD_REQUEST', 'malformed_percent_encoding'],
    ['/v1/act/u1/%E0%A4%A/api', 'BAD_REQUEST', 'malformed_percent_encoding'],
    ['/v1/act/u1/acme//evil.example/x', 'FORBIDDEN', 'scheme_relative_url'],
    ['/v1/act/u1/acme/https://evil.example/x', 'FORBIDDEN', 'absolute_url'],
    ['/v1/act/u1/acme/javascript:alert(1)', 'FORBIDDEN', 'absolute_url'],
  ];
  for (const [path, code, reason] of refused) {
    test(`refuses ${path}`, () => {
      assert.throws(() => parse(path), (e: unknown) => isGatewayError(e) && e.code === code && (reason === '' || e.details?.['reason'] === reason));
    });
  }
  test('a path segment that merely contains a colon is a path', () => {
    assert.equal(parse('/v1/act/u1/acme/wiki/a:b').apiPath, '/wiki/a:b');
  });
});

describe('proxy: edges found by mutation testing (second run)', () => {
  const target = { externalUserId: 'u', site: 'acme', apiPath: '/api/v2/pages' };
  /** An act-as client that records what it was asked and answers with `answer`. */
  function recordingClient(answer: () => Response) {
    const calls: Array<{ path: string; method: string | undefined; body: string }> = [];
    const client: ActAsClient = {
      apiBaseUrl: 'https://acme.atlassian.net/wiki',
      async fetch(path, init) {
        const body = init?.body;
        const text = body instanceof Uint8Array ? Buffer.from(body).toString('utf8') : body instanceof ReadableStream ? await new Response(body).text() : body === undefined ? '<none>' : '<other>';
        calls.push({ path: String(path), method: init?.method, body: text });
        return answer();
      },
    };
    return { client, calls };
  }

  test('assertNoDotSegments: . and .. in any spelling, in the path only', () => {
    const refused = (t: string) => assert.throws(() => assertNoDotSegments(t), (e: unknown) => isGatewayError(e, 'FORBIDDEN') && e.details?.['reason'] === 'dot_segment' && e.message === 'The proxy path may not contain "." or ".." segments: name the user, site and API path as they are.', t);
    for (const t of ['/v1/act/u/acme/api/../globex', '/v1/act/u/./acme/api', '/v1/act/u/acme/%2e%2E/x', '/v1/act/u/acme/%2E/x', '/v1/act/u/acme/.%2e']) refused(t);
    for (const t of ['/v1/act/u/acme/api/v2/pages?cql=/../x', '/v1/act/u/acme/api#/../x', '/v1/act/u/acme/.well-known/x', '/v1/act/u/acme/a..b', '/v1/act/u/acme/%2e%2e%2e']) assert.doesNotThrow(() => assertNoDotSegments(t), t);
    assert.doesNotThrow(() => assertNoDotSegments(undefined));
  });

  test('parseProxyPath: each refusal says what to write', () => {
    const parse = (path: string) => parseProxyPath(new URL(`https://gw.example${path}`), '/v1/act/');
    const message = (path: string) => {
      try {
        parse(path);
      } catch (e) {
        return (e as Error).message;
      }
      return assert.fail(path);
    };
    assert.equal(message('/v1/other/u/acme/x'), 'Not a proxy path.');
    assert.equal(message('/v1/act/u1'), 'The proxy path is /v1/act/<externalUserId>/<site>/<api path>.');
    assert.equal(message('/v1/act/u1/acme'), 'The proxy path is /v1/act/<externalUserId>/<site>/<api path>.');
    assert.equal(message('/v1/act/u1/acme/'), 'Name the Confluence API path after the site, e.g. /v1/act/u1/acme/api/v2/spaces.');
    assert.equal(message('/v1/act//acme/api'), 'The proxy path needs a externalUserId: /v1/act/<externalUserId>/<site>/<api path>.');
    assert.equal(message('/v1/act/u1/%E0%A4%A/api'), 'The site in the proxy path is not valid percent-encoding.');
    assert.equal(message('/v1/act/u1/acme//evil.example/x'), 'The API path must be a path under the site, not a URL.');
    assert.equal(message('/v1/act/u1/acme/https://evil.example/x'), 'The API path must be a path under the site, not a URL.');
  });

  test('forward: the method as upper case, a body only for methods that carry one, an empty body is no body', async () => {
    const { client, calls } = recordingClient(() => new Response('{}', { status: 200 }));
    await forward(client, target, new Request('https://gw.example/x', { method: 'post', body: 'abc', headers: { 'content-length': '3' } }));
    await forward(client, target, new Request('https://gw.example/x', { method: 'PUT', body: '', headers: { 'content-length': '0' } }));
    await forward(client, target, new Request('https://gw.example/x', { method: 'DELETE' }));
    await forward(client, target, new Request('https://gw.example/x', { method: 'GET' }));
    await forward(client, target, new Request('https://gw.example/x', { method: 'POST', body: new ReadableStream({ start: (c) => c.close() }), duplex: 'half' } as RequestInit));
    assert.deepEqual(calls.map((c) => [c.method, c.body]), [['POST', 'abc'], ['PUT', '<none>'], ['DELETE', '<none>'], ['GET', '<none>'], ['POST', '<none>']]);
  });

  test('forward: a Content-Length that is not a plain number is not trusted; the body is read and limited as it comes', async () => {
    const options: ProxyOptions = { bufferBytes: 4, maxBodyBytes: 8 };
    for (const declared of ['3x', 'x3', '1 2', '-1', '1e3', '0x10', '+7']) {
      const { client, calls } = recordingClient(() => new Response('{}', { status: 200 }));
      // A body whose declared length is junk: it is still read (not refused, not dropped) and limited.
      const req = new Request('https://gw.example/x', { method: 'POST', body: 'abcdef', headers: { 'x-declared': declared } });
      const headers = new Headers(req.headers);
      headers.set('content-length', declared);
      const odd = { method: 'POST', headers, body: req.body } as unknown as Request;
      await forward(client, target, odd, options);
      assert.deepEqual(calls.map((c) => c.body), ['abcdef'], declared);
    }
    const { client } = recordingClient(() => new Response('{}', { status: 200 }));
    const big = { method: 'POST', headers: new Headers({ 'content-length': '2x' }), body: new Response('0123456789').body } as unknown as Request;
    await assert.rejects(forward(client, target, big, options), (e: unknown) => isGatewayError(e, 'PAYLOAD_TOO_LARGE'));
  });

  test('forward: HEAD, 204 and 304 answer without a body; every answer keeps its status and carries the upstream marker', async () => {
    for (const [method, status] of [['HEAD', 200], ['GET', 204], ['GET', 304]] as const) {
      const { client } = recordingClient(() => new Response(status === 200 ? 'ignored' : null, { status, headers: { etag: '"1"' } }));
      const res = await forward(client, target, new Request('https://gw.example/x', { method }));
      assert.equal(res.status, status);
      assert.equal(res.body, null, `${method} ${status}`);
      assert.equal(res.headers.get(UPSTREAM_MARKER), 'confluence');
      assert.equal(res.headers.get('etag'), '"1"');
    }
    const { client } = recordingClient(() => new Response('{"a":1}', { status: 201, headers: { 'content-length': '7' } }));
    const res = await forward(client, target, new Request('https://gw.example/x', { method: 'GET' }));
    assert.deepEqual([res.status, await res.text(), res.headers.get(UPSTREAM_MARKER)], [201, '{"a":1}', 'confluence']);
  });

  test('forward: a small answer of known size is passed on whole, a large or unsized one streams', async () => {
    const small = await forward(recordingClient(() => new Response('x'.repeat(64 * 1024), { headers: { 'content-length': String(64 * 1024) } })).client, target, new Request('https://gw.example/x'));
    assert.equal((await small.text()).length, 64 * 1024);
    const big = await forward(recordingClient(() => new Response('y'.repeat(64 * 1024 + 1), { headers: { 'content-length': String(64 * 1024 + 1) } })).client, target, new Request('https://gw.example/x'));
    assert.equal((await big.text()).length, 64 * 1024 + 1);
  });

  test('forwardRaw: an answer from any fetch (not only the gateway\'s transport) is bytes up to 64 KiB of declared size, a stream beyond or unsized', async () => {
    // Bytes are written with a Content-Length, a stream chunked as it comes: a large or unsized answer is
    // never held whole in the gateway's memory.
    const kind = async (size: number, declared: boolean): Promise<string> => {
      const answer = () => new Response(new Uint8Array(size).fill(122), { headers: declared ? { 'content-length': String(size) } : {} });
      const out = await forwardRaw(recordingClient(answer).client, target, { method: 'GET', headers: new Headers(), body: null });
      const bytes = new Uint8Array(await new Response(out.body).arrayBuffer());
      assert.equal(bytes.byteLength, size);
      return out.body instanceof Uint8Array ? 'bytes' : out.body instanceof ReadableStream ? 'stream' : 'none';
    };
    assert.deepEqual(
      [await kind(0, true), await kind(1, true), await kind(64 * 1024, true), await kind(64 * 1024 + 1, true), await kind(10, false)],
      ['bytes', 'bytes', 'bytes', 'stream', 'stream'],
    );
  });

  test('forwardRaw: a transport that answers although the upload passed the limit (even with no body) still ends in 413', async () => {
    // Over HTTP the transport usually fails first (proxy-forward.test.ts); one that read the body to its
    // error and answered anyway must not have that answer passed on as if it were about the request.
    for (const status of [204, 200]) {
      const client: ActAsClient = {
        apiBaseUrl: 'https://acme.atlassian.net/wiki',
        async fetch(_path, init) {
          await new Response(init?.body as ReadableStream<Uint8Array>).arrayBuffer().catch(() => undefined);
          return new Response(status === 204 ? null : 'about a cut body', { status });
        },
      };
      await assert.rejects(forwardRaw(client, target, { method: 'POST', headers: new Headers(), body: streamedPost(1001).body }, { bufferBytes: 64, maxBodyBytes: 1000 }), (e: unknown) => isGatewayError(e, 'PAYLOAD_TOO_LARGE'), String(status));
    }
  });

  test('the defaults: 1 MiB buffered for replays, 64 MiB at most', () => {
    assert.deepEqual(DEFAULT_PROXY_OPTIONS, { bufferBytes: 1024 * 1024, maxBodyBytes: 64 * 1024 * 1024 });
  });

  test('raw header lists (node\'s shape, the proxy listener\'s): repeats joined, Connection found in any case and only under its own name', () => {
    const raw = ['Accept', 'application/json', 'X-Multi', 'a', 'x-multi', 'b', 'X-Trace-Id', 'accept, x-multi', 'CONNECTION', 'X-Hop', 'X-Hop', 'secret'];
    assert.deepEqual(forwardRequestHeaders(raw), { accept: 'application/json', 'x-multi': 'a, b', 'x-trace-id': 'accept, x-multi' });
    assert.deepEqual(forwardResponseHeaders(['ETag', '"1"', 'X-Trace-Id', 'etag', 'Connection', 'x-hop', 'x-hop', '1', 'Set-Cookie', 'a=1']), [
      ['etag', '"1"'],
      ['x-trace-id', 'etag'],
    ]);
    // A source that carries its raw list is read from it, one that does not through forEach: the same answer.
    const web = new Headers({ accept: 'application/json', 'x-multi': 'a' });
    assert.deepEqual(forwardRequestHeaders(rawHeaderList(web)), forwardRequestHeaders(rawHeaderList({ get: () => null, forEach: () => undefined, raw: ['accept', 'application/json', 'x-multi', 'a'] })));
  });

  test('forward: a GET or HEAD never carries a body upstream, whatever the request object holds', async () => {
    for (const method of ['GET', 'HEAD']) {
      const { client, calls } = recordingClient(() => new Response(null, { status: 204 }));
      const stream = new Response('smuggled').body;
      await forward(client, target, { method, headers: new Headers({ 'content-length': '8' }), body: stream });
      assert.deepEqual(calls.map((c) => c.body), ['<none>'], method);
    }
  });

  test('the exported drop lists name every hop-by-hop header themselves (a lean forwarder uses them alone)', () => {
    // bench/proxy's forwarder filters by these sets with no proxy-* prefix rule of its own.
    for (const name of [...HOP_BY_HOP, ...REQUEST_ONLY]) assert.ok(DROP_REQUEST.has(name), `request: ${name}`);
    for (const name of [...HOP_BY_HOP, ...RESPONSE_ONLY]) assert.ok(DROP_RESPONSE.has(name), `response: ${name}`);
  });

  test('a raw list with a name and no value (odd length) ends at the last whole pair', () => {
    assert.deepEqual(forwardRequestHeaders(['accept', 'application/json', 'x-dangling']), { accept: 'application/json' });
    assert.deepEqual(forwardRequestHeaders(['accept', 'application/json', 'Connection']), { accept: 'application/json' });
    assert.deepEqual(forwardResponseHeaders(['etag', '"1"', 'x-dangling']), [['etag', '"1"']]);
  });

  test('assertNoDotSegments: a target that is all query has no path to check', () => {
    assert.doesNotThrow(() => assertNoDotSegments('?/../x'));
    assert.doesNotThrow(() => assertNoDotSegments('#/./x'));
  });

  test('Connection may name no header, or be empty, without dropping anything else', () => {
    assert.deepEqual([...reqHeaders(new Headers({ connection: ' , ', 'x-kept': '1' })).keys()], ['x-kept']);
    assert.deepEqual([...resHeaders(new Headers({ 'x-kept': '1', connection: '' })).keys()], ['x-kept']);
  });
});
