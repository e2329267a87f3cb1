import type { Context, Handler } from 'hono';
import { GatewayError } from '../../errors.js';
import type { FoundUser } from '../../identity/admin-mapping.js';
import { parseMappingCsv } from '../../identity/mapping-csv.js';
import type { Tenant } from '../../store/tenants-repo.js';
import { findAppTenant } from '../../tenants/find-app-tenant.js';
import type { RouteDef } from '../routes.js';
import { adminOf, formOf, type AdminDeps } from './admin-deps.js';
import { AdminPage, adminUrl, CsrfField, DataTable, Notice } from './admin-layout.js';
import { siteChoices, type SiteChoice } from './admin-sites.js';
import { SelectField } from './filter-fields.js';

interface MappingView {
  status?: 200 | 400 | 404 | 409 | 502;
  site?: SiteChoice;
  q?: string;
  found?: FoundUser[];
  problem?: string;
  problems?: string[];
  success?: string;
  csv?: string;
}

/**
 * Admin mapping from the console: search a site's users (Confluence's user search, as the app) and map an
 * account to one of your users, or import many from CSV. Same service as the configure page and the API,
 * recorded with the console session as the admin.
 */
export function mappingRoutes(deps: AdminDeps): RouteDef[] {
  const forgeAppId = deps.forgeAppId ?? null;
  // The site's Connect install, else its Forge installation: user search and account checks run as the app.
  const appTenant = (site: SiteChoice): Promise<Tenant> => findAppTenant(deps.repos, site.cloudId, { connectAppKey: deps.appKey, forgeAppId });
  const sitesNow = () => siteChoices(deps.repos, deps.appKey, forgeAppId);

  const render = async (c: Context, sites: SiteChoice[], v: MappingView) => {
    const { frame } = adminOf(c);
    const url = adminUrl(frame.basePath, '/mapping');
    const usable = sites.filter((s) => s.appActive);
    return c.html(
      <AdminPage frame={frame} section="mapping" title="Admin mapping">
        <p class="muted">
          Map an Atlassian account to one of your users when the user cannot link themselves. Mapped links act only where the site's policy allows admin-mapped
          links (<a href={adminUrl(frame.basePath, '/policies')}>Policies</a>).
        </p>
        {v.success ? (
          <Notice kind="success">
            <p>{v.success}</p>
          </Notice>
        ) : null}
        {v.problem ? (
          <Notice kind="error">
            <p>{v.problem}</p>
          </Notice>
        ) : null}
        {v.problems && v.problems.length > 0 ? (
          <Notice kind="error">
            <p>Nothing was imported. Fix these lines and import again:</p>
            <ul>
              {v.problems.map((p) => (
                <li>{p}</li>
              ))}
            </ul>
          </Notice>
        ) : null}
        {usable.length === 0 ? (
          <p>Admin mapping searches a site as the app (its Connect install or its Forge installation); no site has either installed and active.</p>
        ) : (
          <>
            <h2 id="search-heading">Find a user</h2>
            <form class="filters" method="get" action={url} role="search" aria-labelledby="search-heading">
              <SiteSelect id="search-site" sites={usable} chosen={v.site} />
              <div class="field">
                <label for="q">Name</label>
                <input id="q" name="q" type="search" value={v.q ?? ''} minlength={2} required autocomplete="off" spellcheck={false} />
              </div>
              <button class="button" type="submit">
                Search
              </button>
            </form>
            {v.found && v.site ? (
              <DataTable
                id="found"
                caption={`Users on ${v.site.key} matching "${v.q ?? ''}"`}
                head={['Name', 'Email', 'Account ID', 'Map to your user']}
                empty="Nobody matches."
                rows={v.found.map((u) => (
                  <tr>
                    <th scope="row">{u.displayName}</th>
                    <td>{u.email ?? <span class="muted">hidden</span>}</td>
                    <td class="mono">{u.accountId}</td>
                    <td>
                      {u.linkedTo ? (
                        <span>
                          linked to <span class="mono">{u.linkedTo}</span>
                        </span>
                      ) : (
                        <form method="post" action={`${url}/map`} class="inline-map">
                          <CsrfField token={frame.csrf} />
                          <input type="hidden" name="site" value={v.site?.cloudId ?? ''} />
                          <input type="hidden" name="accountId" value={u.accountId} />
                          <input type="hidden" name="q" value={v.q ?? ''} />
                          <label class="visually-hidden" for={`ext-${u.accountId}`}>
                            Your user ID for {u.displayName}
                          </label>
                          <input id={`ext-${u.accountId}`} name="externalUserId" type="text" required placeholder="your user ID" autocomplete="off" spellcheck={false} />{' '}
                          <button class="button small" type="submit">
                            Map
                          </button>
                        </form>
                      )}
                    </td>
                  </tr>
                ))}
              />
            ) : null}
            <h2 id="import-heading">Import from CSV</h2>
            <form method="post" action={`${url}/import`} aria-labelledby="import-heading">
              <CsrfField token={frame.csrf} />
              <SiteSelect id="import-site" sites={usable} chosen={v.site} />
              <div class="field">
                <label for="csv">Mappings</label>
                <textarea id="csv" name="csv" required aria-describedby="csv-hint" spellcheck={false}>
                  {v.csv ?? ''}
                </textarea>
                <span class="hint" id="csv-hint">
                  One <code>your user ID,account ID</code> per line (at most 1,000; a header line and # comments are fine). Every line is checked first; if any is
                  wrong, nothing is imported.
                </span>
              </div>
              <div class="actions">
                <button class="button" type="submit">
                  Check and import
                </button>
              </div>
            </form>
          </>
        )}
      </AdminPage>,
      v.status ?? 200,
    );
  };

  const page: Handler = async (c) => {
    const sites = await sitesNow();
    const site = sites.find((s) => s.cloudId === c.req.query('site') && s.appActive) ?? sites.find((s) => s.appActive);
    const q = (c.req.query('q') ?? '').trim().slice(0, 100);
    const done = c.req.query('mapped');
    const view: MappingView = { ...(site ? { site } : {}), q, ...(done ? { success: `Mapped ${done}. The link is recorded as route "admin".` } : {}) };
    if (site && q !== '') {
      try {
        view.found = await deps.adminMapping.search(await appTenant(site), site.cloudId, q);
      } catch (e) {
        if (!(e instanceof GatewayError) || e.code === 'INTERNAL') throw e;
        view.problem = e.message;
        view.status = e.code === 'VALIDATION_FAILED' ? 400 : 502;
      }
    }
    return render(c, sites, view);
  };

  const map: Handler = async (c) => {
    const admin = adminOf(c);
    const form = await formOf(c);
    const sites = await sitesNow();
    const site = sites.find((s) => s.cloudId === form['site'] && s.appActive);
    if (!site) return render(c, sites, { status: 400, problem: 'Pick a site where the app (Connect or Forge) is installed; nothing was mapped.' });
    const externalUserId = (form['externalUserId'] ?? '').trim();
    const accountId = (form['accountId'] ?? '').trim();
    try {
      await deps.adminMapping.mapOne(await appTenant(site), site.cloudId, { id: admin.actorId, kind: 'console' }, { externalUserId, accountId });
    } catch (e) {
      if (!(e instanceof GatewayError) || !['VALIDATION_FAILED', 'NOT_FOUND', 'LINK_CONFLICT'].includes(e.code)) throw e;
      return render(c, sites, { status: e.code === 'LINK_CONFLICT' ? 409 : e.code === 'NOT_FOUND' ? 404 : 400, site, q: form['q'] ?? '', problem: `${e.message} Nothing was mapped.` });
    }
    const back = new URLSearchParams({ site: site.cloudId, mapped: `${externalUserId} → ${accountId}` });
    if (form['q']) back.set('q', form['q']);
    return c.redirect(`${adminUrl(admin.frame.basePath, '/mapping')}?${back.toString()}`, 303);
  };

  const importCsv: Handler = async (c) => {
    const admin = adminOf(c);
    const form = await formOf(c);
    const sites = await sitesNow();
    const csv = form['csv'] ?? '';
    const site = sites.find((s) => s.cloudId === form['site'] && s.appActive);
    if (!site) return render(c, sites, { status: 400, csv, problem: 'Pick a site where the app (Connect or Forge) is installed; nothing was imported.' });
    const parsed = parseMappingCsv(csv);
    const tenant = await appTenant(site);
    // Every problem of every line at once, in line order: a malformed line and a wrong ID alike.
    const checks = await deps.adminMapping.check(tenant, site.cloudId, parsed.mappings);
    const problems = [...parsed.problems, ...parsed.mappings.flatMap((m, i) => (checks[i] ? [{ line: m.line, message: checks[i] as string }] : []))].sort((x, y) => x.line - y.line);
    if (problems.length > 0) return render(c, sites, { status: 400, site, csv, problems: problems.map((p) => `${p.line === 0 ? 'The file' : `Line ${p.line}`}: ${p.message}`) });
    // Every line passed; a line can still fail now if someone linked the same user or account in between.
    let mapped = 0;
    const late: string[] = [];
    for (const m of parsed.mappings) {
      try {
        await deps.adminMapping.mapOne(tenant, site.cloudId, { id: admin.actorId, kind: 'console' }, m);
        mapped++;
      } catch (e) {
        late.push(`Line ${m.line}: ${e instanceof GatewayError ? e.message : 'failed'}`);
      }
    }
    await deps.repos.audit.append({ action: 'mapping.imported', actorType: 'admin', actorId: admin.actorId, cloudId: site.cloudId, data: { lines: parsed.mappings.length, mapped, failed: late.length } });
    if (late.length > 0) {
      return render(c, sites, { status: 409, site, problem: `Mapped ${mapped} of ${parsed.mappings.length}; these changed while importing: ${late.join('; ')}` });
    }
    return render(c, sites, { site, success: `Imported ${mapped} mapping${mapped === 1 ? '' : 's'} on ${site.key}.` });
  };

  return [
    { method: 'GET', path: '/admin/mapping', auth: 'admin', summary: "Admin console: search a site's users (as the app) to map them.", handler: page },
    { method: 'POST', path: '/admin/mapping/map', auth: 'admin', summary: 'Admin console: maps one account to one of your users (audited).', handler: map },
    { method: 'POST', path: '/admin/mapping/import', auth: 'admin', summary: 'Admin console: CSV import of mappings, all lines checked before any is written.', handler: importCsv },
  ];
}

function SiteSelect(props: { id: string; sites: readonly SiteChoice[]; chosen: SiteChoice | undefined }) {
  return (
    <SelectField id={props.id} name="site" label="Site" options={props.sites.map((s) => ({ value: s.cloudId, label: s.label }))} selected={props.chosen?.cloudId} />
  );
}
