import { randomBytes, randomUUID } from 'node:crypto';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { SandboxSpace, SandboxUser } from '../state/types.js';
import type { ForgeAppVersion, ForgeInstallation } from './forge-types.js';

/** What a UI invocation adds to a FIT: the viewing user and where the module is shown (§10.4, §10.7). */
export interface UiContext {
  principal: SandboxUser;
  moduleType: string;
  moduleKey: string;
  space: SandboxSpace | null;
  localId?: string;
}

/** The Forge product API base of a site: `<origin>/ex/confluence/<cloudId>` (paths go on with `/wiki/...`). */
export function forgeApiBaseUrl(deps: SandboxDeps, cloudId: string): string {
  return `${deps.urls.api}/${cloudId}`;
}

/**
 * FIT claims exactly as §10.4 lists them: `app` (with the installation's contexts and environment), `context`
 * and `principal` for UI calls only, `iss`, `aud` = app ARI, `iat` = `nbf` = now, `exp` = now + 25 s, `jti`.
 */
export function fitClaims(deps: SandboxDeps, installation: ForgeInstallation, version: ForgeAppVersion, module: { type: string; key: string }, ui: UiContext | null): Record<string, unknown> {
  const site = deps.state.siteByKey(installation.siteKey)!;
  const apiBaseUrl = forgeApiBaseUrl(deps, site.cloudId);
  const now = Math.floor(deps.clock.now() / 1000);
  const claims: Record<string, unknown> = {
    app: {
      id: installation.appId,
      version: version.version.split('.')[0],
      appVersion: version.version,
      installationId: installation.installationId,
      apiBaseUrl,
      installation: { id: installation.installationId, contexts: [{ name: 'confluence', apiBaseUrl, cloudId: site.cloudId }] },
      environment: { type: installation.environmentType, id: installation.environmentId },
      module,
    },
    aud: installation.appId,
    iss: 'forge/invocation-token',
    iat: now,
    nbf: now,
    exp: now + 25,
    jti: randomBytes(20).toString('hex'),
  };
  if (ui) {
    claims['context'] = {
      localId: ui.localId ?? randomUUID(),
      cloudId: site.cloudId,
      moduleKey: ui.moduleKey,
      siteUrl: deps.urls.siteBaseUrl(site.key).replace(/\/wiki$/, ''),
      extension: { type: ui.moduleType, ...(ui.space ? { space: { key: ui.space.key, id: ui.space.id } } : {}) },
    };
    claims['principal'] = ui.principal.accountId;
  }
  return claims;
}
