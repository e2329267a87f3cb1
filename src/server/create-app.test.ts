import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import { loadConfig } from '../config.js';
import { ERROR_CODES, GatewayError } from '../errors.js';
import { createGateway, type Gateway } from '../gateway.js';
import { createLogger, silentLogger } from '../logger.js';
import { ERROR_STATUS } from './error-status.js';
import { errorHandler } from './middleware/error-handler.js';
import { requestId } from './middleware/request-id.js';

function tempConfig() {
  const dir = mkdtempSync(join(tmpdir(), 'onbehalf-app-'));
  return loadConfig({ ONBEHALF_DATA_DIR: dir, ONBEHALF_PORT: '0' }, {}, dir);
}

describe('gateway HTTP skeleton', () => {
  let gw: Gateway;
  before(async () => {
    gw = await createGateway(tempConfig(), { logger: silentLogger() });
  }, { timeout: 120_000 });
  after(async () => {
    await gw.close();
  }, { timeout: 120_000 });

  test('/healthz answers with the version', { timeout: 180_000 }, async () => {
    const res = await gw.app.request('/healthz');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; version: string };
    assert.equal(body.status, 'ok');
    assert.match(body.version, /^\d+\.\d+\.\d+/);
  });

  test('/readyz checks the store and the schema', { timeout: 180_000 }, async () => {
    const res = await gw.app.request('/readyz');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ready', checks: { store: { ok: true }, schema: { ok: true } } });
  });

  test('/metrics is Prometheus text with request counts by route pattern', { timeout: 180_000 }, async () => {
    await gw.app.request('/healthz');
    await gw.app.request('/no/such/path');
    const res = await gw.app.request('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /onbehalf_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    assert.match(text, /onbehalf_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    assert.match(text, /# TYPE onbehalf_http_request_duration_seconds histogram/);
    assert.match(text, /onbehalf_process_cpu_seconds_total/);
  });

  test('request ids: generated, or taken from a well-formed header, echoed back', { timeout: 180_000 }, async () => {
    const generated = await gw.app.request('/healthz');
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const given = await gw.app.request('/healthz', { headers: { 'X-Request-Id': 'abc-123' } });
    assert.equal(given.headers.get('x-request-id'), 'abc-123');
    const forged = await gw.app.request('/healthz', { headers: { 'X-Request-Id': 'bad id {"level":"fatal"}' } });
    assert.notEqual(forged.headers.get('x-request-id'), 'bad id {"level":"fatal"}');
  });

  test('request ids also reach Responses a handler built itself, mutable or not (the proxy returns its own)', { timeout: 180_000 }, async () => {
    const app = new Hono();
    app.use('*', requestId());
    app.get('/own', () => new Response('x', { headers: { 'content-type': 'text/plain' } }));
    app.get('/immutable', () => Response.redirect('https://example.test/', 302));
    const own = await app.request('/own', { headers: { 'X-Request-Id': 'r-1' } });
    assert.equal(own.headers.get('x-request-id'), 'r-1');
    assert.equal(await own.text(), 'x');
    const moved = await app.request('/immutable', { headers: { 'X-Request-Id': 'r-2' } });
    assert.equal(moved.headers.get('x-request-id'), 'r-2');
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.get('location'), 'https://example.test/');
  });

  test('security headers are set', { timeout: 180_000 }, async () => {
    const res = await gw.app.request('/healthz');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=31536000/);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  });

  test('unknown paths get the error envelope', { timeout: 180_000 }, async () => {
    const res = await gw.app.request('/v0/nothing', { headers: { 'X-Request-Id': 'r-404' } });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: { code: 'NOT_FOUND', message: 'No such endpoint: GET /v0/nothing', requestId: 'r-404' } });
  });

  test('every route in the table is public or declares its auth', { timeout: 180_000 }, () => {
    for (const r of gw.routes) assert.ok(['public', 'apiKey', 'connectInstall', 'connectJwt', 'connectContext', 'admin'].includes(r.auth), `${r.method} ${r.path}`);
    const byPath = Object.fromEntries(gw.routes.map((r) => [`${r.method} ${r.path}`, r.auth]));
    assert.deepEqual(byPath, {
      'GET /healthz': 'public',
      'GET /readyz': 'public',
      'GET /metrics': 'public',
      'GET /atlassian-connect.json': 'public',
      'POST /installed': 'connectInstall',
      'POST /uninstalled': 'connectInstall',
      'POST /enabled': 'connectInstall',
      'POST /disabled': 'connectInstall',
      'GET /connect/context': 'connectContext',
      'POST /connect/webhooks/:event': 'connectJwt',
      'GET /assets/onbehalf.css': 'public',
      'GET /assets/connect-link.js': 'public',
      'GET /link/:token': 'public',
      'GET /connect/link': 'connectJwt',
      'POST /connect/link/decide': 'connectContext',
      'POST /connect/links/:id/revoke': 'connectContext',
      'GET /assets/connect-configure.js': 'public',
      'GET /connect/configure': 'connectJwt',
      'POST /connect/configure/search': 'connectContext',
      'POST /connect/configure/map': 'connectContext',
      'POST /connect/configure/import': 'connectContext',
      'POST /connect/configure/policy': 'connectContext',
      'POST /connect/configure/revoke': 'connectContext',
      'POST /v1/link-sessions': 'apiKey',
      'GET /v1/link-sessions/:id': 'apiKey',
      'POST /v1/link-sessions/:id/confirm': 'apiKey',
      'GET /v1/links': 'apiKey',
      'GET /v1/links/:id': 'apiKey',
      'DELETE /v1/links/:id': 'apiKey',
      'POST /v1/resolve': 'apiKey',
      'GET /v1/admin/site-users': 'apiKey',
      'POST /v1/admin/mappings': 'apiKey',
      'POST /v1/tokens': 'apiKey',
      'GET /v1/events': 'apiKey',
      'GET /v1/act/:externalUserId/:site/*': 'apiKey',
      'POST /v1/act/:externalUserId/:site/*': 'apiKey',
      'PUT /v1/act/:externalUserId/:site/*': 'apiKey',
      'PATCH /v1/act/:externalUserId/:site/*': 'apiKey',
      'DELETE /v1/act/:externalUserId/:site/*': 'apiKey',
      'GET /openapi.json': 'public',
      'GET /assets/admin.css': 'public',
      'GET /admin/sign-in': 'public',
      'POST /admin/sign-in': 'public',
      'POST /admin/sign-out': 'admin',
      'GET /admin': 'admin',
      'GET /admin/links': 'admin',
      'GET /admin/links/:id': 'admin',
      'POST /admin/links/:id/revoke': 'admin',
      'GET /admin/link-sessions': 'admin',
      'GET /admin/accounts': 'admin',
      'GET /admin/mapping': 'admin',
      'POST /admin/mapping/map': 'admin',
      'POST /admin/mapping/import': 'admin',
      'GET /admin/audit': 'admin',
      'GET /admin/forge': 'admin',
      'GET /admin/activity': 'admin',
      'POST /admin/activity/try': 'admin',
      'GET /admin/api-keys': 'admin',
      'POST /admin/api-keys': 'admin',
      'GET /admin/api-keys/:id/revoke': 'admin',
      'POST /admin/api-keys/:id/revoke': 'admin',
      'GET /admin/policies': 'admin',
      'GET /admin/policies/:cloudId': 'admin',
      'POST /admin/policies/:cloudId': 'admin',
      'GET /': 'public',
      'GET /favicon.svg': 'public',
      'GET /favicon.ico': 'public',
      'GET /docs': 'public',
      'GET /docs/:name': 'public',
    });
  });
});

