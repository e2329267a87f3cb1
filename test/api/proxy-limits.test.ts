import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../src/logger.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { apiKeyAuth } from '../../src/server/api/api-key-auth.js';
import { apiRoutes } from '../../src/server/api/api-routes.js';
import { createApp } from '../../src/server/create-app.js';
import { createMetrics } from '../../src/server/metrics.js';
import { GATEWAY_ORIGIN, SANDBOX_ORIGIN, clickAllow, createApiWorld, type ApiWorld } from './support/api-world.js';

/** The proxy's body limits and upstream timeouts, on an app built from the same parts with small limits. */
describe('proxy limits', () => {
  let w: ApiWorld;
  let key: string;
  let app: ReturnType<typeof createApp>['app'];
  before(async () => {
    w = await createApiWorld();
    key = await w.apiKey();
    const s = await w.gateway.linking.sessions.start({ externalUserId: 'u-lim', route: 'connect', cloudId: w.cloudId, requireConfirmation: false });
    await clickAllow(w.fetch, SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.alice, s.url);
    const gw = w.gateway;
    app = createApp({
      store: gw.store,
      logger: silentLogger(),
      metrics: createMetrics({ defaultMetrics: false }),
      version: 't',
      routes: apiRoutes(
        { repos: gw.repos, clock: gw.clock, linkSessions: gw.linking.sessions, links: gw.linking.links, resolveEmails: gw.linking.resolveEmails, adminMapping: gw.linking.adminMapping, acting: { asUser: gw.asUser, tokenFor: gw.tokenFor } },
        { proxy: { bufferBytes: 64, maxBodyBytes: 1024 } },
      ),
      auth: { apiKey: apiKeyAuth({ apiKeys: gw.repos.apiKeys, clock: gw.clock }) },
    }).app;
  }, { timeout: 120_000 });
  after(async () => {
    await w.close();
  }, { timeout: 120_000 });

  const post = (body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
    app.request(`${GATEWAY_ORIGIN}/v1/act/u-lim/acme/api/v2/pages`, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', ...headers }, body, duplex: 'half' } as RequestInit);

  test('a declared size above the limit is refused before reading; a streamed body is cut off at the limit (413)', { timeout: 180_000 }, async () => {
    const declared = await post('x'.repeat(2000), { 'Content-Length': '2000' });
    assert.equal(declared.status, 413);
    assert.equal(((await declared.json()) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
    const before = w.outbound.length;
    const chunk = new TextEncoder().encode('x'.repeat(300));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 10) c.enqueue(chunk);
        else c.close();
      },
    });
    const streamed = await post(stream);
    assert.equal(streamed.status, 413);
    assert.equal(((await streamed.json()) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
    assert.ok(w.outbound.slice(before).filter((c) => c.url.endsWith('/api/v2/pages')).length <= 1, 'sent once at most, never retried');
  });

  test('small bodies are buffered (replayable) and a streamed body under the limit goes through', { timeout: 180_000 }, async () => {
    const small = await post(JSON.stringify({ spaceId: '65537', title: 'small' }));
    assert.equal(small.status, 200, await small.clone().text());
    const payload = JSON.stringify({ spaceId: '65537', title: 'streamed under the limit', body: { representation: 'storage', value: '<p>0123456789</p>' } });
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(payload.slice(0, 40)));
        c.enqueue(new TextEncoder().encode(payload.slice(40)));
        c.close();
      },
    });
    const res = await post(stream);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { title: string }).title, 'streamed under the limit');
  });

  test('a body longer than the buffer streams through whole (its first part included) and is sent once', { timeout: 180_000 }, async () => {
    const title = `long ${'y'.repeat(200)}`;
    const payload = JSON.stringify({ spaceId: '65537', title, body: { representation: 'storage', value: '<p>long</p>' } });
    const bytes = new TextEncoder().encode(payload);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.byteLength; i += 50) c.enqueue(bytes.slice(i, i + 50));
        c.close();
      },
    });
    let posts = 0;
    w.intercept = (req) => {
      if (new URL(req.url).pathname.endsWith('/api/v2/pages') && req.method === 'POST') posts++;
      return undefined;
    };
    try {
      const res = await post(stream);
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { title: string }).title, title);
      assert.equal(posts, 1);
    } finally {
      w.intercept = undefined;
    }
  });

  test('a large answer of unknown length streams back intact', { timeout: 180_000 }, async () => {
    const chunk = new Uint8Array(64 * 1024).fill(97);
    let sent = 0;
    w.intercept = (req) => {
      if (!new URL(req.url).pathname.endsWith('/rest/api/download/big')) return undefined;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent++ < 32) c.enqueue(chunk);
          else c.close();
        },
      });
      return new Response(body, { status: 200, headers: { 'Content-Type': 'application/octet-stream' } });
    };
    try {
      const res = await app.request(`${GATEWAY_ORIGIN}/v1/act/u-lim/acme/rest/api/download/big`, { headers: { Authorization: `Bearer ${key}` } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let total = 0;
      let first = true;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (first) {
          assert.ok(sent < 32, 'the first bytes arrive before the upstream has sent everything');
          first = false;
        }
        total += value.byteLength;
      }
      assert.equal(total, 32 * 64 * 1024);
    } finally {
      w.intercept = undefined;
    }
  });

  test('no answer from Confluence in time: 504 ATLASSIAN_TIMEOUT after the configured retries', { timeout: 180_000 }, async () => {
    let tries = 0;
    w.intercept = (req) => {
      if (new URL(req.url).pathname.endsWith('/rest/api/user/current')) {
        tries++;
        throw new DOMException('no response', 'TimeoutError');
      }
      return undefined;
    };
    try {
      const res = await app.request(`${GATEWAY_ORIGIN}/v1/act/u-lim/acme/rest/api/user/current`, { headers: { Authorization: `Bearer ${key}` } });
      assert.equal(res.status, 504);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ATLASSIAN_TIMEOUT');
      assert.ok(tries > 1, 'an idempotent GET was retried');
    } finally {
      w.intercept = undefined;
    }
  });
});
