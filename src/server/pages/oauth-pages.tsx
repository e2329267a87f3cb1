import type { SiteChoice } from '../../identity/oauth-linking.js';
import { Layout } from './layout.js';

/** After an Atlassian sign-in that reaches several sites: the user picks which ones to link (never a silent pick). */
export function SiteChoicePage(p: { appName: string; assetsBase: string; state: string; sites: SiteChoice[]; externalUserId: string; accountName: string | null }) {
  return (
    <Layout title="Choose your sites" assetsBase={p.assetsBase}>
      <h1>Which Confluence sites should {p.appName} use?</h1>
      <p>
        You signed in to Atlassian{p.accountName ? ` as ${p.accountName}` : ''}. Your account can reach several Confluence sites; choose the ones where {p.appName} may act as
        you for your {p.appName} user <strong>{p.externalUserId}</strong>.
      </p>
      <form method="post" action={`${p.assetsBase}/oauth/choose`} class="ob-card">
        <input type="hidden" name="state" value={p.state} />
        <fieldset>
          <legend class="ob-muted">Sites</legend>
          {p.sites.map((s) => (
            <p>
              <label>
                <input type="checkbox" name="cloudId" value={s.cloudId} /> {s.name} <span class="ob-muted">({new URL(s.url).host})</span>
              </label>
            </p>
          ))}
        </fieldset>
        <div class="ob-actions">
          <button type="submit" name="decision" value="allow" class="ob-button">
            Connect the chosen sites
          </button>
          <button type="submit" name="decision" value="deny" class="ob-button ob-secondary">
            Cancel
          </button>
        </div>
      </form>
    </Layout>
  );
}

/** The 3LO user's own page: their links by Atlassian sign-in, each with a disconnect button. */
export function ManagePage(p: { appName: string; assetsBase: string; name: string | null; links: { cloudId: string; externalUserId: string; status: string; site: string; revokeToken: string }[] }) {
  return (
    <Layout title={`Your connections to ${p.appName}`} assetsBase={p.assetsBase}>
      <h1>Your connections to {p.appName}</h1>
      <p>Signed in to Atlassian{p.name ? ` as ${p.name}` : ''}.</p>
      {p.links.length === 0 ? (
        <p class="ob-muted">{p.appName} cannot act as you through Atlassian sign-in: no link exists.</p>
      ) : (
        <table class="ob-table">
          <thead>
            <tr>
              <th scope="col">Site</th>
              <th scope="col">{p.appName} user</th>
              <th scope="col">
                <span class="ob-muted">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {p.links.map((l) => (
              <tr>
                <td>{l.site}</td>
                <td>
                  {l.externalUserId} <span class="ob-muted">({l.status.replace('_', ' ')})</span>
                </td>
                <td>
                  <form method="post" action={`${p.assetsBase}/oauth/manage/revoke`}>
                    <input type="hidden" name="token" value={l.revokeToken} />
                    <button type="submit" class="ob-button ob-danger">
                      Disconnect
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
