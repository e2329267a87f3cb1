import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSeed } from './seed-schema.js';
import { defaultSeed } from './default-seed.js';
import { createSandboxState } from '../state/create-sandbox-state.js';
import { createManualClock } from '../../clock.js';

describe('seed', () => {
  test('the default seed: 2 sites, 8 users incl. inactive, app and hidden-email users, a restricted page', () => {
    const seed = parseSeed(defaultSeed);
    assert.equal(seed.sites.length, 2);
    assert.equal(seed.users.length, 8);
    assert.ok(seed.users.some((u) => u.accountStatus === 'inactive'));
    assert.ok(seed.users.some((u) => u.accountType === 'app'));
    assert.ok(seed.users.filter((u) => !u.emailVisible).length >= 2);
    assert.ok(seed.pages.some((p) => (p.restrictions?.read?.users.length ?? 0) > 0));
  });
  test('the default seed builds the same world twice (deterministic ids)', () => {
    const a = createSandboxState(parseSeed(defaultSeed), createManualClock());
    const b = createSandboxState(parseSeed(defaultSeed), createManualClock());
    assert.deepEqual([...a.pages.keys()], [...b.pages.keys()]);
    assert.deepEqual([...a.sites.values()].map((s) => s.cloudId), [...b.sites.values()].map((s) => s.cloudId));
    assert.equal(a.spaceByKey('acme', 'ENG')!.homepageId, '98305');
    assert.equal(a.pages.get('98309')!.parentId, '98308');
  });
  const bad: [string, unknown, RegExp][] = [
    ['no sites', { sites: [] }, /sites/],
    ['bad email', { sites: [{ key: 'a' }], users: [{ accountId: 'x', displayName: 'X', email: 'nope' }] }, /users\[0\]\.email/],
    ['unknown field', { sites: [{ key: 'a', colour: 'red' }] }, /sites\[0\]/],
    ['user on unknown site', { sites: [{ key: 'a' }], users: [{ accountId: 'x', displayName: 'X', email: 'x@example.com', sites: ['b'] }] }, /users\[0\]\.sites: unknown site "b"/],
    ['page in unknown space', { sites: [{ key: 'a' }], users: [{ accountId: 'x', displayName: 'X', email: 'x@example.com' }], pages: [{ site: 'a', space: 'NOPE', title: 't', authorAccountId: 'x' }] }, /pages\[0\]\.space/],
    ['duplicate site', { sites: [{ key: 'a' }, { key: 'a' }] }, /duplicate site key/],
    ['bad cloudId', { sites: [{ key: 'a', cloudId: 'xyz' }] }, /sites\[0\]\.cloudId/],
  ];
  for (const [name, input, message] of bad) {
    test(`rejects: ${name}`, () => assert.throws(() => parseSeed(input), message));
  }
});
