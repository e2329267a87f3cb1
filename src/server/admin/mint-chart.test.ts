import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mintSummary, tokensText } from './mint-chart.js';

test('the chart\'s sentence counts in the right number ("1 token", never "1 tokens")', () => {
  assert.equal(tokensText(0), '0 tokens');
  assert.equal(tokensText(1), '1 token');
  assert.equal(tokensText(2), '2 tokens');
  const minute = Date.UTC(2026, 11, 3, 9, 41);
  assert.equal(mintSummary(1, 0, { minute, connect: 1, oauth: 0 }), '1 token minted in the last hour: 1 by Connect impersonation, 0 by OAuth 2.0 (3LO). Busiest minute 09:41 UTC with 1 token.');
  assert.equal(mintSummary(3, 2, { minute, connect: 2, oauth: 1 }), '5 tokens minted in the last hour: 3 by Connect impersonation, 2 by OAuth 2.0 (3LO). Busiest minute 09:41 UTC with 3 tokens.');
  assert.equal(mintSummary(0, 0, undefined), 'No tokens were minted in the last hour.');
});
