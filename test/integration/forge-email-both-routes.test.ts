import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createApiWorld, GATEWAY_ORIGIN } from '../api/support/api-world.js';
import { exampleForgeManifest, EXAMPLE_APP_ID, EXAMPLE_SCOPES } from '../../src/sandbox/forge/example-manifest.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';

/**
 * A site with both a Connect install and the Forge app (the gateway is both): the Forge email index answers
 * first; the Connect email API is asked for the rest; a Forge index that cannot be built leaves the answer
 * to the Connect side instead of failing the whole request.
 */
describe('resolve by email on a site with Connect and Forge', { timeout: 120_000 }, () => {
  test('the Forge index answers first (the Connect app is not approved for email); its failure falls back to Connect', async (t) => {
    const w = await createApiWorld({ ONBEHALF_FORGE_APP_ID: EXAMPLE_APP_ID });
    t.after(() => w.close());
    const installed = await w.sandbox.forge.install('acme', { manifest: exampleForgeManifest({ baseUrl: GATEWAY_ORIGIN }) });
    assert.ok(installed.ok, JSON.stringify(installed));
    await w.settle();
    const both = await w.gateway.repos.tenants.findByCloudId(w.cloudId);
    assert.deepEqual(both.map((x) => x.route).sort(), ['connect', 'forge']);
    const out = await w.gateway.linking.resolveEmails({ site: 'acme', users: [{ email: 'bob@acme.example' }, { email: 'nobody@acme.example' }] });
    assert.deepEqual(out[0], { email: 'bob@acme.example', status: 'resolved', accountId: DEFAULT_ACCOUNTS.bob, via: 'email_index', externalUserId: null });
    assert.ok(out[1]?.status === 'unresolved' && out[1].reason === 'no_evidence', 'the index speaks for the site: not "email_api_not_approved"');
  });

  test('a Forge app without the email scope: no error, the Connect email API decides (here: not approved)', async (t) => {
    const w = await createApiWorld({ ONBEHALF_FORGE_APP_ID: EXAMPLE_APP_ID });
    t.after(() => w.close());
    const scopes = { ...EXAMPLE_SCOPES };
    delete scopes['read:email-address:confluence'];
    const installed = await w.sandbox.forge.install('acme', { manifest: exampleForgeManifest({ baseUrl: GATEWAY_ORIGIN, scopes }) });
    assert.ok(installed.ok);
    await w.settle();
    await w.gateway.repos.knownAccounts.record({ cloudId: w.cloudId, accountId: DEFAULT_ACCOUNTS.bob, source: 'webhook:page_created' });
    const out = await w.gateway.linking.resolveEmails({ site: 'acme', users: [{ email: 'bob@acme.example', externalUserId: 'crm-bob' }] });
    assert.ok(out[0]?.status === 'unresolved', JSON.stringify(out));
    assert.equal(out[0].reason, 'email_api_not_approved');
    assert.match(out[0].linkUrl ?? '', /\/link\/obl_/);
  });
});
