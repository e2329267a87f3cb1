import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startForgeWorld } from '../testing/forge-test-kit.js';
import { startTestConnectAppServer } from '../testing/start-test-connect-app-server.js';
import { exampleForgeManifest } from './example-manifest.js';

type Installed = { key: string; clientKey: string; sharedSecret: string; installationId?: string; eventType: string; baseUrl: string };

describe('Connect-on-Forge (§10.8) over real HTTP', { timeout: 180_000 }, () => {
  test('a manifest with app.connect sends the Connect installed callback with the Forge installationId', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const info = await w.install({ connectKey: 'com.example.gateway', scopes: { 'read:app-system-token': false, 'read:page:confluence': true, 'act-as-user:connect-confluence': false, 'read:connect-confluence': false } });
    const connect = w.remote.received.find((r) => r.path === '/connect/installed')!;
    assert.ok(connect, 'the Connect installed callback reached the Connect remote');
    const body = connect.body as Installed;
    assert.equal(body.eventType, 'installed');
    assert.equal(body.key, 'com.example.gateway');
    assert.equal(body.installationId, info.installationId);
    assert.ok(body.clientKey && body.sharedSecret);
    assert.match(connect.headers['authorization'] ?? '', /^JWT /, 'signed like any Connect install');
    const c = w.sb.sandbox.control.installInfo('acme', 'com.example.gateway')!;
    assert.deepEqual([c.clientKey, c.installed, [...c.scopes].sort()], [body.clientKey, true, ['ACT_AS_USER', 'READ']]);
  });

  test("upgrading a site's Connect install to the Forge version keeps clientKey and sharedSecret", async (t) => {
    const w = await startForgeWorld();
    const connectApp = await startTestConnectAppServer();
    t.after(async () => {
      await connectApp.close();
      await w.close();
    });
    const installed = await w.post('/_sandbox/sites/acme/apps', { descriptorUrl: connectApp.testApp.descriptorUrl });
    assert.equal(installed.status, 201);
    const before = (await installed.json()) as { key: string; clientKey: string; sharedSecret: string };
    const manifest = exampleForgeManifest({ connectKey: before.key, baseUrl: w.remote.url });
    const wrongKey = await w.post(`/_sandbox/sites/acme/apps/${before.key}/upgrade-to-forge`, { manifest: exampleForgeManifest({ connectKey: 'com.example.other' }), remotes: { gateway: w.remote.url } });
    assert.equal(wrongKey.status, 400);
    const res = await w.post(`/_sandbox/sites/acme/apps/${before.key}/upgrade-to-forge`, { manifest });
    assert.equal(res.status, 201, await res.clone().text());
    const forge = (await res.json()) as { installationId: string; connectAppKey: string };
    assert.equal(forge.connectAppKey, before.key);
    const cb = w.remote.received.find((r) => r.path === '/connect/installed')!.body as Installed;
    assert.deepEqual([cb.clientKey, cb.sharedSecret, cb.installationId], [before.clientKey, before.sharedSecret, forge.installationId]);
    const after = w.sb.sandbox.control.installInfo('acme', before.key)!;
    assert.deepEqual([after.clientKey, after.sharedSecret, after.installed], [before.clientKey, before.sharedSecret, true]);
    // The Forge side works as well: the lifecycle trigger got the FIT of the new installation.
    const fit = await w.verifyFit(w.remote.received.find((r) => r.path === '/forge/lifecycle')!.headers['authorization'], 'ari:cloud:ecosystem::app/0c6e4a52-5c8a-4f53-9b1e-3a7d2f6b8e10');
    assert.equal((fit['app'] as { installationId: string }).installationId, forge.installationId);
    assert.equal((await w.post('/_sandbox/sites/acme/apps/com.example.none/upgrade-to-forge', { manifest })).status, 404);
  });
});
