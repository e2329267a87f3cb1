import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config.js';
import { createGateway, type Gateway } from '../../gateway.js';
import { silentLogger } from '../../logger.js';

describe('the landing page and the docs it links to', () => {
  let gw: Gateway;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'onbehalf-landing-'));
    gw = await createGateway(loadConfig({ ONBEHALF_DATA_DIR: dir, ONBEHALF_PORT: '0', ONBEHALF_BASE_URL: 'https://gw.example.com', ONBEHALF_ADMIN_SECRET: 'a'.repeat(32) }, {}, dir), { logger: silentLogger() });
  }, { timeout: 120_000 });
  after(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 120_000 });

  test('a browser at the root gets a page saying what runs, with links to the console, docs, OpenAPI and health', { timeout: 180_000 }, async () => {
    const res = await gw.app.request('/', { headers: { accept: 'text/html,*/*;q=0.8' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const page = await res.text();
    assert.match(page, /^<!doctype html>/i);
    assert.match(page, /Talking to Atlassian Cloud/);
    for (const href of ['/admin', '/docs', '/openapi.json', '/healthz', '/readyz', '/metrics', '/atlassian-connect.json']) {
      assert.ok(page.includes(`href="https://gw.example.com${href}"`), `links to ${href}`);
    }
    assert.ok(page.includes('rel="icon"'), 'names its icon');
    assert.match(page, /Forge not configured/);
  });

  test('a gateway that is a Forge app\'s remote names the app on the landing page', async () => {
    const d = mkdtempSync(join(tmpdir(), 'onbehalf-landing-forge-'));
    const forge = await createGateway(loadConfig({ ONBEHALF_DATA_DIR: d, ONBEHALF_PORT: '0', ONBEHALF_BASE_URL: 'https://gw.example.com', ONBEHALF_FORGE_APP_ID: '0b5e7a3c-41d2-4c6f-9e88-5a1f3d7c2b60' }, {}, d), { logger: silentLogger() });
    try {
      const page = await (await forge.app.request('/', { headers: { accept: 'text/html' } })).text();
      assert.match(page, /Forge app <code>ari:cloud:ecosystem::app\/0b5e7a3c-41d2-4c6f-9e88-5a1f3d7c2b60<\/code>/);
    } finally {
      await forge.close();
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('anything else at the root gets the same links as JSON (no page to parse)', { timeout: 180_000 }, async () => {
    const res = await gw.app.request('/', { headers: { accept: 'application/json' } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { name: string; version: string; atlassian: { kind: string }; links: Record<string, string> };
    assert.equal(body.atlassian.kind, 'production');
    assert.equal(body.links['openapi'], 'https://gw.example.com/openapi.json');
    assert.equal(body.links['adminConsole'], 'https://gw.example.com/admin');
    assert.equal(body.links['healthz'], 'https://gw.example.com/healthz');
  });

  test('/docs lists the shipped documentation; each file is plain text; nothing outside docs/ can be named', { timeout: 180_000 }, async () => {
    const index = await (await gw.app.request('/docs')).text();
    assert.match(index, /href="https:\/\/gw.example.com\/docs\/api.md"/);
    const api = await gw.app.request('/docs/api.md');
    assert.equal(api.status, 200);
    assert.match(api.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(api.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await api.text(), /^# /);
    for (const path of ['/docs/..%2Fpackage.json', '/docs/%2e%2e%2fREADME.md', '/docs/nope.md']) assert.equal((await gw.app.request(path)).status, 404, path);
  });

  test('the icon every page asks for is there', { timeout: 180_000 }, async () => {
    for (const path of ['/favicon.ico', '/favicon.svg']) {
      const res = await gw.app.request(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    }
  });
});
