import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { createManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { ERROR_CODES } from '../../src/errors.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { apiKeyAuth, createRateLimiter } from '../../src/server/api/api-key-auth.js';
import * as S from '../../src/server/api/schemas.js';
import { createApp } from '../../src/server/create-app.js';
import { ERROR_STATUS } from '../../src/server/error-status.js';
import { createMetrics } from '../../src/server/metrics.js';

describe('per-key rate limit and the OpenAPI document', () => {
  let gw: Gateway;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onbehalf-api-rl-'));
    gw = await createGateway(loadConfig({ ONBEHALF_DATA_DIR: dir, ONBEHALF_PORT: '0' }, {}, dir), { logger: silentLogger() });
  }, { timeout: 120_000 });
  after(async () => {
    await gw.close();
  }, { timeout: 120_000 });

  test('a token bucket per key: burst, then 429 RATE_LIMITED with Retry-After, refilled on the clock; other keys unaffected', { timeout: 180_000 }, async () => {
    const clock = createManualClock(1_000_000);
    const { app } = createApp({
      store: gw.store,
      logger: silentLogger(),
      metrics: createMetrics({ defaultMetrics: false }),
      version: 't',
      routes: [{ method: 'GET', path: '/v1/ping', auth: 'apiKey', summary: 'test', handler: (c) => c.json({ ok: true }) }],
      auth: { apiKey: apiKeyAuth({ apiKeys: gw.repos.apiKeys, clock }, { rateLimit: { perSecond: 2, burst: 3 } }) },
    });
    const a = (await gw.repos.apiKeys.create({ name: 'rl-a' })).secret;
    const b = (await gw.repos.apiKeys.create({ name: 'rl-b' })).secret;
    const call = (k: string) => app.request('/v1/ping', { headers: { Authorization: `Bearer ${k}` } });
    for (let i = 0; i < 3; i++) assert.equal((await call(a)).status, 200);
    const limited = await call(a);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '1');
    const body = (await limited.json()) as { error: { code: string; details: { retryAfterSeconds: number } } };
    assert.equal(body.error.code, 'RATE_LIMITED');
    assert.equal(body.error.details.retryAfterSeconds, 1);
    assert.equal((await call(b)).status, 200, 'another key has its own bucket');
    clock.advance(500);
    assert.equal((await call(a)).status, 200, 'one token back after 1/perSecond');
    assert.equal((await call(a)).status, 429);
    // A wrong key is refused before it can touch anyone's bucket.
    assert.equal((await call('obk_nope')).status, 401);
  });

  test('rate limiter options are checked at start-up', { timeout: 180_000 }, () => {
    assert.throws(() => createRateLimiter(createManualClock(0), { perSecond: 0, burst: 1 }), /perSecond/);
  });

  test('/openapi.json is OpenAPI 3.1 generated from the same schemas that validate', { timeout: 180_000 }, async () => {
    const res = await gw.app.request('/openapi.json');
    assert.equal(res.status, 200);
    const doc = (await res.json()) as any;
    assert.equal(doc.openapi, '3.1.0');
    const paths = Object.keys(doc.paths).sort();
    assert.deepEqual(paths, [
      '/v1/act/{externalUserId}/{site}/{apiPath}',
      '/v1/admin/mappings',
      '/v1/admin/site-users',
      '/v1/events',
      '/v1/link-sessions',
      '/v1/link-sessions/{id}',
      '/v1/link-sessions/{id}/confirm',
      '/v1/links',
      '/v1/links/{id}',
      '/v1/resolve',
      '/v1/tokens',
    ]);
    // Every /v1 route of the table is documented, method by method.
    for (const r of gw.routes.filter((x) => x.path.startsWith('/v1/'))) {
      const p = r.path.startsWith('/v1/act/') ? '/v1/act/{externalUserId}/{site}/{apiPath}' : r.path.replace(/:([a-zA-Z]+)/g, '{$1}');
      assert.ok(doc.paths[p]?.[r.method.toLowerCase()], `${r.method} ${r.path} is documented`);
      assert.deepEqual(doc.paths[p][r.method.toLowerCase()].security, [{ apiKey: [] }]);
    }
    const create = doc.paths['/v1/link-sessions'].post;
    const { $schema: _s, ...expected } = z.toJSONSchema(S.CreateLinkSessionBody, { io: 'input' }) as Record<string, unknown>;
    assert.deepEqual(create.requestBody.content['application/json'].schema, expected);
    assert.ok(create.responses['201'].content['application/json'].schema.properties.url);
    // Errors are documented with their status from the one table and their stable codes.
    const token = doc.paths['/v1/tokens'].post.responses;
    assert.deepEqual(token['404'].content['application/json']['x-error-codes'].sort(), ['TENANT_NOT_FOUND', 'USER_NOT_LINKED']);
    assert.ok(token['409'].content['application/json']['x-error-codes'].includes('REAUTH_REQUIRED'));
    assert.ok(token['401'] && token['429'].headers['Retry-After']);
    for (const op of Object.values(doc.paths).flatMap((m: any) => Object.values(m)) as any[]) {
      for (const [status, r] of Object.entries(op.responses) as [string, any][]) {
        for (const code of r.content?.['application/json']?.['x-error-codes'] ?? []) {
          assert.ok((ERROR_CODES as readonly string[]).includes(code));
          assert.equal(String(ERROR_STATUS[code as keyof typeof ERROR_STATUS]), status);
        }
      }
    }
    const events = doc.paths['/v1/events'].get.parameters.map((p: any) => p.name);
    assert.deepEqual(events, ['after', 'limit']);
  });
});
