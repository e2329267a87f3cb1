import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../clock.js';
import { createActAsClient, type ActAsClient } from '../../confluence/create-act-as-client.js';
import { createHttpFetch, type HttpFetch } from '../../confluence/http-fetch.js';
import { nodeToWeb } from '../../confluence/node-to-web.js';
import { isGatewayError } from '../../errors.js';
import { forwardRaw, type ProxyAnswer, type ProxyOptions, type ProxyRequest } from './proxy.js';

/**
 * forwardRaw over real loopback HTTP, milliseconds a test: a node:http server stands for Confluence and
 * the act-as client sends through the gateway's own transport (undici, as the gateway builds it), so
 * body framing, early answers and failures are the real ones, without a whole gateway around them.
 */

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** What the upstream received: one entry per request whose headers arrived. */
interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Promise<Buffer>;
}

let server: Server;
let base: string;
let handler: Handler = (_req, res) => res.end();
const seen: Seen[] = [];
let transport: HttpFetch;

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const body = new Promise<Buffer>((resolve) => {
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('close', () => resolve(Buffer.concat(chunks)));
    });
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  transport = createHttpFetch();
});

after(async () => {
  transport.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let tests = 0;
/**
 * Sets what the upstream does for this test; answers a target of the test's own, and what the upstream
 * saw for it (a request an earlier test gave up on may still arrive late).
 */
function upstream(h: Handler): { target: typeof target; seen: () => Seen[] } {
  handler = h;
  const path = `/api/v2/pages?test=${++tests}`;
  return { target: { ...target, apiPath: path }, seen: () => seen.filter((s) => s.url === `/wiki${path}`) };
}

function client(apiBase = `${base}/wiki`): ActAsClient {
  return createActAsClient(
    { fetch: transport, clock: systemClock, sleep: async () => undefined, random: () => 0 },
    { apiBaseUrl: apiBase, credential: () => ({ authorization: 'Bearer upstream-token' }), timeoutMs: 10_000 },
  );
}

const target = { externalUserId: 'u', site: 'acme', apiPath: '/api/v2/pages' };
const options: ProxyOptions = { bufferBytes: 64, maxBodyBytes: 1000 };
const tooLarge = (e: unknown): boolean => isGatewayError(e, 'PAYLOAD_TOO_LARGE') && e.details?.['maxBytes'] === 1000;

/** A request body of `total` bytes (byte i is 'a' + i % 26) in chunks of `chunk`, with no Content-Length. */
function chunked(total: number, chunk: number, hooks: { cancelled?: (reason: unknown) => void; pulled?: () => void; stallAt?: number } = {}): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(c) {
        hooks.pulled?.();
        // A caller still uploading: the rest of the body is not there yet.
        if (sent === hooks.stallAt) return new Promise<void>(() => undefined);
        if (sent >= total) return c.close();
        const n = Math.min(chunk, total - sent);
        c.enqueue(pattern(n, sent));
        sent += n;
      },
      cancel: (reason) => hooks.cancelled?.(reason),
    },
    { highWaterMark: 0 },
  );
}

function pattern(n: number, from = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = 97 + ((from + i) % 26);
  return out;
}

function request(method: string, body: ReadableStream<Uint8Array> | null, headers: Record<string, string> = {}): ProxyRequest {
  return { method, headers: new Headers(headers), body };
}

async function text(answer: ProxyAnswer): Promise<string> {
  return answer.body === null ? '' : new Response(answer.body).text();
}

/** Rejects with a named failure when `p` does not settle in time (a hang is a failure, not a stuck run). */
function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

const drain: Handler = (req, res) => req.on('end', () => res.end('{}')).resume();
const unavailable = (e: unknown): boolean => isGatewayError(e, 'ATLASSIAN_UNAVAILABLE');

