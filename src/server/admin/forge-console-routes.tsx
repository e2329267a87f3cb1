import type { Handler } from 'hono';
import { forgeInstallationHealth, type ForgeInstallationHealth } from '../../tenants/forge-health.js';
import { siteKeyOf } from '../../tenants/find-tenant.js';
import type { Tenant } from '../../store/tenants-repo.js';
import type { RouteDef } from '../routes.js';
import { adminOf, type AdminDeps } from './admin-deps.js';
import { isApiBaseUrl } from './admin-sites.js';
import { AdminPage, adminUrl, DataTable, Status, Time } from './admin-layout.js';

const LINK_STATUSES = ['linked', 'pending_confirmation', 'reauth_required', 'revoked'] as const;

/**
 * The Forge route's page: each Forge installation the gateway has heard from, with its token health (the
 * app system token it holds, its expiry, the last invocation and trigger, whether Forge refused the token)
 * and its links by status. An installation without a live system token cannot act; the page says what to do.
 */
export function forgeConsoleRoutes(deps: AdminDeps): RouteDef[] {
  const page: Handler = async (c) => {
    const { frame } = adminOf(c);
    const now = deps.clock.now();
    const [tenants, counts] = await Promise.all([deps.repos.tenants.list(), deps.repos.links.countByTenant()]);
    // Until a UI invocation brings the site URL, a Forge installation knows only its API base; another
    // install on the same site (Connect, 3LO) may know the site's name.
    const siteName = (t: Tenant): string => {
      const named = [t, ...tenants.filter((o) => o.cloudId === t.cloudId && o.id !== t.id)].find((o) => !isApiBaseUrl(o.baseUrl));
      return named ? siteKeyOf(named.baseUrl) : `site ${(t.cloudId ?? '').slice(0, 8)}`;
    };
    const forge = tenants.filter((t) => t.route === 'forge').sort((a, b) => siteName(a).localeCompare(siteName(b)) || b.updatedAt - a.updatedAt);
    const health: ForgeInstallationHealth[] = await Promise.all(forge.map((t) => forgeInstallationHealth(deps.repos, t, now)));
    const linksUrl = (cloudId: string | null, status?: string) => {
      const p = new URLSearchParams({ route: 'forge', ...(cloudId ? { site: cloudId } : {}), ...(status ? { status } : {}) });
      return `${adminUrl(frame.basePath, '/links')}?${p.toString()}`;
    };
    return c.html(
      <AdminPage frame={frame} section="forge" title="Forge">
        <p class="muted">
          {deps.forgeAppId ? (
            <>
              The gateway is the remote of Forge app <span class="mono">{deps.forgeAppId}</span>. It acts through an installation with offline user tokens, which need a live app system token; Forge sends one with every invocation, and the app's hourly scheduled trigger keeps it fresh.
            </>
          ) : (
            <>The Forge route is off: set ONBEHALF_FORGE_APP_ID to the app id from the Forge app's manifest.yml.</>
          )}
        </p>
        <DataTable
          id="forge-installations"
          caption="Forge installations and their token health"
          head={['Site', 'Installation', 'Token health', 'System token', 'Invocations', 'Links']}
          empty="No Forge installation has invoked the gateway yet."
          rows={health.map((h) => {
            const t = h.tenant;
            const links = counts[t.id] ?? {};
            const env = typeof t.payload?.['environment'] === 'object' && t.payload['environment'] !== null ? String((t.payload['environment'] as { type?: unknown }).type ?? '') : '';
            const version = typeof t.payload?.['appVersion'] === 'string' ? t.payload['appVersion'] : null;
            return (
              <tr>
                <th scope="row">
                  {siteName(t)}
                  <br />
                  <span class="muted mono small">{t.cloudId ?? ''}</span>
                </th>
                <td>
                  <span class="mono">{t.tenantKey.replace('ari:cloud:ecosystem::installation/', '')}</span>
                  <br />
                  <span class="muted">
                    {[env, version ? `v${version}` : null, t.appKey === deps.forgeAppId ? null : 'another app'].filter(Boolean).join(' · ')}
                  </span>
                </td>
                <td>
                  <Status value={h.state} />
                  {t.status === 'active' ? null : (
                    <>
                      {' '}
                      <Status value={t.status} />
                    </>
                  )}
                  {h.advice ? <p class="muted">{h.advice}</p> : null}
                </td>
                <td>
                  <dl class="pairs">
                    <dt>stored</dt>
                    <dd>
                      <Time at={h.systemToken?.storedAt} />
                    </dd>
                    <dt>expires</dt>
                    <dd>
                      <Time at={h.systemToken?.expiresAt} />
                    </dd>
                  </dl>
                </td>
                <td>
                  <dl class="pairs">
                    <dt>last</dt>
                    <dd>
                      <Time at={h.lastInvocationAt} />
                      {h.lastModule ? (
                        <>
                          <br />
                          <span class="muted mono small">{h.lastModule}</span>
                        </>
                      ) : null}
                    </dd>
                    <dt>trigger</dt>
                    <dd>
                      <Time at={h.lastTriggerAt} />
                    </dd>
                  </dl>
                </td>
                <td>
                  <ul class="plain">
                    {LINK_STATUSES.filter((s) => (links[s] ?? 0) > 0).map((s) => (
                      <li>
                        <a href={linksUrl(t.cloudId, s)}>
                          {links[s]} {s.replace(/_/g, ' ')}
                        </a>
                      </li>
                    ))}
                    {LINK_STATUSES.every((s) => (links[s] ?? 0) === 0) ? <li class="muted">none</li> : null}
                  </ul>
                </td>
              </tr>
            );
          })}
        />
        <p class="muted">Times are UTC. Invocation times are recorded at most once a minute per installation.</p>
      </AdminPage>,
    );
  };
  return [{ method: 'GET', path: '/admin/forge', auth: 'admin', summary: 'Admin console: Forge installations, their app system token health, last invocation and trigger, links.', handler: page }];
}
