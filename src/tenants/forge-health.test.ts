import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forgeAdvice, forgeTokenState } from './forge-health.js';

test('forge token state: refused installation, no token, expired, under an hour left, valid', () => {
  const now = 10 * 3_600_000;
  const rows: [Parameters<typeof forgeTokenState>[0], string][] = [
    [{ status: 'disabled', expiresAt: now + 5 * 3_600_000, hasToken: true, now }, 'rejected'],
    [{ status: 'active', expiresAt: undefined, hasToken: false, now }, 'missing'],
    [{ status: 'active', expiresAt: null, hasToken: true, now }, 'expired'],
    [{ status: 'active', expiresAt: now, hasToken: true, now }, 'expired'],
    [{ status: 'active', expiresAt: now + 3_599_999, hasToken: true, now }, 'expiring'],
    [{ status: 'active', expiresAt: now + 3_600_000, hasToken: true, now }, 'valid'],
  ];
  for (const [input, expected] of rows) assert.equal(forgeTokenState(input), expected, JSON.stringify(input));
  assert.equal(forgeAdvice('valid'), null);
  assert.match(forgeAdvice('expired')!, /hourly scheduled trigger.*reinstall/);
  assert.match(forgeAdvice('rejected')!, /uninstalled/);
  assert.match(forgeAdvice('missing')!, /appSystemToken/);
});
