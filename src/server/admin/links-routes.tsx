import type { Handler } from 'hono';
import { GatewayError } from '../../errors.js';
import type { LinkRoute, LinkStatus } from '../../store/schema.js';
import type { RouteDef } from '../routes.js';
import { adminOf, type AdminDeps } from './admin-deps.js';
import { AdminPage, adminUrl, CsrfField, DataTable, Notice, Pager, Status, Time } from './admin-layout.js';
import { oneOf, PAGE_SIZE, pageOf, siteChoices, text } from './admin-sites.js';
import { FilterButtons, SelectField, TextField, valueOptions } from './filter-fields.js';

const STATUSES: readonly LinkStatus[] = ['linked', 'pending_confirmation', 'reauth_required', 'revoked'];
const ROUTES: readonly LinkRoute[] = ['connect', 'oauth', 'admin', 'forge'];
const LIVE: readonly LinkStatus[] = ['pending_confirmation', 'linked', 'reauth_required'];

/**
 * Users and links: one search box (your user ID, an Atlassian account ID, or an email the known-accounts
 * directory has seen), filters, and revocation behind a confirmation page. A revocation takes effect at
 * once: the link leaves the acting path and the account's cached tokens are dropped.
 */
export function linksRoutes(deps: AdminDeps): RouteDef[] {
  const list: Handler = async (c) => {
    const { frame } = adminOf(c);
    const q = text(c.req.query('q'));
    const status = oneOf(c.req.query('status'), STATUSES);
    const route = oneOf(c.req.query('route'), ROUTES);
    const sites = await siteChoices(deps.repos, deps.appKey);
    const site = oneOf(c.req.query('site'), sites.map((s) => s.cloudId));
    const page = pageOf(c.req.query('page'));
    let who: { externalUserId?: string; accountIds?: string[] } | undefined;
    let emailNote: string | null = null;
    if (q && q.includes('@')) {
      const accounts = await deps.repos.knownAccounts.findByEmail(q);
      who = { accountIds: [...new Set(accounts.map((a) => a.accountId))] };
      emailNote = accounts.length === 0 ? `No account has been seen with the email ${q}.` : `The email ${q} belongs to ${who.accountIds?.length} account(s) seen by the gateway.`;
    } else if (q) {
      who = { externalUserId: q, accountIds: [q] };
    }
    const rows = await deps.repos.links.list({
      ...(who ? { who } : {}),
      ...(status ? { status } : {}),
      ...(route ? { route } : {}),
      ...(site ? { cloudId: site } : {}),
      limit: PAGE_SIZE + 1,
      offset: (page - 1) * PAGE_SIZE,
    });
    const siteName = new Map(sites.map((s) => [s.cloudId, s.key]));
    const shown = rows.slice(0, PAGE_SIZE);
    // Names from the known-accounts directory, so a row says who the account is, not only its ID.
    const names = await Promise.all(shown.map((l) => deps.repos.knownAccounts.get(l.cloudId, l.accountId)));
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries({ q, status, route, site })) if (v) params.set(k, v);
    const done = c.req.query('done');
    return c.html(
      <AdminPage frame={frame} section="links" title="Users & links">
        {done === 'revoked' ? (
          <Notice kind="success">
            <p>The link was revoked. The gateway no longer acts as that user through it.</p>
          </Notice>
        ) : null}
        <form class="filters" method="get" action={adminUrl(frame.basePath, '/links')} role="search" aria-label="Search links">
          <TextField id="q" label="User ID, account ID or email" value={q} />
          <SelectField id="status" label="Status" options={valueOptions(STATUSES)} selected={status} any="Any" />
          <SelectField id="route" label="Route" options={ROUTES.map((r) => ({ value: r, label: r }))} selected={route} any="Any" />
          <SelectField id="site" label="Site" options={sites.map((s) => ({ value: s.cloudId, label: s.key }))} selected={site} any="Any" />
          <FilterButtons label="Search" clearHref={adminUrl(frame.basePath, '/links')} />
        </form>
        {emailNote ? <p class="muted">{emailNote}</p> : null}
        <DataTable
          id="links"
          caption={`Links${q || status || route || site ? ' matching the filters' : ''}, newest first`}
          head={['User', 'Account', 'Site', 'Route', 'Status', 'Created', '']}
          empty="No links match."
          rows={shown.map((l, i) => (
            <tr>
              <th scope="row" class="mono">
                {l.externalUserId}
              </th>
              <td>
                {names[i]?.displayName ?? <span class="muted">unknown name</span>}
                <span class="sub mono">{l.accountId}</span>
              </td>
              <td>{siteName.get(l.cloudId) ?? <span class="mono">{l.cloudId}</span>}</td>
              <td>{l.route}</td>
              <td>
                <Status value={l.status} />
              </td>
              <td>
                <Time at={l.createdAt} />
              </td>
              <td>
                <a href={adminUrl(frame.basePath, `/links/${encodeURIComponent(l.id)}`)} aria-label={`Details of the link of ${l.externalUserId}${LIVE.includes(l.status) ? ', revoke' : ''}`}>
                  {LIVE.includes(l.status) ? 'Details / revoke' : 'Details'}
                </a>
              </td>
            </tr>
          ))}
        />
        <Pager url={adminUrl(frame.basePath, '/links')} params={params} page={page} hasNext={rows.length > PAGE_SIZE} label="Links" />
      </AdminPage>,
    );
  };

  const detail: Handler = async (c) => {
    const { frame } = adminOf(c);
    const link = await deps.repos.links.get(c.req.param('id') ?? '');
    if (!link) throw new GatewayError('NOT_FOUND', 'There is no such link.');
    const sites = await siteChoices(deps.repos, deps.appKey);
    const site = sites.find((s) => s.cloudId === link.cloudId);
    const account = await deps.repos.knownAccounts.get(link.cloudId, link.accountId);
    const live = LIVE.includes(link.status);
    return c.html(
      <AdminPage frame={frame} section="links" title={`Link of ${link.externalUserId}`}>
        {c.req.query('done') === 'revoked' ? (
          <Notice kind="success">
            <p>The link was revoked. The gateway no longer acts as {link.externalUserId} through it, and the account's cached tokens were dropped.</p>
          </Notice>
        ) : null}
        <p>
          <a href={adminUrl(frame.basePath, '/links')}>← All links</a>
        </p>
        <dl class="details">
          <dt>Your user</dt>
          <dd class="mono">{link.externalUserId}</dd>
          <dt>Atlassian account</dt>
          <dd>
            <span class="mono">{link.accountId}</span>
            {account?.displayName ? ` (${account.displayName}${account.email ? `, ${account.email}` : ''})` : ''}
          </dd>
          <dt>Site</dt>
          <dd>{site ? site.label : <span class="mono">{link.cloudId}</span>}</dd>
          <dt>Route</dt>
          <dd>{link.route}</dd>
          <dt>Status</dt>
          <dd>
            <Status value={link.status} />
            {link.statusReason ? <span class="muted"> ({link.statusReason})</span> : null}
          </dd>
          <dt>Scopes</dt>
          <dd class="mono">{link.scopes.length > 0 ? link.scopes.join(' ') : 'route defaults'}</dd>
          <dt>Created</dt>
          <dd>
            <Time at={link.createdAt} />
          </dd>
          <dt>Verified</dt>
          <dd>
            <Time at={link.verifiedAt} />
          </dd>
          <dt>Revoked</dt>
          <dd>
            <Time at={link.revokedAt} />
          </dd>
          <dt>Evidence</dt>
          <dd>
            <code>{JSON.stringify(link.evidence)}</code>
          </dd>
        </dl>
        {live ? (
          <section aria-labelledby="revoke-heading">
            <h2 id="revoke-heading">Revoke this link</h2>
            <p>
              The gateway stops acting as <strong>{link.externalUserId}</strong> on {site?.key ?? 'this site'} at once: the next API or proxy call for this user is refused,
              and cached tokens of the account are dropped. The user can link again later. This is recorded in the audit log.
            </p>
            <form method="post" action={adminUrl(frame.basePath, `/links/${encodeURIComponent(link.id)}/revoke`)}>
              <CsrfField token={frame.csrf} />
              <div class="actions">
                <button class="button danger" type="submit">
                  Revoke link of {link.externalUserId}
                </button>
                <a href={adminUrl(frame.basePath, '/links')}>Cancel</a>
              </div>
            </form>
          </section>
        ) : null}
        <p>
          <a href={`${adminUrl(frame.basePath, '/audit')}?externalUserId=${encodeURIComponent(link.externalUserId)}`}>Audit entries of {link.externalUserId}</a>
        </p>
      </AdminPage>,
    );
  };

  const revoke: Handler = async (c) => {
    const admin = adminOf(c);
    const id = c.req.param('id') ?? '';
    const link = await deps.repos.links.get(id);
    if (!link) throw new GatewayError('NOT_FOUND', 'There is no such link.');
    await deps.links.revoke({ linkId: link.id, actorType: 'admin', actorId: admin.actorId, reason: 'revoked_by_admin' });
    return c.redirect(`${adminUrl(admin.frame.basePath, `/links/${encodeURIComponent(link.id)}`)}?done=revoked`, 303);
  };

  return [
    { method: 'GET', path: '/admin/links', auth: 'admin', summary: 'Admin console: links, searchable by user ID, account ID or email; filters by status, route, site.', handler: list },
    { method: 'GET', path: '/admin/links/:id', auth: 'admin', summary: 'Admin console: one link, with the revoke confirmation.', handler: detail },
    { method: 'POST', path: '/admin/links/:id/revoke', auth: 'admin', summary: 'Admin console: revokes a link at once (audited).', handler: revoke },
  ];
}
