import type { Handler } from 'hono';
import type { RouteDef } from '../routes.js';
import { adminOf, type AdminDeps } from './admin-deps.js';
import { AdminPage, adminUrl, DataTable, Pager, Time } from './admin-layout.js';
import { PAGE_SIZE, pageOf, siteChoices, text } from './admin-sites.js';
import { SelectField, TextField } from './filter-fields.js';

/** The known-accounts directory of one site: every account the gateway has seen there, and where. */
export function accountsRoutes(deps: AdminDeps): RouteDef[] {
  const list: Handler = async (c) => {
    const { frame } = adminOf(c);
    const sites = await siteChoices(deps.repos, deps.appKey);
    const site = sites.find((s) => s.cloudId === c.req.query('site')) ?? sites[0];
    const q = text(c.req.query('q'), 100);
    const page = pageOf(c.req.query('page'));
    const rows = site ? await deps.repos.knownAccounts.list(site.cloudId, { ...(q ? { search: q } : {}), limit: PAGE_SIZE + 1, offset: (page - 1) * PAGE_SIZE }) : [];
    const params = new URLSearchParams();
    if (site) params.set('site', site.cloudId);
    if (q) params.set('q', q);
    return c.html(
      <AdminPage frame={frame} section="accounts" title="Known accounts">
        <p class="muted">Accounts the gateway has seen on a site (verified webhooks, page loads inside Confluence, 3LO sign-ins, admin searches). Admins map only accounts that really exist.</p>
        {sites.length === 0 ? (
          <p>No site has installed the app yet.</p>
        ) : (
          <form class="filters" method="get" action={adminUrl(frame.basePath, '/accounts')} role="search" aria-label="Search known accounts">
            <SelectField id="site" label="Site" options={sites.map((s) => ({ value: s.cloudId, label: s.label }))} selected={site?.cloudId} />
            <TextField id="q" label="Name, email or account ID" value={q} />
            <button class="button" type="submit">
              Search
            </button>
          </form>
        )}
        {site ? (
          <DataTable
            id="accounts"
            caption={`Accounts seen on ${site.key}, most recently seen first`}
            head={['Name', 'Email', 'Account ID', 'Type', 'Last source', 'Seen', 'First seen', 'Last seen']}
            numeric={[5]}
            empty="No accounts match."
            rows={rows.slice(0, PAGE_SIZE).map((a) => (
              <tr>
                <th scope="row">{a.displayName ?? a.publicName ?? <span class="muted">unknown</span>}</th>
                <td>{a.email ?? <span class="muted">hidden</span>}</td>
                <td class="mono">
                  <a href={`${adminUrl(frame.basePath, '/links')}?q=${encodeURIComponent(a.accountId)}`}>{a.accountId}</a>
                </td>
                <td>{a.accountType ?? ''}</td>
                <td class="mono">{a.source}</td>
                <td class="num">{a.seenCount}</td>
                <td>
                  <Time at={a.firstSeenAt} />
                </td>
                <td>
                  <Time at={a.lastSeenAt} />
                </td>
              </tr>
            ))}
          />
        ) : null}
        <Pager url={adminUrl(frame.basePath, '/accounts')} params={params} page={page} hasNext={rows.length > PAGE_SIZE} label="Known accounts" />
      </AdminPage>,
    );
  };
  return [{ method: 'GET', path: '/admin/accounts', auth: 'admin', summary: 'Admin console: accounts seen per site, searchable.', handler: list }];
}
