import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ActAsClient } from '../../confluence/create-act-as-client.js';
import { isGatewayError } from '../../errors.js';
import { forward, forwardRequestHeaders, forwardResponseHeaders, parseProxyPath, type ProxyOptions } from './proxy.js';

// Written out here rather than read from proxy.ts, so that a header dropped from its lists fails a test.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
/** The caller's own credentials and address, and framing the gateway redoes: never sent to Atlassian. */
const REQUEST_ONLY = ['authorization', 'cookie', 'host', 'content-length', 'accept-encoding', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip'];
/** Atlassian's cookies and the body framing fetch already undid: never sent back to the caller. */
const RESPONSE_ONLY = ['content-length', 'content-encoding', 'set-cookie'];

describe('proxy header filters', () => {
  for (const name of [...HOP_BY_HOP, ...REQUEST_ONLY, 'proxy-anything']) {
    test(`request: ${name} is not forwarded`, () => {
      const out = forwardRequestHeaders(new Headers({ [name]: 'v', accept: 'application/json' }));
      assert.equal(out.get(name), null);
      assert.equal(out.get('accept'), 'application/json', 'ordinary headers go through');
    });
  }
  for (const name of [...HOP_BY_HOP, ...RESPONSE_ONLY, 'proxy-anything']) {
    test(`response: ${name} is not passed back`, () => {
      const out = forwardResponseHeaders(new Headers({ [name]: 'v', 'content-type': 'application/json' }));
      assert.equal(out.get(name), null);
      assert.equal(out.get('content-type'), 'application/json');
    });
  }
  test('headers named by Connection are hop-by-hop too, both ways, whatever their case', () => {
    const req = forwardRequestHeaders(new Headers({ connection: 'close, X-Secret-Hop ,x-other', 'x-secret-hop': '1', 'x-other': '2', 'x-kept': '3' }));
    assert.deepEqual([...req.keys()], ['x-kept']);
    const res = forwardResponseHeaders(new Headers({ connection: 'X-Secret-Hop', 'x-secret-hop': '1', 'x-kept': '3' }));
    assert.deepEqual([...res.keys()], ['x-kept']);
  });
  test('what is kept: content negotiation and Atlassian headers, as sent', () => {
    const req = forwardRequestHeaders(new Headers({ accept: 'application/json', 'content-type': 'application/json', 'x-atlassian-token': 'no-check', 'if-match': '"3"' }));
    assert.deepEqual(Object.fromEntries(req), { accept: 'application/json', 'content-type': 'application/json', 'if-match': '"3"', 'x-atlassian-token': 'no-check' });
    const res = forwardResponseHeaders(new Headers({ 'x-ratelimit-remaining': '9', 'retry-after': '3', etag: '"4"', 'x-forwarded-for': 'kept: only the request side is about the caller' }));
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