describe('forwardRaw over real HTTP: request bodies', { timeout: 30_000 }, () => {
  test('a chunked body of exactly maxBodyBytes reaches Confluence whole, byte for byte', async () => {
    const up = upstream(drain);
    const answer = await forwardRaw(client(), up.target, request('POST', chunked(1000, 100)), options);
    assert.equal(answer.status, 200);
    assert.equal(up.seen().length, 1);
    assert.deepEqual(new Uint8Array(await up.seen()[0]!.body), pattern(1000));
  });

  test('a chunked body one byte over maxBodyBytes is refused with 413, not passed on as an upstream failure', async () => {
    const up = upstream(drain);
    await assert.rejects(forwardRaw(client(), up.target, request('POST', chunked(1001, 100)), options), tooLarge);
    await assert.rejects(forwardRaw(client(), up.target, request('POST', chunked(1001, 1000)), options), tooLarge);
  });

  test('a chunked body that ends within bufferBytes arrives whole and is resent whole after a 429', async () => {
    let calls = 0;
    const up = upstream((req, res) => {
      req.resume();
      req.on('end', () => {
        calls++;
        if (calls === 1) res.writeHead(429, { 'retry-after': '0' }).end();
        else res.end('{}');
      });
    });
    const answer = await forwardRaw(client(), up.target, request('POST', chunked(64, 7)), options);
    assert.equal(answer.status, 200);
    assert.equal(up.seen().length, 2);
    for (const s of up.seen()) assert.deepEqual(new Uint8Array(await s.body), pattern(64));
  });

  test('a body longer than bufferBytes streams on, its first part included, and is not resent after a 429', async () => {
    const up = upstream((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(429, { 'retry-after': '0' }).end());
    });
    const answer = await forwardRaw(client(), up.target, request('POST', chunked(65, 7)), options);
    assert.equal(answer.status, 429, 'a stream cannot be sent twice: the 429 comes back');
    assert.equal(up.seen().length, 1);
    assert.deepEqual(new Uint8Array(await up.seen()[0]!.body), pattern(65));
  });

  test('a declared Content-Length over maxBodyBytes is refused before the upload is read or anything is sent', async () => {
    const up = upstream(drain);
    let pulls = 0;
    const body = chunked(2000, 100, { pulled: () => pulls++ });
    await assert.rejects(forwardRaw(client(), up.target, request('POST', body, { 'content-length': '2000' }), options), tooLarge);
    assert.equal(pulls, 0, 'no byte of the upload was read');
    assert.equal(up.seen().length, 0, 'nothing reached Confluence');
  });

  test('a declared Content-Length within the limits sends the body as declared', async () => {
    for (const size of [0, 1, 64, 65, 1000]) {
      const up = upstream(drain);
      const answer = await forwardRaw(client(), up.target, request('PUT', chunked(size, 50), { 'content-length': String(size) }), options);
      assert.equal(answer.status, 200);
      assert.deepEqual(new Uint8Array(await up.seen()[0]!.body), pattern(size), `${size} bytes`);
    }
  });

  test('an upstream that cannot be reached is an upstream failure, not a 413', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = client(`http://127.0.0.1:${port}/wiki`);
    await assert.rejects(forwardRaw(down, target, request('POST', chunked(10, 5)), options), unavailable);
    await assert.rejects(forwardRaw(down, target, request('POST', chunked(500, 100)), options), unavailable);
  });

  test('a caller that goes away mid-upload: Confluence never gets the part sent as a whole body', async () => {
    // A truncated page body that arrived looking complete would overwrite a page with half of it.
    let ended = false;
    let upstreamClosed!: Promise<void>;
    const up = upstream((req) => {
      req.on('end', () => (ended = true)).resume();
      upstreamClosed = new Promise((resolve) => req.on('close', resolve));
    });
    let outcome!: Promise<unknown>;
    const front = createServer((req) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      const proxied: ProxyRequest = { method: req.method ?? '', headers: { get: (n) => headers.get(n), raw: req.rawHeaders, forEach: (f) => headers.forEach(f) }, body: nodeToWeb(req) };
      outcome = forwardRaw(client(), up.target, proxied, options).then(
        () => 'answered',
        (e: unknown) => e,
      );
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const socket = connect((front.address() as AddressInfo).port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      const part = Buffer.from(pattern(500));
      socket.write(`POST /x HTTP/1.1\r\nhost: gw\r\ntransfer-encoding: chunked\r\n\r\n${part.byteLength.toString(16)}\r\n`);
      socket.write(part);
      socket.write('\r\n');
      // Confluence has the first part before the caller goes away.
      await within(
        new Promise<void>((resolve) => {
          const poll = (): void => void (up.seen().length > 0 ? resolve() : setImmediate(poll));
          poll();
        }),
        'the upload reaching Confluence',
      );
      socket.destroy();
      const result = await within(outcome, 'forwardRaw after the caller went away');
      await within(upstreamClosed, 'the upstream request closing');
      assert.notEqual(result, 'answered');
      assert.equal(ended, false, 'Confluence saw the body end: a cut upload passed as whole');
    } finally {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    }
  });

  test('an upstream that fails mid-upload is an upstream failure, and the caller\'s upload is cancelled', async () => {
    const up = upstream((req) => req.once('data', () => req.socket.destroy()));
    let cancelled: unknown = 'not cancelled';
    const body = chunked(900, 100, { cancelled: (reason) => (cancelled = reason), stallAt: 300 });
    await assert.rejects(forwardRaw(client(), up.target, request('POST', body), options), unavailable);
    assert.equal(up.seen().length, 1);
    assert.notEqual(cancelled, 'not cancelled', 'the upload was cancelled, not left waiting');
  });
});

