import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forgeAppManifest } from '../../src/tenants/forge-app-manifest.js';
import type { UserAgent } from './user-agent.js';

const repoRoot = new URL('../..', import.meta.url).pathname;
let built: Record<string, string> | undefined;

/** The shipped Custom UI (forge-app/src), built by forge-app/build.mjs into a fresh folder once per process. */
export function buildShippedForgeApp(): Record<string, string> {
  if (built) return built;
  const out = mkdtempSync(join(tmpdir(), 'onbehalf-forge-app-'));
  const r = spawnSync(process.execPath, [join(repoRoot, 'forge-app/build.mjs'), '--out', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`forge-app/build.mjs failed: ${r.stderr}`);
  built = { 'connect-account': join(out, 'connect-account'), settings: join(out, 'settings') };
  return built;
}

export interface ShippedInstall {
  appId: string;
  installationId: string;
  environmentId: string;
  cloudId: string;
  pages: { type: string; key: string; url: string }[];
}

/** Installs the shipped Forge app (the rendered manifest, the built resources) into a sandbox site, as `forge install` would. */
export async function installShippedForgeApp(sandboxUrl: string, site: string, gatewayUrl: string, appId: string): Promise<ShippedInstall> {
  const manifest = forgeAppManifest({ gatewayUrl, appId, allowHttp: true });
  const res = await fetch(`${sandboxUrl}/_sandbox/sites/${site}/forge-apps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ manifest, resources: buildShippedForgeApp(), distribution: 'shared' }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`installing the shipped Forge app answered ${res.status}: ${text}`);
  return JSON.parse(text) as ShippedInstall;
}

/**
 * What the page's `invokeRemote` does, from a signed-in user agent: the sandbox's bridge endpoint of that page
 * (the host page's script calls it), which sends the call to the gateway with a FIT naming the user.
 */
export async function invokeFromPage(ua: UserAgent, pageUrl: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const u = new URL(pageUrl);
  const res = await ua.fetch(`${u.origin}${u.pathname}/_bridge/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-onbehalf-sandbox-bridge': '1' },
    body: JSON.stringify({ invokeType: 'ui-remote-fetch', path, method: 'POST', headers: { 'content-type': 'application/json' }, body }),
  });
  const out = (await res.json()) as { success?: boolean; payload?: { status: number; body: Record<string, unknown> }; error?: { message?: string }; message?: string };
  if (!out.success || !out.payload) throw new Error(`invokeRemote failed: ${JSON.stringify(out)}`);
  return { status: out.payload.status, body: out.payload.body ?? {} };
}
