import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tenant } from '../store/tenants-repo.js';
import { oneInstallPerSite } from './one-install-per-site.js';

const tenant = (id: string, over: Partial<Tenant>): Tenant => ({
  id,
  route: 'connect',
  appKey: 'onbehalf',
  tenantKey: `ck-${id}`,
  cloudId: null,
  baseUrl: 'http://127.0.0.1:4100/s/acme/wiki',
  displayUrl: null,
  oauthClientId: null,
  status: 'active',
  productType: 'confluence',
  payload: null,
  installedAt: 0,
  updatedAt: 0,
  uninstalledAt: null,
  purgeAfter: null,
  hasSharedSecret: true,
  ...over,
});

test('two installs of one site (same cloud id, two clientKeys) count once, the newest kept', () => {
  const acmeOld = tenant('a1', { cloudId: 'c-acme', installedAt: 1 });
  const acmeNew = tenant('a2', { cloudId: 'c-acme', installedAt: 5 });
  const globex = tenant('g1', { cloudId: 'c-globex', baseUrl: 'http://127.0.0.1:4100/s/globex/wiki', installedAt: 3 });
  assert.deepEqual(oneInstallPerSite([acmeNew, globex, acmeOld]).map((t) => t.id), ['g1', 'a2']);
});

test('while the cloud id is unknown the base URL names the site', () => {
  const a = tenant('a1', { installedAt: 1 });
  const b = tenant('a2', { installedAt: 2 });
  const other = tenant('x', { baseUrl: 'https://other.atlassian.net/wiki', installedAt: 3 });
  assert.deepEqual(oneInstallPerSite([a, b, other]).map((t) => t.id), ['a2', 'x']);
});
