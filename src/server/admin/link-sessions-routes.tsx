import type { Handler } from 'hono';
import type { LinkSessionStatus } from '../../store/schema.js';
import type { RouteDef } from '../routes.js';
import { adminOf, type AdminDeps } from './admin-deps.js';
import { AdminPage, adminUrl, DataTable, Pager, Status, Time } from './admin-layout.js';
import { oneOf, PAGE_SIZE, pageOf, siteChoices, text } from './admin-sites.js';
import { FilterButtons, SelectField, TextField, valueOptions } from './filter-fields.js';

const STATUSES: readonly LinkSessionStatus[] = ['pending', 'pending_confirmation', 'linked', 'denied', 'expired'];
const ROUTES = ['connect', 'oauth'] as const;

/** Link sessions (a user's journey to a link), newest first; a pending one past its expiry shows as expired. */
export function linkSessionsRoutes(deps: AdminDeps): RouteDef[] {
  const list: Handler = async (c) => {
    const { frame } = adminOf(c);
    const status = oneOf(c.req.query('status'), STATUSES);
    const route = oneOf(c.req.query('route'), ROUTES);
    const user = text(c.req.query('user'));
    const page = pageOf(c.req.query('page'));
    const rows = await deps.repos.linkSessions.list({ ...(status ? { status } : {}), ...(route ? { route } : {}), ...(user ? { externalUserId: user } : {}), limit: PAGE_SIZE + 1, offset: (page - 1) * PAGE_SIZE });
    const sites = new Map((await siteChoices(deps.repos, deps.appKey)).map((s) => [s.cloudId, s.key]));
    const now = deps.clock.now();
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries({ status, route, user })) if (v) params.set(k, v);
    return c.html(
      <AdminPage frame={frame} section="link-sessions" title="Link sessions">
        <p class="muted">A link session is one invitation to link: created by your backend, used by the user, and ended by a link, a refusal or its expiry.</p>
        <form class="filters" method="get" action={adminUrl(frame.basePath, '/link-sessions')} role="search" aria-label="Filter link sessions">
          <TextField id="user" label="User ID" value={user} />
          <SelectField id="status" label="Status" options={valueOptions(STATUSES)} selected={status} any="Any" />
          <SelectField id="route" label="Route" options={ROUTES.map((r) => ({ value: r, label: r }))} selected={route} any="Any" />
          <FilterButtons label="Filter" clearHref={adminUrl(frame.basePath, '/link-sessions')} />
        </form>
        <DataTable
          id="link-sessions"
          caption="Link sessions, newest first"
          head={['User', 'Site', 'Route', 'Status', 'Created', 'Expires', 'Completed', 'Link']}
          empty="No link sessions match."
          rows={rows.slice(0, PAGE_SIZE).map((s) => {
            const shown = (s.status === 'pending' || s.status === 'pending_confirmation') && s.expiresAt <= now ? 'expired' : s.status;
            return (
              <tr>
                <th scope="row" class="mono">
                  {s.externalUserId}
                </th>
                <td>{s.cloudId ? (sites.get(s.cloudId) ?? <span class="mono">{s.cloudId}</span>) : <span class="muted">user chooses</span>}</td>
                <td>{s.route}</td>
                <td>
                  <Status value={shown} />
                  {s.requireConfirmation ? null : <span class="muted"> (no confirmation)</span>}
                </td>
                <td>
                  <Time at={s.createdAt} />
                </td>
                <td>
                  <Time at={s.expiresAt} />
                </td>
                <td>
                  <Time at={s.completedAt} />
                </td>
                <td>{s.linkId ? <a href={adminUrl(frame.basePath, `/links/${encodeURIComponent(s.linkId)}`)}>View link</a> : <span class="muted">none</span>}</td>
              </tr>
            );
          })}
        />
        <Pager url={adminUrl(frame.basePath, '/link-sessions')} params={params} page={page} hasNext={rows.length > PAGE_SIZE} label="Link sessions" />
      </AdminPage>,
    );
  };
  return [{ method: 'GET', path: '/admin/link-sessions', auth: 'admin', summary: 'Admin console: link sessions, filtered by status, route, user.', handler: list }];
}
