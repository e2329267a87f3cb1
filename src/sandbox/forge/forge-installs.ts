import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { ConnectInstall, ConnectScope } from '../state/types.js';
import { isConnectScope } from '../auth/connect-scopes.js';
import { sendLifecycle } from '../connect/send-lifecycle.js';
import { clientKeyFor } from '../connect/client-key-for.js';
import { needsMajorVersion, parseForgeManifest } from './forge-manifest.js';
import { validateWithAtlassian } from './validate-manifest.js';
import { forgeApiBaseUrl } from './fit-claims.js';
import { revokeInstallationTokens } from './forge-tokens.js';
import type { ForgeDeliveries } from './forge-deliveries.js';
import type { ForgeAppVersion, ForgeEnvironmentType, ForgeInstallation } from './forge-types.js';

/**
 * Forge installations on a site (§10.2): install from a manifest, upgrade (a new major waits for the admin's
 * approval), uninstall (no event), reinstall (a new `installationId`, same cloudId), and Connect-on-Forge
 * (§10.8), where the Connect `installed` callback carries the Forge `installationId` and a site's existing
 * Connect install keeps its `clientKey` and `sharedSecret`.
 */

export interface DeployInput {
  manifest: string;
  /** remote key → base URL (remotes run on loopback here, not where the manifest says). */
  remotes?: Record<string, string> | undefined;
  /** resource key → local folder with the built Custom UI (what `forge deploy` would upload). */
  resources?: Record<string, string> | undefined;
}

export interface InstallInput extends DeployInput {
  environmentType?: ForgeEnvironmentType | undefined;
  installedBy?: string | undefined;
  distribution?: 'shared' | 'private' | undefined;
  contributors?: string[] | undefined;
}

export type ForgeResult<T> = { ok: true; value: T } | { ok: false; status: 400 | 404 | 409 | 502; code: string; message: string; errors?: string[] };

const fail = (status: 400 | 404 | 409 | 502, code: string, message: string, errors?: string[]): { ok: false; status: 400 | 404 | 409 | 502; code: string; message: string; errors?: string[] } => ({ ok: false, status, code, message, ...(errors ? { errors } : {}) });

/** Parses, validates (Atlassian's validators plus §10.1) and resolves remotes and resources of one deploy. */
export async function buildVersion(input: DeployInput, version: string): Promise<ForgeResult<ForgeAppVersion>> {
  const parsed = parseForgeManifest(input.manifest);
  const resources = parsed.ok ? parsed.manifest.resources : [];
  const atlassian = await validateWithAtlassian(input.manifest, resources, input.resources ?? {});
  const errors = [...(parsed.ok ? [] : parsed.errors), ...atlassian.errors.filter((e) => !(parsed.ok ? [] : parsed.errors).includes(e))];
  if (!parsed.ok || errors.length > 0) return fail(400, 'MANIFEST_INVALID', `manifest.yml is invalid: ${errors[0] ?? 'see errors'}`, errors);
  const manifest = parsed.manifest;
  const remoteUrls: Record<string, string> = {};
  for (const key of Object.keys(input.remotes ?? {})) {
    if (!manifest.remotes.some((r) => r.key === key)) return fail(400, 'MANIFEST_INVALID', `remotes override names "${key}", which the manifest does not declare`);
  }
  for (const r of manifest.remotes) {
    const url = input.remotes?.[r.key] ?? r.baseUrl;
    if (!url || !/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(url)) return fail(400, 'MANIFEST_INVALID', `remote "${r.key}" needs an absolute http(s) base URL (give one in "remotes")`);
    remoteUrls[r.key] = url.replace(/\/+$/, '');
  }
  const resourceDirs: Record<string, string> = {};
  for (const [key, dir] of Object.entries(input.resources ?? {})) {
    if (!manifest.resources.some((r) => r.key === key)) return fail(400, 'MANIFEST_INVALID', `resources names "${key}", which the manifest does not declare`);
    if (!existsSync(dir) || !statSync(dir).isDirectory() || !existsSync(join(dir, 'index.html'))) return fail(400, 'MANIFEST_INVALID', `resource "${key}": ${dir} is not a folder with an index.html`);
    resourceDirs[key] = dir;
  }
  return { ok: true, value: { version, manifestText: input.manifest, manifest, remoteUrls, resourceDirs } };
}

