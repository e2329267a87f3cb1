import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseForgeManifest, needsMajorVersion } from './forge-manifest.js';
import { validateWithAtlassian } from './validate-manifest.js';
import { exampleForgeManifest, EXAMPLE_APP_ID } from './example-manifest.js';

const errorsOf = (text: string): string[] => {
  const r = parseForgeManifest(text);
  return r.ok ? [] : r.errors;
};

/** Broken variants of the example, each breaking one rule of protocol doc §10.1. */
const BROKEN: [string, string, RegExp][] = [
  ['trigger endpoint without a route', exampleForgeManifest().replace('      route:\n        path: /forge/events\n', ''), /gateway-events.*needs route\.path/],
  // FMAN checks this for `trigger` only; the Forge docs require it for scheduled triggers too (§10.1).
  ['scheduled-trigger endpoint without a route', exampleForgeManifest().replace('      route:\n        path: /forge/tick\n', ''), /gateway-tick.*needs route\.path/],
  [
    'trigger endpoint with a user token',
    exampleForgeManifest().replace('      route:\n        path: /forge/events\n      auth:\n', '      route:\n        path: /forge/events\n      auth:\n        appUserToken:\n          enabled: true\n'),
    /only support appSystemToken/,
  ],
  ['tokens without a product scope', exampleForgeManifest({ scopes: { 'read:app-system-token': false, 'read:app-user-token': false } }), /Missing app scopes/],
  ['connectModules without app.connect', `${exampleForgeManifest()}connectModules:\n  confluence:lifecycle:\n    - key: l\n      installed: /i\n`, /app\.connect\.remote is required/],
  ['app id that is not an ARI', exampleForgeManifest({ appId: '0c6e4a52-5c8a-4f53-9b1e-3a7d2f6b8e10' }), /app\.id must be an app ARI/],
  ['endpoint naming an unknown remote', exampleForgeManifest().replace('    - key: gateway-tick\n      remote: gateway', '    - key: gateway-tick\n      remote: elsewhere'), /remote "elsewhere" is not declared/],
];

describe('Forge manifest (the sandbox reads what forge deploy reads)', () => {
  test('the example parses into remotes, endpoints, triggers, pages and scopes with allowImpersonation', () => {
    const r = parseForgeManifest(exampleForgeManifest({ baseUrl: 'https://gw.example.com' }));
    assert.ok(r.ok, JSON.stringify(r));
    const m = r.manifest;
    assert.equal(m.appId, EXAMPLE_APP_ID);
    assert.deepEqual(m.remotes.map((x) => [x.key, x.baseUrl]), [['gateway', 'https://gw.example.com']]);
    assert.deepEqual(m.endpoints.find((e) => e.key === 'gateway-ui')?.auth, { appSystemToken: true, appUserToken: true });
    assert.equal(m.endpoints.find((e) => e.key === 'gateway-tick')?.routePath, '/forge/tick');
    assert.deepEqual(m.scheduledTriggers, [{ key: 'token-keepalive', endpoint: 'gateway-tick', interval: 'hour' }]);
    assert.deepEqual(m.pages.map((p) => [p.type, p.route, p.resolverEndpoint]), [['confluence:globalPage', 'link-account', 'gateway-ui'], ['confluence:spacePage', 'space-link', 'gateway-ui']]);
    assert.equal(m.scopes.find((s) => s.name === 'write:confluence-content')?.allowImpersonation, true);
    assert.equal(m.scopes.find((s) => s.name === 'read:app-system-token')?.allowImpersonation, false);
    assert.equal(m.connect, null);
  });

  test('the list form of scopes is read too, and YAML errors are reported, not thrown', () => {
    const list = exampleForgeManifest().replace(/permissions:\n {2}scopes:\n[\s\S]*$/, 'permissions:\n  scopes:\n    - read:app-system-token\n    - read:page:confluence\n');
    const r = parseForgeManifest(list);
    assert.ok(r.ok);
    assert.deepEqual(r.manifest.scopes, [{ name: 'read:app-system-token', allowImpersonation: false }, { name: 'read:page:confluence', allowImpersonation: false }]);
    assert.match(errorsOf('app: [unclosed')[0] ?? '', /not valid YAML/);
  });

  for (const [name, text, expected] of BROKEN) {
    test(`refused: ${name}`, () => {
      const errors = errorsOf(text);
      assert.ok(errors.some((e) => expected.test(e)), errors.join('\n'));
    });
  }

  test('a new major version is needed when remotes, endpoints or scopes change, not for a title', () => {
    const a = parseForgeManifest(exampleForgeManifest());
    const b = parseForgeManifest(exampleForgeManifest({ scopes: { 'read:app-system-token': false, 'read:page:confluence': true } }));
    const c = parseForgeManifest(exampleForgeManifest().replace('title: Connect your account\n', 'title: Link your account\n'));
    assert.ok(a.ok && b.ok && c.ok);
    assert.equal(needsMajorVersion(a.manifest, b.manifest), true);
    assert.equal(needsMajorVersion(a.manifest, c.manifest), false);
  });

  test("Atlassian's @forge/manifest validator accepts the examples and rejects the broken ones", { timeout: 120_000 }, async () => {
    for (const text of [exampleForgeManifest(), exampleForgeManifest({ connectKey: 'com.example.gateway' })]) {
      const r = await validateWithAtlassian(text, [{ key: 'ui', path: 'static/ui' }], {});
      assert.equal(r.available, true);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.warnings, []);
    }
    // The rules the sandbox applies itself come from these validators: each broken example fails there too
    // (one is the sandbox's own: FMAN checks endpoint routes on `trigger` modules only).
    const ownRules = ['scheduled-trigger endpoint without a route'];
    for (const [name, text] of BROKEN.filter(([n]) => !ownRules.includes(n))) {
      const r = await validateWithAtlassian(text, [{ key: 'ui', path: 'static/ui' }], {});
      assert.ok(r.errors.length > 0, `@forge/manifest accepted: ${name}`);
    }
  });
});
