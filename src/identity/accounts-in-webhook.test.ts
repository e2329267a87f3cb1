import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accountsInWebhook } from './accounts-in-webhook.js';

test('the captured page_updated body (protocol doc §4.2) yields its actor', () => {
  const body = {
    userAccountId: '557058:d092c978-5ab7-4c8a-8d87-32ffac22c584',
    accountType: 'customer',
    updateTrigger: 'edit_page',
    page: { creatorAccountId: '557058:d092c978-5ab7-4c8a-8d87-32ffac22c584', lastModifierAccountId: '557058:d092c978-5ab7-4c8a-8d87-32ffac22c584', id: 1188560897, title: 'Telstra Stuff' },
    timestamp: 1631606188983,
  };
  assert.deepEqual(accountsInWebhook(body), [{ accountId: '557058:d092c978-5ab7-4c8a-8d87-32ffac22c584', role: 'actor' }]);
});

test('actor, creator and last modifier are all captured, each once', () => {
  const body = { userAccountId: 'a:1', page: { creatorAccountId: 'a:2', lastModifierAccountId: 'a:3' } };
  assert.deepEqual(accountsInWebhook(body).map((a) => [a.accountId, a.role]), [
    ['a:1', 'actor'],
    ['a:2', 'creator'],
    ['a:3', 'last_modifier'],
  ]);
});

test('content events carry full user objects with names', () => {
  const body = { content: { version: { by: { accountId: 'a:9', displayName: 'Nine', publicName: 'nine' } }, history: { createdBy: { accountId: 'a:8', displayName: 'Eight' } } } };
  assert.deepEqual(accountsInWebhook(body), [
    { accountId: 'a:9', role: 'version_author', displayName: 'Nine', publicName: 'nine' },
    { accountId: 'a:8', role: 'creator', displayName: 'Eight' },
  ]);
});

test('junk yields nothing', () => {
  for (const body of [null, 'x', 42, [], { userAccountId: 5 }, { page: 'p' }, { userAccountId: '' }, { userAccountId: 'x'.repeat(500) }]) {
    assert.deepEqual(accountsInWebhook(body), [], JSON.stringify(body));
  }
});