describe('forwardRaw over real HTTP: answers', { timeout: 30_000 }, () => {
  test('204 and 304 come back with no body at all, even with a Content-Length (a 304 may carry the one of the page)', async () => {
    // An empty body with such a status could not be answered (Response refuses it) or would be framed wrongly.
    for (const status of [204, 304]) {
      const up = upstream((_req, res) => res.writeHead(status, { etag: '"7"', 'content-length': '10' }).end());
      const answer = await forwardRaw(client(), up.target, request('GET', null), options);
      assert.equal(answer.status, status);
      assert.equal(answer.body, null, `${status}`);
      assert.equal(new Headers(answer.headers).get('etag'), '"7"');
    }
  });

  test('HEAD comes back with no body, whatever length the upstream declares', async () => {
    const up = upstream((_req, res) => res.writeHead(200, { 'content-length': '5' }).end());
    const answer = await forwardRaw(client(), up.target, request('HEAD', null), options);
    assert.deepEqual([answer.status, answer.body], [200, null]);
    assert.equal(up.seen()[0]?.method, 'HEAD');
  });

  test('a small answer of known size comes back whole, as bytes (the caller gets a Content-Length)', async () => {
    const json = JSON.stringify({ results: [{ id: '1', title: 'Page' }] });
    const up = upstream((_req, res) => res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json));
    const answer = await forwardRaw(client(), up.target, request('GET', null), options);
    assert.equal(answer.status, 201);
    assert.ok(answer.body instanceof Uint8Array, 'bytes, not a stream');
    assert.equal(Buffer.from(answer.body).toString('utf8'), json);
    const headers = new Headers(answer.headers);
    assert.equal(headers.get('content-type'), 'application/json');
    assert.equal(headers.get('content-length'), null, 'the length is the gateway\'s to write');
    assert.equal(headers.get('x-onbehalf-upstream'), 'confluence');
  });

  test('an answer of unknown length streams: its first part reaches the caller before Confluence has finished', async () => {
    let finish = (): void => undefined;
    const up = upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part;');
      finish = () => res.end('rest');
    });
    const answer = await within(forwardRaw(client(), up.target, request('GET', null), options), 'forwardRaw of a chunked answer');
    assert.ok(answer.body instanceof ReadableStream, 'a stream, not bytes read whole');
    const reader = answer.body.getReader();
    const first = await within(reader.read(), 'the first part of the answer');
    assert.equal(Buffer.from(first.value ?? new Uint8Array()).toString('utf8'), 'first part;');
    finish();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString('utf8');
    assert.equal(rest, 'rest');
  });

  test('a large answer of known size streams, whole', async () => {
    const big = Buffer.from(pattern(200_000));
    const up = upstream((_req, res) => res.writeHead(200, { 'content-length': big.byteLength }).end(big));
    const answer = await forwardRaw(client(), up.target, request('GET', null), options);
    assert.ok(answer.body instanceof ReadableStream);
    assert.deepEqual(Buffer.from(await new Response(answer.body).arrayBuffer()), big);
  });

  test('an upload that passes the limit after Confluence already answered is still refused (413), and the answer dropped', async () => {
    // Confluence answers at once (as it does to a request it refuses), then the caller's upload goes on
    // past the limit: the answer is about a body cut short, so the caller gets the 413.
    const up = upstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('early');
      req.resume();
    });
    let overflow = (): void => undefined;
    const answered = new Promise<void>((resolve) => (overflow = resolve));
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(c) {
          if (pulls++ === 0) return c.enqueue(pattern(1000));
          // One byte too many, sent only once Confluence has answered.
          await answered;
          c.enqueue(pattern(1));
        },
      },
      { highWaterMark: 0 },
    );
    const direct = client();
    const proxied: ActAsClient = {
      apiBaseUrl: direct.apiBaseUrl,
      async fetch(path, init) {
        const res = await direct.fetch(path, init);
        // The answer is in; the caller's last byte goes, and Confluence sees the upload cut off.
        overflow();
        await up.seen()[0]?.body;
        return res;
      },
    };
    await assert.rejects(within(forwardRaw(proxied, up.target, request('POST', body), options), 'forwardRaw'), tooLarge);
  });
});
