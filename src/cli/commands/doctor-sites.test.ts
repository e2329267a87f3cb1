import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../../clock.js';
import { loadConfig } from '../../config.js';
import { EXAMPLE_APP_ID } from '../../sandbox/forge/example-manifest.js';
import { createStore } from '../../store/create-store.js';
import { loadKeyring } from '../../store/keyring.js';
import { createRepositories } from '../../store/repositories.js';
import { createSecretBox } from '../../store/secret-box.js';
import { systemTokenKey } from '../../tenants/forge-installation.js';
import { runCli } from '../run-cli.js';

async function cli(args: string[], env: Record<string, string>, cwd: string) {
  const out: string[] = [];
  const code = await runCli(args, { env, cwd, out: (l) => out.push(l), err: (l) => out.push(l), stopSignal: new Promise(() => {}) });
  return { code, out: out.join('\n') };
}

const HOUR = 3_600_000;

test('doctor says which routes each site has and what is missing: Connect only, Connect + Forge, Forge token expired or never seen, 3LO only, Forge not configured', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onbehalf-doctor-'));
  const env = { ONBEHALF_FORGE_APP_ID: EXAMPLE_APP_ID };
  assert.equal((await cli(['migrate'], env, dir)).code, 0);
  const config = loadConfig(env, {}, dir);
  const store = createStore(config.database);
  const repos = createRepositories({ store, box: createSecretBox(loadKeyring(config.keys).keyring), clock: systemClock });
  const now = Date.now();
  const connect = (site: string) => repos.tenants.upsert({ route: 'connect', appKey: config.connect.appKey, tenantKey: `ck-${site}`, cloudId: `cloud-${site}`, baseUrl: `https://${site}.atlassian.net/wiki`, sharedSecret: 'a-shared-secret' });
  const forge = (site: string, appKey = EXAMPLE_APP_ID) =>
    repos.tenants.upsert({ route: 'forge', appKey, tenantKey: `ari:cloud:ecosystem::installation/${site}`, cloudId: `cloud-${site}`, baseUrl: `https://api.atlassian.com/ex/confluence/cloud-${site}/wiki`, payload: {} });
  await connect('acme');
  await connect('globex');
  const globex = await forge('globex');
  await repos.tokens.put(systemTokenKey(globex), { token: 'system-token-globex', expiresAt: now + 3 * HOUR });
  const initech = await forge('initech');
  await repos.tokens.put(systemTokenKey(initech), { token: 'system-token-initech', expiresAt: now - 10 * 60_000 });
  await forge('umbrella');
  await repos.tenants.upsert({ route: 'oauth', appKey: 'client-3lo', tenantKey: 'cloud-hooli', cloudId: 'cloud-hooli', baseUrl: 'https://hooli.atlassian.net/wiki' });
  await store.close();

  const r = await cli(['doctor'], env, dir);
  assert.equal(r.code, 0, r.out);
  const lines = r.out.split('\n');
  const about = (site: string) => lines.filter((l) => l.includes(`${site}.atlassian.net`) || l.includes(`cloud-${site}`)).join('\n');
  assert.doesNotMatch(r.out, /Forge route off/);
  assert.match(about('acme'), /ok +site acme \(https:\/\/acme\.atlassian\.net\/wiki\): routes Connect\n/);
  assert.match(about('acme'), /warn {4}acme .*: Connect only: Connect support ends 31 January 2027; install the Forge version of the app on this site/);
  assert.match(about('globex'), /ok +site globex .*: routes Connect, Forge$/);
  assert.match(about('initech'), /warn +site site cloud-initech: routes none/);
  assert.match(about('initech'), /Forge expired \(system token expires .*\): .*Wait for the hourly scheduled trigger; .*reinstall it/);
  assert.match(about('umbrella'), /Forge missing: No app system token has arrived yet/);
  assert.match(about('hooli'), /ok +site hooli .*: routes 3LO/);
  assert.match(about('hooli'), /3LO only: acts only as users who consented themselves/);
  assert.doesNotMatch(r.out, /system-token-|a-shared-secret/, 'no secret is printed');

  // Without the Forge app id: the route is off, and the recorded Forge installations say so.
  const off = await cli(['doctor'], {}, dir);
  assert.equal(off.code, 0, off.out);
  assert.match(off.out, /warn +Forge route off \(ONBEHALF_FORGE_APP_ID is not set\)/);
  assert.match(off.out, /globex .*: routes Connect\n/);
  assert.match(off.out, /globex .*: a Forge installation is recorded \(ari:cloud:ecosystem::app\/[0-9a-f-]+\), but ONBEHALF_FORGE_APP_ID is not set/);
  assert.match(off.out, /acme .*: Connect only: .*set up the Forge route \(ONBEHALF_FORGE_APP_ID\) and upgrade the install to the Forge version/);
});
