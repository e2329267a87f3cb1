import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isGatewayError } from '../../src/errors.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { createConnectWorld } from '../support/connect-world.js';

async function world(env: Record<string, string>) {
  const w = await createConnectWorld(env);
  await w.install('acme');
  const cloudId = w.sandbox.control.discovery().sites.find((s) => s.key === 'acme')?.cloudId ?? '';
  // Accounts the gateway has seen on the site (as webhooks and iframe loads record them).
  for (const accountId of [DEFAULT_ACCOUNTS.alice, DEFAULT_ACCOUNTS.bob, DEFAULT_ACCOUNTS.carol]) {
    await w.gateway.repos.knownAccounts.record({ cloudId, accountId, source: 'webhook:page_created' });
  }
  return { w, cloudId };
}

describe('resolve emails to accounts, from evidence only', () => {
  test('with email access approved: /user/email/bulk over seen accounts, hidden emails included; unseen stay unresolved', { timeout: 180_000 }, async () => {
    const { w } = await world({ ONBEHALF_CONNECT_EMAIL_ACCESS: 'true' });
    try {
      const out = await w.gateway.linking.resolveEmails({
        site: 'acme',
        users: [{ email: 'Alice@Acme.example' }, { email: 'bob@acme.example' }, { email: 'dave@acme.example', externalUserId: 'crm-dave' }, { email: 'nobody@acme.example' }],
      });
      assert.deepEqual(out[0], { email: 'Alice@Acme.example', status: 'resolved', accountId: DEFAULT_ACCOUNTS.alice, via: 'email_api', externalUserId: null });
      assert.equal(out[1]?.status === 'resolved' && out[1].accountId, DEFAULT_ACCOUNTS.bob, 'an approved app sees emails users hide from search');
      const dave = out[2];
      assert.ok(dave?.status === 'unresolved', 'Dave was never seen on the site, so there is no evidence for him');
      assert.equal(dave.reason, 'no_evidence');
      assert.match(dave.linkUrl ?? '', /\/link\/obl_/);
      assert.equal((await w.gateway.linking.sessions.get(dave.linkSessionId ?? ''))?.emailHint, null, 'the email asked about is not stored in the session');
      assert.deepEqual(out[3], { email: 'nobody@acme.example', status: 'unresolved', reason: 'no_evidence', linkUrl: null, linkSessionId: null });
    } finally {
      await w.close();
    }
  });

  test('without approval the email API answers 400 and nothing is guessed (no display-name matching)', { timeout: 180_000 }, async () => {
    const { w } = await world({});
    try {
      const out = await w.gateway.linking.resolveEmails({ site: 'acme', users: [{ email: 'alice@acme.example', externalUserId: 'crm-alice' }] });
      assert.equal(out[0]?.status, 'unresolved');
      assert.equal(out[0]?.status === 'unresolved' && out[0].reason, 'email_api_not_approved');
      assert.ok(out[0]?.status === 'unresolved' && out[0].linkUrl);
      await assert.rejects(w.gateway.linking.resolveEmails({ site: 'acme', users: [{ email: 'Alice Admin' }] }), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED'));
      await assert.rejects(w.gateway.linking.resolveEmails({ site: 'nowhere', users: [{ email: 'a@b.c' }] }), (e: unknown) => isGatewayError(e, 'TENANT_NOT_FOUND'));
    } finally {
      await w.close();
    }
  });

  test('a named user who is already linked is answered with that link: no email_api_not_approved, no new link session (issue 15)', { timeout: 180_000 }, async () => {
    const { w, cloudId } = await world({});
    try {
      const link = await w.gateway.repos.links.create({ externalUserId: 'crm-alice', cloudId, accountId: DEFAULT_ACCOUNTS.alice, route: 'connect', scopes: ['READ'], status: 'linked', evidence: { kind: 'connect_consent' } });
      const calls = () => w.sandbox.control.counters.total('api_call');
      const before = calls();
      const out = await w.gateway.linking.resolveEmails({ site: 'acme', users: [{ email: 'alice@acme.example', externalUserId: 'crm-alice' }] });
      assert.deepEqual(out[0], { email: 'alice@acme.example', status: 'resolved', accountId: link.accountId, via: 'link', externalUserId: 'crm-alice' });
      assert.deepEqual(await w.gateway.repos.linkSessions.list({ externalUserId: 'crm-alice' }), [], 'no link session was opened');
      assert.equal(calls(), before, 'the email API was not asked');
      // Someone not linked in the same request is still handled as before.
      const mixed = await w.gateway.linking.resolveEmails({ site: 'acme', users: [{ email: 'alice@acme.example', externalUserId: 'crm-alice' }, { email: 'bob@acme.example', externalUserId: 'crm-bob' }] });
      assert.equal(mixed[0]?.status, 'resolved');
      assert.ok(mixed[1]?.status === 'unresolved' && mixed[1].reason === 'email_api_not_approved' && mixed[1].linkUrl);
    } finally {
      await w.close();
    }
  });

  test('a 3LO-verified email of a linked user resolves without the email API', { timeout: 180_000 }, async () => {
    const { w, cloudId } = await world({});
    try {
      await w.gateway.repos.links.create({ externalUserId: 'crm-carol', cloudId, accountId: DEFAULT_ACCOUNTS.carol, route: 'oauth', scopes: [], status: 'linked', evidence: { kind: 'oauth_me', email: 'carol@acme.example', emailVerified: true } });
      const out = await w.gateway.linking.resolveEmails({ site: 'acme', users: [{ email: 'carol@acme.example' }] });
      assert.deepEqual(out[0], { email: 'carol@acme.example', status: 'resolved', accountId: DEFAULT_ACCOUNTS.carol, via: 'oauth_me', externalUserId: 'crm-carol' });
    } finally {
      await w.close();
    }
  });
});
