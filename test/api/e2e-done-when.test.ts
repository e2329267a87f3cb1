import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OnbehalfApiError, createClient, createPage, getCurrentUser, listSpaces, updatePage, type OnbehalfClient } from '../../src/client/index.js';
import { freePort } from '../../src/cli/free-port.js';
import { runCli } from '../../src/cli/run-cli.js';
import { loadConfig } from '../../src/config.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { DEFAULT_ACCOUNTS, startSandboxServer, type SandboxServer } from '../../src/sandbox/index.js';
import { clickAllow, tinyConfluenceClient } from './support/api-world.js';

/**
 * The issue's "done when", over real loopback sockets: sandbox and gateway are real HTTP servers, the key
 * comes from the CLI, the app backend uses the SDK, the user clicks through the consent page.
 */
describe('act-as API over real HTTP against the sandbox', () => {
  let sandbox: SandboxServer;
  let gateway: Gateway;
  let gatewayUrl: string;
  let dir: string;
  let client: OnbehalfClient;
  const RETURN = 'https://app.example/after-link';

  before(async () => {
    sandbox = await startSandboxServer({ port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'onbehalf-api-e2e-'));
    const port = await freePort('127.0.0.1');
    const config = loadConfig({ ONBEHALF_DATA_DIR: dir, ONBEHALF_PORT: String(port), ONBEHALF_SANDBOX_URL: sandbox.url }, {}, dir);
    gateway = await createGateway(config, { logger: silentLogger() });
    gatewayUrl = (await gateway.listen()).url;
    const installed = await sandbox.sandbox.control.installApp('acme', `${gatewayUrl}/atlassian-connect.json`);
    assert.ok(installed.ok, installed.ok ? '' : installed.message);
  }, { timeout: 120_000 });
  after(async () => {
    await gateway.close();
    await sandbox.close();
  }, { timeout: 120_000 });

  test('key from the CLI -> link session -> consent -> confirm -> token used by a third-party client -> proxied page -> revoke -> refused with linkUrl', { timeout: 180_000 }, async () => {
    // 1. An operator creates a key with the CLI (same data dir, so the running gateway sees it).
    const out: string[] = [];
    const code = await runCli(['apikeys', 'create', '--name', 'e2e-backend', '--json', '--data-dir', dir], {
      env: {},
      cwd: dir,
      out: (l) => out.push(l),
      err: () => undefined,
      stopSignal: new Promise(() => undefined),
    });
    assert.equal(code, 0);
    const key = (JSON.parse(out.join('')) as { key: string }).key;
    assert.match(key, /^obk_/);
    client = createClient({ baseUrl: gatewayUrl, apiKey: key });

    // 2. The app backend starts a link session for its user; the user completes it in the browser.
    const started = await client.links.start({ externalUserId: 'u-alice', site: 'acme', returnUrl: RETURN });
    assert.ok(started.url.startsWith(`${gatewayUrl}/link/`));
    assert.equal((await client.links.session(started.id)).status, 'pending');
    const back = await clickAllow(fetch, sandbox.url, DEFAULT_ACCOUNTS.alice, started.url);
    assert.equal(back.status, 'pending_confirmation');
    assert.ok(back.code);
    const link = await client.links.confirm(started.id, { code: back.code, externalUserId: 'u-alice' });
    assert.equal(link.status, 'linked');
    assert.equal((await client.links.session(started.id)).status, 'linked');
    assert.deepEqual((await client.links.list({ externalUserId: 'u-alice' })).map((l) => l.id), [link.id]);

    // 3. A token for an app that calls Confluence itself, used by a standalone fetch-based client.
    const token = await client.tokens.get({ externalUserId: 'u-alice', site: 'acme' });
    assert.ok(token.apiBaseUrl.startsWith(sandbox.url));
    const third = tinyConfluenceClient(token.apiBaseUrl, token.accessToken);
    assert.equal((await third.currentUser()).accountId, DEFAULT_ACCOUNTS.alice);

    // 4. A page created through the HTTP proxy is authored by the user.
    const alice = client.asUser('u-alice', { site: 'acme' });
    const res = await alice.fetch('/api/v2/pages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'Proxied over HTTP', body: { representation: 'storage', value: '<p>hi</p>' } }),
    });
    assert.equal(res.status, 200);
    const page = (await res.json()) as { id: string; authorId: string };
    assert.equal(page.authorId, DEFAULT_ACCOUNTS.alice);

    // Typed helpers take the same fetch: over HTTP here, in process with the embedded gateway below.
    assert.equal((await getCurrentUser(alice)).accountId, DEFAULT_ACCOUNTS.alice);
    const helperPage = await createPage(alice, { spaceId: '65537', title: 'Helper page', body: '<p>h</p>' });
    const updated = await updatePage(alice, { id: helperPage.id, title: 'Helper page v2', body: '<p>h2</p>', version: 2 });
    assert.equal(updated.title, 'Helper page v2');
    const spaces: string[] = [];
    for await (const s of listSpaces(alice, { limit: 1 })) spaces.push(s.key);
    assert.ok(spaces.length >= 1 && spaces.includes('ENG'), spaces.join(','));
    const embedded = await gateway.asUser({ site: 'acme', externalUserId: 'u-alice' });
    assert.equal((await getCurrentUser(embedded)).accountId, DEFAULT_ACCOUNTS.alice);

    // A streamed request body (chunked, no Content-Length) goes through as well.
    const enc = new TextEncoder();
    const parts = ['{"spaceId":"65537","title":"Streamed",', '"body":{"representation":"storage","value":"<p>s</p>"}}'];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = parts.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(enc.encode(next));
      },
    });
    const streamed = await alice.fetch('/api/v2/pages', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    assert.equal(streamed.status, 200, await streamed.clone().text());
    assert.equal(((await streamed.json()) as { title: string }).title, 'Streamed');

    // 5. The link is revoked; the next proxy call is refused with a link URL to start again.
    assert.equal((await client.links.revoke(link.id)).status, 'revoked');
    await assert.rejects(alice.fetch('/rest/api/user/current'), (e: unknown) => {
      assert.ok(e instanceof OnbehalfApiError);
      assert.equal(e.status, 404);
      assert.equal(e.code, 'USER_NOT_LINKED');
      assert.match(String(e.details?.['linkUrl']), new RegExp(`^${gatewayUrl}/link/obl_`));
      return true;
    });
    await assert.rejects(client.tokens.get({ externalUserId: 'u-alice', site: 'acme' }), (e: unknown) => e instanceof OnbehalfApiError && e.code === 'USER_NOT_LINKED');

    // The feed has the whole story, in order.
    const types: string[] = [];
    for await (const e of client.events.iterate({ limit: 2 })) if (e.externalUserId === 'u-alice') types.push(e.type);
    assert.deepEqual(types.filter((t) => t.startsWith('link.')), ['link.pending_confirmation', 'link.linked', 'link.revoked']);

    // Metrics: tokens minted by route, cache lookups, upstream calls and links by status.
    const metrics = await (await fetch(`${gatewayUrl}/metrics`)).text();
    assert.match(metrics, /onbehalf_token_grants_total\{route="connect",outcome="ok"\} \d+/);
    assert.match(metrics, /onbehalf_token_cache_lookups_total\{route="connect",result="hit"\} \d+/);
    assert.match(metrics, /onbehalf_upstream_request_duration_seconds_bucket/);
    assert.match(metrics, /onbehalf_links\{status="revoked"\} 1/);
  });

  test('the SDK refuses bad input before any request, and a wrong key is a typed 401', { timeout: 180_000 }, async () => {
    assert.throws(() => client.asUser('', { site: 'acme' }), /externalUserId/);
    await assert.rejects(client.asUser('u', { site: 'acme' }).fetch('https://evil.example/x'), /relative to the site/);
    const wrong = createClient({ baseUrl: gatewayUrl, apiKey: 'obk_wrong' });
    await assert.rejects(wrong.links.list(), (e: unknown) => e instanceof OnbehalfApiError && e.status === 401 && e.code === 'UNAUTHENTICATED');
    await assert.rejects(wrong.asUser('u', { site: 'acme' }).fetch('/rest/api/user/current'), (e: unknown) => e instanceof OnbehalfApiError && e.code === 'UNAUTHENTICATED');
  });

  test('SSRF attempts over a real socket never leave the site', { timeout: 180_000 }, async () => {
    for (const path of ['/v1/act/u-alice/acme/http://127.0.0.1:1/x', '/v1/act/u-alice/acme//127.0.0.1:1/x', '/v1/act/u-alice/acme/api/%2e%2e%2f%2e%2e%2fx', '/v1/act/u-alice/acme/api/v2%2f..%2fx']) {
      const res = await fetch(`${gatewayUrl}${path}`, { headers: { Authorization: `Bearer ${(await gateway.repos.apiKeys.create({ name: `s${Math.random().toString(36).slice(2, 8)}` })).secret}` } });
      assert.ok(res.status === 403 || res.status === 400 || res.status === 404, `${path} -> ${res.status}`);
      const body = (await res.json()) as { error?: { code: string } };
      assert.ok(body.error, `${path}: a gateway refusal, not a proxied answer`);
      assert.equal(res.headers.get('x-onbehalf-upstream'), null);
    }
  });

  test('dot segments in the proxy path are refused, never resolved into another site (issue 15: served as globex)', { timeout: 180_000 }, async () => {
    const globex = await sandbox.sandbox.control.installApp('globex', `${gatewayUrl}/atlassian-connect.json`);
    assert.ok(globex.ok);
    const { secret } = await gateway.repos.apiKeys.create({ name: 'dot-segments' });
    // node:http given a `path` sends it exactly as written; fetch, browsers (and node:http given a URL) resolve the dots first.
    const rawGet = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const { hostname, port } = new URL(gatewayUrl);
        const req = httpRequest({ hostname, port, path, headers: { Authorization: `Bearer ${secret}` }, timeout: 10_000 }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('timeout', () => req.destroy(new Error(`timed out: ${path}`)));
        req.on('error', reject);
        req.end();
      });
    for (const path of [
      '/v1/act/u-alice/acme/api/v2/spaces/../../../../globex/wiki/api/v2/spaces',
      '/v1/act/u-alice/acme/api/v2/spaces/%2e%2E/%2e./../../globex/wiki/api/v2/spaces',
      '/v1/act/u-alice/acme/./api/v2/spaces',
      '/v1/links/../act/u-alice/globex/api/v2/spaces',
    ]) {
      const res = await rawGet(path);
      assert.equal(res.status, 403, `${path} -> ${res.status} ${res.body}`);
      const body = JSON.parse(res.body) as { error: { code: string; details?: { reason?: string } } };
      assert.equal(body.error.details?.reason, 'dot_segment', path);
    }
  });
});
