import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../src/cli/free-port.js';
import { loadConfig } from '../../src/config.js';
import { isGatewayError } from '../../src/errors.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { DEFAULT_ACCOUNTS, startSandboxServer, type SandboxServer } from '../../src/sandbox/index.js';
import { findTenant } from '../../src/tenants/find-tenant.js';

/** The Connect route end to end on real loopback sockets: sandbox and gateway each a real HTTP server. */
// Real sockets: a hang fails the suite by name instead of stalling the run.
describe('Connect route over real HTTP', { timeout: 120_000 }, () => {
  let sandbox: SandboxServer;
  let gateway: Gateway;
  let gatewayUrl: string;

  before(async () => {
    sandbox = await startSandboxServer({ port: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'onbehalf-e2e-'));
    const port = await freePort('127.0.0.1');
    const config = loadConfig({ ONBEHALF_DATA_DIR: dir, ONBEHALF_PORT: String(port), ONBEHALF_SANDBOX_URL: sandbox.url }, {}, dir);
    gateway = await createGateway(config, { logger: silentLogger() });
    gatewayUrl = (await gateway.listen()).url;
  }, { timeout: 120_000 });
  after(async () => {
    await gateway.close();
    await sandbox.close();
  }, { timeout: 120_000 });

  test('install (signed) -> webhook -> account captured -> token -> page authored by that user; uninstall -> refused, cache empty', async () => {
    const installed = await sandbox.sandbox.control.installApp('acme', `${gatewayUrl}/atlassian-connect.json`);
    assert.ok(installed.ok, installed.ok ? '' : installed.message);
    const tenant = await findTenant(gateway.repos, 'acme');
    assert.equal(tenant.status, 'active');
    assert.ok(tenant.cloudId, 'cloudId fetched from _edge/tenant_info over HTTP');

    // Carol edits in Confluence: the sandbox posts page_created to the gateway over HTTP.
    const site = sandbox.sandbox.control.discovery().sites.find((s) => s.key === 'acme');
    assert.ok(site);
    const carolPage = await fetch(`${site.baseUrl}/api/v2/pages`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('alice@acme.example:alice-api-token').toString('base64')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'Alice writes', body: { representation: 'storage', value: '<p>x</p>' } }),
    });
    assert.equal(carolPage.status, 200);
    await sandbox.sandbox.control.flushWebhooks();
    await gateway.background.drain();
    const seen = await gateway.repos.knownAccounts.get(tenant.cloudId ?? '', DEFAULT_ACCOUNTS.alice);
    assert.equal(seen?.source, 'webhook:page_created');

    const token = await gateway.connect.broker.tokenFor({ tenant, accountId: DEFAULT_ACCOUNTS.alice });
    const page = await fetch(`${token.apiBaseUrl}/api/v2/pages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token.accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'Written by the gateway as Alice', body: { representation: 'storage', value: '<p>y</p>' } }),
    });
    assert.equal(page.status, 200);
    assert.equal(((await page.json()) as { authorId: string }).authorId, DEFAULT_ACCOUNTS.alice);

    const metrics = await (await fetch(`${gatewayUrl}/metrics`)).text();
    assert.match(metrics, /onbehalf_token_grants_total\{route="connect",outcome="ok"\} 1/);

    const removed = await sandbox.sandbox.control.uninstallApp('acme', installed.ok ? installed.install.appKey : '');
    assert.ok(removed.ok);
    assert.equal(gateway.connect.broker.cacheSize, 0);
    await assert.rejects(findTenant(gateway.repos, 'acme'), (e: unknown) => isGatewayError(e, 'TENANT_UNINSTALLED'));
    const stale = await gateway.repos.tenants.get(tenant.id);
    assert.ok(stale);
    await assert.rejects(gateway.connect.broker.tokenFor({ tenant: stale, accountId: DEFAULT_ACCOUNTS.alice }), (e: unknown) => isGatewayError(e, 'TENANT_UNINSTALLED'));
  });
});