/** Environments are per app; the id is stable so a reinstall names the same one. */
function environmentId(appUuid: string, type: ForgeEnvironmentType): string {
  const h = createHash('sha256').update(`forge-env:${appUuid}:${type}`).digest('hex');
  return `ari:cloud:ecosystem::environment/${appUuid}/${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function findInstallation(deps: SandboxDeps, siteKey: string, app: string): ForgeInstallation | undefined {
  const appId = app.startsWith('ari:') ? app : `ari:cloud:ecosystem::app/${app}`;
  const all = [...deps.state.forgeInstallations.values()].filter((i) => i.siteKey === siteKey && i.appId === appId);
  return all.find((i) => i.installed) ?? all.sort((a, b) => b.installedAt - a.installedAt)[0];
}

export function installationInfo(deps: SandboxDeps, inst: ForgeInstallation): Record<string, unknown> {
  const site = deps.state.siteByKey(inst.siteKey)!;
  const manifest = inst.current.manifest;
  return {
    appId: inst.appId,
    environmentId: inst.environmentId,
    environmentType: inst.environmentType,
    installationId: inst.installationId,
    cloudId: site.cloudId,
    site: site.key,
    apiBaseUrl: forgeApiBaseUrl(deps, site.cloudId),
    version: inst.current.version,
    installed: inst.installed,
    appUserAccountId: inst.appUserAccountId,
    scopes: manifest.scopes,
    remotes: inst.current.remoteUrls,
    pendingUpgrade: inst.pendingUpgrade ? { version: inst.pendingUpgrade.version, scopes: inst.pendingUpgrade.manifest.scopes } : null,
    distribution: inst.distribution,
    contributors: inst.contributors,
    blockedUsers: inst.blockedUsers,
    systemTokenExpiresAt: inst.systemToken?.expiresAt ?? null,
    connectAppKey: inst.connectAppKey,
    pages: manifest.pages.map((p) => ({ type: p.type, key: p.key, title: p.title, url: pageUrl(deps, inst, p.route, p.type) })),
  };
}

/** Where a Forge page module is shown in the sandbox's Confluence (`/wiki/apps/<appId>/<envId>/<route>`). */
export function pageUrl(deps: SandboxDeps, inst: ForgeInstallation, route: string, type: string): string {
  const appUuid = inst.appId.split('/').pop()!;
  const envUuid = inst.environmentId.split('/').pop()!;
  const base = deps.urls.siteBaseUrl(inst.siteKey);
  return type === 'confluence:spacePage' ? `${base}/spaces/{spaceKey}/apps/${appUuid}/${envUuid}/${route}` : `${base}/apps/${appUuid}/${envUuid}/${route}`;
}

function lifecyclePayload(deps: SandboxDeps, inst: ForgeInstallation, event: 'installed' | 'upgraded', actor: string): Record<string, unknown> {
  const site = deps.state.siteByKey(inst.siteKey)!;
  const appUuid = inst.appId.split('/').pop()!;
  return {
    eventType: `avi:forge:${event}:app`,
    // The documented example carries bare UUIDs here; the FIT carries the ARIs (§10.2, §10.4).
    id: inst.installationId.split('/').pop(),
    [event === 'installed' ? 'installerAccountId' : 'upgraderAccountId']: actor,
    app: { id: appUuid, version: inst.current.version, name: inst.current.manifest.name ?? undefined, ownerAccountId: actor },
    environment: { id: inst.environmentId.split('/').pop() },
    ...(event === 'upgraded' ? { permissions: { scopes: inst.current.manifest.scopes.map((s) => s.name) } } : {}),
    context: { cloudId: site.cloudId },
  };
}

export function lifecycleTargets(inst: ForgeInstallation, event: string): { endpoint: string; moduleKey: string }[] {
  return inst.current.manifest.triggers.filter((t) => t.events.includes(event)).map((t) => ({ endpoint: t.endpoint, moduleKey: t.key }));
}

export async function installForgeApp(deps: SandboxDeps, deliveries: ForgeDeliveries, siteKey: string, input: InstallInput): Promise<ForgeResult<ForgeInstallation>> {
  const site = deps.state.siteByKey(siteKey);
  if (!site) return fail(404, 'SITE_NOT_FOUND', `site "${siteKey}" does not exist`);
  const built = await buildVersion(input, '1.0.0');
  if (!built.ok) return built;
  const manifest = built.value.manifest;
  const previous = findInstallation(deps, siteKey, manifest.appId);
  if (previous?.installed) return fail(409, 'ALREADY_INSTALLED', `app ${manifest.appId} is already installed on "${siteKey}" (installation ${previous.installationId}); upgrade or uninstall it first`);
  const admin = deps.state.usersOnSite(siteKey).find((u) => u.groups.includes('site-admins') && u.accountStatus === 'active');
  const installedBy = input.installedBy ?? admin?.accountId ?? '';
  const envType = input.environmentType ?? 'DEVELOPMENT';
  const appUserAccountId = previous?.appUserAccountId ?? `557058:${randomUUID()}`;
  if (!deps.state.users.has(appUserAccountId)) {
    deps.state.addUser({
      accountId: appUserAccountId,
      displayName: manifest.name ?? `Forge app ${manifest.appUuid.slice(0, 8)}`,
      email: `forge-${manifest.appUuid.slice(0, 8)}@connect.atlassian.com`,
      emailVisible: false,
      accountType: 'app',
      groups: ['atlassian-addons'],
      sites: [siteKey],
    });
  }
  const inst: ForgeInstallation = {
    installationId: `ari:cloud:ecosystem::installation/${randomUUID()}`,
    siteKey,
    appId: manifest.appId,
    environmentId: environmentId(manifest.appUuid, envType),
    environmentType: envType,
    current: previous ? { ...built.value, version: previous.current.version } : built.value,
    pendingUpgrade: null,
    installed: true,
    installedAt: deps.clock.now(),
    installedBy,
    appUserAccountId,
    distribution: input.distribution ?? previous?.distribution ?? 'shared',
    contributors: input.contributors ?? previous?.contributors ?? [installedBy].filter(Boolean),
    blockedUsers: previous?.blockedUsers ?? [],
    nextScheduledRun: {},
    systemToken: null,
    connectAppKey: null,
  };
  if (manifest.connect) {
    const connected = await connectOnForge(deps, inst);
    if (!connected.ok) return connected;
  }
  deps.state.forgeInstallations.set(inst.installationId, inst);
  // The `installed` event is delivered before the control call answers, so a test can assert on it at once.
  await deliveries.deliver(inst, 'avi:forge:installed:app', lifecycleTargets(inst, 'avi:forge:installed:app'), lifecyclePayload(deps, inst, 'installed', installedBy));
  return { ok: true, value: inst };
}

export async function deployUpgrade(deps: SandboxDeps, deliveries: ForgeDeliveries, inst: ForgeInstallation, input: DeployInput & { actor?: string | undefined }): Promise<ForgeResult<{ pendingApproval: boolean; version: string }>> {
  if (!inst.installed) return fail(409, 'NOT_INSTALLED', `installation ${inst.installationId} was uninstalled`);
  const [major, minor] = inst.current.version.split('.').map(Number) as [number, number];
  const probe = await buildVersion(input, inst.current.version);
  if (!probe.ok) return probe;
  if (probe.value.manifest.appId !== inst.appId) return fail(400, 'MANIFEST_INVALID', `the manifest is for ${probe.value.manifest.appId}, not ${inst.appId}`);
  if (needsMajorVersion(inst.current.manifest, probe.value.manifest)) {
    inst.pendingUpgrade = { ...probe.value, version: `${major + 1}.0.0` };
    return { ok: true, value: { pendingApproval: true, version: inst.pendingUpgrade.version } };
  }
  // A minor version rolls out at once and sends no event (§10.2: upgraded is for major versions only).
  inst.current = { ...probe.value, version: `${major}.${minor + 1}.0` };
  return { ok: true, value: { pendingApproval: false, version: inst.current.version } };
}

export async function approveUpgrade(deps: SandboxDeps, deliveries: ForgeDeliveries, inst: ForgeInstallation, actor: string | undefined): Promise<ForgeResult<ForgeInstallation>> {
  if (!inst.installed) return fail(409, 'NOT_INSTALLED', `installation ${inst.installationId} was uninstalled`);
  if (!inst.pendingUpgrade) return fail(409, 'NO_PENDING_UPGRADE', 'there is no upgrade waiting for approval');
  inst.current = inst.pendingUpgrade;
  inst.pendingUpgrade = null;
  // New scopes mean new tokens: Forge mints them for the approved scope set.
  revokeInstallationTokens(deps, inst.installationId);
  inst.systemToken = null;
  await deliveries.deliver(inst, 'avi:forge:upgraded:app', lifecycleTargets(inst, 'avi:forge:upgraded:app'), lifecyclePayload(deps, inst, 'upgraded', actor ?? inst.installedBy));
  return { ok: true, value: inst };
}

/** No event reaches the remote (FRGE-1246); its tokens stop working and its schedules stop. */
export function uninstallForgeApp(deps: SandboxDeps, deliveries: ForgeDeliveries, inst: ForgeInstallation): ForgeResult<ForgeInstallation> {
  if (!inst.installed) return fail(409, 'NOT_INSTALLED', `installation ${inst.installationId} is already uninstalled`);
  inst.installed = false;
  inst.systemToken = null;
  revokeInstallationTokens(deps, inst.installationId);
  deliveries.dropFor(inst.installationId);
  if (inst.connectAppKey) {
    const c = deps.state.installs.get(deps.state.installKey(inst.siteKey, inst.connectAppKey));
    if (c) {
      c.installed = false;
      c.enabled = false;
    }
  }
  return { ok: true, value: inst };
}

/** Uninstall then install the running version again: a new `installationId`, the same site and cloudId. */
export async function reinstallForgeApp(deps: SandboxDeps, deliveries: ForgeDeliveries, inst: ForgeInstallation): Promise<ForgeResult<ForgeInstallation>> {
  if (inst.installed) uninstallForgeApp(deps, deliveries, inst);
  return installForgeApp(deps, deliveries, inst.siteKey, {
    manifest: inst.current.manifestText,
    remotes: inst.current.remoteUrls,
    resources: inst.current.resourceDirs,
    environmentType: inst.environmentType,
    installedBy: inst.installedBy,
    distribution: inst.distribution,
    contributors: inst.contributors,
  });
}

/** `read:connect-confluence` → `READ` etc. (the reverse of C2F's mapping, §10.8). */
function connectScopesOf(inst: ForgeInstallation): ConnectScope[] {
  const out: ConnectScope[] = [];
  for (const s of inst.current.manifest.scopes) {
    if (!s.name.endsWith(':connect-confluence')) continue;
    const upper = s.name.slice(0, -':connect-confluence'.length).toUpperCase().replace(/-/g, '_');
    if (isConnectScope(upper)) out.push(upper);
  }
  return out;
}

/**
 * Connect-on-Forge (§10.8): the Connect `installed` callback goes to the Connect remote with `installationId`
 * added. A site whose Connect install of the same key exists keeps its `clientKey` and `sharedSecret`.
 */
async function connectOnForge(deps: SandboxDeps, inst: ForgeInstallation): Promise<ForgeResult<null>> {
  const connect = inst.current.manifest.connect!;
  const key = deps.state.installKey(inst.siteKey, connect.key);
  const existing = deps.state.installs.get(key);
  const baseUrl = inst.current.remoteUrls[connect.remote]!;
  const scopes = connectScopesOf(inst);
  const candidate: ConnectInstall = {
    siteKey: inst.siteKey,
    appKey: connect.key,
    clientKey: existing?.clientKey ?? clientKeyFor(deps.state.siteByKey(inst.siteKey)!.cloudId, connect.key),
    sharedSecret: existing?.sharedSecret ?? randomBytes(32).toString('base64url'),
    oauthClientId: existing?.oauthClientId ?? (scopes.includes('ACT_AS_USER') ? randomBytes(16).toString('hex') : null),
    descriptorUrl: existing?.descriptorUrl ?? `${baseUrl}/atlassian-connect.json`,
    descriptor: existing && existing.installed
      ? // The Connect modules now live at the manifest's Connect remote.
        { ...existing.descriptor, baseUrl, lifecycle: { ...existing.descriptor.lifecycle, ...connect.lifecycle } }
      : { key: connect.key, ...(inst.current.manifest.name ? { name: inst.current.manifest.name } : {}), baseUrl, authentication: { type: 'jwt' }, lifecycle: connect.lifecycle, scopes, modules: {} },
    scopes: existing?.installed ? existing.scopes : scopes,
    enabled: true,
    installed: true,
    appUserAccountId: existing?.appUserAccountId ?? inst.appUserAccountId,
    installMode: 'signed',
    emailApproved: existing?.emailApproved ?? scopes.includes('ACCESS_EMAIL_ADDRESSES'),
    installedAt: deps.clock.now(),
    installedBy: inst.installedBy,
    forgeInstallationId: inst.installationId,
  };
  const outcome = await sendLifecycle(deps, candidate, 'installed', { kind: 'rs256' });
  if (outcome.sent && (outcome.status === null || (outcome.status !== 200 && outcome.status !== 204))) {
    return fail(502, 'INSTALL_REFUSED', `the Connect remote's installed endpoint answered ${outcome.status === null ? `nothing (${outcome.error ?? 'unreachable'})` : `HTTP ${outcome.status}`}; only 200 or 204 complete an install`);
  }
  deps.state.installs.set(key, candidate);
  inst.connectAppKey = connect.key;
  return { ok: true, value: null };
}

/** The control call behind "a site's Connect install is upgraded to the Forge version" (§10.8). */
export async function upgradeConnectToForge(deps: SandboxDeps, deliveries: ForgeDeliveries, siteKey: string, appKey: string, input: InstallInput): Promise<ForgeResult<ForgeInstallation>> {
  const existing = deps.state.installs.get(deps.state.installKey(siteKey, appKey));
  if (!existing?.installed) return fail(404, 'NOT_FOUND', `Connect app "${appKey}" is not installed on "${siteKey}"`);
  const parsed = parseForgeManifest(input.manifest);
  if (parsed.ok && parsed.manifest.connect?.key !== appKey) {
    return fail(400, 'MANIFEST_INVALID', `app.connect.key must be "${appKey}" (the Connect key of the installed app) to take over its install`);
  }
  return installForgeApp(deps, deliveries, siteKey, input);
}
