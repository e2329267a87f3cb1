import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { runCli } from '../../src/cli/run-cli.js';
import { validateWithAtlassian } from '../../src/sandbox/forge/validate-manifest.js';
import { FORGE_IMPERSONATION_SCOPES, forgeAppManifest } from '../../src/tenants/forge-app-manifest.js';
import { buildShippedForgeApp } from '../support/forge-app.js';

const repoRoot = new URL('../..', import.meta.url).pathname;
const PLACEHOLDER = { gatewayUrl: 'https://gateway.example.com', appId: 'ari:cloud:ecosystem::app/00000000-0000-0000-0000-000000000000' };
const REAL = { gatewayUrl: 'https://onbehalf.example.org/gw', appId: '3f2b8c1e-9d4a-4b7e-8f60-1a2b3c4d5e6f' };

type Manifest = { resources: { key: string; path: string }[]; modules: Record<string, { key: string; auth?: { appUserToken?: { enabled: boolean } } }[]>; remotes: { baseUrl: string }[]; permissions: { scopes: Record<string, { allowImpersonation?: boolean }> } };

async function run(args: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { env, cwd: repoRoot, out: (l) => out.push(l), err: (l) => err.push(l), stopSignal: new Promise(() => {}) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** What ships: forge-app/manifest.yml, the renderer behind `onbehalf forge manifest`, and the built Custom UI. */
describe('the shipped Forge app', { timeout: 120_000 }, () => {
  test("passes @forge/manifest's validators (what forge lint runs) with the built resources", async () => {
    const text = forgeAppManifest(REAL);
    const m = parse(text) as Manifest;
    const resources = buildShippedForgeApp();
    const result = await validateWithAtlassian(text, m.resources, resources);
    assert.equal(result.available, true, '@forge/manifest is installed (a devDependency)');
    assert.deepEqual(result.errors, []);
    // The check can fail: a scheduled trigger at an interval Forge does not offer.
    const broken = text.replace('interval: hour', 'interval: minute');
    assert.notEqual(broken, text);
    const refused = await validateWithAtlassian(broken, m.resources, resources);
    assert.ok(refused.errors.length > 0, 'a broken manifest is reported');
  });

  test('forge-app/manifest.yml is the renderer output for the placeholder gateway and app id', () => {
    assert.equal(readFileSync(`${repoRoot}forge-app/manifest.yml`, 'utf8'), forgeAppManifest(PLACEHOLDER), 'run: npx tsx src/cli/main.ts forge manifest --gateway-url https://gateway.example.com --app-id ari:cloud:ecosystem::app/00000000-0000-0000-0000-000000000000 --out forge-app/manifest.yml');
  });

  test('the rendered manifest: the gateway as remote, impersonation on what it acts with, no user token on triggers', () => {
    const m = parse(forgeAppManifest(REAL)) as Manifest & { app: { id: string } };
    assert.equal(m.app.id, `ari:cloud:ecosystem::app/${REAL.appId}`);
    assert.equal(m.remotes[0]?.baseUrl, REAL.gatewayUrl);
    for (const s of FORGE_IMPERSONATION_SCOPES) assert.equal(m.permissions.scopes[s]?.allowImpersonation, true, s);
    assert.deepEqual(m.permissions.scopes['read:app-system-token'], {});
    const triggers = new Set((m.modules['trigger'] ?? []).concat(m.modules['scheduledTrigger'] ?? []).map((t) => (t as unknown as { endpoint: string }).endpoint));
    for (const e of m.modules['endpoint'] ?? []) assert.equal(Boolean(e.auth?.appUserToken?.enabled), !triggers.has(e.key), e.key);
  });

  test('onbehalf forge manifest prints or writes it, and refuses a bad URL or app id', async () => {
    const ok = await run(['forge', 'manifest', '--gateway-url', REAL.gatewayUrl, '--app-id', REAL.appId]);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(`${ok.out}\n`, forgeAppManifest(REAL));
    const fromEnv = await run(['forge', 'manifest'], { ONBEHALF_BASE_URL: REAL.gatewayUrl, ONBEHALF_FORGE_APP_ID: REAL.appId });
    assert.equal(fromEnv.out, ok.out);
    for (const args of [
      ['--gateway-url', 'http://gateway.example.com', '--app-id', REAL.appId],
      ['--gateway-url', 'https://gateway.example.com/?x=1', '--app-id', REAL.appId],
      ['--gateway-url', REAL.gatewayUrl, '--app-id', 'com.example.app'],
      ['--gateway-url', REAL.gatewayUrl],
    ]) {
      const bad = await run(['forge', 'manifest', ...args]);
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.err}`);
      assert.equal(bad.out, '', 'nothing printed');
    }
    const http = await run(['forge', 'manifest', '--gateway-url', 'http://127.0.0.1:4000', '--app-id', REAL.appId, '--allow-http']);
    assert.equal(http.code, 0);
    const help = await run(['forge', 'manifest', '--help']);
    assert.match(help.out + help.err, /--gateway-url URL/);
  });
});
