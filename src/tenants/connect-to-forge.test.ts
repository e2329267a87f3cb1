import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore } from '../store/test-support/open-test-store.js';
import { connectInstallOf, forgeInstallationNamed, moveConnectLinksToForge } from './connect-to-forge.js';

const INSTALLATION = 'ari:cloud:ecosystem::installation/0a3a7799-53ae-4a5b-9e7e-03338980abb5';

for (const backend of testBackends()) {
  test(`Connect-on-Forge link move, either event first, only the named installation's site (${backend.name})`, async (t) => {
    const s = await openTestStore(backend);
    t.after(() => s.close());
    const { repos } = s;
    // The Forge installation is seen first; the Connect install does not name it yet.
    const forge = await repos.tenants.upsert({ route: 'forge', appKey: 'ari:cloud:ecosystem::app/x', tenantKey: INSTALLATION, cloudId: 'cloud-a', baseUrl: 'https://api.example/ex/confluence/cloud-a/wiki', payload: {} });
    let connect = await repos.tenants.upsert({ route: 'connect', appKey: 'com.example', tenantKey: 'ck-a', cloudId: 'cloud-a', baseUrl: 'https://a.example/wiki', sharedSecret: 'x'.repeat(32), payload: {} });
    const other = await repos.tenants.upsert({ route: 'connect', appKey: 'com.example', tenantKey: 'ck-b', cloudId: 'cloud-b', baseUrl: 'https://b.example/wiki', sharedSecret: 'y'.repeat(32), payload: {} });
    const mk = (user: string, cloudId: string, route: 'connect' | 'admin' | 'oauth', tenantId: string) =>
      repos.links.create({ externalUserId: user, cloudId, accountId: `acc-${user}`, route, scopes: [], status: 'linked', evidence: { user }, tenantId });
    const consented = await mk('u1', 'cloud-a', 'connect', connect.id);
    const mapped = await mk('u2', 'cloud-a', 'admin', connect.id);
    const threeLo = await mk('u3', 'cloud-a', 'oauth', connect.id);
    const elsewhere = await mk('u4', 'cloud-b', 'connect', other.id);

    assert.equal(await connectInstallOf(repos, forge), undefined, 'no Connect install names it yet');
    assert.equal(await moveConnectLinksToForge(repos, { connect, forge }), null, 'nothing moves without the installationId');

    // Then the Connect installed callback names the installation (the Connect side finds the pair).
    connect = await repos.tenants.upsert({ route: 'connect', appKey: 'com.example', tenantKey: 'ck-a', cloudId: 'cloud-a', baseUrl: 'https://a.example/wiki', sharedSecret: 'x'.repeat(32), payload: { installationId: INSTALLATION } });
    const named = await forgeInstallationNamed(repos, connect);
    assert.equal(named?.id, forge.id);
    assert.equal((await connectInstallOf(repos, forge))?.id, connect.id);
    assert.deepEqual(await moveConnectLinksToForge(repos, { connect, forge: named! }), { consented: 1, adminMapped: 1 });

    const after = async (id: string) => {
      const l = (await repos.links.get(id))!;
      return [l.route, l.tenantId, l.status, l.evidence['user']];
    };
    assert.deepEqual(await after(consented.id), ['forge', forge.id, 'linked', 'u1']);
    assert.deepEqual(await after(mapped.id), ['admin', forge.id, 'linked', 'u2']);
    assert.deepEqual(await after(threeLo.id), ['oauth', connect.id, 'linked', 'u3'], "a user's own 3LO grant stays on 3LO");
    assert.deepEqual(await after(elsewhere.id), ['connect', other.id, 'linked', 'u4'], 'another site is untouched');
    const [entry] = await repos.audit.query({ action: 'links.moved_to_forge' });
    assert.deepEqual(entry?.data, { clientKey: 'ck-a', installationId: INSTALLATION, linksMoved: 1, adminLinksMoved: 1 });

    // A Connect install naming another site's installation moves nothing.
    const wrongSite = await repos.tenants.upsert({ route: 'connect', appKey: 'com.example', tenantKey: 'ck-b', cloudId: 'cloud-b', baseUrl: 'https://b.example/wiki', sharedSecret: 'y'.repeat(32), payload: { installationId: INSTALLATION } });
    assert.equal(await moveConnectLinksToForge(repos, { connect: wrongSite, forge }), null);
    assert.deepEqual(await after(elsewhere.id), ['connect', other.id, 'linked', 'u4']);
  });
}
