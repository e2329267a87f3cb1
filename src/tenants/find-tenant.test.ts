import assert from 'node:assert/strict';
import { test } from 'node:test';
import { siteKeyOf } from './find-tenant.js';

test('siteKeyOf', () => {
  assert.equal(siteKeyOf('https://acme.atlassian.net/wiki'), 'acme');
  assert.equal(siteKeyOf('http://127.0.0.1:4100/s/acme/wiki'), 'acme');
  assert.equal(siteKeyOf('http://sandbox.test/s/glo%20bex/wiki/'), 'glo bex');
});