test('/readyz is 503 while migrations are pending', { timeout: 180_000 }, async () => {
  const config = tempConfig();
  const gw = await createGateway(config, { logger: silentLogger(), migrate: false });
  try {
    const res = await gw.app.request('/readyz');
    assert.equal(res.status, 503);
    const body = (await res.json()) as { checks: { schema: { ok: boolean; detail: string } } };
    assert.equal(body.checks.schema.ok, false);
    assert.match(body.checks.schema.detail, /pending migrations: 0001-initial/);
  } finally {
    await gw.close();
  }
});

test('the status table covers every error code', { timeout: 180_000 }, () => {
  for (const code of ERROR_CODES) assert.ok(Number.isInteger(ERROR_STATUS[code]), code);
  assert.equal(ERROR_STATUS.USER_NOT_LINKED, 404);
  assert.equal(ERROR_STATUS.REAUTH_REQUIRED, 409);
  assert.equal(ERROR_STATUS.TENANT_UNINSTALLED, 410);
  assert.equal(ERROR_STATUS.ATLASSIAN_TIMEOUT, 504);
});

test('the error middleware maps codes through the table and hides internal details', { timeout: 180_000 }, async () => {
  let logged = '';
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _e, cb) {
        logged += String(chunk);
        cb();
      },
    }),
  });
  const app = new Hono();
  app.use('*', requestId());
  app.get('/linked', () => {
    throw new GatewayError('USER_NOT_LINKED', 'User u1 is not linked on site s1.', { details: { linkUrl: 'https://gw/link/abc' } });
  });
  app.get('/boom', () => {
    throw new Error('db password is hunter2');
  });
  app.get('/keys', () => {
    throw new GatewayError('SECRET_KEY_MISSING', 'key k9 missing from /etc/keys.json');
  });
  app.onError(errorHandler(logger));

  const linked = await app.request('/linked');
  assert.equal(linked.status, 404);
  const body = (await linked.json()) as { error: { code: string; details: unknown } };
  assert.equal(body.error.code, 'USER_NOT_LINKED');
  assert.deepEqual(body.error.details, { linkUrl: 'https://gw/link/abc' });

  const boom = await app.request('/boom');
  assert.equal(boom.status, 500);
  const boomText = await boom.text();
  assert.ok(!boomText.includes('hunter2'), 'unknown errors never reach the client verbatim');
  assert.match(boomText, /"code":"INTERNAL"/);

  const keys = await app.request('/keys');
  assert.equal(keys.status, 500);
  assert.ok(!(await keys.text()).includes('/etc/keys.json'), 'internal codes get a generic message');
  assert.match(logged, /key k9 missing/, 'the log keeps what the client does not see');
});
