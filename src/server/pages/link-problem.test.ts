import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../errors.js';
import { connectAbilities, siteLabel } from './connect-link-page.js';
import { describeLinkProblem } from './link-problem.js';
import { oauthAbilities } from './oauth-pages.js';

test('describeLinkProblem: every linking failure gets its own title and a next step', () => {
  const cases: [GatewayError, string, RegExp][] = [
    [new GatewayError('LINK_SESSION_EXPIRED', 'This link has expired.'), 'This link has expired', /new link/],
    [new GatewayError('LINK_SESSION_INVALID', 'This link was already used.', { details: { status: 'linked' } }), 'This link was already used', /nothing more to do/],
    [new GatewayError('LINK_SESSION_INVALID', 'This sign-in was already completed.', { details: { reason: 'state_replayed' } }), 'This link was already used', /nothing more to do/],
    [new GatewayError('LINK_SESSION_INVALID', 'This link is not valid.'), 'This link is not valid', /whole link/],
    [new GatewayError('LINK_SESSION_INVALID', 'Made for another site.', { details: { reason: 'wrong_site' } }), 'This link is for another site', /signed in to the Confluence site/],
    [new GatewayError('LINK_SESSION_INVALID', 'No site.', { details: { reason: 'no_sites' } }), 'No Confluence site to connect', /admin/],
    [new GatewayError('LINK_SESSION_INVALID', 'Unknown state.', { details: { reason: 'unknown_state' } }), 'This sign-in cannot be finished', /new link/],
    [new GatewayError('LINK_CONFLICT', 'Already linked to another user.'), 'Already linked to someone else', /Connected apps/],
    [new GatewayError('ATLASSIAN_UNAVAILABLE', 'Down.'), 'Atlassian did not answer', /Try again/],
    [new GatewayError('INTERNAL', 'Broke.'), 'Linking did not complete', /new link/],
  ];
  for (const [error, title, next] of cases) {
    const p = describeLinkProblem(error, 'Acme CRM');
    assert.equal(p.title, title, error.message);
    assert.match(p.next, next, title);
    assert.ok(p.message.length > 0);
  }
  assert.match(describeLinkProblem(new GatewayError('LINK_SESSION_EXPIRED', 'x'), 'Acme CRM').message, /Acme CRM/, 'names the app');
});

test('abilities come from the scopes, in plain words, without repeats; unknown scopes are named as they are', () => {
  assert.deepEqual(connectAbilities(['READ']), ['See your name and account ID on this site.', 'Read the pages, blog posts and comments you can read.']);
  assert.ok(connectAbilities(['READ', 'WRITE', 'ACT_AS_USER']).some((a) => /as the author/.test(a)));
  assert.ok(!connectAbilities(['READ']).some((a) => /as the author/.test(a)), 'no write words without WRITE');
  const o = oauthAbilities(['read:page:confluence', 'read:confluence-content.all', 'write:page:confluence', 'offline_access', 'manage:jira-project']);
  assert.equal(o.filter((a) => /^Read the pages/.test(a)).length, 1);
  assert.ok(o.some((a) => /as the author/.test(a)));
  assert.ok(o.includes('Use the "manage:jira-project" permission.'));
});

test('siteLabel: the host for Atlassian Cloud, host and path where one host serves several sites', () => {
  assert.equal(siteLabel('https://acme.atlassian.net/wiki'), 'acme.atlassian.net');
  assert.equal(siteLabel('http://127.0.0.1:4100/s/acme/wiki'), '127.0.0.1:4100/s/acme');
});
