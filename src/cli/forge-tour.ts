import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Gateway } from '../gateway.js';
import type { SandboxServer } from '../sandbox/index.js';
import { DEFAULT_ACCOUNTS } from '../sandbox/index.js';
import { forgeAppManifest } from '../tenants/forge-app-manifest.js';

/** The Forge app id `npm start` gives its gateway when none is configured (the sandbox accepts any). */
export const DEMO_FORGE_APP_ID = 'ari:cloud:ecosystem::app/0b5e7a3c-41d2-4c6f-9e88-5a1f3d7c2b60';
/** The site of the Forge part of the tour; the first site keeps the Connect part. */
export const FORGE_TOUR_SITE = 'globex';

// src/cli and dist/cli both sit two levels under the package root.
const forgeAppDir = fileURLToPath(new URL('../../forge-app/', import.meta.url));
const RESOURCES = ['connect-account', 'settings'] as const;

/** The built Custom UI folders (`npm ci` builds them); built now when missing and esbuild is at hand. */
function builtResources(): Record<string, string> | string {
  const dirs = Object.fromEntries(RESOURCES.map((r) => [r, `${forgeAppDir}static/${r}/build`]));
  const missing = () => Object.values(dirs).some((d) => !existsSync(`${d}/index.html`));
  if (missing() && existsSync(`${forgeAppDir}build.mjs`)) spawnSync(process.execPath, [`${forgeAppDir}build.mjs`], { stdio: 'ignore' });
  return missing() ? 'the Forge app is not built (run: npm run forge-app:build)' : dirs;
}

/**
 * The Forge part of `npm start`: the shipped Forge app (forge-app/, its manifest rendered for this gateway)
 * installed into the sandbox's second site, a one-click link session for Bob on its "Connect your account"
 * page, and that site's policy set to `any_user` so a user who never connected is acted as with an offline
 * token. Answers the tour lines, or one line saying why the Forge part is left out.
 */
export async function forgeTour(sandbox: SandboxServer, gateway: Gateway, options: { url: string; apiKey: string; step: number }): Promise<string[]> {
  const appId = gateway.config.forge.appId;
  const site = sandbox.sandbox.control.discovery().sites.find((s) => s.key === FORGE_TOUR_SITE);
  if (!appId || !site) return [];
  const resources = builtResources();
  if (typeof resources === 'string') return ['', `  Forge route: left out, ${resources}.`];
  const manifest = forgeAppManifest({ gatewayUrl: gateway.config.server.baseUrl, appId, allowHttp: true });
  const installed = await sandbox.sandbox.forge.install(site.key, { manifest, resources, distribution: 'shared' });
  if (!installed.ok) return ['', `  Forge route: installing the Forge app failed: ${installed.message}`];
  await sandbox.sandbox.forge.deliveries.flush();
  await gateway.background.drain();
  // A demo site: anyone the app may impersonate, so the tour can act without a link. Real sites choose.
  await gateway.repos.policies.set(site.cloudId, { acting: 'any_user' }, null);
  const users = sandbox.sandbox.control.discovery().users;
  const name = (id: string) => users.find((u) => u.accountId === id)?.displayName ?? id;
  const n = options.step;
  const lines = ['', `  The Forge app (forge-app/, manifest rendered for this gateway) is installed on "${site.key}"; the gateway is its remote.`];
  const linked = await gateway.repos.links.liveForUser(site.cloudId, 'demo-bob');
  if (linked?.status === 'linked') {
    lines.push('', `  ${n}. Done: demo-bob is linked to ${name(linked.accountId)} on ${site.key} through the Forge page (route ${linked.route}).`);
  } else {
    const session = await gateway.linking.sessions.start({ externalUserId: 'demo-bob', route: 'connect', cloudId: site.cloudId, requireConfirmation: false, ttlMs: 3_600_000 });
    lines.push('', `  ${n}. Link "demo-bob" on the Forge page: sign in as ${name(DEFAULT_ACCOUNTS.bob)}, open`, `     ${session.url}`, `     and click Allow on "Connect your account" (valid for an hour). Then act as him (offline token):`);
  }
  lines.push(
    `     curl -H "Authorization: Bearer ${options.apiKey}" ${options.url}/v1/act/demo-bob/${site.key}/rest/api/user/current`,
    '',
    `  ${n + 1}. "${site.key}" allows any_user (set for this demo): act as ${name(DEFAULT_ACCOUNTS.carol)}, who never connected, with an offline token:`,
    `     curl -X POST -H "Authorization: Bearer ${options.apiKey}" -H "Content-Type: application/json" -d '{"accountId":"${DEFAULT_ACCOUNTS.carol}","site":"${site.key}"}' ${options.url}/v1/tokens`,
    `     Site admins set the policy and map accounts on the app's settings page (sign in as ${name(DEFAULT_ACCOUNTS.frank)}):`,
    `     ${await settingsPage(sandbox, site.key, appId)}`,
  );
  return lines;
}

/** The settings page's address, as the sandbox's control API reports the installation's pages. */
async function settingsPage(sandbox: SandboxServer, siteKey: string, appId: string): Promise<string> {
  const res = await fetch(`${sandbox.url}/_sandbox/sites/${siteKey}/forge-apps/${encodeURIComponent(appId)}`);
  const info = (await res.json()) as { pages?: { type: string; url: string }[] };
  return info.pages?.find((p) => p.type === 'confluence:globalSettings')?.url ?? `${sandbox.url}/login`;
}
