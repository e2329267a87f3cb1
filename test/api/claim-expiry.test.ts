import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { GATEWAY_ORIGIN, SANDBOX_ORIGIN, clickAllow, createApiWorld, type ApiWorld } from './support/api-world.js';

type Json = Record<string, any>;

/**
 * Issue 15, defect 6: a forwarded-link claim nobody confirmed stayed `pending_confirmation` after its
 * deadline (holding the account) until something happened to touch it. Every read must show it lapsed.
 */
describe('a lapsed claim reads as expired everywhere at once', () => {
  let w: ApiWorld;
  let key: string;
  before(async () => {
    w = await createApiWorld();
    key = await w.apiKey();
  }, { timeout: 120_000 });
  after(async () => {
    await w.close();
  }, { timeout: 120_000 });

  async function get(path: string): Promise<Json> {
    const res = await w.gateway.app.request(`${GATEWAY_ORIGIN}${path}`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(res.status, 200, path);
    return (await res.json()) as Json;
  }

  test('after the deadline: the session is expired, the link revoked (confirmation_expired), the counts hold no claim, the account is free', { timeout: 180_000 }, async () => {
    const res = await w.gateway.app.request(`${GATEWAY_ORIGIN}/v1/link-sessions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ externalUserId: 'app-forwarded', site: 'acme', returnUrl: 'https://app.example/back' }),
    });
    const started = (await res.json()) as Json;
    const back = await clickAllow(w.fetch, SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.dave, started['url']);
    assert.equal(back.status, 'pending_confirmation');
    assert.equal((await get(`/v1/link-sessions/${started['id']}`))['status'], 'pending_confirmation');
    assert.equal((await w.gateway.repos.links.countByStatus())['pending_confirmation'], 1);

    // Nothing but the clock moves: no decision, no confirm, no new claim for the account.
    w.sandbox.clock.advance(11 * 60_000);

    assert.equal((await get(`/v1/link-sessions/${started['id']}`))['status'], 'expired');
    const links = (await get('/v1/links?externalUserId=app-forwarded'))['links'] as Json[];
    assert.equal(links.length, 1);
    assert.equal(links[0]?.['status'], 'revoked');
    assert.equal((await w.gateway.repos.links.countByStatus())['pending_confirmation'] ?? 0, 0, 'the console overview counts no claim');
    assert.deepEqual(
      (await w.gateway.repos.linkSessions.list({ externalUserId: 'app-forwarded' })).map((s) => s.status),
      ['expired'],
      'the console list of link sessions shows it expired',
    );
    assert.equal(await w.gateway.repos.links.liveForAccount(w.cloudId, DEFAULT_ACCOUNTS.dave), undefined, 'the account is no longer claimed');
    const audit = await w.gateway.repos.audit.query({ action: 'link.revoked', externalUserId: 'app-forwarded' });
    assert.deepEqual(audit.map((a) => a.reason), ['confirmation_expired'], 'one audit entry, however many reads saw it');
    await get(`/v1/link-sessions/${started['id']}`);
    assert.equal((await w.gateway.repos.audit.query({ action: 'link.revoked', externalUserId: 'app-forwarded' })).length, 1);
  });
});
