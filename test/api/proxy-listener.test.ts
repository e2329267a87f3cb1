import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve, type ServerType } from '@hono/node-server';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { SANDBOX_ORIGIN, clickAllow, createApiWorld, type ApiWorld } from './support/api-world.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request with the target exactly as written (dot segments, odd paths), over a fresh connection. */
function send(port: number, method: string, target: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: target, headers, agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${target}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** What must be the same both ways: status, every header but those that differ per answer, the body (envelope without its request id and fresh link URLs). */
function comparable(a: Answer): { status: number; headers: Record<string, unknown>; body: unknown } {
  const { date: _date, 'x-request-id': _id, connection: _c, 'keep-alive': _k, ...headers } = a.headers;
  let body: unknown = a.body;
  if ((a.headers['content-type'] ?? '').startsWith('application/json') && a.body !== '') {
    const parsed = JSON.parse(a.body) as { error?: { requestId?: string; details?: Record<string, unknown> } };
    if (parsed.error) {
      delete parsed.error.requestId;
      for (const k of ['linkUrl', 'linkSessionId', 'linkExpiresAt']) if (parsed.error.details?.[k] !== undefined) parsed.error.details[k] = '<fresh>';
    }
    body = parsed;
  }
  return { status: a.status, headers, body };
}

/**
 * The act-as proxy is served by its own node:http listener in front of the Hono app (the hot path without
 * the app's web Request/Response objects). The same gateway's app served alone (as before that listener)
 * must answer every request the same: same status, headers and body, same refusals, same request ids,
 * same rate-limit buckets.
 */
describe('proxy listener: the same answers as the app', () => {
  let w: ApiWorld;
  let key: string;
  let limitedKey: string;
  let viaListener: number;
  let appAlone: ServerType;
  let viaApp: number;
  /** How many endless upstream answers were cancelled (the caller went away and the proxy stopped reading). */
  let endlessCancelled = 0;
  before(async () => {
    w = await createApiWorld({ ONBEHALF_HOST: '127.0.0.1', ONBEHALF_PORT: '0' });
    key = await w.apiKey();
    limitedKey = await w.apiKey(['globex']);
    const s = await w.gateway.linking.sessions.start({ externalUserId: 'u-par', route: 'connect', cloudId: w.cloudId, requireConfirmation: false });
    await clickAllow(w.fetch, SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.alice, s.url);
    viaListener = (await w.gateway.listen()).port;
    appAlone = serve({ fetch: w.gateway.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => appAlone.once('listening', () => resolve()));
    viaApp = (appAlone.address() as AddressInfo).port;
    // Answers the sandbox does not give: a large streamed body, a bodyless 204, headers the proxy must drop.
    w.intercept = (req) => {
      const path = new URL(req.url).pathname;
      if (path.endsWith('/parity/big')) return new Response('b'.repeat(200_000), { headers: { 'content-type': 'application/octet-stream' } });
      if (path.endsWith('/parity/empty')) return new Response(null, { status: 204, headers: { etag: '"7"' } });
      if (path.endsWith('/parity/endless')) {
        let tick: ReturnType<typeof setInterval> | undefined;
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode('first,'));
            tick = setInterval(() => c.enqueue(new TextEncoder().encode('more,')), 10);
          },
          cancel() {
            clearInterval(tick);
            endlessCancelled++;
          },
        });
        return new Response(stream, { headers: { 'content-type': 'text/plain' } });
      }
      if (path.endsWith('/parity/hop')) {
        return new Response('{"ok":true}', { headers: { 'content-type': 'application/json', 'set-cookie': 'atl=1', connection: 'x-hop', 'x-hop': 'secret', 'x-kept': 'yes', 'content-security-policy': "default-src 'none'" } });
      }
      return undefined;
    };
  }, { timeout: 120_000 });
  after(async () => {
    await new Promise<void>((resolve) => appAlone.close(() => resolve()));
    await w.close();
  }, { timeout: 120_000 });

  const auth = (k: string) => ({ authorization: `Bearer ${k}` });
  const cases: { name: string; method: string; target: string; headers?: () => Record<string, string>; body?: string }[] = [
    { name: 'a linked user GET', method: 'GET', target: '/v1/act/u-par/acme/rest/api/user/current', headers: () => auth(key) },
    { name: 'a query string', method: 'GET', target: '/v1/act/u-par/acme/api/v2/spaces?limit=1', headers: () => auth(key) },
    { name: 'HEAD', method: 'HEAD', target: '/v1/act/u-par/acme/rest/api/user/current', headers: () => auth(key) },
    { name: 'a large answer (streamed)', method: 'GET', target: '/v1/act/u-par/acme/parity/big', headers: () => auth(key) },
    { name: 'a 204', method: 'GET', target: '/v1/act/u-par/acme/parity/empty', headers: () => auth(key) },
    { name: 'hop-by-hop, cookies and an upstream CSP', method: 'GET', target: '/v1/act/u-par/acme/parity/hop', headers: () => auth(key) },
    { name: 'a bodyless DELETE of a missing page', method: 'DELETE', target: '/v1/act/u-par/acme/api/v2/pages/999999', headers: () => auth(key) },
    { name: 'a JSON POST refused upstream (no such space)', method: 'POST', target: '/v1/act/u-par/acme/api/v2/pages', headers: () => ({ ...auth(key), 'content-type': 'application/json' }), body: '{"spaceId":"0","title":"x"}' },
    { name: 'the caller names its request id', method: 'GET', target: '/v1/act/u-par/acme/rest/api/user/current', headers: () => ({ ...auth(key), 'x-request-id': 'req-parity-1' }) },
    { name: 'no API key', method: 'GET', target: '/v1/act/u-par/acme/rest/api/user/current' },
    { name: 'a bad API key', method: 'GET', target: '/v1/act/u-par/acme/rest/api/user/current', headers: () => auth('obk_not_a_key') },
    { name: 'a malformed Authorization', method: 'GET', target: '/v1/act/u-par/acme/x', headers: () => ({ authorization: 'Basic abc' }) },
    { name: 'a user who never linked (with a link URL)', method: 'GET', target: '/v1/act/nobody/acme/rest/api/user/current', headers: () => auth(key) },
    { name: 'an unknown site', method: 'GET', target: '/v1/act/u-par/nowhere/rest/api/user/current', headers: () => auth(key) },
    { name: 'a key limited to another site', method: 'GET', target: '/v1/act/u-par/acme/rest/api/user/current', headers: () => auth(limitedKey) },
    { name: 'a dot segment', method: 'GET', target: '/v1/act/u-par/acme/api/v2/%2e%2e/x', headers: () => auth(key) },
    { name: 'dot segments that leave the proxy', method: 'GET', target: '/v1/act/u-par/acme/../../../healthz', headers: () => auth(key) },
    { name: 'no API path', method: 'GET', target: '/v1/act/u-par/acme', headers: () => auth(key) },
    { name: 'an empty API path', method: 'GET', target: '/v1/act/u-par/acme/', headers: () => auth(key) },
    { name: 'a URL as API path', method: 'GET', target: '/v1/act/u-par/acme//evil.example/x', headers: () => auth(key) },
    { name: 'bad percent-encoding', method: 'GET', target: '/v1/act/u%E0%A4%A/acme/x', headers: () => auth(key) },
    { name: 'no site (not a proxy route)', method: 'GET', target: '/v1/act/u-par', headers: () => auth(key) },
    { name: 'an empty user (not a proxy route)', method: 'GET', target: '/v1/act//acme/x', headers: () => auth(key) },
    { name: 'a method the proxy does not take', method: 'OPTIONS', target: '/v1/act/u-par/acme/x', headers: () => auth(key) },
    { name: 'a declared body over the limit', method: 'POST', target: '/v1/act/u-par/acme/api/v2/pages', headers: () => ({ ...auth(key), 'content-length': String(65 * 1024 * 1024) }) },
  ];
  for (const c of cases) {
    test(c.name, { timeout: 60_000 }, async () => {
      const headers = c.headers?.() ?? {};
      const fromListener = await send(viaListener, c.method, c.target, headers, c.body);
      const fromApp = await send(viaApp, c.method, c.target, headers, c.body);
      assert.deepEqual(comparable(fromListener), comparable(fromApp));
      if (headers['x-request-id']) assert.equal(fromListener.headers['x-request-id'], headers['x-request-id']);
      else assert.match(String(fromListener.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    });
  }

  test('a caller that goes away mid-body stops the upstream read', { timeout: 60_000 }, async () => {
    const before = endlessCancelled;
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: viaListener, path: '/v1/act/u-par/acme/parity/endless', headers: auth(key), agent: false }, (res) => {
        res.once('data', () => {
          res.destroy();
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
    const deadline = Date.now() + 10_000;
    while (endlessCancelled === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(endlessCancelled, before + 1, 'the upstream body was cancelled');
  });

  test('the listener really serves the proxy (its activity and metrics), and the app serves the rest', { timeout: 60_000 }, async () => {
    const before = w.gateway.app ? (await send(viaListener, 'GET', '/metrics', {})).body : '';
    const count = (text: string) => Number(/onbehalf_http_requests_total\{method="GET",route="\/v1\/act\/:externalUserId\/:site\/\*",status="200"\} (\d+)/.exec(text)?.[1] ?? 0);
    const answer = await send(viaListener, 'GET', '/v1/act/u-par/acme/rest/api/user/current', { ...auth(key), 'x-request-id': 'req-parity-metrics' });
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.body) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.alice);
    const after = (await send(viaListener, 'GET', '/metrics', {})).body;
    assert.equal(count(after), count(before) + 1, 'one more proxied GET under the route pattern');
    assert.equal((await send(viaListener, 'GET', '/healthz', {})).status, 200);
  });
});

describe('proxy listener: one rate limit for both ways in', () => {
  // The gateway's clock is the sandbox's manual clock: the bucket does not refill while the test runs.
  test('calls through the listener and through the app spend from the same bucket', { timeout: 120_000 }, async () => {
    const w = await createApiWorld({ ONBEHALF_HOST: '127.0.0.1', ONBEHALF_PORT: '0', ONBEHALF_API_RATE_LIMIT: '1', ONBEHALF_API_RATE_BURST: '3' });
    try {
      const key = await w.apiKey();
      const port = (await w.gateway.listen()).port;
      const call = () => send(port, 'GET', '/v1/act/nobody/acme/x', { authorization: `Bearer ${key}` });
      const inApp = () => w.gateway.app.request('/v1/act/nobody/acme/x', { headers: { authorization: `Bearer ${key}` } });
      assert.equal((await call()).status, 404);
      assert.equal((await inApp()).status, 404);
      assert.equal((await call()).status, 404);
      const refused = await call();
      assert.equal(refused.status, 429);
      assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'RATE_LIMITED');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      assert.equal((await inApp()).status, 429);
    } finally {
      await w.close();
    }
  });
});
