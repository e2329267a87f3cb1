import type { Link } from '../../store/links-repo.js';
import { Layout, Notice } from './layout.js';
import type { LinkProblem } from './link-problem.js';
import { LinksTable } from './links-table.js';

export interface ConnectLinkPageProps {
  appName: string;
  assetsBase: string;
  allJsUrl: string;
  /** How the site is named to the user, e.g. "acme.atlassian.net". */
  siteLabel: string;
  account: { accountId: string; displayName: string | null };
  /** The pending session this visit came with, if any. */
  session: { token: string; externalUserId: string; expiresAt: number } | null;
  /** Why the session cannot be used, if it came with one that is not usable. */
  problem: LinkProblem | null;
  /** The link this visitor already made with the session (the page reloaded after Allow). */
  done?: ConnectLinkPageDone;
  scopes: string[];
  links: Link[];
  now: number;
}

export type ConnectLinkPageDone = { externalUserId: string; status: Link['status'] } | null;

/** What the app may do, in the user's words, from the Connect scopes it was installed with. */
export function connectAbilities(scopes: string[]): string[] {
  const out = ['See your name and account ID on this site.'];
  if (scopes.includes('READ') || scopes.includes('WRITE')) out.push('Read the pages, blog posts and comments you can read.');
  if (scopes.includes('WRITE')) out.push('Create and edit pages and comments as you: they will show you as the author.');
  if (scopes.includes('DELETE')) out.push('Delete content you can delete.');
  if (scopes.includes('SPACE_ADMIN')) out.push('Change space settings and permissions where you are a space admin.');
  if (scopes.includes('ADMIN')) out.push('Use the administration rights you have on this site.');
  if (scopes.includes('ACCESS_EMAIL_ADDRESSES')) out.push('See your email address.');
  return out;
}

/** A link's status as its owner should read it. */
export function linkStatusLabel(status: string, appName: string): string {
  if (status === 'linked') return 'Connected';
  if (status === 'pending_confirmation') return `Waiting for ${appName} to confirm`;
  if (status === 'reauth_required') return 'Needs you to sign in again';
  return status.replace(/_/g, ' ');
}

/** A short, unambiguous site name: the host, plus the path when a host serves several sites (as the sandbox does). */
export function siteLabel(baseUrl: string): string {
  const u = new URL(baseUrl);
  return `${u.host}${u.pathname.replace(/\/wiki\/?$/, '').replace(/\/$/, '')}`;
}

function minutesLeft(expiresAt: number, now: number): string {
  const m = Math.max(1, Math.ceil((expiresAt - now) / 60_000));
  return m === 1 ? 'about a minute' : m < 120 ? `${m} minutes` : `${Math.round(m / 60)} hours`;
}

