import type { SiteChoice } from '../../identity/oauth-linking.js';
import { linkStatusLabel, siteLabel } from './connect-link-page.js';
import { Layout, Notice } from './layout.js';
import { LinksTable } from './links-table.js';

const SCOPE_WORDS: [RegExp, string][] = [
  [/^read:me$|^read:confluence-user$|^read:account$/, 'See your name, email address and account ID.'],
  [/^read:(confluence-content\.(all|summary)|page:confluence|blogpost:confluence|comment:confluence)$/, 'Read the pages, blog posts and comments you can read.'],
  [/^write:(confluence-content|page:confluence|blogpost:confluence|comment:confluence)$/, 'Create and edit pages and comments as you: they will show you as the author.'],
  [/^delete:/, 'Delete content you can delete.'],
  [/^read:(confluence-space\.summary|space:confluence)$/, 'See the spaces you can see.'],
  [/^read:confluence-groups$/, 'See the groups people belong to.'],
  [/^offline_access$/, 'Keep this access while you are away, until you disconnect.'],
];

/** What a 3LO grant lets the app do, in the user's words; scopes we have no words for are listed as they are. */
export function oauthAbilities(scopes: string[]): string[] {
  const out: string[] = [];
  for (const scope of scopes) {
    const words = SCOPE_WORDS.find(([re]) => re.test(scope))?.[1] ?? `Use the "${scope}" permission.`;
    if (!out.includes(words)) out.push(words);
  }
  return out;
}

function Abilities(p: { appName: string; scopes: string[] }) {
  return (
    <>
      <h2 id="ob-abilities-title">{p.appName} will be able to, as you:</h2>
      <ul class="ob-abilities" aria-labelledby="ob-abilities-title">
        {oauthAbilities(p.scopes).map((a) => (
          <li>{a}</li>
        ))}
      </ul>
    </>
  );
}

/** After an Atlassian sign-in that reaches several sites: the user picks which ones to link (never a silent pick). */
export function SiteChoicePage(p: { appName: string; assetsBase: string; state: string; sites: SiteChoice[]; externalUserId: string; accountName: string | null; scopes: string[] }) {
  return (
    <Layout title="Choose your Confluence sites" assetsBase={p.assetsBase}>
      <h1>Which Confluence sites should {p.appName} use?</h1>
      <p>
        You signed in to Atlassian{p.accountName ? <> as <strong>{p.accountName}</strong></> : ''}, and your account can reach several Confluence sites. Choose
        where {p.appName} may act as you for your {p.appName} user <strong>{p.externalUserId}</strong>.
      </p>
      <form method="post" action={`${p.assetsBase}/oauth/choose`} class="ob-card">
        <input type="hidden" name="state" value={p.state} />
        <fieldset>
          <legend class="ob-muted">Sites your account can reach</legend>
          {p.sites.map((s) => (
            <label class="ob-check">
              <input type="checkbox" name="cloudId" value={s.cloudId} />
              <span>
                {s.name} <span class="ob-muted">({siteLabel(s.url)})</span>
              </span>
            </label>
          ))}
        </fieldset>
        <Abilities appName={p.appName} scopes={p.scopes} />
        <p class="ob-warning">
          If you are not <strong>{p.externalUserId}</strong> in {p.appName}, or you did not start this yourself, choose Cancel.
        </p>
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

/** The 3LO landing page when the app gave no return URL: what was linked, and where to undo it. */
export function LinkedPage(p: { appName: string; assetsBase: string; externalUserId: string; status: string; sites: string[]; scopes: string[] }) {
  const pending = p.status === 'pending_confirmation';
  return (
    <Layout title={pending ? 'Almost done' : 'Your account is connected'} assetsBase={p.assetsBase}>
      <Notice
        kind="success"
        title={pending ? 'Almost done' : 'Your account is connected'}
        next={pending ? `Go back to ${p.appName} to finish: it must confirm that the request came from you.` : `You can close this page and return to ${p.appName}.`}
      >
        <p>
          {pending ? `You allowed ${p.appName} to act as you` : `${p.appName} can now act as you`} for your {p.appName} user <strong>{p.externalUserId}</strong>.
        </p>
      </Notice>
      <div class="ob-card">
        <dl>
          <dt>{p.appName} user</dt>
          <dd>{p.externalUserId}</dd>
          <dt>{p.sites.length === 1 ? 'Confluence site' : 'Confluence sites'}</dt>
          <dd>{p.sites.join(', ')}</dd>
        </dl>
      </div>
      <Abilities appName={p.appName} scopes={p.scopes} />
      <p class="ob-actions">
        <a class="ob-button ob-secondary" href={`${p.assetsBase}/oauth/manage`}>
          Manage or disconnect
        </a>
      </p>
    </Layout>
  );
}

/** The 3LO user's own page: their links by Atlassian sign-in, each with a disconnect button. */
export function ManagePage(p: { appName: string; assetsBase: string; name: string | null; links: { cloudId: string; externalUserId: string; status: string; site: string; revokeToken: string }[] }) {
  return (
    <Layout title={`Your connections to ${p.appName}`} assetsBase={p.assetsBase}>
      <h1>Your connections to {p.appName}</h1>
      <p>
        Signed in to Atlassian{p.name ? <> as <strong>{p.name}</strong></> : ''}. These are the {p.appName} users that can act as you through Atlassian sign-in.
        Disconnecting one stops it at once.
      </p>
      {p.links.length === 0 ? (
        <p class="ob-muted" id="ob-no-links">
          {p.appName} cannot act as you through Atlassian sign-in: no link exists.
        </p>
      ) : (
        <LinksTable
          links={p.links}
          columns={[
            { header: 'Site', cell: (l) => l.site },
            {
              header: `${p.appName} user`,
              cell: (l) => (
                <>
                  {l.externalUserId} <span class="ob-muted">({linkStatusLabel(l.status, p.appName)})</span>
                </>
              ),
            },
          ]}
          action={(l) => (
            <form method="post" action={`${p.assetsBase}/oauth/manage/revoke`}>
              <input type="hidden" name="token" value={l.revokeToken} />
              <button type="submit" class="ob-button ob-danger" aria-label={`Disconnect ${l.externalUserId} on ${l.site}`}>
                Disconnect
              </button>
            </form>
          )}
        />
      )}
    </Layout>
  );
}
