import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalQuery } from '../src/atlassian/canonical-request.js';
import { createCanonicalRequest } from '../src/sandbox/jwt/canonical-request.js';

/**
 * The gateway's canonicaliser and the sandbox's are written apart on purpose (one bug must not hide in
 * both), so only a test outside both can hold them to the same answer. Issue 15, defect 10: keys that need
 * percent-encoding next to plain keys were ordered differently by the two.
 */
const queries = ['z=1&%C3%BC=2&a=3', 'Z=1&%5B=2&a=3', '~=1&%C3%A9=2', 'limit=5&expand%5B%5D=body&b=1', 'a%20b=1&a=2&a-b=3&A=4', '%E2%82%AC=1&%7E=2&_=3&-=4'];

for (const q of queries) {
  test(`gateway and sandbox give one canonical query for ${q}`, () => {
    assert.equal(createCanonicalRequest({ method: 'GET', url: `/p?${q}` }), `GET&/p&${canonicalQuery(q)}`);
  });
}