/** Our page inside Confluence: the consent (Allow/Deny) for a link session, and the user's connected links. */
export function ConnectLinkPage(p: ConnectLinkPageProps) {
  const who = p.account.displayName ?? 'your Atlassian account';
  return (
    <Layout title={`Connect your account to ${p.appName}`} assetsBase={p.assetsBase} scripts={[p.allJsUrl, `${p.assetsBase}/assets/connect-link.js`]}>
      <div id="ob-link" data-base={p.assetsBase} data-session={p.session?.token ?? ''} data-app={p.appName}>
        {p.session ? (
          <section id="ob-consent" aria-labelledby="ob-consent-title">
            <h1 id="ob-consent-title">Allow {p.appName} to act as you in Confluence?</h1>
            <p>
              {p.appName} asks to link your {p.appName} user <strong>{p.session.externalUserId}</strong> to your Atlassian account on {p.siteLabel}.
            </p>
            <div class="ob-card">
              <dl>
                <dt>Atlassian account</dt>
                <dd>
                  {who} <span class="ob-muted ob-id">{p.account.accountId}</span>
                </dd>
                <dt>Confluence site</dt>
                <dd>{p.siteLabel}</dd>
                <dt>{p.appName} user</dt>
                <dd>{p.session.externalUserId}</dd>
                <dt>Request expires</dt>
                <dd>in {minutesLeft(p.session.expiresAt, p.now)}</dd>
              </dl>
            </div>
            <h2 id="ob-abilities-title">If you allow it, {p.appName} will be able to:</h2>
            <ul class="ob-abilities" aria-labelledby="ob-abilities-title">
              {connectAbilities(p.scopes).map((a) => (
                <li>{a}</li>
              ))}
            </ul>
            <p class="ob-muted">
              Only as you, only on {p.siteLabel}, and only until you disconnect it below. It gets no more rights than you have.
            </p>
            <p class="ob-warning">
              If you are not <strong>{p.session.externalUserId}</strong> in {p.appName}, or you did not start this from {p.appName} yourself, choose Deny: someone may
              have forwarded this link to you.
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
        ) : p.done ? (
          p.done.status === 'pending_confirmation' ? (
            <Notice kind="success" title="Almost done" next={`Go back to ${p.appName} to finish connecting your account.`} id="ob-done">
              <p>
                You allowed {p.appName} to act as you for its user <strong>{p.done.externalUserId}</strong>. {p.appName} must now confirm that the request came from you.
              </p>
            </Notice>
          ) : (
            <Notice kind="success" title="Your account is connected" id="ob-done">
              <p>
                {p.appName} can act as you on {p.siteLabel} for its user <strong>{p.done.externalUserId}</strong>. You can close this page, or disconnect below.
              </p>
            </Notice>
          )
        ) : p.problem ? (
          <Notice kind="error" title={p.problem.title} next={p.problem.next} id="ob-problem">
            <p>{p.problem.message}</p>
          </Notice>
        ) : (
          <section>
            <h1>{p.appName} and your Atlassian account</h1>
            <p>
              Signed in as {who} on {p.siteLabel}. Below are the {p.appName} users that can act as you here; disconnect any you no longer want.
            </p>
          </section>
        )}
        <div id="ob-status" hidden role="status" aria-live="polite"></div>
        <section aria-labelledby="ob-connected-title">
          <h2 id="ob-connected-title">Connected apps</h2>
          <p id="ob-no-links" class="ob-muted" hidden={p.links.length > 0}>
            {p.appName} cannot act as you on this site: no link exists.
          </p>
          <LinksTable
            links={p.links}
            hidden={p.links.length === 0}
            rowId={(l) => l.id}
            columns={[
              { header: `${p.appName} user`, cell: (l) => l.externalUserId },
              {
                header: 'Status',
                cell: (l) => (
                  <>
                    {linkStatusLabel(l.status, p.appName)} <span class="ob-muted ob-since">since {new Date(l.createdAt).toISOString().slice(0, 10)}</span>
                  </>
                ),
              },
            ]}
            action={(l) => (
              <button type="button" class="ob-button ob-danger" data-revoke={l.id} aria-label={`Disconnect ${l.externalUserId}`}>
                Disconnect
              </button>
            )}
          />
        </section>
      </div>
    </Layout>
  );
}

export function MessagePage(p: { title: string; message: string; next?: string; kind: 'error' | 'info' | 'success'; assetsBase: string; action?: { href: string; label: string } }) {
  return (
    <Layout title={p.title} assetsBase={p.assetsBase}>
      <Notice
        kind={p.kind}
        title={p.title}
        {...(p.next ? { next: p.next } : {})}
        {...(p.action
          ? {
              actions: (
                <a class="ob-button" href={p.action.href}>
                  {p.action.label}
                </a>
              ),
            }
          : {})}
      >
        <p>{p.message}</p>
      </Notice>
    </Layout>
  );
}

/** A session for no particular site while the app is on several: the user says which (never a silent pick). */
export function SiteChooserPage(p: { appName: string; assetsBase: string; externalUserId: string; sites: { href: string; label: string }[] }) {
  return (
    <Layout title="Choose your Confluence site" assetsBase={p.assetsBase}>
      <h1>Which Confluence site do you want to connect to {p.appName}?</h1>
      <p>
        {p.appName} is installed on several Confluence sites. Choose the one where {p.appName} may act as you for your {p.appName} user{' '}
        <strong>{p.externalUserId}</strong>. You will be asked to confirm on that site.
      </p>
      <ul class="ob-choices">
        {p.sites.map((s) => (
          <li>
            <a class="ob-choice" href={s.href}>
              {s.label}
            </a>
          </li>
        ))}
      </ul>
    </Layout>
  );
}
