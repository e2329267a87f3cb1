import { randomBytes, randomUUID } from 'node:crypto';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { ConnectInstall, InstallMode } from '../state/types.js';
import { clientKeyFor } from './client-key-for.js';
import { parseDescriptor } from './descriptor-schema.js';
import { sendLifecycle } from './send-lifecycle.js';

export interface InstallAppInput {
  siteKey: string;
  descriptorUrl: string;
  mode?: InstallMode | undefined;
  /** accountId of the admin doing the install (the `sub` of the install JWT); defaults to a site admin. */
  installedBy?: string | undefined;
  /** Override "approved for email" (default: the descriptor declares ACCESS_EMAIL_ADDRESSES). */
  emailApproved?: boolean | undefined;
}

export type InstallErrorCode = 'SITE_NOT_FOUND' | 'DESCRIPTOR_FETCH_FAILED' | 'DESCRIPTOR_INVALID' | 'INSTALL_REFUSED' | 'INSTALL_UNREACHABLE';

export type InstallAppResult =
  | { ok: true; install: ConnectInstall }
  | { ok: false; code: InstallErrorCode; message: string; status?: number | undefined };

/**
 * Installs a Connect app the way the product does: fetch and validate the descriptor, then POST `installed`
 * (RS256 with `kid` in signed mode; unsigned first install and HS256-with-old-secret re-installs in legacy
 * mode). The install only counts when the app answers 200 or 204.
 */
export async function installApp(deps: SandboxDeps, input: InstallAppInput): Promise<InstallAppResult> {
  const { state } = deps;
  const site = state.siteByKey(input.siteKey);
  if (!site) return { ok: false, code: 'SITE_NOT_FOUND', message: `site "${input.siteKey}" does not exist` };
  let raw: unknown;
  try {
    const res = await deps.outboundFetch(input.descriptorUrl, { headers: { accept: 'application/json' } });
    if (!res.ok) return { ok: false, code: 'DESCRIPTOR_FETCH_FAILED', message: `descriptor fetch answered HTTP ${res.status}`, status: res.status };
    raw = await res.json();
  } catch (e) {
    return { ok: false, code: 'DESCRIPTOR_FETCH_FAILED', message: `descriptor fetch failed: ${(e as Error).message}` };
  }
  const parsed = parseDescriptor(raw);
  if (!parsed.ok) return { ok: false, code: 'DESCRIPTOR_INVALID', message: parsed.message };
  const { descriptor, scopes } = parsed;
  const mode = input.mode ?? deps.settings.installMode;
  const key = state.installKey(site.key, descriptor.key);
  const existing = state.installs.get(key);
  const admin = state.usersOnSite(site.key).find((u) => u.groups.includes('site-admins') && u.accountStatus === 'active');
  const installedBy = input.installedBy ?? admin?.accountId ?? '';

  // The app user is created only once the install succeeds (see below).
  const needsAppUser = !existing?.appUserAccountId || !state.users.has(existing.appUserAccountId);
  const appUserAccountId = needsAppUser ? `557058:${randomUUID()}` : existing!.appUserAccountId;
  const wantsOauth = scopes.includes('ACT_AS_USER');
  const candidate: ConnectInstall = {
    siteKey: site.key,
    appKey: descriptor.key,
    clientKey: existing?.clientKey ?? clientKeyFor(site.cloudId, descriptor.key),
    // Signed installs get a fresh secret each time [I]; legacy re-installs keep the old one (§2.4).
    sharedSecret: mode === 'legacy' && existing ? existing.sharedSecret : randomBytes(32).toString('base64url'),
    oauthClientId: wantsOauth ? (existing?.oauthClientId ?? randomBytes(16).toString('hex')) : null,
    descriptorUrl: input.descriptorUrl,
    descriptor,
    scopes,
    enabled: true,
    installed: true,
    appUserAccountId,
    installMode: mode,
    emailApproved: input.emailApproved ?? scopes.includes('ACCESS_EMAIL_ADDRESSES'),
    installedAt: deps.clock.now(),
    installedBy,
    forgeInstallationId: existing?.forgeInstallationId ?? null,
  };
  const auth =
    mode === 'signed'
      ? ({ kind: 'rs256' } as const)
      : existing?.installed
        ? ({ kind: 'hs256', secret: existing.sharedSecret } as const)
        : ({ kind: 'none' } as const);
  const outcome = await sendLifecycle(deps, candidate, 'installed', auth);
  if (outcome.sent) {
    if (outcome.status === null) return { ok: false, code: 'INSTALL_UNREACHABLE', message: `the app's installed endpoint could not be reached: ${outcome.error ?? 'unknown error'}` };
    if (outcome.status !== 200 && outcome.status !== 204) {
      return { ok: false, code: 'INSTALL_REFUSED', message: `the app's installed endpoint answered HTTP ${outcome.status} (only 200 or 204 complete an install)`, status: outcome.status };
    }
  }
  if (needsAppUser) {
    state.addUser({
      accountId: appUserAccountId,
      displayName: descriptor.name ?? descriptor.key,
      email: `${descriptor.key.replace(/[^a-z0-9]/gi, '-')}@connect.atlassian.com`,
      emailVisible: false,
      accountType: 'app',
      groups: ['atlassian-addons'],
      sites: [site.key],
    });
  }
  state.installs.set(key, candidate);
  await sendLifecycle(deps, candidate, 'enabled', { kind: 'hs256', secret: candidate.sharedSecret });
  return { ok: true, install: candidate };
}

export type LifecycleChangeResult = { ok: true; install: ConnectInstall; callbackStatus: number | null } | { ok: false; message: string };

export async function setAppEnabled(deps: SandboxDeps, siteKey: string, appKey: string, enabled: boolean): Promise<LifecycleChangeResult> {
  const install = deps.state.installs.get(deps.state.installKey(siteKey, appKey));
  if (!install || !install.installed) return { ok: false, message: `app "${appKey}" is not installed on "${siteKey}"` };
  install.enabled = enabled;
  const out = await sendLifecycle(deps, install, enabled ? 'enabled' : 'disabled', { kind: 'hs256', secret: install.sharedSecret });
  return { ok: true, install, callbackStatus: out.status };
}

export async function uninstallApp(deps: SandboxDeps, siteKey: string, appKey: string): Promise<LifecycleChangeResult> {
  const install = deps.state.installs.get(deps.state.installKey(siteKey, appKey));
  if (!install || !install.installed) return { ok: false, message: `app "${appKey}" is not installed on "${siteKey}"` };
  install.installed = false;
  install.enabled = false;
  for (const [token, t] of deps.state.impersonationTokens) if (t.siteKey === siteKey && t.appKey === appKey) deps.state.impersonationTokens.delete(token);
  const out = await sendLifecycle(
    deps,
    install,
    'uninstalled',
    install.installMode === 'signed' ? { kind: 'rs256' } : { kind: 'hs256', secret: install.sharedSecret },
  );
  return { ok: true, install, callbackStatus: out.status };
}
