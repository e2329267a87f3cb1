import type { Handler } from 'hono';
import type { AuditQuery } from '../../store/audit-repo.js';
import type { RouteDef } from '../routes.js';
import { adminOf, type AdminDeps } from './admin-deps.js';
import { AdminPage, adminUrl, DataTable, Notice, Time } from './admin-layout.js';
import { PAGE_SIZE, siteChoices, text } from './admin-sites.js';
import { FilterButtons, SelectField, TextField } from './filter-fields.js';

/** `2026-11-27T09:30` (a datetime-local field), read as UTC; undefined when empty, null when malformed. */
export function parseUtcMinute(raw: string | undefined): number | undefined | null {
  const v = (raw ?? '').trim();
  if (v === '') return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v)) return null;
  const t = Date.parse(`${v}Z`);
  return Number.isFinite(t) ? t : null;
}

/** The audit log, newest first, with filters and cursor paging (`before` an event id: stable while new events arrive). */
export function auditRoutes(deps: AdminDeps): RouteDef[] {
  const list: Handler = async (c) => {
    const { frame } = adminOf(c);
    const sites = await siteChoices(deps.repos, deps.appKey);
    const f = {
      action: text(c.req.query('action'), 100),
      site: text(c.req.query('site'), 100),
      externalUserId: text(c.req.query('externalUserId')),
      accountId: text(c.req.query('accountId'), 128),
      actor: text(c.req.query('actor'), 200),
      from: text(c.req.query('from'), 20),
      to: text(c.req.query('to'), 20),
    };
    const since = parseUtcMinute(f.from);
    const until = parseUtcMinute(f.to);
    const beforeRaw = Number(c.req.query('before'));
    const before = Number.isInteger(beforeRaw) && beforeRaw > 0 ? beforeRaw : undefined;
    const q: AuditQuery = {
      ...(f.action ? { action: f.action } : {}),
      ...(f.site ? { cloudId: f.site } : {}),
      ...(f.externalUserId ? { externalUserId: f.externalUserId } : {}),
      ...(f.accountId ? { accountId: f.accountId } : {}),
      ...(f.actor ? { actorId: f.actor } : {}),
      ...(typeof since === 'number' ? { since } : {}),
      ...(typeof until === 'number' ? { until } : {}),
      ...(before ? { before } : {}),
      limit: PAGE_SIZE + 1,
    };
    const rows = await deps.repos.audit.query(q);
    const shown = rows.slice(0, PAGE_SIZE);
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v) params.set(k, v);
    const next = rows.length > PAGE_SIZE ? shown[shown.length - 1]?.id : undefined;
    const siteName = new Map(sites.map((s) => [s.cloudId, s.key]));
    const url = adminUrl(frame.basePath, '/audit');
    const field = (id: keyof typeof f, label: string, example?: string, type = 'search') => <TextField id={id} label={label} value={f[id]} type={type} placeholder={example} />;
    const filterLink = (key: 'actor' | 'externalUserId' | 'accountId', value: string, label: string) => (
      <a href={`${url}?${new URLSearchParams({ [key]: value }).toString()}`} title={`Only events with ${value}`}>
        {label}
      </a>
    );
    return c.html(
      <AdminPage frame={frame} section="audit" title="Audit log">
        <p class="muted">Append-only: who did what, when. Tokens and secrets are never recorded.</p>
        {since === null || until === null ? (
          <Notice kind="error">
            <p>A time filter was not a date and time (YYYY-MM-DDTHH:MM, UTC); it was ignored.</p>
          </Notice>
        ) : null}
        <form class="filters" method="get" action={url} role="search" aria-label="Filter the audit log">
          {field('action', 'Action', 'link.revoked')}
          <SelectField id="site" label="Site" options={sites.map((s) => ({ value: s.cloudId, label: s.key }))} selected={f.site} any="Any" />
          {field('externalUserId', 'User ID')}
          {field('accountId', 'Account ID')}
          {field('actor', 'Actor ID', 'console:…')}
          {field('from', 'From (UTC)', undefined, 'datetime-local')}
          {field('to', 'Until (UTC)', undefined, 'datetime-local')}
          <FilterButtons label="Filter" clearHref={url} />
        </form>
        <DataTable
          id="audit"
          caption="Audit events, newest first"
          head={['When (UTC)', 'Action', 'Actor', 'Site / route', 'User / account', 'Reason', 'Details']}
          empty="No audit events match."
          rows={shown.map((e) => (
            <tr>
              <td>
                <Time at={e.at} />
              </td>
              <th scope="row" class="mono">
                {e.action}
              </th>
              <td class="mono">
                {e.actorType}
                {e.actorId ? <>: {filterLink('actor', e.actorId, e.actorId.length > 24 ? `${e.actorId.slice(0, 16)}…` : e.actorId)}</> : ''}
              </td>
              <td>
                {e.cloudId ? (siteName.get(e.cloudId) ?? <span class="mono">{e.cloudId}</span>) : ''}
                {e.route ? <span class="sub">{e.route}</span> : null}
              </td>
              <td class="ids">
                {e.externalUserId ? <span class="mono">{filterLink('externalUserId', e.externalUserId, e.externalUserId)}</span> : null}
                {e.accountId ? <span class="sub mono">{filterLink('accountId', e.accountId, e.accountId)}</span> : null}
              </td>
              <td>{e.reason ?? ''}</td>
              <td class="wrap">{e.data ? <DataPairs data={e.data} /> : ''}</td>
            </tr>
          ))}
        />
        {before || next ? (
          <nav class="pager" aria-label="Audit log pages">
            {before ? <a href={params.toString() ? `${url}?${params.toString()}` : url}>← Newest</a> : <span />}
            {next ? <a href={`${url}?${new URLSearchParams([...params, ['before', String(next)]]).toString()}`} rel="next">Older →</a> : <span />}
          </nav>
        ) : null}
      </AdminPage>,
    );
  };
  return [{ method: 'GET', path: '/admin/audit', auth: 'admin', summary: 'Admin console: the audit log with filters (action, site, user, account, actor, time range) and paging.', handler: list }];
}

/**
 * An event's data as short `key: value` lines that wrap inside their column (a raw JSON string ran off the
 * screen at laptop widths). Long values are cut with an ellipsis; the whole stays within 300 characters.
 */
function DataPairs(props: { data: Record<string, unknown> }) {
  let budget = 300;
  const lines: [string, string][] = [];
  for (const [k, v] of Object.entries(props.data)) {
    if (budget <= 0) break;
    const raw = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
    const value = raw.length > 60 ? `${raw.slice(0, 59)}…` : raw;
    budget -= k.length + value.length;
    lines.push([k, value]);
  }
  return (
    <span class="pairs">
      {lines.map(([k, v]) => (
        <span class="pair">
          <span class="muted">{k}:</span> <code>{v}</code>
        </span>
      ))}
    </span>
  );
}
