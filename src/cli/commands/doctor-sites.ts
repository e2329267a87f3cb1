import type { Config } from '../../config.js';
import type { Repositories } from '../../store/repositories.js';
import type { Tenant } from '../../store/tenants-repo.js';
import { siteKeyOf } from '../../tenants/find-tenant.js';
import { forgeInstallationHealth } from '../../tenants/forge-health.js';

export type DoctorVerdict = 'ok' | 'warn' | 'fail';
export interface DoctorLine {
  verdict: DoctorVerdict;
  text: string;
}

/** Atlassian's end of support for Connect (protocol notes §10.10). */
export const CONNECT_END_OF_SUPPORT = '31 January 2027';

const isApiBase = (url: string) => /\/ex\/confluence\//.test(url);

/**
 * Per site the gateway knows: which routes can act there now (Connect, 3LO, Forge) and what is missing,
 * each with what to do. Nothing here fails the doctor: a site without a working route is a site to fix,
 * not a broken gateway. Only this gateway's own installs count (its Connect app key, 3LO client, Forge app).
 */
export async function siteRouteLines(repos: Repositories, config: Config, now: number): Promise<DoctorLine[]> {
  const lines: DoctorLine[] = [];
  const tenants = await repos.tenants.list();
  const forgeAppId = config.forge.appId;
  // With the sandbox the 3LO client may be registered at start rather than configured: any then counts.
  const oauthClientId = config.oauth.clientId;
  if (!forgeAppId) {
    lines.push({
      verdict: 'warn',
      text: `Forge route off (ONBEHALF_FORGE_APP_ID is not set): new sites can only be reached through 3LO, and Connect works only where it is already installed, until ${CONNECT_END_OF_SUPPORT}`,
    });
  }
  const sites = new Map<string, Tenant[]>();
  for (const t of tenants) {
    const key = t.cloudId ?? `url:${t.baseUrl}`;
    sites.set(key, [...(sites.get(key) ?? []), t]);
  }
  if (sites.size === 0) lines.push({ verdict: 'warn', text: 'no site has installed the app yet (or granted 3LO consent)' });
  for (const group of sites.values()) {
    const named = group.find((t) => !isApiBase(t.baseUrl)) ?? group[0]!;
    const site = isApiBase(named.baseUrl) ? `site ${named.cloudId ?? ''}` : `${siteKeyOf(named.baseUrl)} (${named.baseUrl})`;
    const connect = group.find((t) => t.route === 'connect' && t.appKey === config.connect.appKey);
    const oauth = group.find((t) => t.route === 'oauth' && (oauthClientId === null || t.appKey === oauthClientId) && t.status === 'active');
    const forgeAll = group.filter((t) => t.route === 'forge');
    const forge = forgeAll.find((t) => t.appKey === forgeAppId);
    const problems: string[] = [];
    const routes: string[] = [];

    if (connect?.status === 'active') routes.push('Connect');
    else if (connect) problems.push(`the Connect install is ${connect.status}: reinstall or enable the app on the site to act through Connect`);
    if (oauth) routes.push('3LO');
    if (forge) {
      const h = await forgeInstallationHealth(repos, forge, now);
      if (h.state === 'valid' || h.state === 'expiring') routes.push('Forge');
      const expires = h.systemToken?.expiresAt ? ` (system token expires ${new Date(h.systemToken.expiresAt).toISOString()})` : '';
      if (h.state !== 'valid') problems.push(`Forge ${h.state}${h.state === 'expired' ? expires : ''}: ${h.advice ?? ''}`);
    } else if (forgeAll.length > 0) {
      problems.push(
        forgeAppId
          ? `a Forge installation of another app (${forgeAll[0]!.appKey}) is recorded; ONBEHALF_FORGE_APP_ID is ${forgeAppId}`
          : `a Forge installation is recorded (${forgeAll[0]!.appKey}), but ONBEHALF_FORGE_APP_ID is not set: set it to that app id to act through it`,
      );
    }
    if (routes.includes('Connect') && !forge) {
      problems.push(`Connect only: Connect support ends ${CONNECT_END_OF_SUPPORT}; ${forgeAppId ? 'install the Forge version of the app on this site' : 'set up the Forge route (ONBEHALF_FORGE_APP_ID) and upgrade the install to the Forge version'} (its links move to Forge, nobody consents again)`);
    }
    if (routes.length === 0) problems.push('no route can act here now');
    else if (routes.length === 1 && routes[0] === '3LO') problems.push('3LO only: acts only as users who consented themselves; install the Forge app to act as mapped users or under the any_user policy');

    lines.push({ verdict: routes.length === 0 ? 'warn' : 'ok', text: `site ${site}: routes ${routes.length > 0 ? routes.join(', ') : 'none'}` });
    for (const p of problems) lines.push({ verdict: 'warn', text: `  ${site}: ${p}` });
  }
  return lines;
}
