import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPolicyInput } from './policy-input.js';

const scopes = { connect: ['READ', 'WRITE', 'ACT_AS_USER'], oauth: ['read:me', 'write:page:confluence'] };

test('policy input: valid edits pass, normalised; every problem is reported at once', () => {
  const cases: { input: Parameters<typeof checkPolicyInput>[0]; expect: ReturnType<typeof checkPolicyInput> }[] = [
    { input: { acting: 'linked_only', allowedScopes: { connect: null, oauth: null } }, expect: { ok: true, acting: 'linked_only', allowedScopes: {} } },
    { input: { acting: 'admin_mapped', allowedScopes: { connect: ['read', ' WRITE', 'READ'], oauth: null } }, expect: { ok: true, acting: 'admin_mapped', allowedScopes: { connect: ['READ', 'WRITE'] } } },
    { input: { acting: 'any_user', allowedScopes: { connect: null, oauth: ['read:me'] } }, expect: { ok: true, acting: 'any_user', allowedScopes: { oauth: ['read:me'] } } },
    {
      input: { acting: 'everyone', allowedScopes: { connect: ['ADMIN'], oauth: [] } },
      expect: {
        ok: false,
        problems: [
          { field: 'acting', message: 'Acting must be one of linked_only, admin_mapped, any_user.' },
          { field: 'connectScopes', message: 'Not configured for the connect route, so a policy cannot allow them: ADMIN.' },
          { field: 'oauthScopes', message: 'Pick at least one oauth scope, or keep the configured defaults.' },
        ],
      },
    },
    { input: { acting: 'linked_only', allowedScopes: { connect: 'READ', oauth: [1] } }, expect: { ok: false, problems: [{ field: 'connectScopes', message: 'The connect scopes must be a list of scope names.' }, { field: 'oauthScopes', message: 'The oauth scopes must be a list of scope names.' }] } },
    { input: { acting: 'linked_only', allowedScopes: { connect: null, oauth: ['READ:ME'] } }, expect: { ok: false, problems: [{ field: 'oauthScopes', message: 'Not configured for the oauth route, so a policy cannot allow them: READ:ME.' }] } },
  ];
  for (const c of cases) assert.deepEqual(checkPolicyInput(c.input, scopes), c.expect, JSON.stringify(c.input));
});
