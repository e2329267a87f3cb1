import type { Link } from '../../store/links-repo.js';
import type { ActingMode } from '../../store/policies-repo.js';
import { Layout, Notice } from './layout.js';
import { LinksTable } from './links-table.js';

export interface ConfigurePageProps {
  appName: string;
  assetsBase: string;
  allJsUrl: string;
  siteHost: string;
  admin: { accountId: string; displayName: string | null };
  links: Link[];
  /** Display names by account ID, where the gateway has seen them; others show the account ID alone. */
  names?: Readonly<Record<string, string>>;
  acting: ActingMode;
  problem: string | null;
}

const ACTING_LABELS: Record<ActingMode, string> = {
  linked_only: 'Only users who connected their own account (recommended)',
  admin_mapped: 'Also users an admin mapped on this page',
  any_user: 'Any user of this site, without consent',
};

/** The admin page inside Confluence: find the site's users, map them to your users, import CSV, set policy. */
export function ConfigurePage(p: ConfigurePageProps) {
  return (
    <Layout title={`Configure ${p.appName}`} assetsBase={p.assetsBase} scripts={[p.allJsUrl, `${p.assetsBase}/assets/connect-configure.js`]}>
      <div id="ob-configure" data-base={p.assetsBase}>
        <h1>Configure {p.appName}</h1>
        <p class="ob-muted">
          {p.siteHost} · signed in as {p.admin.displayName ?? p.admin.accountId}
        </p>
        {p.problem ? (
          <Notice kind="error" title="Not allowed">
            <p>{p.problem}</p>
          </Notice>
        ) : null}
        <div id="ob-status" hidden aria-live="polite"></div>

        <section aria-labelledby="ob-policy-title">
          <h2 id="ob-policy-title">Who {p.appName} may act as</h2>
          <fieldset class="ob-card">
            <legend class="ob-muted">Policy for this site</legend>
            {(Object.keys(ACTING_LABELS) as ActingMode[]).map((mode) => (
              <p>
                <label>
                  <input type="radio" name="acting" value={mode} checked={p.acting === mode} /> {ACTING_LABELS[mode]}
                </label>
              </p>
            ))}
            <button type="button" class="ob-button ob-secondary" id="ob-save-policy">
              Save policy
            </button>
          </fieldset>
        </section>

        <section aria-labelledby="ob-find-title">
          <h2 id="ob-find-title">Map a user</h2>
          <div class="ob-card" role="search">
            <label for="ob-q">Find people on this site by name</label>
            <p class="ob-search-row">
              <input id="ob-q" name="q" type="search" autocomplete="off" placeholder="e.g. Carol" />
              <button type="button" class="ob-button ob-secondary" id="ob-search">
                Search
              </button>
            </p>
          </div>
          <table class="ob-table" id="ob-found" hidden>
            <thead>
              <tr>
                <th scope="col">Person</th>
                <th scope="col">{p.appName} user ID</th>
              </tr>
            </thead>
            <tbody></tbody>
          </table>
        </section>

        <section aria-labelledby="ob-csv-title">
          <h2 id="ob-csv-title">Import a CSV</h2>
          <div class="ob-card">
            <label for="ob-csv">
              One mapping per line: <code>your user ID,Atlassian account ID</code>
            </label>
            <textarea id="ob-csv" rows={5} style="width:100%"></textarea>
            <button type="button" class="ob-button" id="ob-import">
              Import
            </button>
          </div>
        </section>

        <section aria-labelledby="ob-links-title">
          <h2 id="ob-links-title">Links on this site</h2>
          {p.links.length === 0 ? (
            <p class="ob-muted">No links yet.</p>
          ) : (
            <LinksTable
              links={p.links}
              columns={[
                { header: `${p.appName} user`, cell: (l) => l.externalUserId },
                {
                  header: 'Atlassian account',
                  cell: (l) => (
                    <>
                      {p.names?.[l.accountId] ?? <span class="ob-muted">name not seen yet</span>}
                      <span class="ob-muted ob-id">{l.accountId}</span>
                    </>
                  ),
                },
                { header: 'How', cell: (l) => `${l.route} · ${l.status.replace('_', ' ')}` },
              ]}
              action={(l) => (
                <button type="button" class="ob-button ob-danger" data-revoke={l.id} aria-label={`Revoke the link of ${l.externalUserId}`}>
                  Revoke
                </button>
              )}
            />
          )}
        </section>
      </div>
    </Layout>
  );
}
