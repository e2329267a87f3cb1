import type { Link } from '../../store/links-repo.js';
import { Layout, Notice } from './layout.js';

export interface ConnectLinkPageProps {
  appName: string;
  assetsBase: string;
  allJsUrl: string;
  siteHost: string;
  account: { accountId: string; displayName: string | null };
  /** The pending session this visit came with, if any. */
  session: { token: string; externalUserId: string; expiresAt: number } | null;
  /** Why the session cannot be used, if it came with one that is not usable. */
  sessionProblem: string | null;
  scopes: string[];
  links: Link[];
}

function abilities(scopes: string[]): string[] {
  const out = ['See your name and account ID on this site.'];
  if (scopes.includes('READ') || scopes.includes('WRITE')) out.push('Read the pages, blog posts and comments you can read.');
  if (scopes.includes('WRITE')) out.push('Create and edit pages and comments as you: they will show you as the author.');
  if (scopes.includes('DELETE')) out.push('Delete content you can delete.');
  return out;
}

/** Our page inside Confluence: the consent (Allow/Deny) for a link session, and the user's connected links. */
export function ConnectLinkPage(p: ConnectLinkPageProps) {
  return (
    <Layout title={`Connect your account to ${p.appName}`} assetsBase={p.assetsBase} scripts={[p.allJsUrl, `${p.assetsBase}/assets/connect-link.js`]}>
      <div id="ob-link" data-base={p.assetsBase} data-session={p.session?.token ?? ''} data-app={p.appName}>
        {p.session ? (
          <section id="ob-consent" aria-labelledby="ob-consent-title">
            <h1 id="ob-consent-title">Connect your Atlassian account to {p.appName}?</h1>
            <div class="ob-card">
              <dl>
                <dt>You are</dt>
                <dd>
                  {p.account.displayName ?? 'this Atlassian account'} <span class="ob-muted">({p.account.accountId})</span>
                </dd>
                <dt>On site</dt>
                <dd>{p.siteHost}</dd>
                <dt>Your {p.appName} user</dt>
                <dd>{p.session.externalUserId}</dd>
              </dl>
            </div>
            <p>If you allow it, {p.appName} will be able to act as you on this site:</p>
            <ul class="ob-abilities">
              {abilities(p.scopes).map((a) => (
                <li>{a}</li>
              ))}
            </ul>
            <p class="ob-muted">
              Only as you, only on {p.siteHost}, and only while this link exists: you can disconnect at any time on this page. If you did not start
              this from {p.appName} yourself, choose Deny.
            </p>
            <div class="ob-actions">
              <button type="button" class="ob-button" data-decision="allow" id="ob-allow">
                Allow
              </button>
              <button type="button" class="ob-button ob-secondary" data-decision="deny" id="ob-deny">
                Deny
              </button>
            </div>
          </section>
        ) : p.sessionProblem ? (
          <Notice kind="error" title="This link cannot be used">
            <p>{p.sessionProblem}</p>
          </Notice>
        ) : (
          <h1>{p.appName} and your account</h1>
        )}
        <div id="ob-status" hidden aria-live="polite"></div>
        <section aria-labelledby="ob-connected-title">
          <h2 id="ob-connected-title">Connected apps</h2>
          {p.links.length === 0 ? (
            <p class="ob-muted">{p.appName} cannot act as you on this site: no link exists.</p>
          ) : (
            <table class="ob-table">
              <thead>
                <tr>
                  <th scope="col">{p.appName} user</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span class="ob-muted">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {p.links.map((l) => (
                  <tr>
                    <td>{l.externalUserId}</td>
                    <td>
                      {l.status.replace('_', ' ')} <span class="ob-muted">since {new Date(l.createdAt).toISOString().slice(0, 10)}</span>
                    </td>
                    <td>
                      <button type="button" class="ob-button ob-danger" data-revoke={l.id}>
                        Disconnect
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </Layout>
  );
}

export function MessagePage(p: { title: string; message: string; kind: 'error' | 'info' | 'success'; assetsBase: string; action?: { href: string; label: string } }) {
  return (
    <Layout title={p.title} assetsBase={p.assetsBase}>
      <Notice kind={p.kind} title={p.title}>
        <p>{p.message}</p>
        {p.action ? (
          <p>
            <a class="ob-button" href={p.action.href}>
              {p.action.label}
            </a>
          </p>
        ) : null}
      </Notice>
    </Layout>
  );
}

export function SiteChooserPage(p: { appName: string; assetsBase: string; sites: { href: string; host: string }[] }) {
  return (
    <Layout title={`Choose your site`} assetsBase={p.assetsBase}>
      <h1>Which Confluence site do you want to connect to {p.appName}?</h1>
      <ul>
        {p.sites.map((s) => (
          <li>
            <a href={s.href}>{s.host}</a>
          </li>
        ))}
      </ul>
    </Layout>
  );
}
