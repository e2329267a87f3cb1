import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { takeWholeBody } from './http-fetch.js';
import { createNodeHttpFetch } from './node-http-fetch.js';
import { createUndiciFetch } from './undici-fetch.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A real server on loopback that records what it was sent; `answer` decides the reply per path. */
async function startServer(answer: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<{ url: string; seen: Seen[]; connections: () => number; server: Server }> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(req, res, body);
    });
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, connections: () => connections, server };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

for (const [engine, createHttpFetch] of [['node:http', createNodeHttpFetch], ['undici', createUndiciFetch]] as const) describe(`createHttpFetch over ${engine} (real HTTP on loopback)`, () => {
  const big = Buffer.alloc(200 * 1024, 'x');
  /** When each /endless answer's connection closed on the server side. */
  const endlessClosed: number[] = [];
  let s: Awaited<ReturnType<typeof startServer>>;
  const f = createHttpFetch();

  before(async () => {
    s = await startServer((req, res, body) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/json') {
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.writeHead(201, 'Made It', { 'content-type': 'application/json', 'x-trace': 't1' });
        res.end(JSON.stringify({ ok: true }));
      } else if (path === '/echo') {
        res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'none' });
        res.end(body);
      } else if (path === '/small') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
        res.end('{"ok":true}');
      } else if (path === '/big') {
        res.writeHead(200, { 'content-length': big.byteLength });
        res.end(big);
      } else if (path === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('one,');
        setTimeout(() => res.end('two'), 5);
      } else if (path === '/gzip') {
        const packed = gzipSync(Buffer.from('unpacked text'));
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': packed.byteLength });
        res.end(packed);
      } else if (path === '/redirect') {
        res.writeHead(302, { location: 'https://elsewhere.example/steal' });
        res.end('moved');
      } else if (path === '/empty') {
        res.writeHead(204);
        res.end();
      } else if (path === '/endless') {
        // A body that never ends: a chunk every 10 ms until the client goes away.
        res.writeHead(200, { 'content-type': 'text/plain' });
        const tick = setInterval(() => res.write('more,'), 10);
        res.once('close', () => {
          clearInterval(tick);
          endlessClosed.push(Date.now());
        });
        res.write('first,');
      } else if (path === '/cut') {
        // Promises more than it sends, then drops the connection mid-body.
        res.writeHead(200, { 'content-length': 1024 * 1024 });
        res.write(Buffer.alloc(100 * 1024, 'c'), () => res.socket?.destroy());
      } else if (path === '/slow') {
        setTimeout(() => {
          if (!res.destroyed) res.end('late');
        }, 2000);
      } else {
        res.writeHead(404);
        res.end('no');
      }
    });
  }, { timeout: 120_000 });
  after(async () => {
    f.close();
    await close(s.server);
  }, { timeout: 120_000 });

  it('sends method, path, query and headers; answers status, status text, headers (each Set-Cookie kept) and body', { timeout: 180_000 }, async () => {
    const res = await f(`${s.url}/json?limit=5&cursor=a%2Fb`, { method: 'get', headers: { Authorization: 'Bearer t', Accept: 'application/json' }, redirect: 'manual' });
    assert.equal(res.status, 201);
    assert.equal(res.statusText, 'Made It');
    assert.equal(res.headers.get('x-trace'), 't1');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.deepEqual(await res.json(), { ok: true });
    const seen = s.seen.at(-1) as Seen;
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/json?limit=5&cursor=a%2Fb');
    assert.equal(seen.headers.authorization, 'Bearer t');
    assert.equal(seen.headers.accept, 'application/json');
    assert.equal(seen.headers['accept-encoding'], 'gzip, deflate, br');
  });

  it('takes a plain header record as Headers would: names in any case, repeated names joined, values trimmed', { timeout: 180_000 }, async () => {
    await f(`${s.url}/json`, { headers: { 'X-Multi': 'a', 'x-multi': 'b', Accept: ' application/json ' }, redirect: 'manual' });
    const seen = s.seen.at(-1) as Seen;
    assert.equal(seen.headers['x-multi'], 'a, b');
    assert.equal(seen.headers.accept, 'application/json');
  });

  it('sends byte, string and form bodies with their length and the standard content types; a caller content type wins', { timeout: 180_000 }, async () => {
    const bytes = await f(`${s.url}/echo`, { method: 'POST', body: new Uint8Array([1, 2, 3]), redirect: 'manual' });
    assert.deepEqual(new Uint8Array(await bytes.arrayBuffer()), new Uint8Array([1, 2, 3]));
    assert.equal(s.seen.at(-1)?.headers['content-length'], '3');
    assert.equal(bytes.headers.get('content-type'), 'none');

    const text = await f(`${s.url}/echo`, { method: 'PUT', body: 'héllo', redirect: 'manual' });
    assert.equal(await text.text(), 'héllo');
    assert.equal(text.headers.get('content-type'), 'text/plain;charset=UTF-8');
    assert.equal(s.seen.at(-1)?.headers['content-length'], String(Buffer.byteLength('héllo')));

    const form = await f(`${s.url}/echo`, { method: 'POST', body: new URLSearchParams({ a: '1 2' }), redirect: 'manual' });
    assert.equal(await form.text(), 'a=1+2');
    assert.equal(form.headers.get('content-type'), 'application/x-www-form-urlencoded;charset=UTF-8');

    const typed = await f(`${s.url}/echo`, { method: 'POST', body: '{"a":1}', headers: { 'Content-Type': 'application/json' }, redirect: 'manual' });
    assert.equal(typed.headers.get('content-type'), 'application/json');

    const empty = await f(`${s.url}/echo`, { method: 'DELETE', redirect: 'manual' });
    assert.equal(empty.status, 200);
    // undici, like the platform fetch, sends no Content-Length for a method that expects no body (RFC 9110
    // §8.6 "SHOULD NOT"); node:http sends 0. Both tell the server there is no body.
    assert.equal(s.seen.at(-1)?.headers['content-length'], engine === 'undici' ? undefined : '0');
    assert.equal(s.seen.at(-1)?.headers['transfer-encoding'], undefined);
    const emptyPost = await f(`${s.url}/echo`, { method: 'POST', redirect: 'manual' });
    assert.equal(emptyPost.status, 200);
    assert.equal(s.seen.at(-1)?.headers['content-length'], '0');
  });

  it('streams a ReadableStream body (duplex half) to the server', { timeout: 180_000 }, async () => {
    const enc = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode('part one, '));
        c.enqueue(enc.encode('part two'));
        c.close();
      },
    });
    const res = await f(`${s.url}/echo`, { method: 'POST', body: stream, duplex: 'half', redirect: 'manual' } as RequestInit);
    assert.equal(await res.text(), 'part one, part two');
    assert.equal(s.seen.at(-1)?.headers['transfer-encoding'], 'chunked');
  });

  it('hands the bytes of a small answer it read whole to takeWholeBody once, and nothing for streamed answers', { timeout: 180_000 }, async () => {
    const small = await f(`${s.url}/small`, { redirect: 'manual' });
    assert.equal(Buffer.from(takeWholeBody(small) ?? []).toString(), '{"ok":true}');
    assert.equal(takeWholeBody(small), undefined);
    assert.equal(takeWholeBody(await f(`${s.url}/json`, { redirect: 'manual' })), undefined, 'chunked: streamed');
    assert.equal(takeWholeBody(await f(`${s.url}/big`, { redirect: 'manual' })), undefined);
    assert.equal(takeWholeBody(await f(`${s.url}/chunked`, { redirect: 'manual' })), undefined);
    assert.equal(takeWholeBody(new Response('not ours')), undefined);
  });

  it('streams large and chunked answers whole', { timeout: 180_000 }, async () => {
    const res = await f(`${s.url}/big`, { redirect: 'manual' });
    assert.ok(res.body, 'a body stream');
    assert.equal(Buffer.from(await res.arrayBuffer()).equals(big), true);
    const chunked = await f(`${s.url}/chunked`, { redirect: 'manual' });
    assert.equal(await chunked.text(), 'one,two');
  });

  it('decodes gzip when the caller asked for no encoding, and passes the bytes through when it did', { timeout: 180_000 }, async () => {
    const decoded = await f(`${s.url}/gzip`, { redirect: 'manual' });
    assert.equal(await decoded.text(), 'unpacked text');
    const raw = await f(`${s.url}/gzip`, { headers: { 'accept-encoding': 'gzip' }, redirect: 'manual' });
    assert.deepEqual(Buffer.from(await raw.arrayBuffer()), gzipSync(Buffer.from('unpacked text')));
  });

  it('answers a redirect as it is (manual), never following it to another host', { timeout: 180_000 }, async () => {
    const before = s.seen.length;
    const res = await f(`${s.url}/redirect`, { headers: { Authorization: 'Bearer secret' }, redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), 'https://elsewhere.example/steal');
    assert.equal(s.seen.length, before + 1);
  });

  it('gives HEAD and 204 answers a null body', { timeout: 180_000 }, async () => {
    const head = await f(`${s.url}/json`, { method: 'HEAD', redirect: 'manual' });
    assert.equal(head.status, 201);
    assert.equal(head.body, null);
    const none = await f(`${s.url}/empty`, { redirect: 'manual' });
    assert.equal(none.status, 204);
    assert.equal(none.body, null);
  });

  it('refuses a GET with a body, and a bad header, before sending anything', { timeout: 180_000 }, async () => {
    const before = s.seen.length;
    await assert.rejects(f(`${s.url}/echo`, { method: 'GET', body: 'x', redirect: 'manual' }), TypeError);
    await assert.rejects(f(`${s.url}/echo`, { headers: { 'bad header': 'x' }, redirect: 'manual' }), TypeError);
    // Headers given as pairs go through the platform's Headers, which refuses the name itself.
    await assert.rejects(f(`${s.url}/echo`, { headers: [['bad header', 'x']], redirect: 'manual' }), TypeError);
    await assert.rejects(f(s.url.replace('http://', 'http://user:pw@'), { redirect: 'manual' }), /includes credentials/);
    await assert.rejects(f(`${s.url}/echo`, { headers: { 'x-ok': 'line\r\nInjected: 1' }, redirect: 'manual' }), TypeError);
    await assert.rejects(f(`${s.url}/echo`, { headers: new Headers([['x-a', '1']]), method: 'TRACE ME', redirect: 'manual' }), TypeError);
    assert.equal(s.seen.length, before);
  });

  it('rejects with the abort reason: at once when already aborted, and while waiting for an answer', { timeout: 180_000 }, async () => {
    const before = s.seen.length;
    const gone = AbortSignal.abort(new Error('caller gave up'));
    await assert.rejects(f(`${s.url}/json`, { signal: gone, redirect: 'manual' }), /caller gave up/);
    assert.equal(s.seen.length, before, 'nothing was sent');

    const controller = new AbortController();
    const pending = f(`${s.url}/slow`, { signal: controller.signal, redirect: 'manual' });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending, (e: unknown) => e instanceof Error && e.name === 'AbortError');
  });

  it('a streamed body the reader cancels, or whose signal aborts, stops the upstream read (the server sees the connection go)', { timeout: 180_000 }, async () => {
    const closedBefore = endlessClosed.length;
    const res = await f(`${s.url}/endless`, { redirect: 'manual' });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    assert.ok((await reader.read()).value, 'a first chunk');
    await reader.cancel();
    const deadline = Date.now() + 10_000;
    while (endlessClosed.length === closedBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(endlessClosed.length, closedBefore + 1, 'the server saw the cancelled answer\'s connection close');

    const controller = new AbortController();
    const aborted = await f(`${s.url}/endless`, { redirect: 'manual', signal: controller.signal });
    const r2 = (aborted.body as ReadableStream<Uint8Array>).getReader();
    assert.ok((await r2.read()).value);
    controller.abort(new Error('caller stopped reading'));
    await assert.rejects(
      (async () => {
        for (;;) if ((await r2.read()).done) return;
      })(),
      (e: unknown) => e instanceof Error,
    );
    const deadline2 = Date.now() + 10_000;
    while (endlessClosed.length === closedBefore + 1 && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 20));
    assert.equal(endlessClosed.length, closedBefore + 2, 'the aborted answer\'s connection closed too');
  });

  it('answers whose bodies are cancelled at once, many at a time, never throw out of band (the process survives)', { timeout: 180_000 }, async () => {
    // Node's Readable.toWeb threw "Controller is already closed" from a late 'data' event here, uncaught.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 40; i++) {
          const res = await f(`${s.url}/big`, { redirect: 'manual' });
          await res.body?.cancel();
        }
      }),
    );
    const after = await f(`${s.url}/big`, { redirect: 'manual' });
    assert.equal((await after.arrayBuffer()).byteLength, big.byteLength, 'and the pool still answers whole');
  });

  it('a connection dropped mid-body fails the body read, never a short body that looks whole', { timeout: 180_000 }, async () => {
    const res = await f(`${s.url}/cut`, { redirect: 'manual' });
    assert.equal(res.status, 200);
    await assert.rejects(res.arrayBuffer());
  });

  it('fails a response that stalls past the idle timeout, and never cuts a slow but live one at the pool\'s idle limit', { timeout: 180_000 }, async () => {
    const own = await startServer((req, res) => {
      if (req.url === '/stall') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first part, then nothing');
      } else setTimeout(() => res.end('slow but fine'), 150);
    });
    const g = createHttpFetch({ idleTimeoutMs: 100, idleSocketMs: 30 });
    try {
      const stalled = await g(`${own.url}/stall`, { redirect: 'manual' });
      await assert.rejects(stalled.text());
      const slowAgent = createHttpFetch({ idleSocketMs: 30 });
      try {
        assert.equal(await (await slowAgent(`${own.url}/slow`, { redirect: 'manual' })).text(), 'slow but fine');
      } finally {
        slowAgent.close();
      }
    } finally {
      g.close();
      await close(own.server);
    }
  });

  it('keeps connections alive across requests', { timeout: 180_000 }, async () => {
    const own = await startServer((_req, res) => res.end('ok'));
    const g = createHttpFetch();
    try {
      for (let i = 0; i < 5; i++) assert.equal(await (await g(`${own.url}/x`, { redirect: 'manual' })).text(), 'ok');
      // undici's pool sends a request made in the same turn as the previous answer completed on a second
      // connection (the first is marked free a moment later); both are reused from then on.
      if (engine === 'undici') assert.ok(own.connections() <= 2, `${own.connections()} connections for 5 requests in a row`);
      else assert.equal(own.connections(), 1);
    } finally {
      g.close();
      await close(own.server);
    }
  });

  it('fails like fetch when nothing listens: TypeError "fetch failed" with the cause', { timeout: 180_000 }, async () => {
    const own = await startServer((_req, res) => res.end());
    const url = own.url;
    await close(own.server);
    await assert.rejects(f(`${url}/x`, { redirect: 'manual' }), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.equal(e.message, 'fetch failed');
      assert.equal((e.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
      return true;
    });
  });

  it('sends once more on a fresh connection when a kept-alive one was reset before any answer', { timeout: 180_000 }, async () => {
    let connections = 0;
    const net = createNetServer((socket: Socket) => {
      const n = ++connections;
      let requests = 0;
      socket.on('data', () => {
        requests++;
        // The first connection answers one request, then drops the second without a word (RST).
        if (n === 1 && requests === 2) return void socket.resetAndDestroy();
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
      });
    });
    net.listen(0, '127.0.0.1');
    await once(net, 'listening');
    const url = `http://127.0.0.1:${(net.address() as AddressInfo).port}/x`;
    const g = createHttpFetch();
    try {
      assert.equal(await (await g(url, { redirect: 'manual' })).text(), 'ok');
      assert.equal(await (await g(url, { redirect: 'manual' })).text(), 'ok');
      assert.equal(connections, 2);
    } finally {
      g.close();
      net.close();
    }
  });

  it('speaks https, verifying the certificate: a self-signed one is refused unless its CA is given', { timeout: 180_000 }, async () => {
    const tls = { cert: readFileSync(new URL('./test-support/loopback-tls.crt', import.meta.url)), key: readFileSync(new URL('./test-support/loopback-tls.key', import.meta.url)) };
    const server = createHttpsServer(tls, (req, res) => res.end(`secure ${req.method} ${req.url}`));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/wiki/x?y=1`;
    const trusting = createHttpFetch({ ca: tls.cert });
    try {
      await assert.rejects(f(url, { redirect: 'manual' }), (e: unknown) => {
        assert.ok(e instanceof TypeError);
        assert.equal((e.cause as NodeJS.ErrnoException).code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
        return true;
      });
      assert.equal(await (await trusting(url, { redirect: 'manual' })).text(), 'secure GET /wiki/x?y=1');
    } finally {
      trusting.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('hands what it does not take itself to the fallback fetch (Request objects, followed redirects, Blob bodies)', { timeout: 180_000 }, async () => {
    const calls: string[] = [];
    const fallback = (async (input: string | URL | Request) => {
      calls.push(typeof input === 'string' ? input : input instanceof URL ? input.href : `Request ${input.url}`);
      return new Response('from fallback');
    }) as typeof fetch;
    const g = createHttpFetch({ fallback });
    try {
      assert.equal(await (await g(new Request(`${s.url}/json`))).text(), 'from fallback');
      assert.equal(await (await g(`${s.url}/json`)).text(), 'from fallback');
      assert.equal(await (await g(`${s.url}/echo`, { method: 'POST', body: new Blob(['x']), redirect: 'manual' })).text(), 'from fallback');
      assert.deepEqual(calls, [`Request ${s.url}/json`, `${s.url}/json`, `${s.url}/echo`]);
      assert.equal(await (await g(`${s.url}/echo`, { method: 'POST', body: 'direct', redirect: 'manual' })).text(), 'direct');
      assert.equal(calls.length, 3);
    } finally {
      g.close();
    }
  });
});
