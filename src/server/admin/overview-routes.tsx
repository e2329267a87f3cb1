import type { Handler } from 'hono';
import { MINUTE_MS } from '../../store/token-mints-repo.js';
import type { RouteDef } from '../routes.js';
import { adminOf, type AdminDeps } from './admin-deps.js';
import { AdminPage, adminUrl } from './admin-layout.js';
import { MintChart, minuteSlots } from './mint-chart.js';

const LINK_STATUSES = ['linked', 'pending_confirmation', 'reauth_required', 'revoked'] as const;

/** The landing page: installations by route, links by status, and the last hour of token mints. */
export function overviewRoutes(deps: AdminDeps): RouteDef[] {
  const overview: Handler = async (c) => {
    const { frame } = adminOf(c);
    const now = deps.clock.now();
    const [tenants, linkCounts, grants, buckets, keys] = await Promise.all([
      deps.repos.tenants.list(),
      deps.repos.links.countByStatus(),
      deps.repos.tokens.count('oauth', 'refresh'),
      deps.repos.tokenMints.since(Math.floor(now / MINUTE_MS) * MINUTE_MS - 59 * MINUTE_MS),
      deps.repos.apiKeys.list(),
    ]);
    const count = (route: string, status: string) => tenants.filter((t) => t.route === route && t.status === status).length;
    const totalLinks = Object.values(linkCounts).reduce((a, b) => a + b, 0);
    return c.html(
      <AdminPage frame={frame} section="overview" title="Overview">
        <div class="cards">
          <section class="card" aria-labelledby="card-connect">
            <h2 id="card-connect">Connect installations</h2>
            <dl>
              <dt>Active</dt>
              <dd>{count('connect', 'active')}</dd>
              <dt>Disabled</dt>
              <dd>{count('connect', 'disabled')}</dd>
              <dt>Uninstalled</dt>
              <dd>{count('connect', 'uninstalled')}</dd>
            </dl>
          </section>
          <section class="card" aria-labelledby="card-oauth">
            <h2 id="card-oauth">OAuth 2.0 (3LO)</h2>
            <dl>
              <dt>App</dt>
              <dd>{deps.oauthClientId ? 'on' : 'off'}</dd>
              <dt>Sites reached</dt>
              <dd>{tenants.filter((t) => t.route === 'oauth' && t.status === 'active' && (deps.oauthClientId === null || t.appKey === deps.oauthClientId)).length}</dd>
              <dt>User grants</dt>
              <dd>{grants}</dd>
            </dl>
          </section>
          {deps.forgeAppId ? (
            <section class="card" aria-labelledby="card-forge">
              <h2 id="card-forge">
                <a href={adminUrl(frame.basePath, '/forge')}>Forge installations</a>
              </h2>
              <dl>
                <dt>Active</dt>
                <dd>{count('forge', 'active')}</dd>
                <dt>Token refused</dt>
                <dd>{count('forge', 'disabled')}</dd>
              </dl>
            </section>
          ) : null}
          <section class="card" aria-labelledby="card-links">
            <h2 id="card-links">
              <a href={adminUrl(frame.basePath, '/links')}>Links</a> by status
            </h2>
            <dl>
              {LINK_STATUSES.map((s) => (
                <>
                  <dt>
                    <a href={`${adminUrl(frame.basePath, '/links')}?status=${s}`}>{s.replace(/_/g, ' ')}</a>
                  </dt>
                  <dd>{linkCounts[s] ?? 0}</dd>
                </>
              ))}
              <dt>All</dt>
              <dd>{totalLinks}</dd>
            </dl>
          </section>
          <section class="card" aria-labelledby="card-keys">
            <h2 id="card-keys">
              <a href={adminUrl(frame.basePath, '/api-keys')}>API keys</a>
            </h2>
            <p class="big">{keys.length}</p>
            <p class="muted">live keys</p>
          </section>
        </div>
        <h2>Tokens minted</h2>
        <MintChart slots={minuteSlots(buckets, now)} />
      </AdminPage>,
    );
  };
  return [{ method: 'GET', path: '/admin', auth: 'admin', summary: 'Admin console overview: installations, links by status, tokens minted in the last hour.', handler: overview }];
}
