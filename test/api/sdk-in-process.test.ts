import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OnbehalfApiError, createClient, getPage, type OnbehalfClient } from '../../src/client/index.js';
import { isGatewayError } from '../../src/errors.js';
import { createStore } from '../../src/store/create-store.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { GATEWAY_ORIGIN, SANDBOX_ORIGIN, clickAllow, createApiWorld, type ApiWorld } from './support/api-world.js';

/** The SDK against the gateway in process (its fetch is the world's router), every method once. */
describe('SDK methods', () => {
  let w: ApiWorld;
  let sdk: OnbehalfClient;
  before(async () => {
    w = await createApiWorld();
    sdk = createClient({ baseUrl: GATEWAY_ORIGIN, apiKey: await w.apiKey(), fetch: w.fetch });
  }, { timeout: 120_000 });
  after(async () => {
    await w.close();
  }, { timeout: 120_000 });

  test('links, sessions, tokens, resolve and events round-trip with their wire types', { timeout: 180_000 }, async () => {
    const s = await sdk.links.start({ externalUserId: 'sdk-bob', site: 'acme', returnUrl: 'https://app.example/x' });
    const back = await clickAllow(w.fetch, SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.bob, s.url);
    await assert.rejects(sdk.links.confirm(s.id, { code: 'obc_nope' }), (e: unknown) => e instanceof OnbehalfApiError && e.status === 400 && e.code === 'LINK_SESSION_INVALID');
    const link = await sdk.links.confirm(s.id, { code: back.code ?? '' });
    assert.equal((await sdk.links.get(link.id)).accountId, DEFAULT_ACCOUNTS.bob);
    assert.equal((await sdk.links.list({ accountId: DEFAULT_ACCOUNTS.bob })).length, 1);
    const t = await sdk.tokens.get({ externalUserId: 'sdk-bob', site: 'acme' });
    assert.ok(Date.parse(t.expiresAt) > 0);
    const r = await sdk.resolve({ site: 'acme', users: [{ email: 'nobody@acme.example' }] });
    assert.equal(r[0]?.status, 'unresolved');
    const page1 = await sdk.events.list({ limit: 1 });
    assert.equal(page1.events.length, 1);
    const all = [];
    for await (const e of sdk.events.iterate({ limit: 1 })) all.push(e);
    assert.ok(all.length >= 2);
    assert.deepEqual(
      all.map((e) => Number(e.id)),
      all.map((e) => Number(e.id)).sort((a, b) => a - b),
    );
  });

  test('asUser().fetch returns Confluence answers of any status, throws only for the gateway\'s refusals', { timeout: 180_000 }, async () => {
    const bob = sdk.asUser('sdk-bob', { site: 'acme' });
    const missing = await bob.fetch('/api/v2/pages/424242');
    assert.equal(missing.status, 404, 'a Confluence 404 is a Response, not an exception');
    assert.equal(missing.headers.get('x-onbehalf-upstream'), 'confluence');
    await assert.rejects(getPage(bob, '424242'), (e: unknown) => isGatewayError(e, 'NOT_FOUND'), 'the typed helper maps it to a code');
    const head = await bob.fetch('/rest/api/user/current', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    await assert.rejects(sdk.asUser('sdk-nobody', { site: 'acme' }).fetch('/rest/api/user/current'), (e: unknown) => e instanceof OnbehalfApiError && e.code === 'USER_NOT_LINKED' && typeof e.details?.['linkUrl'] === 'string');
    await assert.rejects(sdk.asUser('sdk-bob', { site: 'nowhere' }).fetch('/rest/api/user/current'), (e: unknown) => e instanceof OnbehalfApiError && e.status === 404 && e.code === 'TENANT_NOT_FOUND');
    // Special characters in ids and sites are encoded as one path segment each.
    await assert.rejects(sdk.asUser('a/b', { site: 'acme' }).fetch('/rest/api/user/current'), (e: unknown) => e instanceof OnbehalfApiError && e.code === 'USER_NOT_LINKED');
  });

  test('embedded: a client the app keeps stops at a revocation (at once in this process, within the bound from another)', { timeout: 180_000 }, async () => {
    const link = async (externalUserId: string, accountId: string) => {
      const s = await sdk.links.start({ externalUserId, site: 'acme', returnUrl: 'https://app.example/x' });
      const back = await clickAllow(w.fetch, SANDBOX_ORIGIN, accountId, s.url);
      return sdk.links.confirm(s.id, { code: back.code ?? '' });
    };
    const carol = await link('keep-carol', DEFAULT_ACCOUNTS.carol);
    const kept = await w.gateway.asUser({ site: 'acme', externalUserId: 'keep-carol' });
    assert.equal((await kept.fetch('/rest/api/user/current')).status, 200);
    await w.gateway.linking.links.revoke({ linkId: carol.id, actorType: 'app' });
    const refused = (e: unknown) => isGatewayError(e, 'USER_NOT_LINKED');
    await assert.rejects(kept.fetch('/rest/api/user/current'), refused, 'revoked in this process: refused on the next call');
    await assert.rejects(kept.fetch('/rest/api/user/current'), refused, 'and on every call after it');

    // Another instance revokes: a write to the shared database through a connection of its own. The
    // clocks stand still, so only the change watcher can bring the news (no re-check interval runs out).
    const dave = await link('keep-dave', DEFAULT_ACCOUNTS.dave);
    const keptDave = await w.gateway.asUser({ site: 'acme', externalUserId: 'keep-dave' });
    assert.equal((await keptDave.fetch('/rest/api/user/current')).status, 200);
    const other = createStore(w.gateway.config.database);
    try {
      await other.db.updateTable('links').set({ status: 'revoked', revoked_at: w.sandbox.clock.now() }).where('id', '=', dave.id).execute();
    } finally {
      await other.close();
    }
    const until = Date.now() + 15_000;
    for (;;) {
      const outcome = await keptDave.fetch('/rest/api/user/current').then(
        () => 'acted',
        (e: unknown) => (refused(e) ? 'refused' : String(e)),
      );
      if (outcome === 'refused') break;
      assert.equal(outcome, 'acted');
      assert.ok(Date.now() < until, 'the kept client was not refused within 15 s');
      await new Promise((r) => setTimeout(r, 25));
    }
  });
});
