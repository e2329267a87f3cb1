import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GATEWAY_ORIGIN, createConnectWorld, type ConnectWorld } from '../support/connect-world.js';

/**
 * Issue 15, defect 1: after a restart the sandbox installed the gateway again under a new clientKey, the
 * gateway kept both installs active, and every link page showed a chooser listing the same site twice.
 * Atlassian does the same when data is imported into a site (a new clientKey for a known base URL), so the
 * gateway must cope whatever the sandbox does: the newer install supersedes the older one, links kept.
 */
describe('a second install of the app on the same site supersedes the first', () => {
  let w: ConnectWorld;
  let cloudId: string;
  let baseUrl: string;
  before(async () => {
    w = await createConnectWorld();
    const site = w.sandbox.control.discovery().sites.find((s) => s.key === 'acme');
    cloudId = site?.cloudId ?? '';
    baseUrl = site?.baseUrl ?? '';
  }, { timeout: 120_000 });
  after(async () => {
    await w.close();
  }, { timeout: 120_000 });

  test('the older install is folded into the newer one: one active install, the link moved, an audit entry', { timeout: 180_000 }, async () => {
    // What a data folder written before the fix holds: an install under a clientKey the sandbox no longer gives.
    const repos = w.gateway.repos;
    const old = await repos.tenants.upsert({ route: 'connect', appKey: 'com.example.onbehalf', tenantKey: 'client-key-from-an-earlier-run', baseUrl, cloudId, sharedSecret: 'old-secret' });
    const link = await repos.links.create({ externalUserId: 'app-user-bob', cloudId, accountId: 'acc-bob', route: 'connect', scopes: ['READ'], status: 'linked', evidence: { kind: 'test' }, tenantId: old.id });

    const installed = await w.install('acme');

    const connect = (await repos.tenants.list()).filter((t) => t.route === 'connect');
    assert.deepEqual(
      connect.map((t) => [t.tenantKey, t.status]),
      [[installed.clientKey, 'active']],
    );
    const current = connect[0];
    assert.equal((await repos.links.get(link.id))?.tenantId, current?.id, 'the link now hangs off the current install');
    assert.equal((await repos.links.get(link.id))?.status, 'linked');
    const audit = await repos.audit.query({ action: 'tenant.superseded' });
    assert.equal(audit.length, 1);
    assert.equal(audit[0]?.data?.['previousClientKey'], 'client-key-from-an-earlier-run');
    assert.equal(audit[0]?.data?.['linksMoved'], 1);
    assert.ok(!JSON.stringify(audit).includes('old-secret'));
  });

  test('a link session then goes straight to the site: no chooser', { timeout: 180_000 }, async () => {
    const started = await w.gateway.linking.sessions.start({ externalUserId: 'app-user-carol', route: 'connect', returnUrl: 'https://app.example/back' });
    const res = await w.fetch(started.url, { redirect: 'manual' });
    assert.equal(res.status, 302, await res.clone().text());
    assert.match(res.headers.get('location') ?? '', /\/s\/acme\/wiki\/plugins\/servlet\/ac\//);
    assert.ok(started.url.startsWith(GATEWAY_ORIGIN));
  });
});
