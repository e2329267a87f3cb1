import type { SandboxDeps } from '../sandbox-deps.js';
import type { ConnectInstall } from '../state/types.js';
import { computeQsh } from '../jwt/canonical-request.js';
import { signHmacJwt } from '../jwt/hs256.js';
import { appContextPath, joinAppUrl } from './descriptor-schema.js';

export type LifecycleEvent = 'installed' | 'uninstalled' | 'enabled' | 'disabled';

export interface LifecycleOutcome {
  sent: boolean;
  status: number | null;
  error: string | null;
}

/** The lifecycle payload (§2.3). `sharedSecret` only on `installed`. */
export function lifecyclePayload(deps: SandboxDeps, install: ConnectInstall, event: LifecycleEvent): Record<string, unknown> {
  const site = deps.state.siteByKey(install.siteKey)!;
  const baseUrl = deps.urls.siteBaseUrl(site.key);
  const payload: Record<string, unknown> = {
    key: install.appKey,
    clientKey: install.clientKey,
    ...(event === 'installed' ? { sharedSecret: install.sharedSecret } : {}),
    serverVersion: '6452',
    pluginsVersion: '1000.0.0-sandbox',
    baseUrl,
    displayUrl: baseUrl,
    productType: 'confluence',
    description: `Atlassian Confluence at ${baseUrl}`,
    serviceEntitlementNumber: `SEN-${install.clientKey.slice(0, 8)}`,
    entitlementId: `ent-${install.clientKey.slice(0, 8)}`,
    entitlementNumber: `E-${install.clientKey.slice(0, 8)}`,
    ...(install.oauthClientId ? { oauthClientId: install.oauthClientId } : {}),
    ...(install.forgeInstallationId ? { installationId: install.forgeInstallationId } : {}),
    eventType: event,
  };
  return payload;
}

/**
 * POSTs a lifecycle callback. `auth` chooses the signature: RS256 signed-install (`installed`/`uninstalled`
 * with signed-install), HS256 with a given secret, or none (legacy first install).
 */
export async function sendLifecycle(
  deps: SandboxDeps,
  install: ConnectInstall,
  event: LifecycleEvent,
  auth: { kind: 'rs256' } | { kind: 'hs256'; secret: string } | { kind: 'none' },
): Promise<LifecycleOutcome> {
  const path = install.descriptor.lifecycle?.[event];
  if (!path) return { sent: false, status: null, error: null };
  const url = joinAppUrl(install.descriptor.baseUrl, path);
  const iat = Math.floor(deps.clock.now() / 1000);
  const qsh = computeQsh({ method: 'POST', url, contextPath: appContextPath(install.descriptor.baseUrl) });
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Atlassian Connect (onbehalf sandbox)' };
  if (auth.kind === 'rs256') {
    const { token } = await deps.installKeys.sign({
      iss: install.clientKey,
      aud: [install.descriptor.baseUrl.replace(/\/+$/, '')],
      sub: install.installedBy,
      context: {},
      qsh,
      iat,
      exp: iat + 180,
    });
    headers['authorization'] = `JWT ${token}`;
  } else if (auth.kind === 'hs256') {
    headers['authorization'] = `JWT ${signHmacJwt({ iss: install.clientKey, sub: install.installedBy, context: {}, qsh, iat, exp: iat + 180 }, auth.secret)}`;
  }
  let status: number | null = null;
  let error: string | null = null;
  try {
    const res = await deps.outboundFetch(url, { method: 'POST', headers, body: JSON.stringify(lifecyclePayload(deps, install, event)) });
    status = res.status;
    await res.arrayBuffer().catch(() => undefined);
  } catch (e) {
    error = (e as Error).message;
  }
  deps.counters.record('lifecycle', { app: install.appKey, site: install.siteKey, route: event });
  deps.counters.log({ at: deps.clock.now(), kind: 'lifecycle', method: 'POST', path: url, status: status ?? 0, app: install.appKey, user: install.installedBy, site: install.siteKey, route: event });
  return { sent: true, status, error };
}
